import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { GitlabProject, GitlabProjectArgs, maskingProblem, PipelineClusterAccess } from "../components/gitlab/project";
import { gitlabProvider } from "../components/gitlab/provider";
import { GitlabRegistryAccess, GitlabRegistryAccessArgs } from "../components/gitlab/registryAccess";
import { Microservice } from "../components/workload/microservice";
import { DEPLOY_TOKEN, deployTokenState, ENVIRONMENT, VARIABLE } from "../harness/gitlabMocks";
import { installMocks, isSecret, ofType, Recorded, runCollectingFailures, runInStack, valueOf } from "../harness/mocks";

const CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBdzCCAR2gAwIBAgIBADAKBggqhkjOPQQDAjAjMSEwHwYDVQQDDBhrM3Mtc2Vy\n-----END CERTIFICATE-----\n";
const GO_TOKEN = "glpat-Go0dModulesReadToken_123";
const DEPLOYER_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnbmF0dXJl";

/** The token path's settings, with `overrides`. */
const tokenAccess = (
    overrides: Partial<{ server: string; caCertificate: string; deployerToken: pulumi.Input<string> }> = {},
): PipelineClusterAccess => ({
    mode: "token",
    server: "https://203.0.113.10:6443",
    caCertificate: CA_PEM,
    deployerToken: pulumi.secret(DEPLOYER_TOKEN),
    ...overrides,
});

const projectArgs = (environment: string, overrides: Partial<GitlabProjectArgs> = {}): GitlabProjectArgs => ({
    gitlabProject: "the-project/example-microservice",
    environment,
    service: "example-microservice",
    clusterAccess: tokenAccess(),
    namespace: "the-project",
    gitlabDomain: "gitlab.example.com",
    goModulesToken: pulumi.secret(GO_TOKEN),
    externalUrl: `https://api.the-project.${environment}.example.com/example/api/endpoint`,
    ...overrides,
});

const accessArgs: GitlabRegistryAccessArgs = {
    gitlabProject: "the-project/example-microservice",
    environment: "dev",
    service: "example-microservice",
    registry: "registry.example.com",
    expiresAt: "2027-06-30",
};

const variables = (rs: Recorded[]) => new Map(ofType(rs, VARIABLE).map((r) => [r.inputs.key as string, r]));

describe("GitlabRegistryAccess", () => {
    let resources: Recorded[];
    let access: GitlabRegistryAccess;
    before(async () => {
        resources = await installMocks("dev");
        await runInStack(() => {
            access = new GitlabRegistryAccess("the-project-example-microservice", accessArgs);
            return {};
        });
    });

    it("creates one deploy token per service and environment that can only read the registry", () => {
        const tokens = ofType(resources, DEPLOY_TOKEN);
        assert.strictEqual(tokens.length, 1);
        assert.deepStrictEqual(tokens[0].inputs.scopes, ["read_registry"]);
        assert.strictEqual(tokens[0].inputs.name, "example-microservice-dev-pull");
        assert.strictEqual(tokens[0].inputs.project, "the-project/example-microservice");
    });

    it("sets the token's expiry from the configured date, in the RFC 3339 form the provider wants", () => {
        assert.strictEqual(ofType(resources, DEPLOY_TOKEN)[0].inputs.expiresAt, "2027-06-30T00:00:00Z");
    });

    it("hands out the registry host, deploy-token username and token as one secret", async () => {
        assert.ok(await isSecret(access.registryCredentials));
        const creds = await valueOf(access.registryCredentials);
        const state = deployTokenState(ofType(resources, DEPLOY_TOKEN)[0].name);
        assert.deepStrictEqual(creds, { server: "registry.example.com", username: state.username, password: state.token });
    });

    it("refuses an expiry that is not a date, naming the expected form", async () => {
        await installMocks("dev");
        await assert.rejects(
            runInStack(() => {
                new GitlabRegistryAccess("bad", { ...accessArgs, expiresAt: "30/06/2027" });
                return {};
            }),
            /expiresAt must be a date YYYY-MM-DD, e\.g\. "2027-06-30"/,
        );
    });
});

describe("GitLab deploy token -> the Microservice's image-pull Secret", () => {
    it("puts the deploy token's username and token into the pull Secret, as a secret", async () => {
        const resources = await installMocks("dev");
        await runInStack(() => {
            const access = new GitlabRegistryAccess("the-project-example-microservice", accessArgs);
            new Microservice("the-project-example-microservice", {
                service: "example-microservice",
                namespace: "the-project",
                environment: "dev",
                client: "internal",
                image: "registry.example.com/the-project/example-microservice:dev-latest",
                replicas: 2,
                port: 8080,
                basePath: "/example/api/endpoint",
                host: "api.the-project.dev.example.com",
                config: {},
                env: {},
                resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "128Mi" } },
                ingressClassName: "traefik",
                tlsSecret: "api-the-project-dev-example-com-tls",
                registryCredentials: access.registryCredentials,
            });
            return {};
        });
        const state = deployTokenState(ofType(resources, DEPLOY_TOKEN)[0].name);
        const pull = ofType(resources, "kubernetes:core/v1:Secret").find((r) => r.inputs.type === "kubernetes.io/dockerconfigjson")!;
        const auth = JSON.parse(pull.inputs.stringData[".dockerconfigjson"]).auths["registry.example.com"];
        assert.strictEqual(auth.username, state.username);
        assert.strictEqual(auth.password, state.token);
        assert.ok(
            (await pull.secretInputs).some((p) => p === "stringData" || p === "stringData..dockerconfigjson"),
            "the pull Secret's content is a secret input",
        );
    });
});

describe("GitlabProject", () => {
    for (const [env, tier] of [
        ["dev", "development"],
        ["stg", "staging"],
        ["prod", "production"],
    ]) {
        describe(`stack ${env}`, () => {
            let resources: Recorded[];
            before(async () => {
                resources = await installMocks(env);
                await runInStack(() => {
                    new GitlabProject(`the-project-example-microservice`, projectArgs(env));
                    return {};
                });
            });

            it(`creates the GitLab environment ${env} with the ${tier} tier, stopped before it is destroyed`, () => {
                const envs = ofType(resources, ENVIRONMENT);
                assert.strictEqual(envs.length, 1);
                assert.strictEqual(envs[0].inputs.name, env);
                assert.strictEqual(envs[0].inputs.tier, tier);
                assert.strictEqual(envs[0].inputs.stopBeforeDestroy, true);
            });

            it(`writes only ${env}'s variables, each scoped to ${env} and protected`, () => {
                const ENV = env.toUpperCase();
                const vars = variables(resources);
                assert.deepStrictEqual(
                    [...vars.keys()].sort(),
                    ["GITLAB_DOMAIN", "GITLAB_TOKEN", `K8S_${ENV}_CA`, `K8S_${ENV}_NAMESPACE`, `K8S_${ENV}_SERVER`, `K8S_${ENV}_TOKEN`].sort(),
                );
                for (const [key, v] of vars) {
                    assert.strictEqual(v.inputs.environmentScope, env, key);
                    assert.strictEqual(v.inputs.protected, true, key);
                    assert.strictEqual(v.inputs.project, "the-project/example-microservice", key);
                    assert.strictEqual(v.inputs.variableType, "env_var", key);
                    assert.strictEqual(v.inputs.raw, true, `${key}: no $ expansion`);
                }
            });
        });
    }

    describe("values and secrets", () => {
        let resources: Recorded[];
        before(async () => {
            resources = await installMocks("dev");
            await runInStack(() => {
                new GitlabProject("the-project-example-microservice", projectArgs("dev"));
                return {};
            });
        });

        it("stores what the pipeline template reads: domain, Go token, API URL, namespace, deployer token, CA as certificate-authority-data", () => {
            const vars = variables(resources);
            assert.strictEqual(vars.get("GITLAB_DOMAIN")!.inputs.value, "gitlab.example.com");
            assert.strictEqual(vars.get("GITLAB_TOKEN")!.inputs.value, GO_TOKEN);
            assert.strictEqual(vars.get("K8S_DEV_SERVER")!.inputs.value, "https://203.0.113.10:6443");
            assert.strictEqual(vars.get("K8S_DEV_NAMESPACE")!.inputs.value, "the-project");
            assert.strictEqual(vars.get("K8S_DEV_TOKEN")!.inputs.value, DEPLOYER_TOKEN);
            const ca = vars.get("K8S_DEV_CA")!.inputs.value as string;
            assert.match(ca, /^[A-Za-z0-9+/=]+$/, "one line of base64");
            assert.strictEqual(Buffer.from(ca, "base64").toString("utf8"), CA_PEM);
        });

        it("masks and hides the tokens and keeps them secret in Pulumi's state; leaves public values readable", async () => {
            const vars = variables(resources);
            for (const key of ["GITLAB_TOKEN", "K8S_DEV_TOKEN"]) {
                const v = vars.get(key)!;
                assert.strictEqual(v.inputs.masked, true, key);
                assert.strictEqual(v.inputs.hidden, true, key);
                assert.deepStrictEqual(await v.secretInputs, ["value"], `${key}: value is a secret input`);
                assert.deepStrictEqual(v.opts.additionalSecretOutputs, ["value"], `${key}: value is a secret output`);
            }
            for (const key of ["GITLAB_DOMAIN", "K8S_DEV_SERVER", "K8S_DEV_NAMESPACE", "K8S_DEV_CA"]) {
                assert.strictEqual(vars.get(key)!.inputs.masked, false, key);
                assert.strictEqual(vars.get(key)!.inputs.hidden, false, key);
            }
        });

        it("replaces a variable by deleting it first (key and scope are unique in a project)", () => {
            for (const [key, v] of variables(resources)) assert.strictEqual(v.opts.deleteBeforeReplace, true, key);
        });
    });

    describe("masking rules", () => {
        for (const preview of [false, true]) {
            it(`refuses a Go modules token GitLab cannot mask, naming the variable and why${preview ? ", already in preview" : ""}`, async () => {
                for (const [token, why] of [
                    ["short12", /7 characters long and GitLab masks only values of at least 8/],
                    ["two spaces here", /2 character\(s\) outside/],
                ] as const) {
                    const resources = await installMocks("dev", preview);
                    const failures = await runCollectingFailures(
                        () => new GitlabProject("p", projectArgs("dev", { goModulesToken: pulumi.secret(token) })),
                    );
                    assert.ok(failures.length > 0, `no error for ${JSON.stringify(token)}`);
                    for (const f of failures) {
                        assert.match(f, /CI\/CD variable GITLAB_TOKEN of example-microservice \(dev\) cannot be masked/);
                        assert.match(f, why);
                        assert.ok(!f.includes(token), "the error does not quote the secret");
                    }
                    assert.ok(!variables(resources).has("GITLAB_TOKEN"), "the variable is not sent to GitLab");
                }
            });
        }

        it("checks the deployer token once it is known, and lets the preview pass while it is not", async () => {
            const resources = await installMocks("dev", true);
            const unknown = pulumi.secret(pulumi.output(new Promise<string>(() => undefined)));
            const failures = await runCollectingFailures(
                () => new GitlabProject("p", projectArgs("dev", { clusterAccess: tokenAccess({ deployerToken: unknown }) })),
            );
            assert.deepStrictEqual(failures, []);
            assert.strictEqual(variables(resources).size, 5, "the other variables are previewed");

            await installMocks("dev");
            const refused = await runCollectingFailures(
                () => new GitlabProject("p", projectArgs("dev", { clusterAccess: tokenAccess({ deployerToken: pulumi.secret("line1\nline2") }) })),
            );
            assert.ok(
                refused.some((f) => /K8S_DEV_TOKEN .* cannot be masked: .*outside/.test(f)),
                refused.join("\n"),
            );
        });

        it("accepts the tokens GitLab and Kubernetes issue (personal access tokens, service-account JWTs)", () => {
            assert.strictEqual(maskingProblem(GO_TOKEN), undefined);
            assert.strictEqual(maskingProblem(DEPLOYER_TOKEN), undefined);
            assert.strictEqual(maskingProblem("gldt-abcdEFGH1234_-=/@:.~+"), undefined);
        });
    });

    it("refuses a CA that is not a PEM certificate", async () => {
        await installMocks("dev");
        const failures = await runCollectingFailures(
            () => new GitlabProject("p", projectArgs("dev", { clusterAccess: tokenAccess({ caCertificate: "LS0tLS1CRUdJTi" }) })),
        );
        assert.ok(
            failures.some((f) => /clusterCaCertificate of example-microservice must be a PEM certificate/.test(f)),
            failures.join("\n"),
        );
    });

    it("has no GitLab environment for the local stack", async () => {
        await installMocks("local");
        await assert.rejects(
            runInStack(() => {
                new GitlabProject("p", projectArgs("local"));
                return {};
            }),
            /environment must be one of dev, stg, prod/,
        );
    });
});

describe("gitlabProvider", () => {
    it("points at https://<domain>/api/v4/, keeps the token secret, verifies TLS and skips the early auth check (no API call in preview)", async () => {
        const resources = await installMocks("dev", true);
        await runInStack(() => {
            const provider = gitlabProvider("gitlab", { domain: "gitlab.example.com", token: "glpat-api-token-0123456789" });
            new GitlabRegistryAccess("the-project-example-microservice", accessArgs, { provider });
            new GitlabProject("the-project-example-microservice", projectArgs("dev"), { provider });
            return {};
        });
        const [p] = ofType(resources, "pulumi:providers:gitlab");
        assert.strictEqual(p.inputs.baseUrl, "https://gitlab.example.com/api/v4/");
        assert.strictEqual(p.inputs.earlyAuthCheck, "false");
        assert.strictEqual(p.inputs.insecure, "false");
        assert.ok((await p.secretInputs).includes("token"));
        const gitlabResources = resources.filter((r) => r.type.startsWith("gitlab:"));
        assert.strictEqual(gitlabResources.length, 8);
        for (const r of gitlabResources)
            assert.match(r.provider ?? "", /pulumi:providers:gitlab::gitlab::/, `${r.type} ${r.name} uses the configured provider`);
    });
});
