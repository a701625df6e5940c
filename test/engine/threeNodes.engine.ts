// The `local` stack on three nodes (scripts/local-cluster.sh start --with-nodes --nodes 3), under
// real traffic through Traefik over verified HTTPS: the example service's two replicas on two
// nodes, kept apart while one node has no room for a replica; the k3s upgrade of every node, run as
// system-upgrade-controller runs the program's server Plan (its node order, its Job's drain, the
// restart, the uncordon) with no failed request and every drain finishing; the project's network
// policy enforced by kube-router; and a node that dies without a drain, the service answering from
// the other nodes after a stated bound and its pod recreated on another node.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { execFile } from "child_process";
import { promisify } from "util";
import { controllerManifests, serverUpgradePlan } from "../../components/cluster/upgrades";
import { DEFAULT_K3S_VERSION } from "../../config";
import { stackConfig } from "../../harness/mocks";
import { PulumiWorkspace } from "../../harness/pulumiWorkspace";
import { SYSTEM_UPGRADE_NAMESPACE } from "../../lib/names";
import { installCertManagerCrds, LocalNode, LocalNodeCluster, localStackOnNodes, startLocalNodeCluster } from "../helpers/localCluster";
import { eventually, Failure, ingressGet, sleep, TrafficLoop, trafficLoop } from "../helpers/http";
import { uncordonsAfter, upgradeJobKubectl, upgradeOrder, UpgradePlan } from "../helpers/upgradeJob";

const config = stackConfig("local");
const NS = Object.keys(JSON.parse(config["hobby-platform:projects"]))[0];
const SVC = Object.keys(JSON.parse(config["hobby-platform:projects"])[NS].services)[0];
const SERVICE = JSON.parse(config["hobby-platform:projects"])[NS].services[SVC];
/** A project of another team on the same cluster: its pods fill two nodes and try the service. */
const OTHER = "other-project";
/**
 * The service's replacement pods take this long to listen (START_DELAY of the example service), as
 * a service that loads its state first: an upgrade that went on to the next node before they are
 * Ready would leave no replica serving, unless a PodDisruptionBudget stops it.
 */
const START_DELAY_S = 20;
/**
 * After a node dies, requests may fail until the Node lifecycle controller has marked its pods
 * not Ready (endpoints drop them): kube-controller-manager v1.37.2's defaults are a 50 s
 * node-monitor-grace-period checked every 5 s node-monitor-period
 * (pkg/controller/nodelifecycle/config/v1alpha1/defaults.go lines 45-53), counted from the
 * kubelet's last lease renewal (every 10 s: 0.25 of the 40 s lease, pkg/kubelet/apis/config/v1beta1/defaults.go),
 * then the EndpointSlice controller and Traefik follow. 90 s covers 50 + 5 + 10 with 25 s to spare.
 */
const LOST_NODE_BOUND_S = 90;
/**
 * The lost node's pods are deleted once their toleration of the unreachable taint ends: the
 * Microservice's 60 s (LOST_NODE_TOLERATION_SECONDS; the default would be 300 s,
 * DefaultTolerationSeconds, plugin/pkg/admission/defaulttolerationseconds/admission.go lines
 * 44-45) after the taint, itself 40 to 55 s after the node's death. 150 s covers that with 35 s
 * to spare, and fails with the default; 240 s covers the new pod's start too.
 */
const EVICTED_WITHIN_S = 150;
const RECREATED_WITHIN_S = 240;
/** How long a probe pod tries to connect. */
const PROBE_SECONDS = 20;

describe("three nodes: spread replicas, an upgrade's drains, network policy and a lost node, under traffic through Traefik over HTTPS", function () {
    this.timeout(40 * 60 * 1000);
    this.bail(true);
    let cluster: LocalNodeCluster;
    let ws: PulumiWorkspace;
    let host: string;
    let nodePort: number;
    let ca: Buffer;
    const hello = `${SERVICE.basePath}/hello`;
    const k = (...args: string[]) => cluster.kubectl(args);
    const json = (...args: string[]) => JSON.parse(k(...args, "-o", "json"));
    const jsonAsync = async (...args: string[]) => JSON.parse(await cluster.kubectlAsync([...args, "-o", "json"]));
    /** The service through the Traefik of `node`, on its NodePort, as a load balancer in front of the nodes sends it. */
    const viaTraefik = (node: LocalNode) => ingressGet("https", node.ip, host, hello, ca, nodePort);
    const isReady = (p: any) => p.status.conditions?.some((c: any) => c.type === "Ready" && c.status === "True") && !p.metadata.deletionTimestamp;
    /** Where the service's pods are: every pod's node, and the Ready ones'. */
    const placement = async () => {
        const pods = (await jsonAsync("get", "pods", "-n", NS, "-l", `app=${SVC}`)).items;
        return { all: pods, ready: pods.filter(isReady).map((p: any) => p.spec.nodeName as string) };
    };
    /** Another project's Deployment of one pod on node 3 requesting `bytes` of memory (replaced, not rolled: it fills the node). */
    const ballast = (bytes: number, replicas = 1) => {
        cluster.kubectl(
            ["apply", "-f", "-"],
            JSON.stringify({
                apiVersion: "apps/v1",
                kind: "Deployment",
                metadata: { name: "ballast", namespace: OTHER },
                spec: {
                    replicas,
                    strategy: { type: "Recreate" },
                    selector: { matchLabels: { app: "ballast" } },
                    template: {
                        metadata: { labels: { app: "ballast" } },
                        spec: {
                            nodeSelector: { "kubernetes.io/hostname": cluster.nodes[2].name },
                            containers: [
                                {
                                    name: "ballast",
                                    image: "docker.io/rancher/mirrored-pause:3.6",
                                    imagePullPolicy: "Never",
                                    resources: { requests: { cpu: "10m", memory: `${Math.floor(bytes / 2 ** 20)}Mi` } },
                                },
                            ],
                        },
                    },
                },
            }),
        );
        k("rollout", "status", "deployment/ballast", "-n", OTHER, "--timeout=120s");
    };
    const report = (what: string, loop: TrafficLoop) =>
        console.log(`      ${what}: ${loop.requests} requests through Traefik over HTTPS, ${loop.failures.length} failed`);

    before(() => {
        cluster = startLocalNodeCluster(3);
        assert.strictEqual(cluster.nodes.length, 3);
        installCertManagerCrds(cluster);
        // Another project's pod takes most of node 3's memory (a request only: a pause container
        // uses nothing), so the replicas start on nodes 1 and 2; once their request is known, all
        // but half of it (fillNode3 below).
        k("create", "namespace", OTHER);
        ballast(Math.floor((parseQuantity(json("get", "node", cluster.nodes[2].name).status.allocatable.memory) * 3) / 4));
        // The image the stack's first Deployment names: <registry>/<gitlabProject>:local-latest.
        cluster.registry.push("example-microservice", `${cluster.registry.host}/${SERVICE.gitlabProject}:local-latest`, {
            VERSION: "1",
            START_DELAY: `${START_DELAY_S}s`,
        });
        ws = localStackOnNodes(cluster, NS, SVC, 2);
        // system-upgrade-controller's release objects but its Deployment (its image cannot be built
        // here): the Plan CRD, its ServiceAccount and RBAC, with which the drains below run.
        const release = controllerManifests({}).filter((o) => o.kind !== "Deployment");
        // Its namespace before the objects in it.
        for (const m of [...release.filter((o) => o.kind === "Namespace"), ...release.filter((o) => o.kind !== "Namespace")]) {
            cluster.kubectl(["apply", "--server-side", "-f", "-"], JSON.stringify(m));
        }
        k("wait", "--for=condition=Established", "--timeout=60s", "crd/plans.upgrade.cattle.io");
        cluster.kubectl(["apply", "--server-side", "-f", "-"], JSON.stringify(serverUpgradePlan(DEFAULT_K3S_VERSION, {})));
    });
    after(() => {
        ws?.remove();
        cluster?.stop();
    });

    it("pulumi up runs the two replicas on two nodes; Traefik on every node serves them over verified HTTPS", async () => {
        ws.ok("up", "--yes", "--skip-preview");
        k("rollout", "status", `deployment/${SVC}`, "-n", NS, "--timeout=180s");
        const { ready } = await placement();
        assert.strictEqual(ready.length, 2);
        assert.strictEqual(new Set(ready).size, 2, `both replicas on ${ready[0]}`);
        // Node 3 full: it has no room for a replica (half of one's memory request is left), while
        // the other two keep theirs, so that a drain leaves one node where a replacement fits.
        const request = parseQuantity(json("get", "deployment", SVC, "-n", NS).spec.template.spec.containers[0].resources.requests.memory);
        const node3 = cluster.nodes[2].name;
        const others = json("get", "pods", "-A", "--field-selector", `spec.nodeName=${node3},status.phase!=Succeeded,status.phase!=Failed`)
            .items.filter((p: any) => p.metadata.namespace !== OTHER)
            .flatMap((p: any) => p.spec.containers.map((c: any) => parseQuantity(c.resources?.requests?.memory ?? "0")))
            .reduce((a: number, b: number) => a + b, 0);
        ballast(parseQuantity(json("get", "node", node3).status.allocatable.memory) - others - request / 2);

        await eventually(120, () => k("get", "daemonset", "traefik", "-n", "kube-system"));
        k("rollout", "status", "daemonset/traefik", "-n", "kube-system", "--timeout=180s");
        assert.strictEqual(json("get", "daemonset", "traefik", "-n", "kube-system").status.numberReady, 3);
        const traefik = json("get", "service", "traefik", "-n", "kube-system");
        nodePort = traefik.spec.ports.find((p: any) => p.name === "websecure").nodePort;
        const ingress = json("get", "ingress", SVC, "-n", NS);
        host = ingress.spec.rules[0].host;
        cluster.writeTlsSecret(NS, ingress.spec.tls[0].secretName, host);
        ca = fs.readFileSync(path.join(cluster.dir, "pki", "ca.crt"));
        for (const node of cluster.nodes) {
            const answer = await eventually(60, () => viaTraefik(node));
            assert.deepStrictEqual([answer.status, answer.cert], [200, { subject: host, issuer: "hobby-platform-local-ca" }], node.name);
        }
    });

    it("an upgrade, run as system-upgrade-controller runs the server Plan (its node order, its Job's drain, a restart, the uncordon), waits for the PodDisruptionBudget, loses no request and every drain finishes", async () => {
        const plan: UpgradePlan = json("get", "plans.upgrade.cattle.io", "k3s-server", "-n", SYSTEM_UPGRADE_NAMESPACE);
        const selector = serverUpgradePlan(DEFAULT_K3S_VERSION, {})
            .spec.nodeSelector.matchExpressions.map((e) => e.key)
            .join(",");
        const nodes: { name: string; uid: string }[] = json("get", "nodes", "-l", selector).items.map((n: any) => ({
            name: n.metadata.name,
            uid: n.metadata.uid,
        }));
        assert.strictEqual(nodes.length, 3, "the Plan selects every node (each a server, as on k3s)");
        const order = upgradeOrder(plan, nodes).map((n) => cluster.nodes.find((c) => c.name === n.name)!);
        // The Job runs kubectl as the Plan's ServiceAccount, with the release's drainer role.
        const token = k("create", "token", plan.spec.serviceAccountName!, "-n", SYSTEM_UPGRADE_NAMESPACE, "--duration=1h").trim();
        const server = k("config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}");
        const asUpgradeJob = (args: string[]) =>
            promisify(execFile)(
                path.join(cluster.binDir, "kubectl"),
                ["--server", server, "--certificate-authority", path.join(cluster.dir, "pki", "ca.crt"), "--token", token, ...args],
                // A drain a PodDisruptionBudget blocks for good would hang: bounded. HOME for kubectl's
                // discovery cache (no kubeconfig: the flags say it all).
                { timeout: 300_000, env: { PATH: process.env.PATH, HOME: cluster.dir } },
            );

        const loop = trafficLoop((n) => viaTraefik(cluster.nodes[n % 3]), 900);
        const steps: string[] = [];
        let refused = 0;
        try {
            for (const node of order) {
                const t0 = Date.now();
                const drain = await asUpgradeJob(upgradeJobKubectl(plan, node.name)!);
                // An eviction the API refuses for a budget (429, pkg/registry/core/pod/storage/eviction.go
                // line 447 at v1.37.2), which kubectl drain prints and retries (k8s.io/kubectl v0.37.2
                // pkg/drain/drain.go line 328).
                const blocked = (drain.stderr.match(/violate the pod's disruption budget/g) ?? []).length;
                refused += blocked;
                const drained = (Date.now() - t0) / 1000;
                await cluster.restartNode(node);
                if (uncordonsAfter(plan)) await asUpgradeJob(["uncordon", node.name]);
                steps.push(
                    `${node.name}: drained in ${drained.toFixed(1)} s (${blocked} evictions refused by the budget), restarted, uncordoned at ${((Date.now() - t0) / 1000).toFixed(1)} s`,
                );
                // Scheduled, ready or not: a replacement put beside the other replica is the spread failing.
                const scheduled = (await placement()).all
                    .filter((p: any) => p.spec.nodeName && !p.metadata.deletionTimestamp)
                    .map((p: any) => p.spec.nodeName);
                assert.strictEqual(new Set(scheduled).size, scheduled.length, `replicas together on one node after ${node.name}: ${scheduled}`);
            }
            // The last node's evicted pod comes back before the loop ends.
            await eventually(120, async () => assert.strictEqual((await placement()).ready.length, 2));
            await sleep(3000);
        } finally {
            await loop.stop();
        }
        for (const s of steps) console.log(`      ${s}`);
        report("the upgrade of three nodes", loop);
        assert.ok(loop.requests > 300, `${loop.requests} requests`);
        assert.deepStrictEqual(loop.failures, [], `${loop.failures.length} of ${loop.requests} requests failed`);
        // The replicas come back slowly (START_DELAY_S): the next node's drain had to wait for one.
        assert.ok(refused > 0, "a PodDisruptionBudget held an eviction until the replacement pod was ready");
        const { ready } = await placement();
        assert.strictEqual(new Set(ready).size, 2, `replicas on ${ready}`);
        for (const node of cluster.nodes) assert.notStrictEqual(json("get", "node", node.name).spec.unschedulable, true, `${node.name} uncordoned`);
    });

    it("network policy, enforced by kube-router on every node: a pod of another project cannot connect to the service, Traefik can, a pod of the same project can", async () => {
        // Node 3 gets its room back (the probes and the lost node's replacement need it).
        ballast(0, 0);
        const policies = json("get", "networkpolicies", "-n", NS).items;
        assert.ok(policies.length > 0, "the project's namespace has network policies");
        const svc = json("get", "service", SVC, "-n", NS);
        const target = `http://${svc.spec.clusterIP}:${svc.spec.ports[0].port}${hello}`;
        const traefik = json("get", "service", "traefik", "-n", "kube-system");
        // Control: the same pods reach a Service no policy covers (Traefik's plain HTTP, which redirects).
        const control = `http://${traefik.spec.clusterIP}:80/`;
        const results: Record<string, string> = {};
        await Promise.all(
            cluster.nodes.flatMap((node) =>
                [
                    [OTHER, target, "other"],
                    [OTHER, control, "control"],
                    [NS, target, "same"],
                ].map(async ([ns, url, what]) => {
                    results[`${what} on ${node.name}`] = await probe(cluster, ns, `probe-${what}-${node.index}`, node.name, url);
                }),
            ),
        );
        console.log(`      ${JSON.stringify(results)}`);
        for (const node of cluster.nodes) {
            assert.match(results[`control on ${node.name}`], /^ok status: 301 /, `another project's pod on ${node.name} has a network`);
            // kube-router rejects what no policy admits (pkg/controllers/netpol/pod.go line 107 at v2.1.0).
            assert.match(
                results[`other on ${node.name}`],
                /^failed error: .*connection refused/,
                `another project's pod on ${node.name} connected to the service`,
            );
            assert.match(results[`same on ${node.name}`], /^ok status: 200/, `the project's own pod on ${node.name}`);
        }
        // Traefik can: every node's Traefik still answers with the service's answer.
        for (const node of cluster.nodes) assert.strictEqual((await viaTraefik(node)).status, 200, node.name);
    });

    it(`a node lost without a drain: Traefik on the other nodes answers again within ${LOST_NODE_BOUND_S} s and fails no request after that, and the lost pod is evicted within ${EVICTED_WITHIN_S} s (the Microservice's 60 s toleration, not the default 300 s) and recreated on another node`, async () => {
        const before = await placement();
        const victim = cluster.nodes.find((n) => n.name === before.ready[0])!;
        const lostPod = before.all.find((p: any) => p.spec.nodeName === victim.name).metadata.name;
        const survivors = cluster.nodes.filter((n) => n !== victim);
        const t0 = Date.now();
        await cluster.killNode(victim);
        const loop = trafficLoop((n) => viaTraefik(survivors[n % survivors.length]), RECREATED_WITHIN_S + 120);
        const seen: Record<string, number> = {};
        const since = () => Math.round((Date.now() - t0) / 1000);
        let after: { all: any[]; ready: string[] } = before;
        try {
            const deadline = t0 + RECREATED_WITHIN_S * 1000;
            while (Date.now() < deadline && !(after.ready.length === 2 && !after.ready.includes(victim.name))) {
                await sleep(2000);
                const node = await jsonAsync("get", "node", victim.name);
                const ready = node.status.conditions.find((c: any) => c.type === "Ready");
                if (ready.status !== "True") seen["node not Ready"] ??= since();
                if (node.spec.taints?.some((t: any) => t.key === "node.kubernetes.io/unreachable" && t.effect === "NoExecute"))
                    seen["unreachable:NoExecute taint"] ??= since();
                after = await placement();
                const lost = after.all.find((p: any) => p.metadata.name === lostPod);
                if (!lost || !isReady(lost)) seen["lost pod not Ready"] ??= since();
                if (!lost || lost.metadata.deletionTimestamp) seen["lost pod deleted (evicted)"] ??= since();
            }
            seen["replacement Ready"] = since();
            // A minute of traffic after the bound, however soon the replacement came.
            await sleep(Math.max(5000, t0 + (LOST_NODE_BOUND_S + 60) * 1000 - Date.now()));
        } finally {
            await loop.stop();
        }
        console.log(`      seconds after the node died: ${JSON.stringify(seen)}`);
        report(`while ${victim.name} was lost and its pod recreated`, loop);
        const late = loop.failures.filter((f: Failure) => f.at - t0 > LOST_NODE_BOUND_S * 1000);
        const lastFailure = loop.failures.length ? Math.round((loop.failures[loop.failures.length - 1].at - t0) / 1000) : 0;
        const kinds = new Map<string, number>();
        for (const f of loop.failures) kinds.set(f.message, (kinds.get(f.message) ?? 0) + 1);
        console.log(
            `      failures: ${loop.failures.length}, the last ${lastFailure} s after the node died: ${JSON.stringify(Object.fromEntries(kinds))}`,
        );
        assert.deepStrictEqual(late, [], `${late.length} requests failed more than ${LOST_NODE_BOUND_S} s after the node died`);
        assert.ok(loop.okSince(t0 + LOST_NODE_BOUND_S * 1000) > 300, "requests answered in the minute after the bound");
        const evicted = seen["lost pod deleted (evicted)"];
        assert.ok(
            evicted !== undefined && evicted <= EVICTED_WITHIN_S,
            `the lost pod evicted ${evicted} s after the node died, not within ${EVICTED_WITHIN_S} s`,
        );
        assert.ok(after.ready.length === 2 && !after.ready.includes(victim.name), `replicas Ready on ${after.ready} within ${RECREATED_WITHIN_S} s`);
        assert.strictEqual(new Set(after.ready).size, 2, `the recreated replica is on another node than the other one: ${after.ready}`);
    });
});

/** A Kubernetes quantity (cpu or memory) as a number of units (cores, bytes). */
function parseQuantity(q: string): number {
    const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(q);
    if (!m) throw new Error(`quantity ${q}`);
    const factor: Record<string, number> = { "": 1, m: 0.001, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, k: 1e3, M: 1e6, G: 1e9 };
    if (!(m[2] in factor)) throw new Error(`quantity ${q}`);
    return Number(m[1]) * factor[m[2]];
}

/**
 * Runs tools/images/pack's probe as a pod of `namespace` on `node`, as the restricted Pod Security
 * level allows: it tries for PROBE_SECONDS (a new pod's address reaches kube-router's sets a moment
 * after the pod starts); "ok <its output>" when it got an HTTP answer, "failed <its output>" when not.
 */
async function probe(cluster: LocalNodeCluster, namespace: string, name: string, node: string, url: string): Promise<string> {
    const pod = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace, labels: { app: name } },
        spec: {
            nodeName: node,
            restartPolicy: "Never",
            securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
            containers: [
                {
                    name: "probe",
                    image: "docker.io/hobby-platform/probe:local",
                    imagePullPolicy: "Never",
                    args: [url, String(PROBE_SECONDS)],
                    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                    resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "100m", memory: "32Mi" } },
                },
            ],
        },
    };
    const child = execFile(path.join(cluster.binDir, "kubectl"), ["apply", "-f", "-"], { env: cluster.env });
    child.stdin!.end(JSON.stringify(pod));
    await new Promise((resolve, reject) =>
        child.on("exit", (code) => (code === 0 ? resolve(code) : reject(new Error(`kubectl apply ${name}: ${code}`)))),
    );
    const phase = await eventually(PROBE_SECONDS + 60, async () => {
        const p = JSON.parse(await cluster.kubectlAsync(["get", "pod", name, "-n", namespace, "-o", "json"]));
        if (p.status.phase !== "Succeeded" && p.status.phase !== "Failed") throw new Error(`${name} is ${p.status.phase}`);
        return p.status.phase;
    });
    const out = (await cluster.kubectlAsync(["logs", name, "-n", namespace])).trim();
    return `${phase === "Succeeded" ? "ok" : "failed"} ${out}`;
}
