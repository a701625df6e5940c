import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { OBJECT_STORAGE_PRICE_USD, planPrice, PRICES_READ_ON } from "../../lib/clusterFacts";
import { PROVIDER_SETTINGS } from "../lib/kubernetes";
import { labels } from "../lib/labels";
import { recordName } from "../../lib/net";
import { createEtcdBackups, etcdSnapshotSettings } from "./backups";
import { createK3sUpgrades } from "./upgrades";
import { assertArgs } from "../lib/invariants";
import { buildKubeconfig } from "./kubeconfig";
import { createClusterNetwork } from "./network";
import { createClusterPki, sha256 } from "./pki";
import { ClusterGuard } from "./guard";
import { ClusterReadiness } from "./readiness";
import { createNodes, NodeSettings } from "./nodes";

export type { WorkerPool } from "./nodes";

/** The cluster's settings: its nodes' (NodeSettings), its network's, its snapshots' and its prices. */
export interface HobbyClusterArgs extends NodeSettings {
    /** OpenSSH public keys installed for root; none is fine (the stack never needs SSH). */
    sshPublicKeys: string[];
    /** IPv4 networks allowed to reach SSH (22) and the Kubernetes API (6443); must include `pulumi up`'s. */
    adminCidrs: string[];
    /** Monthly USD price per plan, overriding the built-in table. */
    planPrices: Record<string, number>;
    /** `client` label of the cluster's own Kubernetes objects. */
    client: string;
    /** etcd snapshots: cron schedule and how many to keep, uploaded to Vultr Object Storage. */
    etcdSnapshots: {
        schedule: string;
        retention: number;
        /** Object Storage cluster id; default: the one Vultr lists for `region`. */
        objectStorageClusterId?: number;
    };
}

/** One node as the outputs show it. */
export interface ClusterNode {
    name: string;
    /** `server` or `agent`. */
    role: string;
    publicIp: string;
    privateIp: string;
}

/**
 * A highly available k3s cluster on Vultr: `nodeCount` servers with embedded etcd on one VPC,
 * behind one firewall group. The stack generates the cluster's CAs, seeds them into the first
 * server's user data, signs its own admin certificate and builds the kubeconfig: no SSH step.
 * `provider` reaches the cluster once the readiness gate has seen it ready.
 */
export class HobbyCluster extends pulumi.ComponentResource {
    /** `https://<apiHost>:6443`: any server answers there. */
    public readonly apiServerUrl: pulumi.Output<string>;
    /** PEM of the CA that signs the API server's certificate (the `K8S_<ENV>_CA` value). */
    public readonly caCertificate: pulumi.Output<string>;
    /** Admin kubeconfig (O=system:masters); secret. */
    public readonly kubeconfig: pulumi.Output<string>;
    /** Kubernetes provider for this cluster, usable once the cluster is ready. */
    public readonly provider: k8s.Provider;
    /** Nodes in order: the servers, then each pool's agents. */
    public readonly nodes: pulumi.Output<ClusterNode[]>;
    /** Public IPv4 addresses of the servers, in order: where ingress is served. */
    public readonly publicIps: pulumi.Output<string[]>;
    /** The same, one Output a server (their number is known before the `up`). */
    public readonly serverPublicIps: pulumi.Output<string>[];
    /** VPC addresses of the servers, in order. */
    public readonly privateIps: pulumi.Output<string[]>;
    /**
     * The servers' `agent-token` (secret): what a server made before worker pools existed must be
     * given by hand before the first pool joins (docs/operations.md).
     */
    public readonly agentSecret: pulumi.Output<string>;
    /** Whether the cluster has agents (a worker pool with nodes). */
    public readonly hasAgents: boolean;
    /** Bucket the etcd snapshots go to. */
    public readonly etcdSnapshotBucket: pulumi.Output<string>;
    /** Estimated monthly cost in USD: the servers, the worker pools and the snapshots' Object Storage (list prices read on `pricesReadOn`). */
    public readonly monthlyCostUsd: number;
    /** Date the plan price table was read. */
    public readonly pricesReadOn: string;

    constructor(name: string, args: HobbyClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("hobby-platform:cluster:HobbyCluster", name, {}, opts);
        const price = planPrice(args.plan, args.planPrices);
        assertArgs(this, [
            (!Number.isInteger(args.nodeCount) || args.nodeCount < 1 || args.nodeCount > 7 || args.nodeCount % 2 === 0) &&
                `nodeCount must be 1 or an odd number up to 7 (etcd needs a majority), got ${args.nodeCount}`,
            args.adminCidrs.length === 0 && "adminCidrs must list at least one network: the API server answers only these",
            price === undefined && `plan "${args.plan}" has no known monthly price: give it in planPrices`,
            ...args.workers.map(
                (pool) =>
                    planPrice(pool.plan, args.planPrices) === undefined &&
                    `plan "${pool.plan}" of worker pool "${pool.name}" has no known monthly price: give it in planPrices`,
            ),
            recordName(args.apiHost, args.dnsZone) === undefined && `apiHost "${args.apiHost}" is not inside dnsZone "${args.dnsZone}"`,
        ]);

        // First: a change that would lose the running cluster is refused before anything moves.
        const guard = new ClusterGuard(
            `${name}-guard`,
            { region: args.region, vpcCidr: args.vpcCidr, k3sVersion: args.k3sVersion },
            { parent: this },
        );
        const pki = createClusterPki(name, this, args.protect);
        const network = createClusterNetwork(name, args, guard, this);
        const nodes = createNodes(
            name,
            {
                ...args,
                token: pki.token,
                agentSecret: pki.agentSecret,
                agentToken: pki.agentToken,
                seedFiles: pki.seedFiles,
                k3sSettings: etcdSnapshotSettings(args.etcdSnapshots.schedule, args.etcdSnapshots.retention),
                caCertificate: pki.serverCa,
                adminCertificate: pki.adminCertificate,
                adminKey: pki.adminKey,
            },
            network,
            guard,
            this,
        );
        const all = [...nodes.servers, ...nodes.agents];
        this.hasAgents = nodes.agents.length > 0;
        this.agentSecret = pki.agentSecret;

        this.apiServerUrl = pulumi.output(nodes.apiServerUrl);
        this.caCertificate = pki.serverCa;
        this.kubeconfig = pulumi.secret(
            pulumi
                .all([this.apiServerUrl, pki.serverCa, pki.adminCertificate, pki.adminKey])
                .apply(([server, ca, cert, key]) => buildKubeconfig(name, server, ca, cert, key)),
        );
        this.nodes = pulumi.all(
            all.map((n) =>
                pulumi
                    .all([n.hostname, n.instance.mainIp, n.privateIp])
                    .apply(([nodeName, publicIp, privateIp]) => ({ name: nodeName, role: n.role, publicIp, privateIp })),
            ),
        );
        this.serverPublicIps = nodes.servers.map((n) => n.instance.mainIp);
        this.publicIps = pulumi.all(this.serverPublicIps);
        this.privateIps = pulumi.all(nodes.servers.map((n) => n.privateIp));

        // The API answers once the servers, their A records and the firewall rules that open 6443 exist.
        const readiness = new ClusterReadiness(
            `${name}-readiness`,
            {
                server: this.apiServerUrl,
                caCertificate: pki.serverCa,
                clientCertificate: pki.adminCertificate,
                clientKey: pki.adminKey,
                nodeNames: nodes.servers.map((n) => n.hostname),
                agentNames: nodes.agents.map((n) => n.hostname),
                servers: all.map((n) => n.generation),
                timeoutSeconds: args.readinessTimeoutSeconds,
            },
            { parent: this, dependsOn: [...all.map((n) => n.instance), ...nodes.apiRecords, ...nodes.joinRules, ...network.rules] },
        );

        this.provider = new k8s.Provider(
            `${name}-k8s`,
            {
                kubeconfig: this.kubeconfig,
                // The cluster is its server CA: a renewed admin certificate is an update, not a new cluster.
                clusterIdentifier: pulumi.interpolate`${name}-${pki.serverCa.apply((ca) => sha256(ca).slice(0, 16))}`,
                ...PROVIDER_SETTINGS,
            },
            { parent: this, dependsOn: [readiness] },
        );

        const backups = createEtcdBackups(
            name,
            {
                region: args.region,
                objectStorageClusterId: args.etcdSnapshots.objectStorageClusterId,
                prefix: args.hostnamePrefix,
                folder: args.environment,
                protect: args.protect,
                labels: labels("etcd-snapshots", args),
            },
            this.provider,
            this,
        );
        this.etcdSnapshotBucket = backups.bucket;
        // Running servers reach a new k3sVersion through the Plan (new ones boot it).
        createK3sUpgrades(name, args.k3sVersion, labels("system-upgrade-controller", args), this.hasAgents, this.provider, this);

        const pools = args.workers.reduce((sum, pool) => sum + pool.count * (planPrice(pool.plan, args.planPrices) ?? 0), 0);
        this.monthlyCostUsd = args.nodeCount * (price ?? 0) + pools + OBJECT_STORAGE_PRICE_USD;
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
