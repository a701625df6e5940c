// Runs the rendered k3s install script (the one cloud-init runs once at first boot) under `sh`,
// with the commands that touch the machine or the network replaced by stubs on PATH and its
// absolute paths moved under a scratch directory: what a VM does when a download fails.
import * as assert from "assert";
import { spawn } from "child_process";
import { createHash, generateKeyPairSync, X509Certificate } from "crypto";
import * as fs from "fs";
import * as https from "https";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import {
    INIT_ABSENT_ROUNDS,
    INIT_PROBE_ROUNDS,
    INIT_PROBE_SECONDS,
    INSTALL_ATTEMPTS,
    INSTALL_RETRY_SECONDS,
    renderNodeUserData,
} from "../components/cluster/cloudConfig";
import { POD_CIDR, SERVICE_CIDR } from "../lib/clusterFacts";
import { certRequest, locallySignedCert, selfSignedCert } from "../harness/clusterMocks";

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
    /**
     * What each lookup of the API's name finds, in turn (the last one repeats): its addresses, no
     * address (`absent`: NXDOMAIN), or a failed lookup (`fail`: SERVFAIL, no answer). No address unless given.
     */
    lookups?: (string[] | "absent" | "nodata" | "fail")[];
    /** Port the API's addresses serve on (6443 on a VM). */
    apiPort?: number;
    /** Overrides the script's probe settings, to keep a test short. */
    probe?: { rounds?: number; timeoutSeconds?: number };
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

/** Makes python3's getaddrinfo answer from LOOKUPS_FILE, one entry a call (the last one repeats). */
const SITECUSTOMIZE = `
import json, os, socket
def _getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    path = os.environ["LOOKUPS_FILE"]
    count_path = path + ".count"
    n = int(open(count_path).read()) if os.path.exists(count_path) else 0
    open(count_path, "w").write(str(n + 1))
    lookups = json.load(open(path))
    answer = lookups[min(n, len(lookups) - 1)]
    if answer == "absent":
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    if answer == "nodata":
        raise socket.gaierror(socket.EAI_NODATA, "No address associated with hostname")
    if answer == "fail":
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
    return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, 0)) for a in answer]
socket.getaddrinfo = _getaddrinfo
`;

async function run(scenario: Scenario): Promise<Outcome> {
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
        const python = path.join(root, "python");
        fs.mkdirSync(python);
        fs.writeFileSync(path.join(python, "sitecustomize.py"), SITECUSTOMIZE);
        fs.writeFileSync(path.join(root, "lookups.json"), JSON.stringify(scenario.lookups ?? ["absent"]));
        // /cacerts is asked for real, of the servers the test runs on loopback addresses; curl
        // fails the first fetchFailures downloads, then writes an install.sh that fails the
        // first installFailures runs (counted across runs, as on the VM).
        stub(
            bin,
            "curl",
            `${log}
case "$*" in *"/cacerts"*) exec /usr/bin/curl "$@" ;; esac
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
            .replace(/^api_port=6443$/m, `api_port=${scenario.apiPort ?? 6443}`)
            .replace(/^probe_rounds=\d+$/m, `probe_rounds=${scenario.probe?.rounds ?? INIT_PROBE_ROUNDS}`)
            .replace(/^probe_timeout=\d+$/m, `probe_timeout=${scenario.probe?.timeoutSeconds ?? 10}`)
            .replace(/\/etc\/rancher\//g, `${root}/etc/rancher/`)
            .replace(/\/run\//g, `${root}/run/`)
            .replace(/\/var\/lib\/rancher\//g, `${root}/var/lib/rancher/`);
        if (scenario.k3sConfig !== undefined) {
            fs.mkdirSync(path.join(root, "etc/rancher/k3s"), { recursive: true });
            fs.writeFileSync(path.join(root, "etc/rancher/k3s/config.yaml"), scenario.k3sConfig);
            fs.mkdirSync(path.join(root, "var/lib/rancher/k3s/server/tls"), { recursive: true });
            fs.writeFileSync(path.join(root, "var/lib/rancher/k3s/server/tls/server-ca.crt"), "seeded");
        }
        // Asynchronous, so that the test's API servers answer while the script runs.
        const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
            const child = spawn("sh", ["-c", script], {
                env: { PATH: `${bin}:/usr/bin:/bin`, PYTHONPATH: python, LOOKUPS_FILE: path.join(root, "lookups.json") },
            });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
            child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
            child.on("close", (status) => resolve({ status, stdout, stderr }));
        });
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
    it("installs the pinned release as a server on the first try when nothing fails", async () => {
        const o = await run({ fetchFailures: 0, installFailures: 0 });
        assert.strictEqual(o.status, 0, o.stderr);
        assert.deepStrictEqual(installs(o), ["install INSTALL_K3S_VERSION=v1.33.5+k3s1 INSTALL_K3S_EXEC=server INSTALL_K3S_FORCE_RESTART=true"]);
        assert.ok(
            o.calls.some((c) => c.startsWith("curl ") && c.includes("https://raw.githubusercontent.com/k3s-io/k3s/v1.33.5%2Bk3s1/install.sh")),
            o.calls.join("\n"),
        );
        assert.deepStrictEqual(sleeps(o), []);
        assert.match(o.stdout, /hobby-k3s-install: k3s v1\.33\.5\+k3s1 installed \(attempt 1\)/);
    });

    it("advertises the API server on the private address, which the firewall leaves open between nodes", async () => {
        const o = await run({ fetchFailures: 0, installFailures: 0 });
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

    it("installs an agent as an agent: node IP and flannel on the private NIC, no API server to advertise or certify", async () => {
        const o = await run({ fetchFailures: 0, installFailures: 0, role: "agent" });
        assert.strictEqual(o.status, 0, o.stderr);
        // install.sh picks "server" unless told "agent" (or given K3S_URL), whatever config.yaml says.
        assert.deepStrictEqual(installs(o), ["install INSTALL_K3S_VERSION=v1.33.5+k3s1 INSTALL_K3S_EXEC=agent INSTALL_K3S_FORCE_RESTART=true"]);
        assert.deepStrictEqual(o.nodeConfig, { "node-ip": PRIVATE_IP, "node-external-ip": PUBLIC_IP, "flannel-iface": "enp8s0" });
    });

    describe("server 1, told to initialise (cluster-init), does so only on evidence that the stack has no cluster", function () {
        this.timeout(20_000);
        const ecKey = () => generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "sec1", format: "pem" }) as string;
        const caSpec = (commonName: string) => ({
            subject: { commonName },
            isCaCertificate: true,
            validityPeriodHours: 24,
            allowedUses: ["cert_signing", "digital_signature"],
        });
        const intermediate = async (root: string, rootKey: string, commonName: string) =>
            locallySignedCert(await certRequest(ecKey(), { commonName }), root, rootKey, caSpec(commonName));
        /** What each loopback address serves at /cacerts, by request count; `stall` accepts and never answers. */
        type Answer = { status: number; body?: string } | "stall";
        const servers: (https.Server | net.Server)[] = [];
        const sockets = new Set<net.Socket>();
        const asked: Record<string, number> = {};
        let port = 0;
        let ours = "";
        let rotatedRoot = "";
        let rotated = "";
        let foreignBundle = "";
        let another = "";
        const answers: Record<string, (n: number) => Answer> = {};
        const configFor = (ca: string) => `token: K10${ca}::server:0123456789abcdef0123456789abcdef\ncluster-init: true\ncluster-cidr: ${POD_CIDR}\n`;
        const sha256 = (b: string | Buffer) => createHash("sha256").update(b).digest("hex");
        let config = "";

        before(async () => {
            const key = ecKey();
            const other = ecKey();
            const rootKey = ecKey();
            ours = await selfSignedCert(key, caSpec("k3s-server-ca"));
            another = await selfSignedCert(other, caSpec("k3s-server-ca"));
            // After `k3s certificate rotate-ca`: the new CA, signed by the root, then the root.
            rotatedRoot = await selfSignedCert(rootKey, caSpec("k3s-root-ca"));
            rotated = (await intermediate(rotatedRoot, rootKey, "k3s-server-ca")) + rotatedRoot;
            // A bundle whose first certificate does not chain to the root it carries.
            foreignBundle = (await intermediate(another, other, "k3s-server-ca")) + rotatedRoot;
            config = configFor(sha256(ours));
            const serving = { key, cert: ours };
            answers["127.0.0.2"] = () => ({ status: 200, body: ours });
            answers["127.0.0.3"] = () => ({ status: 200, body: another });
            answers["127.0.0.4"] = () => ({ status: 503, body: "apiserver not ready" });
            answers["127.0.0.5"] = () => "stall";
            answers["127.0.0.7"] = () => ({ status: 200, body: rotated });
            answers["127.0.0.8"] = (n) => (n <= 2 ? { status: 503, body: "apiserver not ready" } : { status: 200, body: ours });
            answers["127.0.0.9"] = () => ({ status: 200, body: foreignBundle });
            for (const address of Object.keys(answers)) {
                const server =
                    answers[address](1) === "stall"
                        ? net.createServer((socket) => sockets.add(socket))
                        : https.createServer(serving, (_req, res) => {
                              const answer = answers[address]((asked[address] = (asked[address] ?? 0) + 1)) as { status: number; body?: string };
                              res.writeHead(answer.status).end(answer.body);
                          });
                await new Promise<void>((resolve) => server.listen(port, address, () => resolve()));
                port ||= (server.address() as net.AddressInfo).port;
                servers.push(server);
            }
        });
        after(async () => {
            sockets.forEach((s) => s.destroy());
            await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
        });
        beforeEach(() => Object.keys(asked).forEach((k) => delete asked[k]));

        const init = (lookups: Scenario["lookups"], extra: Partial<Scenario> = {}) =>
            run({ fetchFailures: 0, installFailures: 0, k3sConfig: config, lookups, apiPort: port, ...extra });
        const joined = (o: Outcome) => {
            assert.strictEqual(o.status, 0, o.stderr);
            const k3s = YAML.parse(o.k3sConfig!);
            assert.deepStrictEqual([k3s["cluster-init"], k3s.server, k3s["cluster-cidr"]], [undefined, `https://${API_HOST}:${port}`, POD_CIDR]);
            assert.strictEqual(o.seeded, false, "a joining server takes the cluster's CAs from the cluster");
            assert.strictEqual(installs(o).length, 1);
        };
        const refused = (o: Outcome, rounds: number) => {
            assert.strictEqual(o.status, 1);
            assert.match(
                o.stderr,
                new RegExp(`hobby-k3s-install: refusing to initialise a new cluster: in ${rounds} checks ${INIT_PROBE_SECONDS} s apart`),
            );
            assert.strictEqual(o.k3sConfig, config, "config.yaml untouched");
            assert.deepStrictEqual(installs(o), [], "k3s is not installed, so it starts no cluster");
            assert.deepStrictEqual(sleeps(o), Array(rounds - 1).fill(`sleep ${INIT_PROBE_SECONDS}`));
        };

        it("a new stack (the API's name has no address, check after check) initialises with the seeded CAs", async () => {
            for (const absent of ["absent", "nodata"] as const) {
                const o = await init([absent]);
                assert.strictEqual(o.status, 0, o.stderr);
                assert.strictEqual(o.k3sConfig, config);
                assert.strictEqual(o.seeded, true);
                assert.strictEqual(installs(o).length, 1);
                assert.deepStrictEqual(sleeps(o), Array(INIT_ABSENT_ROUNDS - 1).fill(`sleep ${INIT_PROBE_SECONDS}`));
                assert.match(o.stdout, new RegExp(`${API_HOST.replace(/\./g, "\\.")} had no address in ${INIT_ABSENT_ROUNDS} checks`));
            }
        });

        it("no address only counts in a row: a failed lookup between proves nothing and starts the count again", async () => {
            const o = await init(["absent", "absent", "fail", "absent", "absent", "absent"]);
            assert.strictEqual(o.status, 0, o.stderr);
            assert.strictEqual(o.seeded, true);
            assert.strictEqual(sleeps(o).length, 5);
        });

        it("a re-created server 1 with the cluster up joins it, past a dead address of the name", async () => {
            const o = await init([["127.0.0.6", "127.0.0.2"]]);
            joined(o);
            assert.match(o.stdout, /this cluster answers at k8s\.dev\.example\.com \(127\.0\.0\.2\); joining it/);
            assert.deepStrictEqual(sleeps(o), []);
        });

        it("joins once a server that answered 503 (its API server starting) answers with this cluster's CA", async () => {
            const o = await init([["127.0.0.8"]]);
            joined(o);
            assert.strictEqual(asked["127.0.0.8"], 3);
            assert.strictEqual(sleeps(o).length, 2);
        });

        it("a slow address costs one bounded attempt: the next address is still asked", async () => {
            const o = await init([["127.0.0.5", "127.0.0.2"]], { probe: { timeoutSeconds: 0.3 } });
            joined(o);
        });

        it("hashes a CA bundle as k3s does (the root's DER, after rotate-ca) and joins the rotated cluster", async () => {
            const root = new X509Certificate(rotatedRoot).raw;
            joined(await init([["127.0.0.7"]], { k3sConfig: configFor(sha256(root)) }));
        });

        it("a bundle whose first certificate does not chain to its root is hashed whole, as k3s does, and is not this cluster", async () => {
            const o = await init([["127.0.0.9"]], { k3sConfig: configFor(sha256(new X509Certificate(rotatedRoot).raw)), probe: { rounds: 2 } });
            assert.strictEqual(o.status, 1);
            assert.match(o.stderr, /127\.0\.0\.9: another cluster's CA/);
        });

        for (const [what, lookups, rounds, because] of [
            [
                "the name resolves only to dead addresses (every server lost)",
                [["127.0.0.6", "127.0.0.10"]],
                4,
                /127\.0\.0\.6: no answer \(connection refused\); 127\.0\.0\.10: no answer/,
            ],
            ["the name keeps answering 503 or slowly", [["127.0.0.4", "127.0.0.5"]], 2, /127\.0\.0\.4: 503; 127\.0\.0\.5: no answer \(timed out\)/],
            ["another cluster answers at the name", [["127.0.0.3"]], 2, /127\.0\.0\.3: another cluster's CA/],
            ["every lookup fails", ["fail"], 3, /the lookup of k8s\.dev\.example\.com failed/],
        ] as const) {
            it(`stops, neither initialising nor joining, when ${what}, with a console line that says why`, async () => {
                const o = await init(lookups as unknown as Scenario["lookups"], { probe: { rounds, timeoutSeconds: 0.3 } });
                refused(o, rounds);
                assert.match(o.stderr, because);
                assert.match(o.stderr, /docs\/restore\.md/);
            });
        }

        it("looks for at most five minutes before it stops", () => {
            assert.strictEqual(INIT_PROBE_ROUNDS * INIT_PROBE_SECONDS, 300);
            assert.ok(INIT_ABSENT_ROUNDS >= 3 && INIT_ABSENT_ROUNDS < INIT_PROBE_ROUNDS);
        });

        it("asks nothing when the server joins anyway", async () => {
            const o = await run({
                fetchFailures: 0,
                installFailures: 0,
                k3sConfig: `token: K10${sha256(ours)}::server:x\nserver: https://${API_HOST}:6443\n`,
            });
            assert.ok(!o.calls.some((c) => c.includes("/cacerts")));
            assert.deepStrictEqual(asked, {});
        });
    });

    it("retries the whole install when the script cannot be fetched (DNS not up yet)", async () => {
        const o = await run({ fetchFailures: 2, installFailures: 0 });
        assert.strictEqual(o.status, 0, o.stderr);
        assert.strictEqual(installs(o).length, 1);
        assert.deepStrictEqual(sleeps(o), [`sleep ${INSTALL_RETRY_SECONDS}`, `sleep ${INSTALL_RETRY_SECONDS}`]);
        assert.match(
            o.stderr,
            new RegExp(`attempt 1 of ${INSTALL_ATTEMPTS} to install k3s v1\\.33\\.5\\+k3s1 failed; retrying in ${INSTALL_RETRY_SECONDS} s`),
        );
        assert.match(o.stdout, /installed \(attempt 3\)/);
    });

    it("retries the whole install when the install script itself fails (binary or checksum download, first start)", async () => {
        const o = await run({ fetchFailures: 0, installFailures: 3 });
        assert.strictEqual(o.status, 0, o.stderr);
        assert.strictEqual(installs(o).length, 4, "install.sh runs again from the start");
        // Forced: a rerun after a failed start starts k3s again and so reports whether it runs.
        assert.ok(installs(o).every((c) => c.endsWith("INSTALL_K3S_FORCE_RESTART=true")));
        assert.strictEqual(o.calls.filter((c) => c.startsWith("curl ")).length, 4, "install.sh is fetched afresh each time");
        assert.match(o.stdout, /installed \(attempt 4\)/);
    });

    it("gives up after a bounded number of attempts with a line that says so, and fails cloud-init", async () => {
        const o = await run({ fetchFailures: 0, installFailures: 1000 });
        assert.strictEqual(o.status, 1);
        assert.strictEqual(installs(o).length, INSTALL_ATTEMPTS);
        assert.strictEqual(sleeps(o).length, INSTALL_ATTEMPTS - 1);
        assert.match(o.stderr, new RegExp(`hobby-k3s-install: k3s v1\\.33\\.5\\+k3s1 not installed after ${INSTALL_ATTEMPTS} attempts; giving up`));
    });
});
