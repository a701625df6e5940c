// Kubernetes and image-name rules the config validation encodes, read from the upstream Go
// sources of the Kubernetes release that the default k3s version runs.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { DEFAULT_K3S_VERSION, DNS_1035_LABEL, DNS_1123_LABEL, INVALID_PATH_SEQUENCES, INVALID_PATH_SUFFIXES, OCI_PATH_COMPONENT } from "../../config";
import { serviceAccountUser } from "../../components/gitlab/agent";
import { impersonationRules } from "../../components/platform/agentk";
import { DNS_1123_SUBDOMAIN_FMT, QUALIFIED_NAME_FMT } from "../../lib/formats";
import { isKubeletLabel, KUBELET_LABEL_NAMESPACES, KUBELET_LABELS } from "../../lib/clusterFacts";
import { goModuleFile, goStringConstant, goStringExpression, goStringSlice } from "../helpers/upstream";

/** v1.33.5+k3s1 runs Kubernetes v1.33.5, whose staging modules are tagged v0.33.5. */
const K8S_VERSION = DEFAULT_K3S_VERSION.split("+")[0];
const STAGING_VERSION = K8S_VERSION.replace(/^v1\./, "v0.");
/** The grammar of image references that containerd and the registries share. */
const REFERENCE_VERSION = "v0.6.0";

describe(`Kubernetes ${K8S_VERSION} validation and image references (their Go modules)`, function () {
    this.timeout(300_000);
    let apimachinery: string;
    before(() => {
        apimachinery = goModuleFile("k8s.io/apimachinery", STAGING_VERSION, "pkg/util/validation/validation.go");
    });

    it("service names are refused unless DNS-1035 labels, which the config requires of them", () => {
        const core = goModuleFile("k8s.io/kubernetes", K8S_VERSION, "pkg/apis/core/validation/validation.go");
        assert.match(core, /ValidateServiceName = apimachineryvalidation\.NameIsDNS1035Label/);
        assert.strictEqual(DNS_1035_LABEL.source, `^${goStringConstant(apimachinery, "dns1035LabelFmt")}$`);
    });

    it("namespace and container names are DNS-1123 labels, as the config requires of projects", () => {
        assert.strictEqual(DNS_1123_LABEL.source, `^${goStringConstant(apimachinery, "dns1123LabelFmt")}$`);
    });

    it("worker pool label keys and values follow apimachinery's qualified-name and subdomain grammar, as the config requires", () => {
        assert.strictEqual(QUALIFIED_NAME_FMT, goStringExpression(apimachinery, "qualifiedNameFmt"));
        assert.strictEqual(DNS_1123_SUBDOMAIN_FMT, goStringExpression(apimachinery, "dns1123SubdomainFmt"));
        assert.match(apimachinery, /const qualifiedNameMaxLength int = 63/);
        assert.match(apimachinery, /const LabelValueMaxLength int = 63/);
        assert.match(apimachinery, /const DNS1123SubdomainMaxLength int = 253/);
    });

    it("the kubelet registers only its own labels in kubernetes.io and k8s.io, which the config allows a pool and no other", () => {
        const options = goModuleFile("k8s.io/kubernetes", K8S_VERSION, "cmd/kubelet/app/options/options.go");
        // An unknown label in those namespaces stops the kubelet at start (ValidateKubeletFlags).
        assert.match(options, /if isKubernetesLabel\(k\) && !kubeletapis\.IsKubeletLabel\(k\) \{\s+unknownLabels\.Insert\(k\)/);
        assert.match(options, /namespace == "kubernetes\.io" \|\| strings\.HasSuffix\(namespace, "\.kubernetes\.io"\)/);
        assert.match(options, /namespace == "k8s\.io" \|\| strings\.HasSuffix\(namespace, "\.k8s\.io"\)/);
        const wellKnown = goModuleFile("k8s.io/kubelet", STAGING_VERSION, "pkg/apis/well_known_labels.go");
        const core = goModuleFile("k8s.io/api", STAGING_VERSION, "core/v1/well_known_labels.go");
        const setOf = (name: string) => {
            const body = new RegExp(`var ${name} = sets\\.NewString\\(([^)]*)\\)`).exec(wellKnown)?.[1] ?? "";
            return [...body.matchAll(/(v1\.)?(\w+),/g)].map(([, pkg, id]) => goStringConstant(pkg ? core : wellKnown, id)).sort();
        };
        assert.deepStrictEqual([...KUBELET_LABELS].sort(), setOf("kubeletLabels"));
        assert.deepStrictEqual([...KUBELET_LABEL_NAMESPACES].sort(), setOf("kubeletLabelNamespaces"));
        assert.match(wellKnown, /namespace == allowedNamespace \|\| strings\.HasSuffix\(namespace, "\."\+allowedNamespace\)/);
        for (const [key, allowed] of [
            ["hobby-platform/pool", true],
            ["node.kubernetes.io/pool", true],
            ["x.kubelet.kubernetes.io/y", true],
            ["kubernetes.io/hostname", true],
            ["node-role.kubernetes.io/worker", false],
            ["example.k8s.io/x", false],
        ] as const)
            assert.strictEqual(isKubeletLabel(key), allowed, key);
    });

    it("client-go (kubectl, the Pulumi provider) tries each address of the API's name in turn, sharing its 30 s dial timeout", () => {
        const cache = goModuleFile("k8s.io/client-go", STAGING_VERSION, "transport/cache.go");
        assert.match(cache, /dial = \(&net\.Dialer\{\s+Timeout:\s+30 \* time\.Second,[\s\S]*?\}\)\.DialContext/);
        const goroot = execFileSync("go", ["env", "GOROOT"], { encoding: "utf8" }).trim();
        const dial = fs.readFileSync(path.join(goroot, "src", "net", "dial.go"), "utf8");
        // IPv4 addresses only (no fallbacks): one after another, each with its share of the deadline.
        assert.match(dial, /if len\(fallbacks\) == 0 \{\s+return sd\.dialSerial\(ctx, primaries\)/);
        assert.match(dial, /timeout := timeRemaining \/ time\.Duration\(addrsRemaining\)/);
    });

    it("Ingress paths refuse the sequences and suffixes the config refuses in basePath", () => {
        const networking = goModuleFile("k8s.io/kubernetes", K8S_VERSION, "pkg/apis/networking/validation/validation.go");
        assert.deepStrictEqual(INVALID_PATH_SEQUENCES, goStringSlice(networking, "invalidPathSequences"));
        assert.deepStrictEqual(INVALID_PATH_SUFFIXES, goStringSlice(networking, "invalidPathSuffixes"));
    });

    it("impersonating a ServiceAccount is checked as verb impersonate on serviceaccounts/<name> in its namespace, its groups added unasked, as agentk's Roles grant", () => {
        const filter = goModuleFile("k8s.io/apiserver", STAGING_VERSION, "pkg/endpoints/filters/impersonation.go");
        assert.match(
            filter,
            /serviceaccount\.SplitUsername\(requestedUser\)[\s\S]*?Kind:\s*"ServiceAccount",\s*Namespace:\s*namespace,\s*Name:\s*name/,
        );
        assert.match(
            filter,
            /Verb:\s+"impersonate",\s+APIGroup:\s+gvk\.Group,[\s\S]{0,80}Namespace:\s+impersonationRequest\.Namespace,\s+Name:\s+impersonationRequest\.Name/,
        );
        assert.match(filter, /actingAsAttributes\.Resource = "serviceaccounts"/);
        assert.match(filter, /if !groupsSpecified \{[^}]*groups = serviceaccount\.MakeGroupNames\(impersonationRequest\.Namespace\)/);
        const rule = impersonationRules("example-microservice-deployer")[0];
        assert.deepStrictEqual(
            [rule.apiGroups, rule.resources, rule.verbs],
            [[""], ["serviceaccounts"], ["impersonate"]],
            "core group, as v1.ServiceAccount's",
        );
        assert.strictEqual(
            serviceAccountUser("the-project", "example-microservice-deployer"),
            "system:serviceaccount:the-project:example-microservice-deployer",
        );
        const util = goModuleFile("k8s.io/apiserver", STAGING_VERSION, "pkg/authentication/serviceaccount/util.go");
        assert.strictEqual(goStringConstant(util, "ServiceAccountUsernamePrefix"), "system:serviceaccount:");
    });

    it("image path components follow distribution/reference's grammar, as the config requires of GitLab paths", () => {
        const regexp = goModuleFile("github.com/distribution/reference", REFERENCE_VERSION, "regexp.go");
        const alphanumeric = goStringConstant(regexp, "alphanumeric");
        const separator = goStringConstant(regexp, "separator");
        // pathComponent = alphanumeric + anyTimes(separator+alphanumeric), anyTimes(x) = (?:x)*
        assert.match(regexp, /pathComponent = alphanumeric \+ anyTimes\(separator\+alphanumeric\)/);
        assert.strictEqual(OCI_PATH_COMPONENT.source, `^${alphanumeric}(?:${separator}${alphanumeric})*$`);
    });
});
