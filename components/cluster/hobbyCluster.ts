import * as vultr from "@ediri/vultr";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { createHash } from "crypto";
import * as YAML from "yaml";
import { K3S_TLS_DIR, renderServerUserData, SeedFile } from "./cloudConfig";
import { clusterSpecProblems, parseIpv4Cidr, planPrice, POD_CIDR, PRICES_READ_ON, SERVICE_CIDR } from "../lib/clusterFacts";
import { ClusterReadiness } from "./readiness";

export interface HobbyClusterArgs {
    /** Vultr region id, e.g. `ams`. */
    region: string;
    /** Vultr plan of every node, e.g. `vc2-2c-4gb`. */
    plan: string;
    /** Number of k3s servers: 1 (a cheap dev cluster) or an odd number up to 7 (etcd quorum). */
    nodeCount: number;
    /** Pinned k3s release, e.g. `v1.33.5+k3s1`. */
    k3sVersion: string;
    /** Vultr OS id of the image (2136: Debian 12 x64); from config, so preview needs no API call. */
    osId: number;
    /** Give the nodes public IPv6 addresses, for outbound traffic only: nothing is served over IPv6. */
    enableIpv6: boolean;
    /** OpenSSH public keys installed for root; none is fine (the stack never needs SSH). */
    sshPublicKeys: string[];
    /** IPv4 networks allowed to reach SSH (22) and the Kubernetes API (6443); must include `pulumi up`'s. */
    adminCidrs: string[];
    /** IPv4 network of the VPC, e.g. `10.99.0.0/24`; outside the k3s pod and service networks. */
    vpcCidr: string;
    /** Node hostnames are `<hostnamePrefix>-1`, `-2`, ...; also the Kubernetes node names. */
    hostnamePrefix: string;
    /** Monthly USD price per plan, overriding the built-in table. */
    planPrices: Record<string, number>;
    /** Environment name, written to the instances' tags. */
    environment: string;
    /** Protect instances and cluster identity (CAs, token) from deletion: set for prod. */
    protect: boolean;
    /** How long the readiness gate waits for the API server and nodes; default 15 minutes. */
    readinessTimeoutSeconds?: number;
}

/** One node as the outputs show it. */
export interface ClusterNode {
    name: string;
    publicIp: string;
    privateIp: string;
}

/** The CAs k3s takes from its TLS directory instead of generating its own, and their files. */
const CLUSTER_CAS = [
    { id: "server-ca", file: "server-ca" },
    { id: "client-ca", file: "client-ca" },
    { id: "request-header-ca", file: "request-header-ca" },
    { id: "etcd-peer-ca", file: "etcd/peer-ca" },
    { id: "etcd-server-ca", file: "etcd/server-ca" },
] as const;
type CaId = (typeof CLUSTER_CAS)[number]["id"];

const TEN_YEARS_HOURS = 10 * 365 * 24;

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
const base64 = (s: string) => Buffer.from(s).toString("base64");

/**
 * A highly available k3s cluster on Vultr: `nodeCount` servers with embedded etcd on one VPC,
 * behind one firewall group. The stack generates the cluster's CAs, seeds them into the first
 * server's user data, signs its own admin certificate and builds the kubeconfig: no SSH step.
 * `provider` reaches the cluster once the readiness gate has seen it ready.
 */
export class HobbyCluster extends pulumi.ComponentResource {
    /** `https://<first node public IP>:6443`. */
    public readonly apiServerUrl: pulumi.Output<string>;
    /** PEM of the CA that signs the API server's certificate (the `K8S_<ENV>_CA` value). */
    public readonly caCertificate: pulumi.Output<string>;
    /** Admin kubeconfig (O=system:masters); secret. */
    public readonly kubeconfig: pulumi.Output<string>;
    /** Kubernetes provider for this cluster, usable once the cluster is ready. */
    public readonly provider: k8s.Provider;
    /** Nodes in order; the first one initialised the cluster. */
    public readonly nodes: pulumi.Output<ClusterNode[]>;
    /** Public IPv4 addresses of the nodes, in order. */
    public readonly publicIps: pulumi.Output<string[]>;
    /** VPC addresses of the nodes, in order. */
    public readonly privateIps: pulumi.Output<string[]>;
    /** Estimated monthly cost in USD (list prices read on `pricesReadOn`). */
    public readonly monthlyCostUsd: number;
    /** Date the plan price table was read. */
    public readonly pricesReadOn: string;

    constructor(name: string, args: HobbyClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("hobby-platform:cluster:HobbyCluster", name, {}, opts);

        const problems = clusterSpecProblems(args).map((p) => `HobbyCluster "${name}" ${p.field}: ${p.message}`);
        if (problems.length > 0) throw new pulumi.ResourceError(problems.join("\n"), this);

        const child = { parent: this };
        // Replacing a CA or the token would orphan the running cluster: protect them with the VMs.
        const identity = { parent: this, protect: args.protect };

        // --- Cluster identity: CAs, service-account key, token --------------------------------
        const cas = {} as Record<CaId, { key: tls.PrivateKey; cert: tls.SelfSignedCert }>;
        for (const ca of CLUSTER_CAS) {
            const key = new tls.PrivateKey(`${name}-${ca.id}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, identity);
            const cert = new tls.SelfSignedCert(`${name}-${ca.id}`, {
                privateKeyPem: key.privateKeyPem,
                subject: { commonName: `${name}-${ca.id}`, organization: "hobby-platform" },
                isCaCertificate: true,
                setSubjectKeyId: true,
                validityPeriodHours: TEN_YEARS_HOURS,
                allowedUses: ["cert_signing", "crl_signing", "digital_signature", "key_encipherment"],
            }, identity);
            cas[ca.id] = { key, cert };
        }
        const serviceAccountKey = new tls.PrivateKey(`${name}-service-account-key`, { algorithm: "RSA", rsaBits: 2048 }, identity);
        // The token's secret: 128 bits hashed from a key the tls provider generates, so that one
        // random value needs no extra provider plugin. It never changes: k3s keeps its first token.
        const tokenSeed = new tls.PrivateKey(`${name}-token-seed`, { algorithm: "ED25519" }, identity);
        const serverCa = cas["server-ca"].cert.certPem;
        // Secure form: joining servers check the CA they are shown against this hash (k3s hashes
        // a single-certificate CA file over its exact bytes) before sending the secret.
        const token = pulumi.secret(pulumi.all([serverCa, tokenSeed.privateKeyPem]).apply(([ca, seed]) =>
            `K10${sha256(ca)}::server:${sha256(seed).slice(0, 32)}`));

        // --- Admin client certificate, signed by the client CA --------------------------------
        const adminKey = new tls.PrivateKey(`${name}-admin-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, child);
        const adminCsr = new tls.CertRequest(`${name}-admin-csr`, {
            privateKeyPem: adminKey.privateKeyPem,
            subject: { commonName: "hobby-platform-admin", organization: "system:masters" },
        }, child);
        // Renewed by the `pulumi up` that runs within 30 days of expiry; the provider's
        // clusterIdentifier keeps that from replacing the Kubernetes objects.
        const adminCert = new tls.LocallySignedCert(`${name}-admin`, {
            certRequestPem: adminCsr.certRequestPem,
            caPrivateKeyPem: cas["client-ca"].key.privateKeyPem,
            caCertPem: cas["client-ca"].cert.certPem,
            validityPeriodHours: 365 * 24,
            earlyRenewalHours: 30 * 24,
            allowedUses: ["client_auth", "digital_signature", "key_encipherment"],
        }, child);

        // --- Network: VPC, firewall, SSH keys ---------------------------------------------------
        const vpcNet = parseIpv4Cidr(args.vpcCidr)!;
        const vpc = new vultr.Vpc(`${name}-vpc`, {
            region: args.region,
            v4Subnet: vpcNet.address,
            v4SubnetMask: vpcNet.prefix,
            description: `${name}: k3s private network (etcd, kubelet, flannel)`,
        }, child);
        const firewall = new vultr.FirewallGroup(`${name}-firewall`, { description: `${name}: k3s nodes` }, child);
        const rules = firewallRules(args).map((rule) => {
            const [subnet, size] = rule.cidr.split("/");
            return new vultr.FirewallRule(`${name}-fw-${rule.name}`, {
                firewallGroupId: firewall.id,
                protocol: "tcp",
                port: rule.port,
                ipType: "v4",
                subnet,
                subnetSize: Number(size),
                notes: rule.notes,
            }, child);
        });
        const sshKeys = args.sshPublicKeys.map((key) => new vultr.SSHKey(`${name}-ssh-${sha256(key).slice(0, 8)}`, {
            name: `${name}-${sha256(key).slice(0, 8)}`,
            sshKey: key,
        }, child));

        // --- Servers ----------------------------------------------------------------------------
        const k3sCommon = {
            "cluster-cidr": POD_CIDR,
            "service-cidr": SERVICE_CIDR,
            "secrets-encryption": true,
            "write-kubeconfig-mode": "0600",
        };
        const userData = (role: pulumi.Input<Record<string, pulumi.Input<unknown>>>, seedFiles: pulumi.Input<SeedFile[]>) =>
            pulumi.secret(pulumi.all([token, pulumi.output(role), seedFiles]).apply(([t, r, files]) => renderServerUserData({
                k3sVersion: args.k3sVersion,
                vpcCidr: args.vpcCidr,
                podCidr: POD_CIDR,
                serviceCidr: SERVICE_CIDR,
                k3sConfig: { token: t, ...r, ...k3sCommon },
                seedFiles: files,
            })));
        const seedFiles: pulumi.Output<SeedFile[]> = pulumi.all([
            pulumi.all(CLUSTER_CAS.map((ca) => pulumi.all([cas[ca.id].cert.certPem, cas[ca.id].key.privateKeyPem]))),
            serviceAccountKey.privateKeyPem,
        ]).apply(([pems, saKey]) => [
            ...CLUSTER_CAS.flatMap((ca, i) => [
                { path: `${K3S_TLS_DIR}/${ca.file}.crt`, content: pems[i][0], private: false },
                { path: `${K3S_TLS_DIR}/${ca.file}.key`, content: pems[i][1], private: true },
            ]),
            // k3s verifies service-account tokens with service.key and signs with service.current.key.
            { path: `${K3S_TLS_DIR}/service.key`, content: saKey, private: true },
            { path: `${K3S_TLS_DIR}/service.current.key`, content: saKey, private: true },
        ]);

        const hostnames = Array.from({ length: args.nodeCount }, (_, i) => `${args.hostnamePrefix}-${i + 1}`);
        const instances: vultr.Instance[] = [];
        const privateIps: pulumi.Output<string>[] = [];
        // The provider reads internal_ip from the API, which can leave it empty; a server told to
        // join "https://:6443" would never join, so the `up` stops at the first server instead.
        const privateIp = (vm: vultr.Instance, hostname: string) => vm.internalIp.apply((ip) => {
            if (!ip) {
                throw new pulumi.ResourceError(`Vultr reported no VPC address (internalIp) for ${hostname}, so no server can join it: ` +
                    "check in the Vultr console that the instance is attached to the VPC, then run `pulumi refresh` and `pulumi up` again", vm);
            }
            return ip;
        });
        for (const [i, hostname] of hostnames.entries()) {
            const vm = new vultr.Instance(`${name}-${i + 1}`, {
                region: args.region,
                plan: args.plan,
                osId: args.osId,
                hostname,
                label: hostname,
                enableIpv6: args.enableIpv6,
                vpcIds: [vpc.id],
                firewallGroupId: firewall.id,
                sshKeyIds: sshKeys.map((k) => k.id),
                backups: "disabled",
                activationEmail: false,
                tags: ["hobby-platform", `env-${args.environment}`],
                // The first server initialises etcd with the seeded CAs; the others join it over
                // the VPC by its private address, and get the CAs from the cluster, not user data.
                userData: i === 0
                    ? userData({ "cluster-init": true }, seedFiles)
                    : userData({ server: pulumi.interpolate`https://${privateIps[0]}:6443` }, []),
            }, {
                parent: this,
                protect: args.protect,
                additionalSecretOutputs: ["userData"],
                // User data only runs at first boot; a change (e.g. k3sVersion) must not replace a
                // running etcd member. New nodes get the current template.
                ignoreChanges: ["userData"],
            });
            instances.push(vm);
            privateIps.push(privateIp(vm, hostname));
        }

        // --- Access -------------------------------------------------------------------------------
        this.apiServerUrl = pulumi.interpolate`https://${instances[0].mainIp}:6443`;
        this.caCertificate = serverCa;
        this.kubeconfig = pulumi.secret(pulumi.all([this.apiServerUrl, serverCa, adminCert.certPem, adminKey.privateKeyPem])
            .apply(([server, ca, cert, key]) => buildKubeconfig(name, server, ca, cert, key)));
        this.nodes = pulumi.all(instances.map((vm, i) => pulumi.all([vm.mainIp, privateIps[i]]).apply(([publicIp, ip]) =>
            ({ name: hostnames[i], publicIp, privateIp: ip }))));
        this.publicIps = pulumi.all(instances.map((vm) => vm.mainIp));
        this.privateIps = pulumi.all(privateIps);

        const readiness = new ClusterReadiness(`${name}-readiness`, {
            server: this.apiServerUrl,
            caCertificate: serverCa,
            clientCertificate: adminCert.certPem,
            clientKey: adminKey.privateKeyPem,
            nodeNames: hostnames,
            timeoutSeconds: args.readinessTimeoutSeconds,
        }, { parent: this, dependsOn: [...instances, ...rules] });

        this.provider = new k8s.Provider(`${name}-k8s`, {
            kubeconfig: this.kubeconfig,
            // The cluster is its server CA: a renewed admin certificate is an update, not a new cluster.
            clusterIdentifier: pulumi.interpolate`${name}-${serverCa.apply((ca) => sha256(ca).slice(0, 16))}`,
            enableServerSideApply: true,
        }, { parent: this, dependsOn: [readiness] });

        this.monthlyCostUsd = args.nodeCount * planPrice(args.plan, args.planPrices)!;
        this.pricesReadOn = PRICES_READ_ON;

        this.registerOutputs({
            apiServerUrl: this.apiServerUrl,
            caCertificate: this.caCertificate,
            kubeconfig: this.kubeconfig,
            nodes: this.nodes,
            monthlyCostUsd: this.monthlyCostUsd,
        });
    }
}

/** One inbound rule of the firewall group: everything not listed is dropped from the internet. */
export interface FirewallRuleSpec {
    name: string;
    port: string;
    cidr: string;
    notes: string;
}

/**
 * 80 and 443 from anywhere, 22 and 6443 from the admin networks only, all over IPv4: the
 * cluster (node IPs, pods, Services, Traefik through ServiceLB) is IPv4-only, so nothing is
 * opened over IPv6, where nothing would answer.
 */
export function firewallRules(args: Pick<HobbyClusterArgs, "adminCidrs">): FirewallRuleSpec[] {
    const slug = (cidr: string) => cidr.replace(/[^0-9]+/g, "-").replace(/^-|-$/g, "");
    return [
        { name: "http-any-v4", port: "80", cidr: "0.0.0.0/0", notes: "HTTP (ingress, ACME HTTP-01)" },
        { name: "https-any-v4", port: "443", cidr: "0.0.0.0/0", notes: "HTTPS (ingress)" },
        ...[...new Set(args.adminCidrs)].flatMap((cidr) => [
            { name: `ssh-${slug(cidr)}`, port: "22", cidr, notes: "SSH from an admin network" },
            { name: `api-${slug(cidr)}`, port: "6443", cidr, notes: "Kubernetes API from an admin network" },
        ]),
    ];
}

/** An admin kubeconfig with the certificates embedded, for `kubectl` and the Kubernetes provider. */
export function buildKubeconfig(name: string, server: string, caPem: string, certPem: string, keyPem: string): string {
    return YAML.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name, cluster: { server, "certificate-authority-data": base64(caPem) } }],
        users: [{ name: `${name}-admin`, user: { "client-certificate-data": base64(certPem), "client-key-data": base64(keyPem) } }],
        contexts: [{ name, context: { cluster: name, user: `${name}-admin` } }],
        "current-context": name,
    });
}
