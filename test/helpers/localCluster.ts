// Starts and stops the loopback Kubernetes API of scripts/local-cluster.sh for engine tests.
import { execFile, execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { CERT_MANAGER_VERSION } from "../../components/platform/certManager";
import { PulumiWorkspace } from "../../harness/pulumiWorkspace";
import { deployerName } from "../../lib/names";
import { runJob, servicePipeline } from "./pipeline";
import { goModuleDir } from "./upstream";

export const LOCAL_CLUSTER_SCRIPT = path.resolve(__dirname, "..", "..", "scripts", "local-cluster.sh");

export interface LocalCluster {
    /** State directory (certificates, data, logs); removed by `stop`. */
    dir: string;
    /** Admin (system:masters) kubeconfig of the cluster. */
    kubeconfig: string;
    /** Directory of kubectl, kube-apiserver, kube-controller-manager and etcd. */
    binDir: string;
    /** The process environment with KUBECONFIG and PATH pointing at this cluster. */
    env: NodeJS.ProcessEnv;
    /** Runs kubectl against the cluster; throws with its stderr when it fails. */
    kubectl(args: string[], input?: string): string;
    /** The same without blocking the event loop (request loops keep running meanwhile). */
    kubectlAsync(args: string[]): Promise<string>;
    /** Stops the servers, waits for them to exit and removes `dir`. */
    stop(): void;
}

/** With nodes: the registry the pods pull from, behind the cluster CA's TLS and a password. */
export interface LocalRegistry {
    /** `127.0.0.1:<port>`, the host part of its image references. */
    host: string;
    username: string;
    password: string;
    /** Packs tools/images' PROGRAM as image `ref` with environment `env` and pushes it. */
    push(program: string, ref: string, env: Record<string, string>): void;
}

/** One node of a cluster with nodes: its own network namespace, kubelet, containerd, kube-proxy and kube-router. */
export interface LocalNode {
    /** 1 to the node count, as the script numbers them. */
    index: number;
    /** The Node's name (`local-node-<index>`). */
    name: string;
    /** Its address on the private network, where its NodePorts answer. */
    ip: string;
}

export interface LocalNodeCluster extends LocalCluster {
    registry: LocalRegistry;
    nodes: LocalNode[];
    /** What a k3s upgrade does to a drained node: its processes restart, its containers keep running; resolves once it is Ready. */
    restartNode(node: LocalNode): Promise<void>;
    /** The node dies as a VM does: processes and containers killed, nothing drained, its address silent. */
    killNode(node: LocalNode): Promise<void>;
    /**
     * Stands in for cert-manager (whose binaries cannot be built here: see docs/testing.md):
     * writes the TLS Secret `name` in `namespace` with a serving certificate for `host`,
     * signed by the cluster CA.
     */
    writeTlsSecret(namespace: string, name: string, host: string): void;
}

function script(command: string, dir: string, ...args: string[]): string {
    return execFileSync("bash", [LOCAL_CLUSTER_SCRIPT, command, ...args], {
        env: { ...process.env, HP_LOCAL_CLUSTER_DIR: dir },
        encoding: "utf8",
        // Build and start progress goes to the test's log; stdout is the command's answer.
        stdio: ["ignore", "pipe", "inherit"],
    });
}

/** `script` without blocking the event loop; its stderr is in the error when it fails. */
async function scriptAsync(command: string, dir: string, ...args: string[]): Promise<void> {
    await promisify(execFile)("bash", [LOCAL_CLUSTER_SCRIPT, command, ...args], { env: { ...process.env, HP_LOCAL_CLUSTER_DIR: dir } });
}

/** Builds (first time only; cached) and starts a fresh cluster in its own temporary directory. */
export function startLocalCluster(): LocalCluster {
    return start([]);
}

/**
 * The same cluster with `count` nodes (kubelet, containerd, kube-proxy, kube-router each unless
 * `networkPolicy` is false), CoreDNS, a registry and Traefik (root only, one a machine): pods run.
 * Fails, not skips, without root: the caller asked for pods.
 */
export function startLocalNodeCluster(count = 3, { networkPolicy = true } = {}): LocalNodeCluster {
    if (process.getuid?.() !== 0) throw new Error("a local cluster with nodes needs root (containerd, the kubelet, iptables): run as root");
    const cluster = start(["--with-nodes", "--nodes", String(count), ...(networkPolicy ? [] : ["--without-network-policy"])]);
    const read = (file: string) => fs.readFileSync(path.join(cluster.dir, file), "utf8").trim();
    const registry: LocalRegistry = {
        host: read("registry"),
        username: read("registry-username"),
        password: read("registry-password"),
        push: (program, ref, env) => {
            script("push-image", cluster.dir, program, ref, ...Object.entries(env).map(([k, v]) => `${k}=${v}`));
        },
    };
    const writeTlsSecret = (namespace: string, name: string, host: string) => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hp-tls-"));
        const f = (n: string) => path.join(tmp, n);
        try {
            fs.writeFileSync(f("ext"), `basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:${host}\n`);
            const openssl = (...a: string[]) => execFileSync("openssl", a, { stdio: ["ignore", "ignore", "pipe"] });
            openssl(
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                f("key"),
                "-subj",
                `/CN=${host}`,
                "-out",
                f("csr"),
            );
            openssl(
                "x509",
                "-req",
                "-in",
                f("csr"),
                "-CA",
                path.join(cluster.dir, "pki", "ca.crt"),
                "-CAkey",
                path.join(cluster.dir, "pki", "ca.key"),
                "-CAcreateserial",
                "-CAserial",
                f("srl"),
                "-days",
                "1",
                "-sha256",
                "-extfile",
                f("ext"),
                "-out",
                f("crt"),
            );
            cluster.kubectl(["create", "secret", "tls", name, "-n", namespace, "--cert", f("crt"), "--key", f("key")]);
        } finally {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    };
    const nodes = JSON.parse(cluster.kubectl(["get", "nodes", "-o", "json"])).items.map((n: any) => ({
        index: Number(n.metadata.name.replace(/^local-node-/, "")),
        name: n.metadata.name,
        ip: n.status.addresses.find((a: any) => a.type === "InternalIP").address,
    }));
    nodes.sort((a: LocalNode, b: LocalNode) => a.index - b.index);
    return {
        ...cluster,
        registry,
        writeTlsSecret,
        nodes,
        restartNode: (node) => scriptAsync("node-restart", cluster.dir, String(node.index)),
        killNode: (node) => scriptAsync("node-kill", cluster.dir, String(node.index)),
    };
}

function start(args: string[]): LocalCluster {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "hp-cluster-")), "state");
    try {
        script("start", dir, ...args);
    } catch (e) {
        // Leave nothing running; the start failure is the error worth reporting.
        try {
            script("stop", dir);
        } catch {
            /* already reported by the script on stderr */
        }
        throw e;
    }
    const binDir = fs.readFileSync(path.join(dir, "bin"), "utf8").trim();
    const kubeconfig = path.join(dir, "kubeconfig");
    const env = { ...process.env, KUBECONFIG: kubeconfig, PATH: `${binDir}${path.delimiter}${process.env.PATH}` };
    return {
        dir,
        kubeconfig,
        binDir,
        env,
        kubectl: (args, input) => execFileSync(path.join(binDir, "kubectl"), args, { env, input, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] }),
        kubectlAsync: async (args) => (await promisify(execFile)(path.join(binDir, "kubectl"), args, { env, maxBuffer: 64 << 20 })).stdout,
        stop: () => {
            script("stop", dir);
            fs.rmSync(path.dirname(dir), { recursive: true, force: true });
        },
    };
}

/**
 * Installs cert-manager's CRDs at the version the stack pins, so that the API server validates
 * the stack's Certificates and ClusterIssuers against their real schemas (no cert-manager
 * controller runs: nothing is issued). They come from cert-manager's Go module, whose
 * `deploy/crds` holds them for testing, through the Go module proxy like the cluster's binaries.
 */
export function installCertManagerCrds(cluster: LocalCluster): void {
    const crds = path.join(goModuleDir("github.com/cert-manager/cert-manager", CERT_MANAGER_VERSION), "deploy", "crds");
    cluster.kubectl(["apply", "--server-side", "-f", crds]);
    cluster.kubectl(["wait", "--for=condition=Established", "--timeout=60s", "-f", crds]);
}

/**
 * Installs system-upgrade-controller's Plan CRD (the release's file the stack declares), so that
 * the API server validates the stack's Plan against it.
 */
export function installSystemUpgradeCrd(cluster: LocalCluster): void {
    const crd = path.join(__dirname, "..", "..", "components", "cluster", "manifests", "system-upgrade-controller", "upgrade.cattle.io_plans.yaml");
    cluster.kubectl(["apply", "--server-side", "-f", crd]);
    cluster.kubectl(["wait", "--for=condition=Established", "--timeout=60s", "-f", crd]);
}

/**
 * The `local` stack's workspace on a cluster with nodes: its registry and the pull Secret's
 * credentials (the password on standard input), `replicas` of each service, the stack's own
 * Traefik configuration (HelmChartConfig, as on k3s), and no awaiting of Ingress addresses (no
 * ServiceLB here: the tests await the rollouts).
 */
export function localStackOnNodes(cluster: LocalNodeCluster, project: string, service: string, replicas: number): PulumiWorkspace {
    const ws = new PulumiWorkspace("local", cluster.env);
    ws.ok("config", "set", "--path", "gitlab.registry", cluster.registry.host);
    ws.ok("config", "set", "--path", "gitlab.registryUsername", cluster.registry.username);
    ws.setSecret("registryPassword", cluster.registry.password);
    ws.ok("config", "set", "--path", `projects["${project}"].services["${service}"].replicas`, String(replicas));
    ws.ok("config", "set", "--path", "ingress.install", "true");
    ws.ok("config", "set", "--path", "cluster.skipAwait", "true");
    return ws;
}

/**
 * Runs the service template's `deploy:dev` job (as gitlab-ci-local expands it, by `sh`, with the
 * real kubectl) with the variables the stack's GitLab wiring writes, for this cluster: its server,
 * its CA and the service's deployer token. It rolls out `<registry>/<gitlabProject>:dev-<pipelineId>`.
 */
export async function runDeployJob(cluster: LocalNodeCluster, s: { service: string; gitlabProject: string; namespace: string; pipelineId: string }) {
    const k = (...args: string[]) => cluster.kubectl(args);
    const token = Buffer.from(
        k("get", "secret", `${deployerName(s.service)}-token`, "-n", s.namespace, "-o", "jsonpath={.data.token}"),
        "base64",
    ).toString();
    const variables = {
        CI_PROJECT_NAME: s.service,
        CI_REGISTRY_IMAGE: `${cluster.registry.host}/${s.gitlabProject}`,
        CI_PIPELINE_ID: s.pipelineId,
        K8S_DEV_SERVER: k("config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"),
        K8S_DEV_CA: fs.readFileSync(path.join(cluster.dir, "pki", "ca.crt")).toString("base64"),
        K8S_DEV_TOKEN: token,
        K8S_DEV_NAMESPACE: s.namespace,
        HOME: cluster.dir,
    };
    return runJob(await servicePipeline(), "deploy:dev", variables, `${cluster.binDir}:/usr/bin:/bin`);
}
