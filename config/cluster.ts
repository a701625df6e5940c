// What can be wrong with a cluster's settings together: the VPC against the k3s networks and
// RFC 1918, the admin networks, a key for a root shell, the node count etcd needs, the worker pools, and a price for
// the cost estimate.
import { isKubeletLabel, planPrice, POD_CIDR, SERVICE_CIDR, WorkerPool } from "../lib/clusterFacts";
import { ipv4Overlaps, isNetworkAddress, isPrivateIpv4, parseIpv4Cidr } from "../lib/net";
import { agentHostname } from "../lib/names";

/** The parts of a cluster's settings that can be wrong together (see clusterSpecProblems). */
export interface ClusterSpec {
    nodeCount: number;
    vpcCidr: string;
    adminCidrs: string[];
    sshPublicKeys: string[];
    plan: string;
    planPrices: Record<string, number>;
    hostnamePrefix?: string;
    workers: WorkerPool[];
}

/** One thing wrong with a cluster's settings: where under `cluster`, and what is wrong with an example. */
export interface ClusterSpecProblem {
    path: [keyof ClusterSpec, ...(string | number)[]];
    message: string;
}

/**
 * What is wrong with a cluster to be created, one problem a setting, each message ending with
 * an example of a good value. `hostnamePrefix` is the resolved one (`hobby-<env>` by default).
 */
export function clusterSpecProblems(c: ClusterSpec, hostnamePrefix: string): ClusterSpecProblem[] {
    const problems: ClusterSpecProblem[] = [];
    const add = (path: ClusterSpecProblem["path"], message: string) => problems.push({ path, message });
    if (!Number.isInteger(c.nodeCount) || c.nodeCount < 1 || c.nodeCount > 7 || c.nodeCount % 2 === 0) {
        add(["nodeCount"], `${c.nodeCount} is not 1 or an odd number up to 7 (etcd needs a majority), e.g. 3`);
    }
    if (!parseIpv4Cidr(c.vpcCidr)) {
        add(["vpcCidr"], `"${c.vpcCidr}" is not an IPv4 CIDR, e.g. "10.99.0.0/24"`);
    } else if (!isPrivateIpv4(c.vpcCidr)) {
        add(
            ["vpcCidr"],
            `"${c.vpcCidr}" is not a private (RFC 1918) network; use one inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, e.g. "10.99.0.0/24"`,
        );
    } else if (!isNetworkAddress(c.vpcCidr)) {
        add(["vpcCidr"], `"${c.vpcCidr}" has host bits set; give the network address, e.g. "10.99.0.0/24"`);
    }
    for (const [what, cidr] of [
        ["pod network", POD_CIDR],
        ["service network", SERVICE_CIDR],
    ]) {
        if (ipv4Overlaps(c.vpcCidr, cidr)) {
            add(["vpcCidr"], `"${c.vpcCidr}" overlaps the k3s ${what} ${cidr}; pick a network outside 10.42.0.0/15, e.g. "10.99.0.0/24"`);
        }
    }
    if (c.adminCidrs.length === 0) {
        add(
            ["adminCidrs"],
            `must list at least one network (the API server and SSH answer only these, and \`pulumi up\` must reach the API server), e.g. ["203.0.113.7/32"]`,
        );
    }
    // A restore (docs/restore.md) needs a root shell on a server, and a running server never gets a
    // key later (ssh_key_ids is ForceNew, kept by ignoreChanges): without one now, only Vultr's web console is left.
    if (c.sshPublicKeys.length === 0) {
        add(
            ["sshPublicKeys"],
            `must list at least one key: restoring the cluster (docs/restore.md) needs a root shell on a server, and servers get their keys only when created, e.g. ["ssh-ed25519 AAAAC3... ops@example.com"]`,
        );
    }
    for (const cidr of c.adminCidrs) {
        if (!parseIpv4Cidr(cidr)) add(["adminCidrs"], `"${cidr}" is not an IPv4 CIDR (the cluster is reached over IPv4 only), e.g. "203.0.113.7/32"`);
        else if (!isNetworkAddress(cidr))
            add(["adminCidrs"], `"${cidr}" has host bits set; give the network address, e.g. "${cidr.split("/")[0]}/32"`);
    }
    const unpriced = (plan: string) =>
        `"${plan}" has no known monthly price for the cost estimate; use a plan of the built-in table (e.g. "vc2-2c-4gb") or give its price in cluster.planPrices, e.g. { "${plan}": 40 }`;
    if (planPrice(c.plan, c.planPrices) === undefined) add(["plan"], unpriced(c.plan));

    const pools = new Set<string>();
    c.workers.forEach((pool, i) => {
        if (pools.has(pool.name))
            add(["workers", i, "name"], `"${pool.name}" names another pool too; give each pool its own name, e.g. "${pool.name}-2"`);
        pools.add(pool.name);
        // The nodes are named like the servers, `<prefix>-1..N`: a pool named by a number would take a server's name.
        if (/^\d+$/.test(pool.name))
            add(["workers", i, "name"], `"${pool.name}" would name agents like the servers ("${hostnamePrefix}-1"); use a word, e.g. "workers"`);
        const longest = agentHostname(hostnamePrefix, pool.name, Math.max(pool.count, 1));
        if (longest.length > 63) {
            add(
                ["workers", i, "name"],
                `makes the node name "${longest}", over 63 characters (a DNS label); use a shorter pool name, e.g. "workers"`,
            );
        }
        if (planPrice(pool.plan, c.planPrices) === undefined) add(["workers", i, "plan"], unpriced(pool.plan));
        for (const key of Object.keys(pool.labels)) {
            if (!isKubeletLabel(key)) {
                add(
                    ["workers", i, "labels"],
                    `"${key}" is in the kubernetes.io or k8s.io namespace, which the kubelet may not set on its own node (it would not start); use a prefix of your own, e.g. "hobby-platform/pool"`,
                );
            }
        }
    });
    return problems;
}
