// One cluster whatever server is lost: every node joins through the API's fixed name (an A record
// per server), only a new stack's first server initialises etcd, and worker pools of k3s agents
// join with their own token behind their own firewall.
import * as assert from "assert";
import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { K3S_TLS_DIR } from "../components/cluster/cloudConfig";
import { KEPT_BY_RUNNING_NODES, nodeTags } from "../components/cluster/nodes";
import { SERVER_PLAN } from "../components/cluster/upgrades";
import { API_DNS_TTL_SECONDS, OBJECT_STORAGE_PRICE_USD } from "../lib/clusterFacts";
import { HobbyCluster, WorkerPool } from "../components/cluster/hobbyCluster";
import { cloudConfig, clusterArgs, file, INSTANCE, installScript, k3sConfig, READINESS, RULE, runCluster } from "./helpers/cluster";
import { ListedInstance, vultrAccount } from "../harness/clusterMocks";
import { installMocks, ofType, Recorded, runCollectingFailures, valueOf, withObjects } from "../harness/mocks";
import { runStack } from "../harness/stacks";

const RECORD = "vultr:index/dnsRecord:DnsRecord";
const GROUP = "vultr:index/firewallGroup:FirewallGroup";
const PLAN = "kubernetes:upgrade.cattle.io/v1:Plan";
const byName = (rs: Recorded[], name: string) => rs.find((r) => r.name === name)!;
const names = (deps: unknown) => ((deps ?? []) as pulumi.Resource[]).map((d) => (d as unknown as { __name: string }).__name).sort();
const seeds = (vm: Recorded) => cloudConfig(vm).write_files.filter((f) => f.path.startsWith(K3S_TLS_DIR));

/** The dev stack's servers as Vultr lists them, tagged as the program tags them. */
const listed = (...indexes: number[]): ListedInstance[] =>
    indexes.map((i) => ({
        id: `vm-${i}`,
        label: `hobby-dev-${i}`,
        tags: ["hobby-platform", "env-dev", ...nodeTags({ role: "server", index: i })],
        firewallGroupId: "cluster-firewall-id",
    }));

/** Runs `f` with the mocked Vultr account holding `instances`, then empties it again. */
async function withAccount<T>(instances: ListedInstance[], f: () => Promise<T>): Promise<T> {
    vultrAccount.instances = instances;
    try {
        return await f();
    } finally {
        vultrAccount.instances = [];
    }
}

describe("HobbyCluster joins through the API's fixed name", function () {
    this.timeout(60_000);

    it("gives the name an A record per server, with a short TTL, in the zone, each only after a gate saw that server Ready on its own address", async () => {
        const { resources } = await runCluster();
        const records = ofType(resources, RECORD);
        assert.deepStrictEqual(
            records.map((r) => [r.name, r.inputs.domain, r.inputs.name, r.inputs.type, r.inputs.data, r.inputs.ttl]).sort(),
            [1, 2, 3].map((i) => [`cluster-${i}-api`, "example.com", "k8s.dev", "A", `203.0.113.${10 + i}`, API_DNS_TTL_SECONDS]),
        );
        for (const i of [1, 2, 3]) {
            const gate = byName(resources, `cluster-${i}-ready`);
            // TLS to the server's own address, verified for the API's name: a joining server that
            // still answers 503 is not given to clients, server 1 included.
            assert.deepStrictEqual([gate.inputs.server, gate.inputs.address], ["https://k8s.dev.example.com:6443", `203.0.113.${10 + i}`]);
            assert.deepStrictEqual(names(byName(resources, `cluster-${i}-api`).opts.dependsOn), [`cluster-${i}-ready`]);
            assert.ok(!names(gate.opts.dependsOn).some((n) => n.endsWith("-api")), `cluster-${i}-ready waits for no record`);
        }
        assert.ok(names(byName(resources, "cluster-readiness").opts.dependsOn).includes("cluster-3-api"));
        assert.strictEqual(byName(resources, "cluster-readiness").inputs.address, undefined, "the cluster's own gate goes through the name");
    });

    it("a one-server stack still gets its record only after its server's own gate", async () => {
        const { resources } = await runCluster({ nodeCount: 1 });
        assert.deepStrictEqual(names(byName(resources, "cluster-1-api").opts.dependsOn), ["cluster-1-ready"]);
        assert.strictEqual(byName(resources, "cluster-1-ready").inputs.address, "203.0.113.11");
    });

    it("puts the name at the zone's apex as the empty record name, never an auto-name", async () => {
        const { resources } = await runCluster({ apiHost: "example.com" });
        assert.ok(ofType(resources, RECORD).every((r) => r.inputs.name === ""));
    });

    it("stops, naming the zone, when the Vultr account has no such DNS zone", async () => {
        await installMocks("dev");
        const failures = await runCollectingFailures(
            () => new HobbyCluster("cluster", clusterArgs({ dnsZone: "example.org", apiHost: "k8s.example.org" })),
        );
        assert.ok(
            failures.some((m) => /the DNS zone "example\.org" \(dns\.zone\) that holds the API's name is not in this Vultr account/.test(m)),
            failures.join("\n"),
        );
    });

    it("on a new stack, initialises etcd on server 1 alone, with the seeded CAs; every other server joins", async () => {
        const vms = ofType((await withAccount([], () => runCluster({ nodeCount: 5 }))).resources, INSTANCE);
        assert.deepStrictEqual(
            vms.map((vm) => [k3sConfig(vm)["cluster-init"], k3sConfig(vm).server, seeds(vm).length > 0]),
            [[true, undefined, true], ...Array(4).fill([undefined, "https://k8s.dev.example.com:6443", false])],
        );
    });

    for (const [what, existing] of [
        ["lost (deleted at Vultr, dropped by refresh)", [2, 3]],
        ["replaced on purpose (pulumi up --replace, while all three exist)", [1, 2, 3]],
    ] as const) {
        it(`when server 1 of a running stack is ${what}, the new one joins through the name, with no cluster-init and no seeded CA`, async () => {
            const vms = ofType((await withAccount(listed(...existing), () => runCluster())).resources, INSTANCE);
            for (const vm of vms) {
                assert.strictEqual(k3sConfig(vm)["cluster-init"], undefined, vm.name);
                assert.strictEqual(k3sConfig(vm).server, "https://k8s.dev.example.com:6443", vm.name);
                assert.deepStrictEqual(seeds(vm), [], vm.name);
            }
        });
    }

    it("counts a server made by an earlier release, without the new tags, as another server of the stack (its firewall group says so)", async () => {
        const untagged = listed(1, 2, 3).map((vm) => ({ ...vm, tags: ["hobby-platform", "env-dev"] }));
        const first = ofType((await withAccount(untagged, () => runCluster())).resources, INSTANCE)[0];
        assert.strictEqual(k3sConfig(first).server, "https://k8s.dev.example.com:6443");
    });

    it("initialises again only when no other server of the stack is left (a one-server cluster, or all others lost): nothing to join", async () => {
        const single = ofType((await withAccount(listed(1), () => runCluster({ nodeCount: 1 }))).resources, INSTANCE)[0];
        assert.strictEqual(k3sConfig(single)["cluster-init"], true);
        // Another stack's servers (another firewall group) are not this cluster's.
        const other = listed(2, 3).map((vm) => ({ ...vm, firewallGroupId: "other-firewall-id" }));
        const first = ofType((await withAccount(other, () => runCluster())).resources, INSTANCE)[0];
        assert.strictEqual(k3sConfig(first)["cluster-init"], true);
    });

    it("tags every server with the stack and its index, which running servers take in place (tags are not ForceNew)", async () => {
        const vms = ofType((await runCluster()).resources, INSTANCE);
        assert.deepStrictEqual(vms[1].inputs.tags, ["hobby-platform", "env-dev", "hobby-platform-dev-k3s-server", "hobby-platform-dev-k3s-server-2"]);
        assert.ok(!KEPT_BY_RUNNING_NODES.includes("tags"));
    });

    it("deletes a server before its replacement is created: the new one takes the name only once the old one is gone", async () => {
        for (const vm of ofType((await runCluster()).resources, INSTANCE)) assert.strictEqual(vm.opts.deleteBeforeReplace, true, vm.name);
    });

    for (const stack of ["dev", "stg", "prod"]) {
        it(`stack ${stack}: every server joins through k8s.${stack}.example.com but the first, which the name's certificate, kubeconfig and CI variable all name`, async () => {
            const run = await runStack(stack);
            const url = `https://k8s.${stack}.example.com:6443`;
            const vms = ofType(run.resources, INSTANCE);
            assert.deepStrictEqual(
                vms.map((vm) => k3sConfig(vm).server),
                [undefined, url, url],
            );
            for (const vm of vms) assert.ok(installScript(vm).includes(`  - k8s.${stack}.example.com\n`), `${vm.name}: tls-san`);
            assert.strictEqual(await valueOf(run.exports.apiServerUrl as pulumi.Output<string>), url);
            const server = ofType(run.resources, "gitlab:index/projectVariable:ProjectVariable").find(
                (v) => v.inputs.key === `K8S_${stack.toUpperCase()}_SERVER`,
            );
            assert.strictEqual(server?.inputs.value, url);
            for (const gate of ofType(run.resources, READINESS)) assert.strictEqual(gate.inputs.server, url, gate.name);
        });
    }
});

describe("HobbyCluster worker pools", function () {
    this.timeout(60_000);
    const pools: WorkerPool[] = [
        { name: "workers", plan: "vc2-2c-4gb", count: 2, labels: { "hobby-platform/pool": "workers" }, taints: [] },
        { name: "batch", plan: "vc2-1c-2gb", count: 1, labels: {}, taints: ["dedicated=batch:NoSchedule"] },
    ];
    let resources: Recorded[];
    let cost: number;
    before(async () => {
        const run = await runCluster({ workers: pools });
        resources = run.resources;
        cost = run.cluster.monthlyCostUsd;
    });
    const agents = () => ofType(resources, INSTANCE).filter((vm) => /-(workers|batch)-\d$/.test(vm.name));

    it("creates each pool's agents on its plan, named after the pool, after the servers, one node at a time", () => {
        assert.deepStrictEqual(
            agents().map((vm) => [vm.name, vm.inputs.hostname, vm.inputs.plan]),
            [
                ["cluster-workers-1", "hobby-dev-workers-1", "vc2-2c-4gb"],
                ["cluster-workers-2", "hobby-dev-workers-2", "vc2-2c-4gb"],
                ["cluster-batch-1", "hobby-dev-batch-1", "vc2-1c-2gb"],
            ],
        );
        assert.deepStrictEqual(names(byName(resources, "cluster-workers-1").opts.dependsOn), ["cluster-3-api", "cluster-3-ready"]);
        assert.deepStrictEqual(names(byName(resources, "cluster-batch-1").opts.dependsOn), ["cluster-workers-2-ready"]);
        const last = byName(resources, "cluster-workers-2-ready");
        assert.deepStrictEqual(last.inputs.nodeNames, ["hobby-dev-1", "hobby-dev-2", "hobby-dev-3"]);
        assert.deepStrictEqual(last.inputs.agentNames, ["hobby-dev-workers-1", "hobby-dev-workers-2"]);
        assert.deepStrictEqual(byName(resources, "cluster-readiness").inputs.agentNames, [
            "hobby-dev-workers-1",
            "hobby-dev-workers-2",
            "hobby-dev-batch-1",
        ]);
    });

    it("joins agents through the fixed name with the agent token, which the servers accept and which cannot make a server", () => {
        const servers = ofType(resources, INSTANCE).filter((vm) => /^cluster-\d$/.test(vm.name));
        const serverToken = k3sConfig(servers[0]).token as string;
        const agentSecret = k3sConfig(servers[0])["agent-token"] as string;
        assert.match(agentSecret, /^[0-9a-f]{32}$/);
        for (const vm of servers) assert.strictEqual(k3sConfig(vm)["agent-token"], agentSecret, vm.name);
        const caHash = serverToken.slice(3, 67);
        for (const vm of agents()) {
            const c = k3sConfig(vm);
            assert.strictEqual(c.server, "https://k8s.dev.example.com:6443");
            assert.strictEqual(c.token, `K10${caHash}::node:${agentSecret}`, "secure form: the agent checks the server CA first");
            assert.ok(!vm.inputs.userData.includes(serverToken.split("::server:")[1]), `${vm.name} carries no server token`);
            assert.match(installScript(vm), /k3s_role="agent"/);
            // The metadata block comes before the agent's own service, which install.sh names k3s-agent.
            assert.match(file(cloudConfig(vm), "/etc/systemd/system/hobby-metadata-block.service")!.content, /^RequiredBy=k3s-agent\.service$/m);
            // Server-only settings would make `k3s agent` refuse to start.
            for (const key of ["cluster-init", "cluster-cidr", "secrets-encryption", "etcd-snapshot-schedule-cron", "agent-token"])
                assert.strictEqual(c[key], undefined, key);
            assert.deepStrictEqual(seeds(vm), []);
            assert.ok(vm.opts.additionalSecretOutputs?.includes("userData"));
        }
        assert.strictEqual(
            caHash,
            createHash("sha256")
                .update(file(cloudConfig(servers[0]), `${K3S_TLS_DIR}/server-ca.crt`)!.content)
                .digest("hex"),
        );
    });

    it("registers each pool's labels and taints on its agents", () => {
        assert.deepStrictEqual(
            agents().map((vm) => [k3sConfig(vm)["node-label"], k3sConfig(vm)["node-taint"]]),
            [
                [["hobby-platform/pool=workers"], undefined],
                [["hobby-platform/pool=workers"], undefined],
                [undefined, ["dedicated=batch:NoSchedule"]],
            ],
        );
    });

    it("puts agents behind their own firewall (SSH from the admin networks only), and lets each reach the API to join", () => {
        const groups = ofType(resources, GROUP);
        assert.deepStrictEqual(
            groups.map((g) => g.name),
            ["cluster-firewall", "cluster-agents-firewall"],
        );
        for (const vm of agents()) assert.strictEqual(vm.inputs.firewallGroupId, groups[1].id, vm.name);
        const rules = (group: string) =>
            ofType(resources, RULE)
                .filter((r) => r.inputs.firewallGroupId === group)
                .map((r) => `${r.inputs.port} ${r.inputs.subnet}/${r.inputs.subnetSize}`)
                .sort();
        assert.deepStrictEqual(rules(groups[1].id), ["22 198.51.100.7/32", "22 203.0.113.0/24"]);
        for (const agent of ["workers-1", "workers-2", "batch-1"]) {
            const join = byName(resources, `cluster-${agent}-join`);
            assert.deepStrictEqual([join.inputs.firewallGroupId, join.inputs.port], [groups[0].id, "6443"]);
        }
        assert.deepStrictEqual(ofType(resources, RECORD).length, 3, "agents serve no API: no record of the name");
    });

    it("keeps running agents as the servers: ForceNew fields ignored, deleted before replaced", () => {
        for (const vm of agents()) {
            assert.deepStrictEqual(vm.opts.ignoreChanges, KEPT_BY_RUNNING_NODES, vm.name);
            assert.strictEqual(vm.opts.deleteBeforeReplace, true);
            assert.ok(
                vm.inputs.tags.includes("hobby-platform-dev-k3s-agent") &&
                    vm.inputs.tags.includes(`hobby-platform-dev-pool-${vm.name.split("-")[1]}`),
            );
            assert.ok(!vm.inputs.tags.includes("hobby-platform-dev-k3s-server"), "an agent never counts as a server to join");
        }
    });

    it("upgrades agents with a Plan of their own that waits for the servers' Plan and tolerates the pools' taints", () => {
        const plans = ofType(resources, PLAN);
        assert.deepStrictEqual(
            plans.map((p) => p.inputs.metadata.name),
            [SERVER_PLAN, "k3s-agent"],
        );
        const agentPlan = plans[1].inputs.spec;
        assert.deepStrictEqual(agentPlan.prepare, { image: "rancher/k3s-upgrade", args: ["prepare", SERVER_PLAN] });
        assert.deepStrictEqual(agentPlan.nodeSelector, {
            matchExpressions: [{ key: "node-role.kubernetes.io/control-plane", operator: "DoesNotExist" }],
        });
        assert.strictEqual(agentPlan.version, plans[0].inputs.spec.version, "prepare waits for the servers to report this very version");
        assert.deepStrictEqual([agentPlan.concurrency, agentPlan.tolerations], [1, [{ operator: "Exists" }]]);
    });

    it("adds the pools to the monthly cost", () => {
        assert.strictEqual(cost, 3 * 10 + 2 * 20 + 10 + OBJECT_STORAGE_PRICE_USD);
    });

    it("declares no agent, agents' firewall or agents' Plan for pools of count 0, nor without pools", async () => {
        for (const workers of [[], [{ ...pools[0], count: 0 }]] as WorkerPool[][]) {
            const rs = (await runCluster({ workers })).resources;
            assert.strictEqual(ofType(rs, INSTANCE).length, 3);
            assert.deepStrictEqual(
                ofType(rs, GROUP).map((g) => g.name),
                ["cluster-firewall"],
            );
            assert.deepStrictEqual(
                ofType(rs, PLAN).map((p) => p.inputs.metadata.name),
                [SERVER_PLAN],
            );
        }
    });

    it("through the program: a stack with cluster.workers has its agents, and its services prefer them", async () => {
        const run = await runStack("dev", (c) => {
            const cluster = JSON.parse(c["hobby-platform:cluster"]);
            Object.assign(c, withObjects({}, { cluster: { ...cluster, workers: [{ name: "workers", count: 2 }] } }));
        });
        assert.deepStrictEqual(
            ofType(run.resources, INSTANCE).map((vm) => vm.inputs.hostname),
            ["hobby-dev-1", "hobby-dev-2", "hobby-dev-3", "hobby-dev-workers-1", "hobby-dev-workers-2"],
        );
        const deployment = ofType(run.resources, "kubernetes:apps/v1:Deployment").find((d) => d.name.endsWith("example-microservice-deployment"))!;
        assert.deepStrictEqual(deployment.inputs.spec.template.spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution, [
            { weight: 100, preference: { matchExpressions: [{ key: "node-role.kubernetes.io/control-plane", operator: "DoesNotExist" }] } },
        ]);
        const nodes = (await valueOf(run.exports.nodes as pulumi.Output<{ name: string; role: string }[]>)).map((n) => `${n.name} ${n.role}`);
        assert.deepStrictEqual(nodes.slice(3), ["hobby-dev-workers-1 agent", "hobby-dev-workers-2 agent"]);
    });
});
