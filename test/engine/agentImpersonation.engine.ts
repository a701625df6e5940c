// The agent path's RBAC on a real API server: the objects the dev stack declares in agent mode
// (the mocks' graph: namespaces, the deployers, agentk's ServiceAccount, Roles and bindings)
// applied to the loopback cluster, then the chain a CI job goes through, checked by the API
// server itself: agentk may impersonate each service's deployer and nothing else, and as a
// deployer may roll out that service's Deployment and nothing else.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { AGENTK_SERVICE_ACCOUNT } from "../../components/platform/agentk";
import { AGENTK_NAMESPACE } from "../../lib/names";
import { LocalCluster, startLocalCluster } from "../helpers/localCluster";
import { runStack } from "../../harness/stacks";

const AGENTK = `system:serviceaccount:${AGENTK_NAMESPACE}:${AGENTK_SERVICE_ACCOUNT}`;
const NS = "the-project";
const SVC = "example-microservice";
const DEPLOYER = `system:serviceaccount:${NS}:${SVC}-deployer`;
const RBAC_KINDS = ["Namespace", "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"];

describe("the agent path's impersonation chain on a real API server (kubectl auth can-i)", function () {
    this.timeout(30 * 60 * 1000);
    let cluster: LocalCluster;
    const k = (...args: string[]) => cluster.kubectl(args);
    /** can-i's answer; it exits 1 on "no". */
    const can = (...args: string[]) => {
        try {
            return k("auth", "can-i", ...args).trim();
        } catch (e: unknown) {
            return String((e as { stdout?: unknown }).stdout).trim();
        }
    };

    before(async () => {
        const { resources } = await runStack("dev", (c) => {
            const gitlab = JSON.parse(c["hobby-platform:gitlab"]);
            c["hobby-platform:gitlab"] = JSON.stringify({
                ...gitlab,
                clusterAccess: "agent",
                agent: { project: "the-project/cluster-agents", kasAddress: "wss://kas.gitlab.example.com" },
            });
        });
        const objects = resources.filter((r) => r.type.startsWith("kubernetes:") && RBAC_KINDS.includes(r.inputs.kind)).map((r) => r.inputs);
        assert.ok(objects.some((o) => o.kind === "RoleBinding" && o.metadata.namespace === NS && o.subjects[0].name === AGENTK_SERVICE_ACCOUNT));
        cluster = startLocalCluster();
        // Namespaces first, then the rest, as the engine orders them.
        const namespaces = objects.filter((o) => o.kind === "Namespace");
        cluster.kubectl(["apply", "--server-side", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: namespaces }));
        cluster.kubectl(
            ["apply", "--server-side", "-f", "-"],
            JSON.stringify({ apiVersion: "v1", kind: "List", items: objects.filter((o) => o.kind !== "Namespace") }),
        );
        // kubectl names the container after the image: "svc".
        k("create", "deployment", SVC, "--image=example/svc:1", "-n", NS);
        k("create", "deployment", "other", "--image=example/other:1", "-n", NS);
        k("create", "serviceaccount", "other-deployer", "-n", NS);
    });
    after(() => cluster?.stop());

    it("agentk may impersonate the deployer ServiceAccount, and no other identity", () => {
        const matrix: [string, string[], "yes" | "no"][] = [
            ["the service's deployer", ["impersonate", `serviceaccounts/${SVC}-deployer`, "-n", NS], "yes"],
            ["another ServiceAccount of the namespace", ["impersonate", "serviceaccounts/other-deployer", "-n", NS], "no"],
            ["any ServiceAccount of the namespace", ["impersonate", "serviceaccounts", "-n", NS], "no"],
            ["a ServiceAccount of kube-system", ["impersonate", "serviceaccounts/default", "-n", "kube-system"], "no"],
            ["a user", ["impersonate", "users/admin"], "no"],
            ["a group", ["impersonate", "groups/system:masters"], "no"],
            ["read Secrets", ["get", "secrets", "-n", NS], "no"],
            ["read its own token Secret's namespace", ["list", "secrets", "-n", AGENTK_NAMESPACE], "no"],
            ["patch the Deployment itself", ["patch", `deployment/${SVC}`, "-n", NS], "no"],
            ["keep its leader-election Lease", ["update", "leases", "-n", AGENTK_NAMESPACE], "yes"],
            ["record Events", ["create", "events", "-n", AGENTK_NAMESPACE], "yes"],
            ["escalate through RBAC", ["create", "rolebindings", "-n", NS], "no"],
        ];
        const answers = matrix.map(([what, args]) => [what, can(...args, `--as=${AGENTK}`)]);
        assert.deepStrictEqual(
            answers,
            matrix.map(([what, , want]) => [what, want]),
        );
    });

    it("through agentk, a CI job acts as the deployer: it may roll out its Deployment and nothing else", () => {
        // agentk's own credentials and the impersonation header, as agentk forwards a CI job's request.
        const token = k("create", "token", AGENTK_SERVICE_ACCOUNT, "-n", AGENTK_NAMESPACE).trim();
        const server = k("config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}");
        const caFile = path.join(cluster.dir, "agentk-ca.crt");
        fs.writeFileSync(
            caFile,
            Buffer.from(k("config", "view", "--minify", "--raw", "-o", "jsonpath={.clusters[0].cluster.certificate-authority-data}"), "base64"),
        );
        const asAgentk = (identity: string, ...args: string[]) => {
            try {
                return cluster
                    .kubectl([
                        `--kubeconfig=${path.join(cluster.dir, "empty-kubeconfig")}`,
                        `--server=${server}`,
                        `--certificate-authority=${caFile}`,
                        `--token=${token}`,
                        `--as=${identity}`,
                        ...args,
                    ])
                    .trim();
            } catch (e: unknown) {
                const { stdout, stderr } = e as { stdout?: unknown; stderr?: unknown };
                return `${String(stdout ?? "")}${String(stderr ?? "")}`.trim();
            }
        };
        fs.writeFileSync(path.join(cluster.dir, "empty-kubeconfig"), "apiVersion: v1\nkind: Config\n");
        assert.strictEqual(asAgentk(DEPLOYER, "auth", "can-i", "patch", `deployment/${SVC}`, "-n", NS), "yes");
        assert.strictEqual(asAgentk(DEPLOYER, "auth", "can-i", "patch", "deployment/other", "-n", NS), "no");
        assert.strictEqual(asAgentk(DEPLOYER, "auth", "can-i", "get", "secrets", "-n", NS), "no");
        assert.match(asAgentk(DEPLOYER, "set", "image", `deployment/${SVC}`, "svc=example/svc:2", "-n", NS), /image updated/);
        assert.match(asAgentk(DEPLOYER, "get", "secrets", "-n", NS), /forbidden/i);
        // Nobody else: the API server refuses agentk's impersonation of another ServiceAccount.
        assert.match(asAgentk(`system:serviceaccount:${NS}:other-deployer`, "get", `deployment/${SVC}`, "-n", NS), /cannot impersonate/);
    });
});
