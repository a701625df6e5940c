// The cluster's nodes: k3s servers (control plane and etcd) and the agents of the worker pools,
// Vultr instances whose user data installs k3s once, at first boot. Every node joins through the
// API's fixed name (an A record per server, published once that server is Ready on its own
// address), so no node depends on another one's address; only the stack's very first server
// initialises etcd.
import * as vultr from "@ediri/vultr";
import * as pulumi from "@pulumi/pulumi";
import { POD_CIDR, SERVICE_CIDR, API_DNS_TTL_SECONDS, WorkerPool } from "../../lib/clusterFacts";
import { agentHostname, serverHostname } from "../../lib/names";
import { recordName } from "../../lib/net";
import { NodeUserDataArgs, renderNodeUserData, SeedFile } from "./cloudConfig";
import { ClusterNetwork } from "./network";
import { ClusterReadiness } from "./readiness";

export type { WorkerPool };

/** What the cluster's nodes are made from: the part of a HobbyCluster's settings about its VMs. */
export interface NodeSettings {
    /** Vultr region id, e.g. `ams`. */
    region: string;
    /** Vultr plan of every server, e.g. `vc2-2c-4gb`. */
    plan: string;
    /** Number of k3s servers: 1 (a cheap dev cluster) or an odd number up to 7 (etcd quorum). */
    nodeCount: number;
    /** Pinned k3s release, e.g. `v1.33.5+k3s1`. */
    k3sVersion: string;
    /** Vultr OS id of the image (2136: Debian 12 x64); from config, so preview needs no API call. */
    osId: number;
    /** Give the nodes public IPv6 addresses, for outbound traffic only: nothing is served over IPv6. */
    enableIpv6: boolean;
    /** IPv4 network of the VPC, e.g. `10.99.0.0/24`; outside the k3s pod and service networks. */
    vpcCidr: string;
    /** Node hostnames are `<hostnamePrefix>-1`, `-2`, ...; also the Kubernetes node names. */
    hostnamePrefix: string;
    /**
     * The API's fixed name, e.g. `k8s.dev.example.com`: an A record per server, in every server's
     * certificate; nodes join through it, and the kubeconfig and the CI variables name it.
     */
    apiHost: string;
    /** The Vultr DNS zone that holds `apiHost`'s records, e.g. `example.com`; it must exist (looked up at preview). */
    dnsZone: string;
    /** Pools of k3s agents beside the servers; none by default. */
    workers: WorkerPool[];
    /** Environment name, written to the instances' tags and the `env` label. */
    environment: string;
    /** Protect instances and cluster identity (CAs, token) from deletion: set for prod. */
    protect: boolean;
    /** How long the readiness gate waits for the API server and nodes; default 15 minutes. */
    readinessTimeoutSeconds?: number;
}

/** The node settings, and what the PKI made. */
export interface NodesArgs extends NodeSettings {
    /** The servers' join token (secret). */
    token: pulumi.Output<string>;
    /** The agents' password, every server's `agent-token` (secret). */
    agentSecret: pulumi.Output<string>;
    /** The token agents join with (secret). */
    agentToken: pulumi.Output<string>;
    /** Files the stack's first server needs before k3s first starts (the CAs). */
    seedFiles: pulumi.Output<SeedFile[]>;
    /** More k3s settings of every server (e.g. etcd snapshots). */
    k3sSettings: Record<string, unknown>;
    /** What the per-node readiness gates reach the API with. */
    caCertificate: pulumi.Output<string>;
    adminCertificate: pulumi.Output<string>;
    adminKey: pulumi.Output<string>;
}

/** One node: its instance and what the gates and outputs read of it. */
export interface ClusterNode {
    role: "server" | "agent";
    /** The worker pool of an agent. */
    pool?: string;
    instance: vultr.Instance;
    /** The hostname it really has (also its Kubernetes node name): a running node keeps its own. */
    hostname: pulumi.Output<string>;
    /**
     * `<instance id> <plan> <VPC address>`, for the gates to wait again after a replacement or
     * resize; a node with no VPC address stops the gates, and so every node after it.
     */
    generation: pulumi.Output<string>;
    /** VPC address; an empty one fails the `up`, naming the node. */
    privateIp: pulumi.Output<string>;
}

export interface ClusterNodes {
    servers: ClusterNode[];
    agents: ClusterNode[];
    /** `https://<apiHost>:6443`: every server's A record is under that name. */
    apiServerUrl: string;
    /** The A records of the API's name, one per server. */
    apiRecords: vultr.DnsRecord[];
    /** Firewall rules that let each node reach the API (to join) from its public address. */
    joinRules: vultr.FirewallRule[];
}

/** k3s settings every server shares. */
const K3S_SERVER_COMMON = {
    "cluster-cidr": POD_CIDR,
    "service-cidr": SERVICE_CIDR,
    "secrets-encryption": true,
    "write-kubeconfig-mode": "0600",
};

/** The VPC address of a node; empty, it stops the `up`: a node on no VPC cannot be reached by the others. */
function privateIp(vm: vultr.Instance, hostname: string): pulumi.Output<string> {
    // The provider copies the API's internal_ip, which can be empty (terraform-provider-vultr #173, #373).
    return vm.internalIp.apply((ip) => {
        if (!ip) {
            throw new pulumi.ResourceError(
                `Vultr reported no VPC address (internalIp) for ${hostname}, so the other nodes cannot reach it: ` +
                    "check in the Vultr console that the instance is attached to the VPC, then run `pulumi refresh` and `pulumi up` again",
                vm,
            );
        }
        return ip;
    });
}

/**
 * Fields of `vultr_instance` that are ForceNew in terraform-provider-vultr v2.21.0
 * (vultr/resource_vultr_instance.go): a change would replace a running node (and a server is an
 * etcd member), so it applies to nodes created later. `label` follows the hostname. (`region` is
 * ForceNew too: the ClusterGuard refuses its change.)
 */
export const KEPT_BY_RUNNING_NODES = ["userData", "sshKeyIds", "hostname", "label", "osId"];

/** The tag every server of the stack's cluster has at Vultr, by which the program finds them. */
const serverTag = () => `${pulumi.getProject()}-${pulumi.getStack()}-k3s-server`;

/** The tags of a node beyond `hobby-platform` and `env-<env>`: the stack's servers or agents, then which one. */
export function nodeTags(node: { role: "server"; index: number } | { role: "agent"; pool: string }): string[] {
    const stack = `${pulumi.getProject()}-${pulumi.getStack()}`;
    return node.role === "server" ? [serverTag(), `${serverTag()}-${node.index}`] : [`${stack}-k3s-agent`, `${stack}-pool-${node.pool}`];
}

/**
 * Whether the stack's cluster runs without server 1: another server of it exists at Vultr. Then a
 * (re)created server 1 must join it; only a stack with no other server initialises. Asked of
 * Vultr, not of the state, so that a first `up` that failed before any server was Ready still
 * initialises on the next one, and a server deleted in the console counts as gone. The servers
 * are found by their firewall group, which is the stack's own, the agents' is another, and every
 * server of every release has it; server 1 by its tag (a server without it counts as another).
 */
export function othersRunning(serversFirewall: vultr.FirewallGroup, parent: pulumi.Resource): pulumi.Output<boolean> {
    const first = nodeTags({ role: "server", index: 1 })[1];
    return vultr
        .getInstancesOutput({ filters: [{ name: "firewall_group_id", values: [serversFirewall.id] }] }, { parent })
        .instances.apply((found) => found.some((vm) => !(vm.tags ?? []).includes(first)));
}

/**
 * The zone the API's records go in, looked up at Vultr, so that a preview already stops, naming
 * it, on a zone the account's DNS does not have (the records would fail only in the `up`).
 */
function existingZone(zone: string, parent: pulumi.Resource): pulumi.Output<string> {
    return pulumi.output(
        vultr.getDnsDomain({ domain: zone }, { parent }).then(
            (found) => found.domain,
            (e: Error) => {
                throw new pulumi.ResourceError(
                    `the DNS zone "${zone}" (dns.zone) that holds the API's name is not in this Vultr account (${e.message}); ` +
                        `create it (Vultr console: Network, DNS) and delegate it to ns1.vultr.com and ns2.vultr.com where the domain is registered, then run again`,
                    parent,
                );
            },
        ),
    );
}

/** One node to make: its names, role, plan, tags and user data. */
interface NodePlan {
    resourceName: string;
    hostname: string;
    role: NodeUserDataArgs["role"];
    plan: string;
    tags: string[];
    userData: pulumi.Output<string>;
    pool?: WorkerPool;
}

/**
 * The nodes in the order they are made: the servers, then each pool's agents. Server 1
 * initialises the cluster (with the CAs it seeds, the cluster's identity) only when no other
 * server of the stack exists; every other node joins through the API's name.
 */
function planNodes(name: string, args: NodesArgs, network: ClusterNetwork, parent: pulumi.Resource): NodePlan[] {
    const join = { server: `https://${args.apiHost}:6443` };
    const userData = (role: NodePlan["role"], k3sConfig: pulumi.Input<Record<string, unknown>>, seedFiles: pulumi.Input<SeedFile[]>) =>
        pulumi.secret(
            pulumi.all([pulumi.output(k3sConfig), seedFiles]).apply(([config, files]) =>
                renderNodeUserData({
                    role,
                    k3sVersion: args.k3sVersion,
                    apiHost: args.apiHost,
                    vpcCidr: args.vpcCidr,
                    podCidr: POD_CIDR,
                    serviceCidr: SERVICE_CIDR,
                    k3sConfig: config,
                    seedFiles: files,
                }),
            ),
        );
    const serverConfig = (role: pulumi.Input<Record<string, unknown>>) =>
        pulumi
            .all([args.token, args.agentSecret, pulumi.output(role)])
            .apply(([token, agentToken, r]) => ({ token, "agent-token": agentToken, ...r, ...K3S_SERVER_COMMON, ...args.k3sSettings }));
    const joinsRunning = othersRunning(network.firewall, parent);
    const firstRole = joinsRunning.apply((running) => (running ? join : { "cluster-init": true }));
    const firstSeeds = pulumi.all([joinsRunning, args.seedFiles]).apply(([running, files]) => (running ? [] : files));

    const servers = Array.from({ length: args.nodeCount }, (_, i): NodePlan => {
        const index = i + 1;
        return {
            resourceName: `${name}-${index}`,
            hostname: serverHostname(args.hostnamePrefix, index),
            role: "server",
            plan: args.plan,
            tags: nodeTags({ role: "server", index }),
            userData: index === 1 ? userData("server", serverConfig(firstRole), firstSeeds) : userData("server", serverConfig(join), []),
        };
    });
    const agents = args.workers.flatMap((pool) =>
        Array.from({ length: pool.count }, (_, i): NodePlan => {
            const agentConfig = args.agentToken.apply((token) => ({
                ...join,
                token,
                ...(Object.keys(pool.labels).length > 0 && { "node-label": Object.entries(pool.labels).map(([k, v]) => `${k}=${v}`) }),
                ...(pool.taints.length > 0 && { "node-taint": pool.taints }),
            }));
            return {
                resourceName: `${name}-${pool.name}-${i + 1}`,
                hostname: agentHostname(args.hostnamePrefix, pool.name, i + 1),
                role: "agent",
                plan: pool.plan,
                tags: nodeTags({ role: "agent", pool: pool.name }),
                userData: userData("agent", agentConfig, []),
                pool,
            };
        }),
    );
    return [...servers, ...agents];
}

/** The instance of one node, made once the nodes before it are Ready (`after`). */
function createNode(p: NodePlan, args: NodesArgs, network: ClusterNetwork, after: pulumi.Resource[], parent: pulumi.Resource): ClusterNode {
    const firewall = p.role === "server" ? network.firewall : network.agentFirewall;
    if (!firewall) throw new pulumi.ResourceError(`no firewall group for the ${p.role}s: the network was made without worker pools`, parent);
    const vm = new vultr.Instance(
        p.resourceName,
        {
            region: args.region,
            plan: p.plan,
            osId: args.osId,
            hostname: p.hostname,
            label: p.hostname,
            enableIpv6: args.enableIpv6,
            vpcIds: [network.vpc.id],
            firewallGroupId: firewall.id,
            sshKeyIds: network.sshKeys.map((key) => key.id),
            backups: "disabled",
            activationEmail: false,
            tags: ["hobby-platform", `env-${args.environment}`, ...p.tags],
            userData: p.userData,
        },
        {
            parent,
            protect: args.protect,
            additionalSecretOutputs: ["userData"],
            ignoreChanges: KEPT_BY_RUNNING_NODES,
            // A node keeps its name when replaced; k3s takes the new one only once the old one
            // is gone (its etcd member and node password: docs/operations.md).
            deleteBeforeReplace: true,
            dependsOn: after,
        },
    );
    const vpcAddress = privateIp(vm, p.hostname);
    return {
        role: p.role,
        pool: p.pool?.name,
        instance: vm,
        hostname: vm.hostname,
        generation: pulumi.interpolate`${vm.id} ${vm.plan} ${vpcAddress}`,
        privateIp: vpcAddress,
    };
}

/**
 * Creates the servers and then the worker pools' agents, as children of `parent`, one node at a
 * time: node k is created (and resized) only once a gate has seen nodes 1..k-1 Ready, as k3s
 * recommends for joining etcd members, and so that a resize never reboots two nodes at once. A
 * server's A record under the API's name comes only after a gate saw it Ready on its own
 * address: k3s answers 503 while its API server starts, and clients move to another address on
 * connection errors only. Every node waits for `guard`.
 */
export function createNodes(name: string, args: NodesArgs, network: ClusterNetwork, guard: pulumi.Resource, parent: pulumi.Resource): ClusterNodes {
    const apiServerUrl = `https://${args.apiHost}:6443`;
    const plans = planNodes(name, args, network, parent);
    const zone = existingZone(args.dnsZone, parent);
    const apiRecordName = recordName(args.apiHost, args.dnsZone) ?? "";
    const servers: ClusterNode[] = [];
    const agents: ClusterNode[] = [];
    const apiRecords: vultr.DnsRecord[] = [];
    const joinRules: vultr.FirewallRule[] = [];
    const gate = (p: NodePlan, address: pulumi.Input<string> | undefined, dependsOn: pulumi.Resource[]) =>
        new ClusterReadiness(
            `${p.resourceName}-ready`,
            {
                server: apiServerUrl,
                address,
                caCertificate: args.caCertificate,
                clientCertificate: args.adminCertificate,
                clientKey: args.adminKey,
                nodeNames: servers.map((s) => s.hostname),
                agentNames: agents.map((a) => a.hostname),
                servers: [...servers, ...agents].map((n) => n.generation),
                timeoutSeconds: args.readinessTimeoutSeconds,
            },
            { parent, dependsOn },
        );
    let ready: pulumi.Resource[] = [guard];
    plans.forEach((p, k) => {
        const node = createNode(p, args, network, ready, parent);
        (p.role === "server" ? servers : agents).push(node);
        // Joining goes to the API's public name, so the servers' firewall lets each node in.
        const joinRule = new vultr.FirewallRule(
            `${p.resourceName}-join`,
            {
                firewallGroupId: network.firewall.id,
                protocol: "tcp",
                port: "6443",
                ipType: "v4",
                subnet: node.instance.mainIp,
                subnetSize: 32,
                notes: `${p.hostname} joins the cluster (k3s supervisor and API)`,
            },
            { parent },
        );
        joinRules.push(joinRule);
        const waitFor = [node.instance, joinRule, ...network.rules];
        if (p.role === "server") {
            const seen = gate(p, node.instance.mainIp, waitFor);
            const record = new vultr.DnsRecord(
                `${p.resourceName}-api`,
                { domain: zone, name: apiRecordName, type: "A", data: node.instance.mainIp, ttl: API_DNS_TTL_SECONDS },
                { parent, dependsOn: [seen] },
            );
            apiRecords.push(record);
            // The next node joins through the name, so it waits for this server's address there.
            ready = [seen, record];
        } else if (k < plans.length - 1) {
            // The next agent waits for this one; the cluster's own gate waits for the last.
            ready = [gate(p, undefined, waitFor)];
        }
    });
    return { servers, agents, apiServerUrl, apiRecords, joinRules };
}
