// The loopback cluster the engine tests deploy to behaves like a real one where the stack
// relies on it: verified TLS, RBAC, ServiceAccount tokens, server-side validation, namespace
// deletion, a stop that leaves nothing behind, and a start that clears what a dead one left.
import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { readinessProvider, ClusterReadinessInputs } from "../../components/cluster/readiness";
import { LOCAL_CLUSTER_SCRIPT, LocalCluster, LocalNodeCluster, startLocalCluster, startLocalNodeCluster } from "../helpers/localCluster";

/** Polls `check` until it returns a value, or fails after `seconds`. */
async function eventually<T>(what: string, seconds: number, check: () => T | undefined): Promise<T> {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
        const value = check();
        if (value !== undefined) return value;
        if (Date.now() > deadline) throw new Error(`timed out after ${seconds}s waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 500));
    }
}

describe("local Kubernetes API (scripts/local-cluster.sh)", function () {
    // A cold start builds the binaries first (minutes); a warm one takes seconds.
    this.timeout(60 * 60 * 1000);
    let cluster: LocalCluster | undefined;
    const k = (...args: string[]) => cluster!.kubectl(args);

    before(() => {
        cluster = startLocalCluster();
    });
    after(() => cluster?.stop());

    it("serves the built release over CA-verified TLS", () => {
        const v = JSON.parse(k("version", "-o", "json"));
        assert.match(v.serverVersion.gitVersion, /^v1\.\d+\.\d+$/);
        assert.strictEqual(v.serverVersion.gitVersion, v.clientVersion.gitVersion);
        const server = k("config", "view", "--minify", "--raw", "-o", "jsonpath={.clusters[0].cluster.server}");
        assert.match(server, /^https:\/\/127\.0\.0\.1:\d+$/);
    });

    it("authorizes with RBAC: the admin may do anything, an unbound ServiceAccount nothing", () => {
        assert.strictEqual(k("auth", "can-i", "*", "*", "--all-namespaces").trim(), "yes");
        for (const verb of ["get", "list", "create"]) {
            const answer = (() => {
                try {
                    return k("auth", "can-i", verb, "secrets", "-n", "default", "--as=system:serviceaccount:default:default");
                } catch (e: any) {
                    return String(e.stdout); // can-i exits 1 on "no"
                }
            })();
            assert.strictEqual(answer.trim(), "no", `${verb} secrets`);
        }
    });

    it("fills in a ServiceAccount token Secret whose token the API server accepts", async () => {
        k("create", "serviceaccount", "probe", "-n", "default");
        cluster!.kubectl(
            ["apply", "-f", "-"],
            JSON.stringify({
                apiVersion: "v1",
                kind: "Secret",
                metadata: { name: "probe-token", namespace: "default", annotations: { "kubernetes.io/service-account.name": "probe" } },
                type: "kubernetes.io/service-account-token",
            }),
        );
        const token = await eventually("the token controller", 60, () => {
            const b64 = k("get", "secret", "probe-token", "-n", "default", "-o", "jsonpath={.data.token}");
            return b64 ? Buffer.from(b64, "base64").toString("utf8") : undefined;
        });
        const server = k("config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}");
        const ca = `${cluster!.dir}/pki/ca.crt`;
        // A kubeconfig-free call: only the token authenticates.
        const who = cluster!.kubectl([
            "--kubeconfig=/dev/null",
            `--server=${server}`,
            `--certificate-authority=${ca}`,
            `--token=${token}`,
            "auth",
            "whoami",
            "-o",
            "jsonpath={.status.userInfo.username}",
        ]);
        assert.strictEqual(who, "system:serviceaccount:default:probe");
    });

    it("the readiness gate refuses at preview to delete servers that are still registered Nodes, and accepts once they are deleted", async () => {
        const servers = ["hobby-dev-1", "hobby-dev-2", "hobby-dev-3", "hobby-dev-4", "hobby-dev-5"];
        for (const name of servers) cluster!.kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "Node", metadata: { name } }));
        const raw = (path: string) => k("config", "view", "--minify", "--raw", "-o", `jsonpath={${path}}`);
        const b64 = (path: string) => Buffer.from(raw(path), "base64").toString("utf8");
        // The gate's state as a `pulumi up` left it: the API and the admin credentials it reached it with.
        const olds: ClusterReadinessInputs = {
            server: raw(".clusters[0].cluster.server"),
            caCertificate: fs.readFileSync(`${cluster!.dir}/pki/ca.crt`, "utf8"),
            clientCertificate: b64(".users[0].user.client-certificate-data"),
            clientKey: b64(".users[0].user.client-key-data"),
            nodeNames: servers,
            agentNames: [],
            servers: servers.map((s) => `${s}-id vc2-1c-2gb`),
            timeoutSeconds: 30,
            pollSeconds: 1,
        };
        const check = () => readinessProvider.check!(olds, { ...olds, nodeNames: servers.slice(0, 3) });
        const refused = await check();
        assert.match(refused.failures?.[0]?.reason ?? "", /cluster\.nodeCount: 5 -> 3 deletes hobby-dev-4, hobby-dev-5, still in the cluster/);
        assert.match(refused.failures![0].reason, /kubectl delete node hobby-dev-4 hobby-dev-5/);
        k("delete", "node", "hobby-dev-4", "hobby-dev-5");
        assert.deepStrictEqual((await check()).failures, []);
        k("delete", "node", ...servers.slice(0, 3));
    });

    it("validates manifests server-side: accepts a good one, rejects a removed API and a bad field", () => {
        const deployment = {
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata: { name: "dry", namespace: "default", labels: { app: "dry" } },
            spec: {
                selector: { matchLabels: { app: "dry" } },
                template: { metadata: { labels: { app: "dry" } }, spec: { containers: [{ name: "dry", image: "example/dry:1" }] } },
            },
        };
        const out = cluster!.kubectl(["apply", "--dry-run=server", "-f", "-"], JSON.stringify(deployment));
        assert.match(out, /deployment\.apps\/dry created \(server dry run\)/);
        assert.throws(() => k("get", "deployment", "dry", "-n", "default"), /NotFound/);

        const seedIngress = { apiVersion: "extensions/v1beta1", kind: "Ingress", metadata: { name: "old", namespace: "default" }, spec: {} };
        assert.throws(
            () => cluster!.kubectl(["apply", "--dry-run=server", "-f", "-"], JSON.stringify(seedIngress)),
            /no matches for kind "Ingress" in version "extensions\/v1beta1"/,
        );
        const badReplicas = { ...deployment, spec: { ...deployment.spec, replicas: -1 } };
        assert.throws(
            () => cluster!.kubectl(["apply", "--dry-run=server", "-f", "-"], JSON.stringify(badReplicas)),
            /spec\.replicas: Invalid value: -1/,
        );
    });

    it("deletes a namespace completely (namespace controller finalizes it)", () => {
        k("create", "namespace", "gone");
        k("create", "configmap", "c", "-n", "gone", "--from-literal=a=b");
        k("delete", "namespace", "gone", "--wait=true", "--timeout=60s");
        assert.throws(() => k("get", "namespace", "gone"), /NotFound/);
    });

    it("stops every server and removes its state directory", () => {
        const pids = ["etcd", "kube-apiserver", "kube-controller-manager"].map((p) => Number(fs.readFileSync(`${cluster!.dir}/${p}.pid`, "utf8")));
        const dir = cluster!.dir;
        cluster!.stop();
        cluster = undefined;
        for (const pid of pids) assert.throws(() => process.kill(pid, 0), /ESRCH/, `pid ${pid} still running`);
        assert.strictEqual(fs.existsSync(dir), false);
    });
});

describe("a cluster with nodes that died without its stop (a killed job, a machine restored from a snapshot)", function () {
    this.timeout(30 * 60 * 1000);
    const clusters: LocalNodeCluster[] = [];
    after(() => clusters.forEach((c) => c.stop()));
    /** Every process under the nodes' cgroups: the pods' containers, which outlive a killed shim. */
    const containerPids = () =>
        execFileSync("sh", ["-c", "find /sys/fs/cgroup/pids/hp-node-* -name cgroup.procs -exec cat {} +"], { encoding: "utf8" })
            .split("\n")
            .filter(Boolean);

    it("a second start is refused while one runs; once it has died, the next start removes its shims, containers, mounts, network and state directory", () => {
        const dead = startLocalNodeCluster(2, { networkPolicy: false });
        clusters.push(dead);
        const second = spawnSync("bash", [LOCAL_CLUSTER_SCRIPT, "start", "--with-nodes", "--nodes", "1"], {
            env: { ...process.env, HP_LOCAL_CLUSTER_DIR: `${dead.dir}-second` },
            encoding: "utf8",
        });
        assert.notStrictEqual(second.status, 0);
        assert.match(second.stderr, new RegExp(`a cluster with nodes is already running \\(${dead.dir}\\)`));
        assert.match(dead.kubectl(["get", "nodes"]), /local-node-2\s+Ready/);
        // A container on node 2, which the next cluster (one node) has no kubelet to clean up.
        dead.kubectl(
            ["apply", "-f", "-"],
            JSON.stringify({
                apiVersion: "v1",
                kind: "Pod",
                metadata: { name: "on-node-2", namespace: "default" },
                spec: { nodeName: "local-node-2", containers: [{ name: "pause", image: "docker.io/rancher/mirrored-pause:3.6" }] },
            }),
        );
        dead.kubectl(["wait", "--for=condition=Ready", "pod/on-node-2", "--timeout=60s"]);

        // Killed as a CI job is: every process of the job (etcd, the API server, containerd, the
        // kubelets, ...) at once. The shims are daemons in process groups of their own and live
        // on, and so do the containers.
        const containers = containerPids();
        const cluster = () =>
            spawnSync("pgrep", ["-f", `${dead.dir}/`], { encoding: "utf8" })
                .stdout.split("\n")
                .filter(Boolean);
        const isShim = (pid: string) => fs.readFileSync(`/proc/${pid}/comm`, "utf8").startsWith("containerd-shim");
        const shims = cluster().filter(isShim);
        execFileSync("kill", ["-KILL", ...cluster().filter((pid) => !isShim(pid))]);
        clusters.pop();
        assert.ok(shims.length >= 2 && shims.every((pid) => fs.existsSync(`/proc/${pid}`)), "the shims outlive the job");
        assert.ok(
            containers.filter((pid) => fs.existsSync(`/proc/${pid}`)).length >= 2,
            "the containers outlive the job (CoreDNS, Traefik, the pod on node 2)",
        );

        const next = startLocalNodeCluster(1, { networkPolicy: false });
        clusters.push(next);
        assert.match(next.kubectl(["get", "nodes"]), /local-node-1\s+Ready/);
        assert.deepStrictEqual(
            containers.filter((pid) => fs.existsSync(`/proc/${pid}`)),
            [],
            "no container of the dead cluster still runs",
        );
        assert.deepStrictEqual(cluster(), [], "no process of the dead cluster still runs");
        assert.ok(
            spawnSync("flock", ["-n", "/run/hobby-platform-local-node.lock", "true"]).status === 0,
            "the running cluster does not hold the start's lock",
        );
        assert.ok(!fs.existsSync(dead.dir), "the dead cluster's state directory is removed");
        assert.ok(!fs.existsSync("/run/netns/hp-node-2"), "the dead cluster's second node's network is removed");
        assert.deepStrictEqual(
            execFileSync("findmnt", ["-rno", "TARGET"], { encoding: "utf8" })
                .split("\n")
                .filter((m) => m.startsWith(`${dead.dir}/`)),
            [],
            "no mount of the dead cluster is left",
        );
        fs.rmSync(path.dirname(dead.dir), { recursive: true, force: true });
    });
});
