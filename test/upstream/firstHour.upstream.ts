// What the scaffold, the quickstart and the teardown rely on, read from the upstream Go modules at
// the pinned versions: Vultr's API as govultr calls it, the pulumi CLI's flags and standard input,
// the Kubernetes provider's way out of an unreachable cluster.
import * as assert from "assert";
import * as path from "path";
import { VULTR_API } from "../../scripts/preflight";
import { goModuleFile, goStringConstant, requiredVersion } from "../helpers/upstream";

/**
 * The govultr release under the pinned Vultr provider: terraform-provider-vultr v2.21.0 (which
 * @ediri/vultr v2.21.0 bridges) requires github.com/vultr/govultr/v3 v3.8.1 in its go.mod. The
 * provider's own module is not served by the Go module proxy, so this is read from its tag.
 */
const GOVULTR = { module: "github.com/vultr/govultr/v3", version: "v3.8.1" };
const TOOLS = path.resolve(__dirname, "..", "..", "tools");

describe("the first hour's upstream facts (govultr, the pulumi CLI, the Kubernetes provider)", function () {
    this.timeout(300_000);
    const govultr = (file: string) => goModuleFile(GOVULTR.module, GOVULTR.version, file);

    it("the scaffold calls the API govultr calls, with the key as an OAuth2 bearer token", () => {
        assert.strictEqual(goStringConstant(govultr("govultr.go"), "defaultBase"), VULTR_API);
        assert.match(govultr("account.go"), /uri := "\/v2\/account"/);
        const domains = govultr("domains.go");
        assert.strictEqual(goStringConstant(domains, "domainPath"), "/v2/domains");
        assert.match(domains, /http\.MethodGet, fmt\.Sprintf\("%s\/%s", domainPath, domain\)/);
        assert.match(govultr("README.md"), /oauth2\.Token\{AccessToken: apiKey\}/);
        // A non-2xx answer's body is the error (Vultr's {"error": ..., "status": ...}).
        assert.match(govultr("govultr.go"), /return res, errors\.New\(string\(body\)\)/);
    });

    describe("the pinned pulumi CLI", () => {
        const cli = () => ({ module: "github.com/pulumi/pulumi/pkg/v3", version: requiredVersion(TOOLS, "github.com/pulumi/pulumi/pkg/v3") });
        const source = (file: string) => goModuleFile(cli().module, cli().version, file);

        it("reads a config value it is not given from standard input that is not a terminal, without its trailing newline", () => {
            const config = source("cmd/pulumi/config/config.go");
            assert.match(config, /case !term\.IsTerminal\(int\(stdin\.Fd\(\)\)\):\s*b, readerr := io\.ReadAll\(stdin\)/);
            assert.match(config, /value = cmdutil\.RemoveTrailingNewline\(string\(b\)\)/);
        });

        it("creates a stack with the passphrase provider from `stack select --create --secrets-provider`", () => {
            const select = source("cmd/pulumi/stack/stack_select.go");
            assert.match(select, /&create, "create", "c", false/);
            assert.match(select, /&secretsProvider, "secrets-provider", "default"/);
        });

        it("unprotects every resource of a stack with `state unprotect --all` (the teardown of prod)", () => {
            assert.match(source("cmd/pulumi/state/state_unprotect.go"), /BoolVar\(&unprotectAll, "all", false/);
        });
    });

    it("the Kubernetes provider drops the objects of a deleted cluster from the state with PULUMI_K8S_DELETE_UNREACHABLE=true", () => {
        const module = "github.com/pulumi/pulumi-kubernetes/provider/v4";
        const provider = goModuleFile(module, requiredVersion(path.join(TOOLS, "providers", "kubernetes"), module), "pkg/provider/provider.go");
        assert.match(provider, /os\.LookupEnv\("PULUMI_K8S_DELETE_UNREACHABLE"\)/);
        assert.match(provider, /Deleting the unreachable resource from Pulumi state/);
    });
});
