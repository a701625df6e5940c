// The GitLab wiring of the whole program, per stack: deploy token -> pull Secret, Microservice
// deployer -> K8S_<ENV>_TOKEN, one provider from config, nothing in GitLab for `local`.
import * as assert from "assert";
import { DEPLOY_TOKEN, deployTokenState, ENVIRONMENT, VARIABLE } from "../harness/gitlabMocks";
import { ofType, ProgramRun, Recorded, stackConfig, valueOf } from "../harness/mocks";
import { PLACEHOLDER_SECRETS, stackRun } from "../harness/stacks";

const gitlabResources = (rs: Recorded[]) => rs.filter((r) => r.type.startsWith("gitlab:"));
const pullSecret = (rs: Recorded[]) => ofType(rs, "kubernetes:core/v1:Secret").find((r) => r.inputs.type === "kubernetes.io/dockerconfigjson")!;

for (const env of ["dev", "stg", "prod"]) {
    describe(`program GitLab wiring, stack ${env}`, () => {
        const ENV = env.toUpperCase();
        let result: ProgramRun;
        before(async () => {
            result = await stackRun(env);
        });

        it("logs the service's pull Secret in with its own read_registry deploy token", () => {
            const [token] = ofType(result.resources, DEPLOY_TOKEN);
            assert.deepStrictEqual(token.inputs.scopes, ["read_registry"]);
            assert.strictEqual(token.inputs.name, `example-microservice-${env}-pull`);
            assert.strictEqual(token.inputs.project, "the-project/example-microservice");
            const expiry = JSON.parse(stackConfig(env)["hobby-platform:gitlab"]).deployTokenExpiresAt;
            assert.strictEqual(token.inputs.expiresAt, `${expiry}T00:00:00Z`);
            const auth = JSON.parse(pullSecret(result.resources).inputs.stringData[".dockerconfigjson"]).auths["registry.example.com"];
            assert.deepStrictEqual([auth.username, auth.password], [deployTokenState(token.name).username, deployTokenState(token.name).token]);
        });

        it(`writes only ${env}-scoped variables, K8S_${ENV}_* pointing at this stack's cluster and deployer`, async () => {
            const vars = new Map(ofType(result.resources, VARIABLE).map((r) => [r.inputs.key as string, r.inputs]));
            assert.deepStrictEqual([...vars.keys()].sort(), [
                "GITLAB_DOMAIN",
                "GITLAB_TOKEN",
                `K8S_${ENV}_CA`,
                `K8S_${ENV}_NAMESPACE`,
                `K8S_${ENV}_SERVER`,
                `K8S_${ENV}_TOKEN`,
            ]);
            for (const v of vars.values()) assert.strictEqual(v.environmentScope, env);
            assert.strictEqual(vars.get("GITLAB_DOMAIN")!.value, "gitlab.example.com");
            assert.strictEqual(vars.get("GITLAB_TOKEN")!.value, PLACEHOLDER_SECRETS["hobby-platform:goModulesToken"]);
            assert.strictEqual(vars.get(`K8S_${ENV}_SERVER`)!.value, await valueOf(result.outputs.apiServerUrl as string));
            assert.strictEqual(vars.get(`K8S_${ENV}_NAMESPACE`)!.value, "the-project");
            assert.match(Buffer.from(vars.get(`K8S_${ENV}_CA`)!.value, "base64").toString(), /^-----BEGIN CERTIFICATE-----\n/);
            // The deployer's ServiceAccount token, as the token controller fills it in.
            assert.strictEqual(vars.get(`K8S_${ENV}_TOKEN`)!.value, "mock-sa-token-for-example-microservice-deployer-token");
            const [environment] = ofType(result.resources, ENVIRONMENT);
            assert.strictEqual(environment.inputs.name, env);
            assert.strictEqual(environment.inputs.externalUrl, `https://api.the-project.${env}.example.com/example/api/endpoint`);
        });

        it("sends every GitLab resource through one provider for https://gitlab.example.com/api/v4/ that makes no call at start", async () => {
            const providers = ofType(result.resources, "pulumi:providers:gitlab");
            assert.strictEqual(providers.length, 1);
            assert.strictEqual(providers[0].inputs.baseUrl, "https://gitlab.example.com/api/v4/");
            assert.strictEqual(providers[0].inputs.earlyAuthCheck, "false");
            assert.strictEqual(providers[0].inputs.token, PLACEHOLDER_SECRETS["hobby-platform:gitlabApiToken"]);
            for (const r of gitlabResources(result.resources)) {
                assert.match(r.provider ?? "", /pulumi:providers:gitlab::gitlab::/, `${r.type} ${r.name}`);
            }
        });

        it("passes every token and credential as a secret, from config and cluster to GitLab and the pull Secret", async () => {
            const provider = ofType(result.resources, "pulumi:providers:gitlab")[0];
            assert.deepStrictEqual(await provider.secretInputs, ["token"]);
            for (const r of ofType(result.resources, VARIABLE)) {
                const credential = r.inputs.key.endsWith("_TOKEN");
                assert.deepStrictEqual(await r.secretInputs, credential ? ["value"] : [], r.inputs.key);
                assert.strictEqual(r.inputs.masked, credential, r.inputs.key);
            }
            assert.ok((await pullSecret(result.resources).secretInputs).includes("stringData"));
        });
    });
}

describe("program GitLab wiring in a preview", () => {
    it("declares the same GitLab resources while the cluster and tokens are unknown, without failing", async () => {
        const previewed = await stackRun("dev", true);
        assert.deepStrictEqual(
            gitlabResources(previewed.resources)
                .map((r) => `${r.type}::${r.name}`)
                .sort(),
            [
                `${DEPLOY_TOKEN}::the-project-example-microservice-pull`,
                `${ENVIRONMENT}::the-project-example-microservice-environment`,
                ...["GITLAB_DOMAIN", "GITLAB_TOKEN", "K8S_DEV_CA", "K8S_DEV_NAMESPACE", "K8S_DEV_SERVER", "K8S_DEV_TOKEN"].map(
                    (k) => `${VARIABLE}::the-project-example-microservice-${k}`,
                ),
            ].sort(),
        );
    });
});

describe("program GitLab wiring, stack local (gitlab.enabled false)", () => {
    it("creates nothing in GitLab and logs the pull Secret in with the configured registry user and password", async () => {
        const { resources } = await stackRun("local");
        assert.deepStrictEqual(
            resources.filter((r) => r.type.includes("gitlab")).map((r) => r.type),
            [],
        );
        const auth = JSON.parse(pullSecret(resources).inputs.stringData[".dockerconfigjson"]).auths["registry.example.com"];
        assert.deepStrictEqual([auth.username, auth.password], ["local-deploy-token", PLACEHOLDER_SECRETS["hobby-platform:registryPassword"]]);
    });
});
