// Starts and stops the loopback Kubernetes API of scripts/local-cluster.sh for engine tests.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CERT_MANAGER_VERSION } from "../../components/platform/certManager";
import { goModuleDir } from "./upstream";

const SCRIPT = path.resolve(__dirname, "..", "..", "scripts", "local-cluster.sh");

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
    /** Stops the servers, waits for them to exit and removes `dir`. */
    stop(): void;
}

function script(command: string, dir: string): string {
    return execFileSync("bash", [SCRIPT, command], {
        env: { ...process.env, HP_LOCAL_CLUSTER_DIR: dir },
        encoding: "utf8",
        // Build and start progress goes to the test's log; stdout is the command's answer.
        stdio: ["ignore", "pipe", "inherit"],
    });
}

/** Builds (first time only; cached) and starts a fresh cluster in its own temporary directory. */
export function startLocalCluster(): LocalCluster {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "hp-cluster-")), "state");
    try {
        script("start", dir);
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
