// The cluster's nodes: k3s servers (control plane and etcd) and the agents of the worker pools,
// Vultr instances whose user data installs k3s once, at first boot. Every node joins through the
// API's fixed name (an A record per server), so no node depends on another one's address; only
// the stack's very first server initialises etcd.
import * as vultr from "@ediri/vultr";
import * as pulumi from "@pulumi/pulumi";
import { POD_CIDR, SERVICE_CIDR, API_DNS_TTL_SECONDS } from "../../lib/clusterFacts";
import { agentHostname, serverHostname } from "../../lib/names";
import { recordName } from "../../lib/net";
import { NodeUserDataArgs, renderNodeUserData, SeedFile } from "./cloudConfig";
import type { HobbyClusterArgs, WorkerPool } from "./hobbyCluster";
import { ClusterNetwork } from "./network";
import { ClusterReadiness } from "./readiness";

/** The cluster's settings a node is made from (documented on HobbyClusterArgs), and what the PKI made. */
export interface NodesArgs extends Pick<
    HobbyClusterArgs,
    | "region"
    | "plan"
    | "nodeCount"
    | "k3sVersion"
    | "osId"
    | "enableIpv6"
    | "vpcCidr"
    | "hostnamePrefix"
    | "environment"
    | "protect"
    | "readinessTimeoutSeconds"
    | "apiHost"
    | "dnsZone"
    | "workers"
> {
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

/**
 * Creates the servers and then the worker pools' agents, as children of `parent`, one node at a
 * time: node k is created (and resized) only once a gate has seen nodes 1..k-1 Ready, as k3s
 * recommends for joining etcd members, and so that a resize never reboots two nodes at once.
 * Every node waits for `guard`.
 */
export function createNodes(name: string, args: NodesArgs, network: ClusterNetwork, guard: pulumi.Resource, parent: pulumi.Resource): ClusterNodes {
    const apiServerUrl = `https://${args.apiHost}:6443`;
    const userData = (role: NodeUserDataArgs["role"], k3sConfig: pulumi.Input<Record<string, unknown>>, seedFiles: pulumi.Input<SeedFile[]>) =>
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
    const join = { server: apiServerUrl };
    const serverConfig = (role: pulumi.Input<Record<string, unknown>>) =>
        pulumi
            .all([args.token, args.agentSecret, pulumi.output(role)])
            .apply(([token, agentToken, r]) => ({ token, "agent-token": agentToken, ...r, ...K3S_SERVER_COMMON, ...args.k3sSettings }));
    // Server 1 initialises the cluster only when no other server of it exists (a new stack); the
    // CAs it seeds are the cluster's identity, which a joining server gets from the cluster.
    const joinsRunning = othersRunning(network.firewall, parent);
    const firstRole = joinsRunning.apply((running) => (running ? join : { "cluster-init": true }));
    const firstSeeds = pulumi.all([joinsRunning, args.seedFiles]).apply(([running, files]) => (running ? [] : files));

    const plans: {
        resourceName: string;
        hostname: string;
        role: NodeUserDataArgs["role"];
        plan: string;
        tags: string[];
        data: pulumi.Output<string>;
        pool?: WorkerPool;
    }[] = [];
    for (let i = 1; i <= args.nodeCount; i++) {
        plans.push({
            resourceName: `${name}-${i}`,
            hostname: serverHostname(args.hostnamePrefix, i),
            role: "server",
            plan: args.plan,
            tags: nodeTags({ role: "server", index: i }),
            data: i === 1 ? userData("server", serverConfig(firstRole), firstSeeds) : userData("server", serverConfig(join), []),
        });
    }
    for (const pool of args.workers) {
        for (let i = 1; i <= pool.count; i++) {
            const agentConfig = args.agentToken.apply((token) => ({
                ...join,
                token,
                ...(Object.keys(pool.labels).length > 0 && { "node-label": Object.entries(pool.labels).map(([k, v]) => `${k}=${v}`) }),
                ...(pool.taints.length > 0 && { "node-taint": pool.taints }),
            }));
            plans.push({
                resourceName: `${name}-${pool.name}-${i}`,
                hostname: agentHostname(args.hostnamePrefix, pool.name, i),
                role: "agent",
                plan: pool.plan,
                tags: nodeTags({ role: "agent", pool: pool.name }),
                data: userData("agent", agentConfig, []),
                pool,
            });
        }
    }

    const servers: ClusterNode[] = [];
    const agents: ClusterNode[] = [];
    const apiRecords: vultr.DnsRecord[] = [];
    const joinRules: vultr.FirewallRule[] = [];
    const apiRecordName = recordName(args.apiHost, args.dnsZone) ?? "";
    const zone = existingZone(args.dnsZone, parent);
    const firewalls = { server: network.firewall, agent: network.agentFirewall };
    let previousReady: pulumi.Resource = guard;
    plans.forEach((p, k) => {
        const firewall = firewalls[p.role];
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
                userData: p.data,
            },
            {
                parent,
                protect: args.protect,
                additionalSecretOutputs: ["userData"],
                ignoreChanges: KEPT_BY_RUNNING_NODES,
                // A node keeps its name when replaced; k3s takes the new one only once the old one
                // is gone (its etcd member and node password: docs/operations.md).
                deleteBeforeReplace: true,
                dependsOn: [previousReady],
            },
        );
        const vpcAddress = privateIp(vm, p.hostname);
        const node: ClusterNode = {
            role: p.role,
            pool: p.pool?.name,
            instance: vm,
            hostname: vm.hostname,
            generation: pulumi.interpolate`${vm.id} ${vm.plan} ${vpcAddress}`,
            privateIp: vpcAddress,
        };
        (p.role === "server" ? servers : agents).push(node);
        // Joining goes to the API's public name, so the servers' firewall lets each node in.
        const joinRule = new vultr.FirewallRule(
            `${p.resourceName}-join`,
            {
                firewallGroupId: network.firewall.id,
                protocol: "tcp",
                port: "6443",
                ipType: "v4",
                subnet: vm.mainIp,
                subnetSize: 32,
                notes: `${p.hostname} joins the cluster (k3s supervisor and API)`,
            },
            { parent },
        );
        joinRules.push(joinRule);
        const waitFor: pulumi.Resource[] = [vm, joinRule, ...network.rules];
        const serverIndex = servers.length;
        const record = () => {
            const r = new vultr.DnsRecord(
                `${p.resourceName}-api`,
                { domain: zone, name: apiRecordName, type: "A", data: vm.mainIp, ttl: API_DNS_TTL_SECONDS },
                { parent, dependsOn: [previousReady] },
            );
            apiRecords.push(r);
            return r;
        };
        // The first server's record comes first: through it the gate reaches the new cluster. A
        // later server's comes once a gate, through the others, saw it Ready: clients given its
        // address never meet a server still joining.
        if (p.role === "server" && serverIndex === 1) waitFor.push(record());
        if (k < plans.length - 1 || (p.role === "server" && serverIndex > 1)) {
            // The next node waits for this one (and those before it) to be Ready again.
            previousReady = new ClusterReadiness(
                `${p.resourceName}-ready`,
                {
                    server: apiServerUrl,
                    caCertificate: args.caCertificate,
                    clientCertificate: args.adminCertificate,
                    clientKey: args.adminKey,
                    nodeNames: servers.map((s) => s.hostname),
                    agentNames: agents.map((a) => a.hostname),
                    servers: [...servers, ...agents].map((n) => n.generation),
                    timeoutSeconds: args.readinessTimeoutSeconds,
                },
                { parent, dependsOn: waitFor },
            );
        }
        if (p.role === "server" && serverIndex > 1) record();
    });
    return { servers, agents, apiServerUrl, apiRecords, joinRules };
}
