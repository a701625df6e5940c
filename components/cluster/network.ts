// The cluster's network on Vultr: one VPC for the nodes' private traffic, one firewall group
// that admits only what the internet and the admin networks need, and the SSH keys.
import * as vultr from "@ediri/vultr";
import * as pulumi from "@pulumi/pulumi";
import { parseIpv4Cidr } from "../../lib/net";
import { sha256 } from "./pki";

export interface NetworkArgs {
    region: string;
    /** IPv4 network of the VPC, e.g. `10.99.0.0/24`. */
    vpcCidr: string;
    /** IPv4 networks allowed to reach SSH (22) and the Kubernetes API (6443). */
    adminCidrs: string[];
    /** OpenSSH public keys installed for root. */
    sshPublicKeys: string[];
    /** Protect the VPC (prod). */
    protect: boolean;
    /** Worker pools: their agents get a firewall group of their own. */
    workers: { count: number }[];
}

export interface ClusterNetwork {
    vpc: vultr.Vpc;
    /** The servers' firewall group. */
    firewall: vultr.FirewallGroup;
    /** The agents' firewall group, when there are worker pools: SSH from the admin networks only. */
    agentFirewall?: vultr.FirewallGroup;
    /** The firewalls' rules: the API is reachable once they exist. */
    rules: vultr.FirewallRule[];
    sshKeys: vultr.SSHKey[];
}

/** One inbound rule of the firewall group: everything not listed is dropped from the internet. */
export interface FirewallRuleSpec {
    name: string;
    port: string;
    cidr: string;
    notes: string;
}

/**
 * The servers' rules: 80 and 443 from anywhere, 22 and 6443 from the admin networks, all over
 * IPv4: the cluster (node IPs, pods, Services, Traefik through ServiceLB) is IPv4-only, so
 * nothing is opened over IPv6, where nothing would answer. (Each node's own address gets 6443 as
 * well, to join: nodes.ts.) etcd, the kubelet and flannel talk over the VPC, which the firewall
 * group does not filter.
 */
export function firewallRules(args: Pick<NetworkArgs, "adminCidrs">): FirewallRuleSpec[] {
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

/**
 * The agents' rules: SSH from the admin networks, nothing else from the internet. An agent serves
 * no API and no etcd, and ingress comes in through the servers (the addresses of the hosts' A
 * records); the servers reach the agents' kubelet and flannel over the VPC.
 */
export function agentFirewallRules(args: Pick<NetworkArgs, "adminCidrs">): FirewallRuleSpec[] {
    return firewallRules(args).filter((rule) => rule.port === "22");
}

/**
 * Creates the VPC, the firewall groups with their rules, and the SSH keys, as children of `parent`.
 * The VPC waits for `guard` and is protected with the servers (`protect`): a new VPC would move
 * every server off the network etcd runs on.
 */
export function createClusterNetwork(name: string, args: NetworkArgs, guard: pulumi.Resource, parent: pulumi.Resource): ClusterNetwork {
    const child = { parent };
    const vpcNet = parseIpv4Cidr(args.vpcCidr);
    if (!vpcNet) throw new pulumi.ResourceError(`vpcCidr must be an IPv4 CIDR, got "${args.vpcCidr}"`, parent);
    const vpc = new vultr.Vpc(
        `${name}-vpc`,
        {
            region: args.region,
            v4Subnet: vpcNet.address,
            v4SubnetMask: vpcNet.prefix,
            description: `${name}: k3s private network (etcd, kubelet, flannel)`,
        },
        { parent, protect: args.protect, dependsOn: [guard] },
    );
    const firewall = new vultr.FirewallGroup(`${name}-firewall`, { description: `${name}: k3s nodes` }, child);
    const agentFirewall = args.workers.some((pool) => pool.count > 0)
        ? new vultr.FirewallGroup(`${name}-agents-firewall`, { description: `${name}: k3s agents` }, child)
        : undefined;
    const declare = (group: vultr.FirewallGroup, prefix: string) => (rule: FirewallRuleSpec) => {
        const [subnet, size] = rule.cidr.split("/");
        return new vultr.FirewallRule(
            `${prefix}-${rule.name}`,
            {
                firewallGroupId: group.id,
                protocol: "tcp",
                port: rule.port,
                ipType: "v4",
                subnet,
                subnetSize: Number(size),
                notes: rule.notes,
            },
            child,
        );
    };
    const rules = [
        ...firewallRules(args).map(declare(firewall, `${name}-fw`)),
        ...(agentFirewall ? agentFirewallRules(args).map(declare(agentFirewall, `${name}-agents-fw`)) : []),
    ];
    const sshKeys = args.sshPublicKeys.map(
        (key) =>
            new vultr.SSHKey(
                `${name}-ssh-${sha256(key).slice(0, 8)}`,
                {
                    name: `${name}-${sha256(key).slice(0, 8)}`,
                    sshKey: key,
                },
                child,
            ),
    );
    return { vpc, firewall, agentFirewall, rules, sshKeys };
}
