import * as assert from "assert";
import { createHash, createPrivateKey, X509Certificate } from "crypto";
import * as YAML from "yaml";
import * as pulumi from "@pulumi/pulumi";
import { HobbyCluster, HobbyClusterArgs } from "../components/cluster/hobbyCluster";
import { K3S_TLS_DIR } from "../components/cluster/cloudConfig";
import { OBJECT_STORAGE_PRICE_USD, POD_CIDR, SERVICE_CIDR } from "../lib/clusterFacts";
import {
    clusterArgs as args,
    cloudConfig,
    ClusterRun as Run,
    file,
    INSTANCE,
    installScript,
    k3sConfig,
    READINESS,
    RULE,
    runCluster,
} from "./helpers/cluster";
import { installMocks, isSecret, ofType, Recorded, runCollectingFailures, runInStack, valueOf } from "../harness/mocks";

/** The gate every Kubernetes resource waits for: all servers Ready. */
const finalGate = (rs: Recorded[]) => ofType(rs, READINESS).find((r) => r.name === "cluster-readiness")!;

describe("HobbyCluster", function () {
    this.timeout(60_000);
    let run: Run;
    let instances: Recorded[];

    before(async () => {
        run = await runCluster();
        instances = ofType(run.resources, INSTANCE);
    });

    it("creates nodeCount servers from config, all on the VPC and in the one firewall group", () => {
        assert.deepStrictEqual(
            instances.map((r) => r.inputs.hostname),
            ["hobby-dev-1", "hobby-dev-2", "hobby-dev-3"],
        );
        const vpc = ofType(run.resources, "vultr:index/vpc:Vpc");
        const groups = ofType(run.resources, "vultr:index/firewallGroup:FirewallGroup");
        assert.strictEqual(vpc.length, 1);
        assert.strictEqual(groups.length, 1);
        assert.deepStrictEqual([vpc[0].inputs.region, vpc[0].inputs.v4Subnet, vpc[0].inputs.v4SubnetMask], ["ams", "10.99.0.0", 24]);
        const sshKeys = ofType(run.resources, "vultr:index/sSHKey:SSHKey");
        assert.deepStrictEqual(
            sshKeys.map((k) => k.inputs.sshKey),
            args().sshPublicKeys,
        );
        for (const vm of instances) {
            assert.deepStrictEqual(
                [
                    vm.inputs.region,
                    vm.inputs.plan,
                    vm.inputs.osId,
                    vm.inputs.enableIpv6,
                    vm.inputs.vpcIds,
                    vm.inputs.firewallGroupId,
                    vm.inputs.sshKeyIds,
                ],
                ["ams", "vc2-1c-2gb", 2136, false, [vpc[0].id], groups[0].id, [sshKeys[0].id]],
            );
        }
    });

    it("initialises etcd on a new stack's first server only; the others join through the API's fixed name", () => {
        const [first, ...others] = instances.map(k3sConfig);
        assert.strictEqual(first["cluster-init"], true);
        assert.strictEqual(first.server, undefined);
        for (const joiner of others) {
            assert.strictEqual(joiner.server, "https://k8s.dev.example.com:6443");
            assert.strictEqual(joiner["cluster-init"], undefined);
        }
        for (const c of [first, ...others]) {
            assert.deepStrictEqual([c["cluster-cidr"], c["service-cidr"]], [POD_CIDR, SERVICE_CIDR]);
        }
    });

    it("puts node IP and flannel on the private NIC, and the public address and the API's fixed name in the API certificate", () => {
        const script = installScript(instances[1]);
        assert.match(script, /vpc_cidr="10\.99\.0\.0\/24"/);
        assert.match(script, /k3s_role="server"/);
        for (const line of [
            "node-ip: $private_ip",
            "flannel-iface: $private_iface",
            "node-external-ip: $public_ip",
            "advertise-address: $private_ip",
            "tls-san:\n  - $public_ip\n  - k8s.dev.example.com\n",
        ]) {
            assert.ok(script.includes(line), line);
        }
        assert.match(script, /k3s_version="v1\.33\.5\+k3s1"/);
        assert.match(script, /INSTALL_K3S_VERSION="\$k3s_version"/);
    });

    it("opens 80 and 443 to everyone, 22 and 6443 to the admin networks, 6443 to each node's own address to join, and nothing else", () => {
        const rules = ofType(run.resources, RULE).map(
            (r) => `${r.inputs.protocol} ${r.inputs.port} ${r.inputs.ipType} ${r.inputs.subnet}/${r.inputs.subnetSize}`,
        );
        assert.deepStrictEqual(
            rules.sort(),
            [
                "tcp 22 v4 198.51.100.7/32",
                "tcp 22 v4 203.0.113.0/24",
                "tcp 443 v4 0.0.0.0/0",
                "tcp 6443 v4 198.51.100.7/32",
                "tcp 6443 v4 203.0.113.0/24",
                "tcp 6443 v4 203.0.113.11/32",
                "tcp 6443 v4 203.0.113.12/32",
                "tcp 6443 v4 203.0.113.13/32",
                "tcp 80 v4 0.0.0.0/0",
            ].sort(),
        );
    });

    it("opens nothing over IPv6, where the IPv4-only cluster answers nothing, even when the VMs get IPv6 addresses", async () => {
        const { resources } = await runCluster({ enableIpv6: true });
        assert.ok(ofType(resources, INSTANCE).every((r) => r.inputs.enableIpv6 === true));
        assert.deepStrictEqual(
            ofType(resources, RULE)
                .filter((r) => r.inputs.ipType !== "v4")
                .map((r) => r.name),
            [],
        );
    });

    it("stops the up, naming the server, when Vultr reports no VPC address for the first server", async () => {
        const resources = await installMocks("dev", false, { "cluster-1": { internalIp: "" } });
        const failures = await runCollectingFailures(() => new HobbyCluster("cluster", args()));
        assert.ok(
            failures.some((m) => /Vultr reported no VPC address \(internalIp\) for hobby-dev-1, so the other nodes cannot reach it/.test(m)),
            failures.join("\n"),
        );
        // Its gate never opens, so no later server is created.
        assert.deepStrictEqual(
            ofType(resources, INSTANCE).map((r) => r.name),
            ["cluster-1"],
        );
    });

    it("blocks the pod and service networks from the metadata service before k3s starts", () => {
        for (const vm of instances) {
            const cc = cloudConfig(vm);
            const rules = file(cc, "/etc/hobby-platform/metadata-block.nft")!.content;
            assert.match(rules, /hook forward/);
            assert.ok(rules.includes(`ip saddr { ${POD_CIDR}, ${SERVICE_CIDR} } ip daddr 169.254.169.254 drop`), rules);
            const unit = file(cc, "/etc/systemd/system/hobby-metadata-block.service")!.content;
            assert.match(unit, /^RequiredBy=k3s\.service$/m);
            assert.match(unit, /^Before=.*k3s\.service/m);
            assert.ok(cc.packages.includes("nftables"));
            const script = installScript(vm);
            assert.ok(script.indexOf("systemctl enable --now hobby-metadata-block.service") < script.indexOf("sh /run/k3s-install.sh"));
            assert.deepStrictEqual(cc.runcmd, [["/usr/local/sbin/hobby-k3s-install"]]);
        }
    });

    it("seeds the cluster CAs and service-account key into the first server only", () => {
        const seeded = (vm: Recorded) => cloudConfig(vm).write_files.filter((f) => f.path.startsWith(K3S_TLS_DIR));
        const first = seeded(instances[0]);
        assert.deepStrictEqual(first.map((f) => f.path.slice(K3S_TLS_DIR.length + 1)).sort(), [
            "client-ca.crt",
            "client-ca.key",
            "etcd/peer-ca.crt",
            "etcd/peer-ca.key",
            "etcd/server-ca.crt",
            "etcd/server-ca.key",
            "request-header-ca.crt",
            "request-header-ca.key",
            "server-ca.crt",
            "server-ca.key",
            "service.current.key",
            "service.key",
        ]);
        for (const f of first) {
            assert.strictEqual(f.permissions, f.path.endsWith(".key") ? "0600" : "0644", f.path);
            if (f.path.endsWith(".crt")) {
                const cert = new X509Certificate(f.content);
                assert.ok(cert.ca, `${f.path} is a CA`);
                const key = first.find((k) => k.path === f.path.replace(/\.crt$/, ".key"))!;
                assert.ok(cert.checkPrivateKey(createPrivateKey(key.content)), `${f.path} matches its key`);
            }
        }
        for (const vm of instances.slice(1)) assert.deepStrictEqual(seeded(vm), [], "joining servers get the CAs from the cluster");
    });

    it("gives every server the same secure-format token, pinned to the server CA as written", () => {
        const serverCa = file(cloudConfig(instances[0]), `${K3S_TLS_DIR}/server-ca.crt`)!.content;
        const tokens = instances.map((vm) => k3sConfig(vm).token as string);
        assert.strictEqual(new Set(tokens).size, 1);
        const hash = createHash("sha256").update(serverCa).digest("hex");
        assert.match(tokens[0], new RegExp(`^K10${hash}::server:[0-9a-f]{32}$`));
    });

    it("builds a kubeconfig that parses, points at the API's fixed name and trusts the generated server CA", async () => {
        const kubeconfig = YAML.parse(await valueOf(run.cluster.kubeconfig));
        const seeds = cloudConfig(instances[0]);
        const serverCa = file(seeds, `${K3S_TLS_DIR}/server-ca.crt`)!.content;
        const clientCa = new X509Certificate(file(seeds, `${K3S_TLS_DIR}/client-ca.crt`)!.content);
        const cluster = kubeconfig.clusters[0].cluster;
        assert.strictEqual(cluster.server, "https://k8s.dev.example.com:6443");
        assert.strictEqual(await valueOf(run.cluster.apiServerUrl), cluster.server);
        assert.strictEqual(Buffer.from(cluster["certificate-authority-data"], "base64").toString(), serverCa);
        assert.strictEqual(await valueOf(run.cluster.caCertificate), serverCa);
        assert.strictEqual(cluster["insecure-skip-tls-verify"], undefined);
        const user = kubeconfig.users[0].user;
        const cert = new X509Certificate(Buffer.from(user["client-certificate-data"], "base64"));
        assert.ok(cert.verify(clientCa.publicKey), "the admin certificate is signed by the client CA k3s uses");
        assert.match(cert.subject, /^O=system:masters$/m);
        assert.ok(cert.checkPrivateKey(createPrivateKey(Buffer.from(user["client-key-data"], "base64"))));
        assert.strictEqual(kubeconfig["current-context"], kubeconfig.contexts[0].name);
    });

    it("marks every key, token and the kubeconfig secret, in inputs and outputs", async () => {
        assert.ok(await isSecret(run.cluster.kubeconfig));
        const token = k3sConfig(instances[0]).token as string;
        // Every input holding a private key or the token must have been passed as a secret.
        for (const r of run.resources) {
            const secret = await r.secretInputs;
            const walk = (v: unknown, at: string[]): void => {
                if (typeof v === "string" && (/PRIVATE KEY/.test(v) || v.includes(token.split("::server:")[1]))) {
                    assert.ok(
                        secret.some((p) => at.join(".").startsWith(p)),
                        `${r.type} ${r.name} input ${at.join(".")} is plain`,
                    );
                } else if (v && typeof v === "object") {
                    for (const [k, x] of Object.entries(v)) walk(x, [...at, k]);
                }
            };
            walk(r.inputs, []);
        }
        for (const vm of instances) assert.ok(vm.opts.additionalSecretOutputs?.includes("userData"), vm.name);
        const gate = finalGate(run.resources);
        assert.ok((await gate.secretInputs).includes("clientKey"));
        assert.ok(gate.opts.additionalSecretOutputs?.includes("clientKey"));
    });

    it("protects the instances and the cluster's identity when asked (prod), and only then", async () => {
        const prod = await runCluster({ protect: true, environment: "prod" });
        const identity = (rs: Recorded[]) =>
            rs.filter(
                (r) =>
                    r.type === INSTANCE ||
                    r.type === "tls:index/selfSignedCert:SelfSignedCert" ||
                    /-ca-key$|token-seed|service-account-key/.test(r.name),
            );
        // Servers, CA certificates and keys, the service-account key and the two token seeds.
        assert.strictEqual(identity(prod.resources).length, 3 + 5 + 5 + 3);
        for (const r of identity(prod.resources)) assert.strictEqual(r.opts.protect, true, `${r.type} ${r.name}`);
        for (const r of identity(run.resources)) assert.notStrictEqual(r.opts.protect, true, `${r.type} ${r.name}`);
        for (const vm of ofType(prod.resources, INSTANCE)) assert.ok(vm.inputs.tags.includes("env-prod"));
    });

    it("gives a Kubernetes provider from its kubeconfig that waits for the readiness gate", async () => {
        const providers = ofType(run.resources, "pulumi:providers:kubernetes");
        assert.strictEqual(providers.length, 1);
        const p = providers[0];
        assert.strictEqual(p.inputs.kubeconfig, await valueOf(run.cluster.kubeconfig));
        assert.strictEqual(p.inputs.enableServerSideApply, "true");
        // A config change updates its ConfigMap in place: a replaced ConfigMap would replace the
        // Deployment mounting it, and a replacement drops CI's image.
        assert.strictEqual(p.inputs.enableConfigMapMutable, "true");
        // So does a changed service secret (or a rotated deploy token) its Secret: a replaced Secret
        // would replace the Deployment that depends on it, every pod at once.
        assert.strictEqual(p.inputs.enableSecretMutable, "true");
        const gate = finalGate(run.resources);
        assert.ok((p.opts.dependsOn as pulumi.Resource[]).some((d) => (d as any).__name === gate.name));
        // The gate polls port 6443 only once the VMs and the firewall rule that opens it exist.
        const gateDeps = (gate.opts.dependsOn as pulumi.Resource[]).map((d) => (d as any).__name);
        assert.ok(
            ["cluster-1", "cluster-2", "cluster-3", "cluster-fw-api-203-0-113-0-24"].every((n) => gateDeps.includes(n)),
            gateDeps.join(),
        );
        assert.deepStrictEqual(gate.inputs.nodeNames, ["hobby-dev-1", "hobby-dev-2", "hobby-dev-3"]);
        assert.strictEqual(gate.inputs.server, "https://k8s.dev.example.com:6443");
        assert.strictEqual(gate.inputs.timeoutSeconds, 900);
        // The identifier depends on the server CA only: a renewed admin certificate keeps it.
        const caHash = createHash("sha256")
            .update(await valueOf(run.cluster.caCertificate))
            .digest("hex")
            .slice(0, 16);
        assert.strictEqual(p.inputs.clusterIdentifier, `cluster-${caHash}`);
    });

    it("reports nodes' addresses and the monthly cost from the plan price table", async () => {
        assert.deepStrictEqual(await valueOf(run.cluster.publicIps), ["203.0.113.11", "203.0.113.12", "203.0.113.13"]);
        assert.deepStrictEqual(await valueOf(run.cluster.privateIps), ["10.99.0.11", "10.99.0.12", "10.99.0.13"]);
        // Three servers and the etcd snapshots' Object Storage.
        assert.strictEqual(run.cluster.monthlyCostUsd, 30 + OBJECT_STORAGE_PRICE_USD);
        const overridden = await runCluster({ planPrices: { "vc2-1c-2gb": 12.5 }, nodeCount: 1 });
        assert.strictEqual(overridden.cluster.monthlyCostUsd, 12.5 + OBJECT_STORAGE_PRICE_USD);
    });

    it("scales from 3 to 5 nodes by adding two joining servers and keeping the first three as they are", async () => {
        const five = await runCluster({ nodeCount: 5 });
        const vms = ofType(five.resources, INSTANCE);
        assert.deepStrictEqual(
            vms.map((r) => r.name),
            ["cluster-1", "cluster-2", "cluster-3", "cluster-4", "cluster-5"],
        );
        assert.deepStrictEqual(
            vms.slice(3).map((r) => k3sConfig(r).server),
            ["https://k8s.dev.example.com:6443", "https://k8s.dev.example.com:6443"],
        );
        for (const vm of vms) assert.ok(vm.opts.ignoreChanges?.includes("userData"), "a user data change never replaces a running member");
        assert.strictEqual(finalGate(five.resources).inputs.nodeNames.length, 5);
        assert.strictEqual(five.cluster.monthlyCostUsd, 50 + OBJECT_STORAGE_PRICE_USD);
    });

    it("declares the same graph in a preview, where addresses and keys are unknown", async () => {
        const preview = await runCluster({}, true);
        const names = (rs: Recorded[]) => rs.map((r) => `${r.type}::${r.name}`).sort();
        assert.deepStrictEqual(names(preview.resources), names(run.resources));
    });

    for (const [what, overrides, message] of [
        [
            "an even node count",
            { nodeCount: 4 },
            /^invalid arguments: nodeCount must be 1 or an odd number up to 7 \(etcd needs a majority\), got 4$/,
        ],
        ["a plan with no known price", { plan: "vc2-9c-99gb" }, /^invalid arguments: plan "vc2-9c-99gb" has no known monthly price/],
        ["no admin network", { adminCidrs: [] }, /^invalid arguments: adminCidrs must list at least one network/],
        ["a VPC network that is no IPv4 CIDR", { vpcCidr: "fd00::/64" }, /vpcCidr must be an IPv4 CIDR, got "fd00::\/64"/],
    ] as const) {
        it(`refuses ${what} before creating anything`, async () => {
            const resources = await installMocks("dev");
            await assert.rejects(
                runInStack(() => {
                    new HobbyCluster("cluster", args(overrides as Partial<HobbyClusterArgs>));
                    return {};
                }),
                (e: Error) => message.test(e.message),
            );
            assert.deepStrictEqual(
                resources.filter(
                    (r) => r.type !== "pulumi:pulumi:Stack" && r.type !== "hobby-platform:cluster:HobbyCluster" && !r.type.startsWith("tls:"),
                ),
                [],
                "no server, network or gate",
            );
        });
    }
});
