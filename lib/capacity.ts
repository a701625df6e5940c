// What a stack's nodes leave for its services, and what its services ask of them: the numbers
// behind the preview's refusal of services that do not fit and behind the default project quotas.
// Plain data and pure functions: no resources here.

/** CPU in cores and memory in bytes. */
export interface Amount {
    cpu: number;
    memory: number;
}

const MB = 1e6;
const MIB = 2 ** 20;
/** Vultr's plan ids count memory in GiB (`vc2-1c-2gb` has 2048 MB as the API's `ram` reports it). */
const GIB = 2 ** 30;

/**
 * What a k3s server with embedded etcd, and a k3s agent, use at least, by k3s's resource profiling
 * (docs.k3s.io/reference/resource-profiling, "Minimum Resource Requirements": server with a
 * workload 1606 M and 6% of a core with embedded etcd; agent 275 M and 3% of a core). The server
 * figure covers k3s's packaged components (Traefik, ServiceLB, local-path, CoreDNS, metrics-server).
 */
export const K3S_SERVER_RESERVE: Amount = { cpu: 0.06, memory: 1606 * MB };
export const K3S_AGENT_RESERVE: Amount = { cpu: 0.03, memory: 275 * MB };
/**
 * Memory the kubelet keeps free on every node: its default hard eviction threshold
 * (`memory.available` 100Mi, k8s.io/kubernetes pkg/kubelet/eviction/defaults_linux.go), which k3s
 * does not change: pods are evicted rather than let the node go below it.
 */
export const KUBELET_EVICTION_RESERVE: Amount = { cpu: 0, memory: 100 * MIB };
/**
 * What the platform adds beyond k3s's own components, for the whole cluster: cert-manager's three
 * pods, the upgrade controller and (agent path) agentk. An estimate (their charts request nothing),
 * not an upstream figure.
 */
export const PLATFORM_RESERVE: Amount = { cpu: 0.2, memory: 256 * MIB };

/** vCPUs and memory of a Vultr plan, read from its id (`vc2-1c-2gb`: 1 vCPU, 2 GB); undefined for another form. */
export function planSize(plan: string): Amount | undefined {
    const m = /^[a-z0-9]+-(\d+)c-(\d+)gb/.exec(plan);
    return m ? { cpu: Number(m[1]), memory: Number(m[2]) * GIB } : undefined;
}

/** The nodes of a cluster, as the capacity counts them. */
export interface NodeGroup {
    plan: string;
    count: number;
    /** Servers run etcd and the control plane; agents only the kubelet. */
    role: "server" | "agent";
}

/** What the nodes leave for services: in total, and on the roomiest node (the largest pod that can run). */
export interface WorkloadCapacity {
    total: Amount;
    largestNode: Amount;
}

/** What `groups` leave for services after k3s, etcd, the kubelet's eviction threshold and the platform; undefined if a plan's size is unknown. */
export function workloadCapacity(groups: NodeGroup[]): WorkloadCapacity | undefined {
    const total: Amount = { cpu: -PLATFORM_RESERVE.cpu, memory: -PLATFORM_RESERVE.memory };
    const largestNode: Amount = { cpu: 0, memory: 0 };
    for (const g of groups) {
        const size = planSize(g.plan);
        if (!size) return undefined;
        if (g.count === 0) continue;
        const reserve = g.role === "server" ? K3S_SERVER_RESERVE : K3S_AGENT_RESERVE;
        const left = {
            cpu: Math.max(0, size.cpu - reserve.cpu - KUBELET_EVICTION_RESERVE.cpu),
            memory: Math.max(0, size.memory - reserve.memory - KUBELET_EVICTION_RESERVE.memory),
        };
        total.cpu += left.cpu * g.count;
        total.memory += left.memory * g.count;
        largestNode.cpu = Math.max(largestNode.cpu, left.cpu);
        largestNode.memory = Math.max(largestNode.memory, left.memory);
    }
    return { total: { cpu: Math.max(0, total.cpu), memory: Math.max(0, total.memory) }, largestNode };
}

/** A service's pods, as its quota and the nodes see them. */
export interface ServiceDemand {
    /** The most pods it runs: its replicas, or its autoscaler's maximum. */
    maxReplicas: number;
    /** One pod's requests and limits. */
    requests: Amount;
    limits: Amount;
}

/**
 * What services need at most: each its most pods, plus room for one more pod, the largest, that a
 * rollout surges (maxSurge 1, maxUnavailable 0: without it no rollout can start; with it
 * concurrent rollouts finish one after another, each freeing its old pods).
 */
export function demand(services: ServiceDemand[]): { requests: Amount; limits: Amount; pods: number } {
    const total = (pick: (s: ServiceDemand) => Amount, what: keyof Amount) =>
        services.reduce((acc, s) => acc + s.maxReplicas * pick(s)[what], 0) + Math.max(0, ...services.map((s) => pick(s)[what]));
    return {
        requests: { cpu: total((s) => s.requests, "cpu"), memory: total((s) => s.requests, "memory") },
        limits: { cpu: total((s) => s.limits, "cpu"), memory: total((s) => s.limits, "memory") },
        pods: services.reduce((acc, s) => acc + s.maxReplicas, 0) + (services.length > 0 ? 1 : 0),
    };
}

/** A CPU amount as a Kubernetes quantity, rounded down to millicores (e.g. "1250m"). */
export const cpuQuantity = (cores: number) => `${Math.floor(cores * 1000 + 1e-6)}m`;
/** A memory amount as a Kubernetes quantity, rounded down to MiB (e.g. "1024Mi"). */
export const memoryQuantity = (bytes: number) => `${Math.floor(bytes / MIB)}Mi`;
/** An amount as a person reads it, e.g. "1.25 CPU and 1024 MiB". */
export const describe = (a: Amount) => `${(Math.floor(a.cpu * 1000 + 1e-6) / 1000).toString()} CPU and ${Math.floor(a.memory / MIB)} MiB`;
