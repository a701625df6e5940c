// Runs the rendered k3s install script (the one cloud-init runs once at first boot) under `sh`,
// with the commands that touch the machine or the network replaced by stubs on PATH and its
// absolute paths moved under a scratch directory: what a VM does when a download fails.
import * as assert from "assert";
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { INSTALL_ATTEMPTS, INSTALL_RETRY_SECONDS, renderNodeUserData } from "../components/cluster/cloudConfig";
import { POD_CIDR, SERVICE_CIDR } from "../lib/clusterFacts";

const PRIVATE_IP = "10.99.0.12";
const PUBLIC_IP = "203.0.113.12";

const API_HOST = "k8s.dev.example.com";

function installScript(role: "server" | "agent"): string {
    const doc = YAML.parse(
        renderNodeUserData({
            role,
            k3sVersion: "v1.33.5+k3s1",
            apiHost: API_HOST,
            vpcCidr: "10.99.0.0/24",
            podCidr: POD_CIDR,
            serviceCidr: SERVICE_CIDR,
            k3sConfig: { server: `https://${API_HOST}:6443` },
            seedFiles: [],
        }),
    ) as { write_files: { path: string; content: string }[] };
    return doc.write_files.find((f) => f.path === "/usr/local/sbin/hobby-k3s-install")!.content;
}

/** What a VM does: how many downloads and installs fail before they succeed. */
interface Scenario {
    /** Fetches of install.sh that fail (as with DNS not up yet: curl exit 6). */
    fetchFailures: number;
    /** Runs of install.sh that fail (a failed binary or checksum download, a failed first start). */
    installFailures: number;
    /** The node's role; a server unless given. */
    role?: "server" | "agent";
    /** /etc/rancher/k3s/config.yaml as cloud-init wrote it (none unless given). */
    k3sConfig?: string;
    /** What `https://<apiHost>:6443/cacerts` answers; nothing answers unless given. */
    clusterCa?: string;
}

interface Outcome {
    status: number | null;
    stderr: string;
    stdout: string;
    /** One line a stub call, e.g. `curl ...`, `install INSTALL_K3S_VERSION=...`, `sleep 30`. */
    calls: string[];
    nodeConfig: Record<string, unknown>;
    /** config.yaml after the script, when the scenario gave one. */
    k3sConfig?: string;
    /** Whether the seeded CA files are still there. */
    seeded: boolean;
}

function stub(dir: string, name: string, body: string): void {
    fs.writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
}

function run(scenario: Scenario): Outcome {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "hobby-k3s-install-"));
    try {
        const bin = path.join(root, "bin");
        fs.mkdirSync(bin);
        fs.mkdirSync(path.join(root, "run"));
        const calls = path.join(root, "calls");
        const log = `echo "$0 $*" | sed "s|^${bin}/||" >> ${calls}`;
        // `ip` answers like a Vultr VM with its VPC NIC up: a route to the VPC and a default route.
        stub(
            bin,
            "ip",
            `${log}
case "$*" in
  *"route show to"*) echo "10.99.0.0/24 dev enp8s0 proto kernel scope link src ${PRIVATE_IP}" ;;
  *"route get"*) echo "192.0.2.1 via 203.0.113.1 dev enp1s0 src ${PUBLIC_IP} uid 0" ;;
esac`,
        );
        stub(bin, "systemctl", log);
        stub(bin, "sleep", log);
        // /cacerts answers only when the scenario has a cluster there (curl exit 7: refused).
        if (scenario.clusterCa !== undefined) fs.writeFileSync(path.join(root, "cacerts"), scenario.clusterCa);
        // curl fails the first fetchFailures times, then writes an install.sh that fails the
        // first installFailures runs (counted across runs, as on the VM).
        stub(
            bin,
            "curl",
            `${log}
case "$*" in *"/cacerts"*)
  [ -f ${root}/cacerts ] || exit 7
  while [ "$1" != "-o" ]; do shift; done
  cp ${root}/cacerts "$2"; exit 0 ;;
esac
n=$(cat ${root}/fetches 2>/dev/null || echo 0); echo $((n + 1)) > ${root}/fetches
if [ "$n" -lt ${scenario.fetchFailures} ]; then echo "curl: (6) Could not resolve host: raw.githubusercontent.com" >&2; exit 6; fi
while [ "$1" != "-o" ]; do shift; done
cat > "$2" <<'EOF'
echo "install INSTALL_K3S_VERSION=$INSTALL_K3S_VERSION INSTALL_K3S_EXEC=$INSTALL_K3S_EXEC INSTALL_K3S_FORCE_RESTART=$INSTALL_K3S_FORCE_RESTART" >> ${calls}
n=$(cat ${root}/installs 2>/dev/null || echo 0); echo $((n + 1)) > ${root}/installs
if [ "$n" -lt ${scenario.installFailures} ]; then echo "[ERROR]  Download failed" >&2; exit 1; fi
EOF`,
        );
        const script = installScript(scenario.role ?? "server")
            .replace(/\/etc\/rancher\//g, `${root}/etc/rancher/`)
            .replace(/\/run\//g, `${root}/run/`)
            .replace(/\/var\/lib\/rancher\//g, `${root}/var/lib/rancher/`);
        if (scenario.k3sConfig !== undefined) {
            fs.mkdirSync(path.join(root, "etc/rancher/k3s"), { recursive: true });
            fs.writeFileSync(path.join(root, "etc/rancher/k3s/config.yaml"), scenario.k3sConfig);
            fs.mkdirSync(path.join(root, "var/lib/rancher/k3s/server/tls"), { recursive: true });
            fs.writeFileSync(path.join(root, "var/lib/rancher/k3s/server/tls/server-ca.crt"), "seeded");
        }
        const r = spawnSync("sh", ["-c", script], { encoding: "utf8", env: { PATH: `${bin}:/usr/bin:/bin` } });
        const nodeFile = path.join(root, "etc/rancher/k3s/config.yaml.d/50-node.yaml");
        return {
            status: r.status,
            stdout: r.stdout,
            stderr: r.stderr,
            calls: fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").trim().split("\n") : [],
            nodeConfig: fs.existsSync(nodeFile) ? YAML.parse(fs.readFileSync(nodeFile, "utf8")) : {},
            k3sConfig: scenario.k3sConfig === undefined ? undefined : fs.readFileSync(path.join(root, "etc/rancher/k3s/config.yaml"), "utf8"),
            seeded: fs.existsSync(path.join(root, "var/lib/rancher/k3s/server/tls/server-ca.crt")),
        };
    } finally {
        fs.rmSync(root, { recursive: true, force: true });
    }
}

const installs = (o: Outcome) => o.calls.filter((c) => c.startsWith("install "));
const sleeps = (o: Outcome) => o.calls.filter((c) => c.startsWith("sleep "));

describe("k3s install script on a node's first boot", () => {
    it("installs the pinned release as a server on the first try when nothing fails", () => {
        const o = run({ fetchFailures: 0, installFailures: 0 });
        assert.strictEqual(o.status, 0, o.stderr);
        assert.deepStrictEqual(installs(o), ["install INSTALL_K3S_VERSION=v1.33.5+k3s1 INSTALL_K3S_EXEC=server INSTALL_K3S_FORCE_RESTART=true"]);
        assert.ok(
            o.calls.some((c) => c.startsWith("curl ") && c.includes("https://raw.githubusercontent.com/k3s-io/k3s/v1.33.5%2Bk3s1/install.sh")),
            o.calls.join("\n"),
        );
        assert.deepStrictEqual(sleeps(o), []);
        assert.match(o.stdout, /hobby-k3s-install: k3s v1\.33\.5\+k3s1 installed \(attempt 1\)/);
    });

    it("advertises the API server on the private address, which the firewall leaves open between nodes", () => {
        const o = run({ fetchFailures: 0, installFailures: 0 });
        // Without advertise-address k3s advertises node-external-ip: the public address, whose
        // 6443 only the admin networks reach, so in-cluster API calls to another node would hang.
        assert.deepStrictEqual(o.nodeConfig, {
            "node-ip": PRIVATE_IP,
            "advertise-address": PRIVATE_IP,
            "node-external-ip": PUBLIC_IP,
            "flannel-iface": "enp8s0",
            "tls-san": [PUBLIC_IP, API_HOST],
        });
    });

    it("installs an agent as an agent: node IP and flannel on the private NIC, no API server to advertise or certify", () => {
        const o = run({ fetchFailures: 0, installFailures: 0, role: "agent" });
        assert.strictEqual(o.status, 0, o.stderr);
        // install.sh picks "server" unless told "agent" (or given K3S_URL), whatever config.yaml says.
        assert.deepStrictEqual(installs(o), ["install INSTALL_K3S_VERSION=v1.33.5+k3s1 INSTALL_K3S_EXEC=agent INSTALL_K3S_FORCE_RESTART=true"]);
        assert.deepStrictEqual(o.nodeConfig, { "node-ip": PRIVATE_IP, "node-external-ip": PUBLIC_IP, "flannel-iface": "enp8s0" });
    });

    describe("a server told to initialise (cluster-init) checks first whether the cluster already answers at the API's name", () => {
        const ca = "-----BEGIN CERTIFICATE-----\nMIIB...this cluster's server CA\n-----END CERTIFICATE-----\n";
        const hash = createHash("sha256").update(ca).digest("hex");
        const config = `token: K10${hash}::server:0123456789abcdef0123456789abcdef\ncluster-init: true\ncluster-cidr: ${POD_CIDR}\n`;

        it("joins it, without the seeded CAs, when the name answers with this cluster's CA: a server re-created from its first user data", () => {
            const o = run({ fetchFailures: 0, installFailures: 0, k3sConfig: config, clusterCa: ca });
            assert.strictEqual(o.status, 0, o.stderr);
            const k3s = YAML.parse(o.k3sConfig!);
            assert.deepStrictEqual([k3s["cluster-init"], k3s.server, k3s["cluster-cidr"]], [undefined, `https://${API_HOST}:6443`, POD_CIDR]);
            assert.strictEqual(o.seeded, false);
            assert.match(o.stdout, /the cluster already answers at k8s\.dev\.example\.com; joining it/);
            assert.ok(o.calls.some((c) => c.startsWith("curl -sk") && c.includes(`https://${API_HOST}:6443/cacerts`)));
        });

        it("initialises, with the seeded CAs, when nothing answers (a new stack) or another cluster does", () => {
            for (const clusterCa of [undefined, "-----BEGIN CERTIFICATE-----\nanother cluster\n-----END CERTIFICATE-----\n"]) {
                const o = run({ fetchFailures: 0, installFailures: 0, k3sConfig: config, clusterCa });
                assert.strictEqual(o.status, 0, o.stderr);
                assert.strictEqual(o.k3sConfig, config);
                assert.strictEqual(o.seeded, true);
                assert.strictEqual(installs(o).length, 1);
            }
        });

        it("asks nothing when the server joins anyway", () => {
            const o = run({ fetchFailures: 0, installFailures: 0, k3sConfig: `token: K10${hash}::server:x\nserver: https://${API_HOST}:6443\n` });
            assert.ok(!o.calls.some((c) => c.includes("/cacerts")));
        });
    });

    it("retries the whole install when the script cannot be fetched (DNS not up yet)", () => {
        const o = run({ fetchFailures: 2, installFailures: 0 });
        assert.strictEqual(o.status, 0, o.stderr);
        assert.strictEqual(installs(o).length, 1);
        assert.deepStrictEqual(sleeps(o), [`sleep ${INSTALL_RETRY_SECONDS}`, `sleep ${INSTALL_RETRY_SECONDS}`]);
        assert.match(
            o.stderr,
            new RegExp(`attempt 1 of ${INSTALL_ATTEMPTS} to install k3s v1\\.33\\.5\\+k3s1 failed; retrying in ${INSTALL_RETRY_SECONDS} s`),
        );
        assert.match(o.stdout, /installed \(attempt 3\)/);
    });

    it("retries the whole install when the install script itself fails (binary or checksum download, first start)", () => {
        const o = run({ fetchFailures: 0, installFailures: 3 });
        assert.strictEqual(o.status, 0, o.stderr);
        assert.strictEqual(installs(o).length, 4, "install.sh runs again from the start");
        // Forced: a rerun after a failed start starts k3s again and so reports whether it runs.
        assert.ok(installs(o).every((c) => c.endsWith("INSTALL_K3S_FORCE_RESTART=true")));
        assert.strictEqual(o.calls.filter((c) => c.startsWith("curl ")).length, 4, "install.sh is fetched afresh each time");
        assert.match(o.stdout, /installed \(attempt 4\)/);
    });

    it("gives up after a bounded number of attempts with a line that says so, and fails cloud-init", () => {
        const o = run({ fetchFailures: 0, installFailures: 1000 });
        assert.strictEqual(o.status, 1);
        assert.strictEqual(installs(o).length, INSTALL_ATTEMPTS);
        assert.strictEqual(sleeps(o).length, INSTALL_ATTEMPTS - 1);
        assert.match(o.stderr, new RegExp(`hobby-k3s-install: k3s v1\\.33\\.5\\+k3s1 not installed after ${INSTALL_ATTEMPTS} attempts; giving up`));
    });
});
