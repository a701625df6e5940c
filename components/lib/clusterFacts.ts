// Facts about a HobbyCluster that both the config validation and the component need: the k3s
// networks (which the VPC must not overlap and which the metadata block names) and the plan
// prices behind the cost estimate. Plain data and small pure functions: no resources here.
import { BlockList } from "net";

/** k3s's pod network (`cluster-cidr`), set explicitly so the metadata block names it. */
export const POD_CIDR = "10.42.0.0/16";
/** k3s's service network (`service-cidr`). */
export const SERVICE_CIDR = "10.43.0.0/16";

/**
 * Monthly list prices in USD of Vultr plans, without tax, backups or DDoS protection (both off).
 * Written down on PRICES_READ_ON from memory of Vultr's public price list, with no network to
 * check them: confirm with `vultr-cli plans list` (or GET /v2/plans) and override any of them
 * with `cluster.planPrices` in the stack file; the override wins.
 */
export const PLAN_PRICES_USD: Readonly<Record<string, number>> = {
    "vc2-1c-1gb": 5,
    "vc2-1c-2gb": 10,
    "vc2-2c-4gb": 20,
    "vc2-4c-8gb": 40,
    "vc2-6c-16gb": 80,
    "vc2-8c-32gb": 160,
    "vhf-1c-1gb": 6,
    "vhf-1c-2gb": 12,
    "vhf-2c-2gb": 18,
    "vhf-2c-4gb": 24,
    "vhf-3c-8gb": 48,
    "vhp-1c-1gb-amd": 6,
    "vhp-1c-2gb-amd": 12,
    "vhp-2c-2gb-amd": 18,
    "vhp-2c-4gb-amd": 24,
    "vhp-4c-8gb-amd": 48,
};
/** The date PLAN_PRICES_USD was written down. */
export const PRICES_READ_ON = "2026-11-26";

/** Monthly price of one node of `plan`, the override first; undefined when neither knows it. */
export function planPrice(plan: string, overrides: Readonly<Record<string, number>> = {}): number | undefined {
    return overrides[plan] ?? PLAN_PRICES_USD[plan];
}

/** An IPv4 CIDR split into its address and prefix length; undefined if it is not one. */
export function parseIpv4Cidr(cidr: string): { address: string; prefix: number } | undefined {
    const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(cidr);
    if (!m || !m[1].split(".").every((o) => Number(o) <= 255) || Number(m[2]) > 32) return undefined;
    return { address: m[1], prefix: Number(m[2]) };
}

/** Whether the CIDR's address is its network address (no host bits set), as Vultr requires. */
export function isNetworkAddress(cidr: string): boolean {
    const c = parseIpv4Cidr(cidr);
    if (!c) return false;
    const value = c.address.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
    return value % 2 ** (32 - c.prefix) === 0;
}

/** Whether two IPv4 networks share an address: one's network address lies in the other. */
export function ipv4Overlaps(a: string, b: string): boolean {
    const [ca, cb] = [parseIpv4Cidr(a), parseIpv4Cidr(b)];
    if (!ca || !cb) return false;
    const inA = new BlockList();
    inA.addSubnet(ca.address, ca.prefix, "ipv4");
    const inB = new BlockList();
    inB.addSubnet(cb.address, cb.prefix, "ipv4");
    return inA.check(cb.address, "ipv4") || inB.check(ca.address, "ipv4");
}

/** RFC 1918 private networks, the only ones a VPC may use. */
export const PRIVATE_NETWORKS = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

/** Whether `cidr` lies wholly inside one RFC 1918 network. */
export function isPrivateIpv4(cidr: string): boolean {
    const c = parseIpv4Cidr(cidr);
    if (!c) return false;
    return PRIVATE_NETWORKS.some((net) => {
        const p = parseIpv4Cidr(net)!;
        return c.prefix >= p.prefix && ipv4Overlaps(cidr, net);
    });
}

/** The parts of a cluster's settings that can be wrong together (see clusterSpecProblems). */
export interface ClusterSpec {
    nodeCount: number;
    vpcCidr: string;
    adminCidrs: string[];
    plan: string;
    planPrices: Record<string, number>;
}

/** One thing wrong with a cluster's settings: the setting, and what is wrong with an example. */
export interface ClusterSpecProblem {
    field: keyof ClusterSpec;
    message: string;
}

/**
 * What is wrong with a cluster to be created, one problem a setting, each message ending with
 * an example of a good value.
 */
export function clusterSpecProblems(c: ClusterSpec): ClusterSpecProblem[] {
    const problems: ClusterSpecProblem[] = [];
    const add = (field: keyof ClusterSpec, message: string) => problems.push({ field, message });
    if (!Number.isInteger(c.nodeCount) || c.nodeCount < 1 || c.nodeCount > 7 || c.nodeCount % 2 === 0) {
        add("nodeCount", `${c.nodeCount} is not 1 or an odd number up to 7 (etcd needs a majority), e.g. 3`);
    }
    if (!parseIpv4Cidr(c.vpcCidr)) {
        add("vpcCidr", `"${c.vpcCidr}" is not an IPv4 CIDR, e.g. "10.99.0.0/24"`);
    } else if (!isPrivateIpv4(c.vpcCidr)) {
        add("vpcCidr", `"${c.vpcCidr}" is not a private (RFC 1918) network; use one inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, e.g. "10.99.0.0/24"`);
    } else if (!isNetworkAddress(c.vpcCidr)) {
        add("vpcCidr", `"${c.vpcCidr}" has host bits set; give the network address, e.g. "10.99.0.0/24"`);
    }
    for (const [what, cidr] of [["pod network", POD_CIDR], ["service network", SERVICE_CIDR]]) {
        if (ipv4Overlaps(c.vpcCidr, cidr)) {
            add("vpcCidr", `"${c.vpcCidr}" overlaps the k3s ${what} ${cidr}; pick a network outside 10.42.0.0/15, e.g. "10.99.0.0/24"`);
        }
    }
    if (c.adminCidrs.length === 0) {
        add("adminCidrs", `must list at least one network (the API server and SSH answer only these, and \`pulumi up\` must reach the API server), e.g. ["203.0.113.7/32"]`);
    }
    for (const cidr of c.adminCidrs) {
        if (!parseIpv4Cidr(cidr)) add("adminCidrs", `"${cidr}" is not an IPv4 CIDR (the cluster is reached over IPv4 only), e.g. "203.0.113.7/32"`);
        else if (!isNetworkAddress(cidr)) add("adminCidrs", `"${cidr}" has host bits set; give the network address, e.g. "${cidr.split("/")[0]}/32"`);
    }
    if (planPrice(c.plan, c.planPrices) === undefined) {
        add("plan", `"${c.plan}" has no known monthly price for the cost estimate; use a plan of the built-in table (e.g. "vc2-2c-4gb") or give its price in cluster.planPrices, e.g. { "${c.plan}": 40 }`);
    }
    return problems;
}
