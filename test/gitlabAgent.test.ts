// The agent path (gitlab.clusterAccess: agent) through index.ts, per stack: the agent in GitLab,
// its token a secret from GitLab to agentk's Secret, the agent's config.yaml, agentk's chart and
// RBAC, and the service's variables without a cluster credential.
import * as assert from "assert";
import * as YAML from "yaml";
import { AGENTK_CHART_REPO, AGENTK_CHART_VERSION, AGENTK_SERVICE_ACCOUNT } from "../components/platform/agentk";
import { AGENTK_NAMESPACE } from "../lib/names";
import { AGENT_ID, agentTokenState, CLUSTER_AGENT, CLUSTER_AGENT_TOKEN, REPOSITORY_FILE, VARIABLE } from "../harness/gitlabMocks";
import { ofType, ProgramRun, Recorded } from "../harness/mocks";
import { runStack } from "../harness/stacks";

const AGENT_PROJECT = "the-project/cluster-agents";
const KAS = "wss://kas.gitlab.example.com";

/** The stack's committed config switched to the agent path, with a second project (namespace) of two services. */
function agentStack(stack: string, preview = false): Promise<ProgramRun> {
    return runStack(
        stack,
        (c) => {
            const gitlab = JSON.parse(c["hobby-platform:gitlab"]);
            c["hobby-platform:gitlab"] = JSON.stringify({ ...gitlab, clusterAccess: "agent", agent: { project: AGENT_PROJECT, kasAddress: KAS } });
            const projects = JSON.parse(c["hobby-platform:projects"]);
            // GitLab's agent serves only projects under its project's top-level group.
            projects["other-team"] = {
                services: {
                    billing: { basePath: "/billing", gitlabProject: "the-project/billing" },
                    "api-gateway": { basePath: "/gw", gitlabProject: "the-project/api-gateway" },
                },
            };
            c["hobby-platform:projects"] = JSON.stringify(projects);
        },
        preview,
    );
}

const one = (rs: Recorded[], type: string, name?: string) => {
    const found = ofType(rs, type).filter((r) => name === undefined || r.inputs.metadata?.name === name || r.name === name);
    assert.strictEqual(found.length, 1, `one ${type} ${name ?? ""}, found ${found.length}`);
    return found[0];
};

/** Every rule that a RoleBinding or ClusterRoleBinding grants agentk's ServiceAccount, with where it applies. */
function agentkGrants(rs: Recorded[]) {
    const bindings = [
        ...ofType(rs, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"),
        ...ofType(rs, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"),
    ];
    const toAgentk = bindings.filter((b) =>
        b.inputs.subjects.some(
            (s: { kind: string; name: string; namespace: string }) =>
                s.kind === "ServiceAccount" && s.name === AGENTK_SERVICE_ACCOUNT && s.namespace === AGENTK_NAMESPACE,
        ),
    );
    return toAgentk.map((b) => {
        const kind = b.inputs.roleRef.kind;
        const role = one(rs, `kubernetes:rbac.authorization.k8s.io/v1:${kind}`, b.inputs.roleRef.name);
        assert.strictEqual(role.inputs.metadata.namespace, b.inputs.metadata.namespace, "the Role is in the binding's namespace");
        return { kind, namespace: b.inputs.metadata.namespace as string | undefined, rules: role.inputs.rules };
    });
}

for (const env of ["dev", "stg", "prod"]) {
    describe(`the agent path (gitlab.clusterAccess: agent), stack ${env}`, () => {
        const ENV = env.toUpperCase();
        let result: ProgramRun;
        before(async () => {
            result = await agentStack(env);
        });

        it(`registers the agent hobby-${env} in the agent project, and a token for it`, () => {
            const agent = one(result.resources, CLUSTER_AGENT);
            assert.deepStrictEqual([agent.inputs.project, agent.inputs.name], [AGENT_PROJECT, `hobby-${env}`]);
            const token = one(result.resources, CLUSTER_AGENT_TOKEN);
            assert.deepStrictEqual([token.inputs.project, token.inputs.agentId], [AGENT_PROJECT, AGENT_ID]);
        });

        it("carries the agent token as a secret from GitLab into the Secret agentk mounts, and into no output", async () => {
            const token = one(result.resources, CLUSTER_AGENT_TOKEN);
            assert.deepStrictEqual(token.opts.additionalSecretOutputs, ["token"], "the SDK keeps the token secret in the state");
            const secret = one(result.resources, "kubernetes:core/v1:Secret", `gitlab-agent-token-${agentTokenState(token.name).tokenId}`);
            assert.strictEqual(secret.inputs.metadata.namespace, AGENTK_NAMESPACE);
            assert.strictEqual(secret.inputs.stringData.token, agentTokenState(token.name).token);
            assert.deepStrictEqual(await secret.secretInputs, ["stringData"]);
            assert.ok(!JSON.stringify(result.outputs).includes(agentTokenState(token.name).token), "no stack output holds the token");
        });

        it(`commits .gitlab/agents/hobby-${env}/config.yaml: ci_access for each service project, ${env} jobs only, as its deployer`, () => {
            const file = one(result.resources, REPOSITORY_FILE);
            assert.deepStrictEqual(
                [file.inputs.project, file.inputs.branch, file.inputs.filePath, file.inputs.encoding],
                [AGENT_PROJECT, "main", `.gitlab/agents/hobby-${env}/config.yaml`, "text"],
            );
            assert.deepStrictEqual(YAML.parse(file.inputs.content), {
                ci_access: {
                    projects: [
                        {
                            id: "the-project/api-gateway",
                            environments: [env],
                            access_as: { impersonate: { username: "system:serviceaccount:other-team:api-gateway-deployer" } },
                        },
                        {
                            id: "the-project/billing",
                            environments: [env],
                            access_as: { impersonate: { username: "system:serviceaccount:other-team:billing-deployer" } },
                        },
                        {
                            id: "the-project/example-microservice",
                            environments: [env],
                            access_as: { impersonate: { username: "system:serviceaccount:the-project:example-microservice-deployer" } },
                        },
                    ],
                },
            });
            assert.ok(file.opts.dependsOn, "the file waits for the agent's registration");
        });

        it(`installs agentk ${AGENTK_CHART_VERSION} from GitLab's chart, dialling ${KAS} with that Secret, without the chart's RBAC`, () => {
            const chart = one(result.resources, "kubernetes:helm.cattle.io/v1:HelmChart", "gitlab-agent");
            assert.deepStrictEqual(
                [chart.inputs.spec.repo, chart.inputs.spec.chart, chart.inputs.spec.version, chart.inputs.spec.targetNamespace],
                [AGENTK_CHART_REPO, "gitlab-agent", AGENTK_CHART_VERSION, AGENTK_NAMESPACE],
            );
            assert.deepStrictEqual(YAML.parse(chart.inputs.spec.valuesContent), {
                config: { kasAddress: KAS, secretName: "gitlab-agent-token-7", operational_container_scanning: { enabled: false } },
                rbac: { create: false },
                serviceAccount: { create: false, name: AGENTK_SERVICE_ACCOUNT },
            });
        });

        it("lets agentk impersonate each deployer ServiceAccount, in its namespace, and otherwise only keep its Lease and Events", () => {
            const grants = agentkGrants(result.resources).sort((a, b) =>
                `${a.namespace}${JSON.stringify(a.rules)}`.localeCompare(`${b.namespace}${JSON.stringify(b.rules)}`),
            );
            const impersonate = (namespace: string, sa: string) => ({
                kind: "Role",
                namespace,
                rules: [{ apiGroups: [""], resources: ["serviceaccounts"], resourceNames: [sa], verbs: ["impersonate"] }],
            });
            assert.deepStrictEqual(grants, [
                {
                    kind: "Role",
                    namespace: AGENTK_NAMESPACE,
                    rules: [
                        { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"] },
                        { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
                    ],
                },
                impersonate("other-team", "api-gateway-deployer"),
                impersonate("other-team", "billing-deployer"),
                impersonate("the-project", "example-microservice-deployer"),
            ]);
        });

        it(`writes K8S_${ENV}_CONTEXT (the agent's kube context) and no cluster credential: no K8S_${ENV}_TOKEN, _SERVER or _CA, no deployer token`, () => {
            const vars = ofType(result.resources, VARIABLE).filter((v) => v.inputs.project === "the-project/example-microservice");
            assert.deepStrictEqual(vars.map((v) => v.inputs.key).sort(), [
                "GITLAB_DOMAIN",
                "GITLAB_TOKEN",
                `K8S_${ENV}_CONTEXT`,
                `K8S_${ENV}_NAMESPACE`,
            ]);
            const context = vars.find((v) => v.inputs.key === `K8S_${ENV}_CONTEXT`)!;
            assert.deepStrictEqual(
                [context.inputs.value, context.inputs.environmentScope, context.inputs.protected, context.inputs.masked],
                [`${AGENT_PROJECT}:hobby-${env}`, env, true, false],
            );
            const tokens = ofType(result.resources, "kubernetes:core/v1:Secret").filter(
                (s) => s.inputs.type === "kubernetes.io/service-account-token",
            );
            assert.deepStrictEqual(tokens, [], "no long-lived ServiceAccount token is issued");
        });

        it("keeps each deployer's own rights as on the token path: get, list, watch and patch of its Deployment", () => {
            const role = one(result.resources, "kubernetes:rbac.authorization.k8s.io/v1:Role", "billing-deployer");
            assert.deepStrictEqual(role.inputs.rules, [
                { apiGroups: ["apps"], resources: ["deployments"], resourceNames: ["billing"], verbs: ["get", "list", "watch", "patch"] },
            ]);
        });
    });
}

describe("the agent path in a preview", () => {
    it("declares the agent, its Secret and agentk while the token is unknown, and keeps the token secret", async () => {
        const { resources } = await agentStack("dev", true);
        for (const type of [CLUSTER_AGENT, CLUSTER_AGENT_TOKEN, REPOSITORY_FILE, "kubernetes:helm.cattle.io/v1:HelmChart"])
            assert.ok(ofType(resources, type).length >= 1, type);
        const secret = ofType(resources, "kubernetes:core/v1:Secret").find((s) => s.inputs.metadata?.namespace === AGENTK_NAMESPACE);
        assert.ok(secret, "the token Secret is declared");
        assert.deepStrictEqual(await secret.secretInputs, ["stringData"]);
    });
});
