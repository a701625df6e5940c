// The projects' quotas and the cluster's room, checked before anything is created: a project whose
// services would not fit its quota, or a stack whose services would not fit its nodes next to k3s,
// etcd and the platform, is refused at preview, not found out by a Pending pod.
import { Amount, cpuQuantity, demand, describe, memoryQuantity, NodeGroup, ServiceDemand, workloadCapacity, WorkloadCapacity } from "../lib/capacity";
import { quantityValue } from "./rules";
import type { Report } from "./rules";
import type { RawConfig } from "./schema";

type RawProject = RawConfig["projects"][string];
type RawService = RawProject["services"][string];

/** A project's ResourceQuota, every value resolved. */
export interface QuotaConfig {
    requests: { cpu: string; memory: string };
    limits: { cpu: string; memory: string };
    pods: number;
}

/** The quota of a project on a cluster the stack does not size (e.g. `local`), unless configured. */
export const FALLBACK_QUOTA: QuotaConfig = { requests: { cpu: "2", memory: "2Gi" }, limits: { cpu: "8", memory: "4Gi" }, pods: 50 };

const amount = (r: { cpu: string; memory: string }): Amount => ({ cpu: quantityValue(r.cpu), memory: quantityValue(r.memory) });

export function serviceDemand(s: RawService): ServiceDemand {
    return { maxReplicas: s.autoscaling?.max ?? s.replicas, requests: amount(s.resources.requests), limits: amount(s.resources.limits) };
}

/** What the stack's own cluster leaves for services; undefined for a cluster it does not create, or an unknown plan. */
export function clusterCapacity(raw: RawConfig): WorkloadCapacity | undefined {
    const c = raw.cluster;
    if (!c.enabled) return undefined;
    const groups: NodeGroup[] = [
        { plan: c.plan, count: c.nodeCount, role: "server" },
        ...c.workers.map((w) => ({ plan: w.plan, count: w.count, role: "agent" as const })),
    ];
    return workloadCapacity(groups);
}

/** What all the stack's services need at most (their most pods plus one rollout's surge pod). */
export function stackDemand(raw: RawConfig) {
    return demand(Object.values(raw.projects).flatMap((p) => Object.values(p.services).map(serviceDemand)));
}

/**
 * A project's quota: what is configured, the rest its services' own need scaled by the room the
 * nodes leave over what all services need (so the defaults of a stack that fits never refuse it,
 * and the headroom is shared in proportion); at least FALLBACK_QUOTA on a cluster the stack does
 * not size.
 */
export function projectQuota(p: RawProject, capacity: WorkloadCapacity | undefined, total: ReturnType<typeof demand>): QuotaConfig {
    const need = demand(Object.values(p.services).map(serviceDemand));
    const fallback = (q: string, n: number) => Math.max(quantityValue(q), n);
    const scale = {
        cpu: capacity ? Math.max(1, capacity.total.cpu / Math.max(total.requests.cpu, 1e-9)) : 1,
        memory: capacity ? Math.max(1, capacity.total.memory / Math.max(total.requests.memory, 1)) : 1,
    };
    const sized = (what: "requests" | "limits", r: keyof Amount) =>
        capacity ? need[what][r] * scale[r] : fallback(FALLBACK_QUOTA[what][r], need[what][r]);
    const q = p.quota;
    return {
        requests: {
            cpu: q.requests.cpu ?? cpuQuantity(sized("requests", "cpu")),
            memory: q.requests.memory ?? memoryQuantity(sized("requests", "memory")),
        },
        limits: { cpu: q.limits.cpu ?? cpuQuantity(sized("limits", "cpu")), memory: q.limits.memory ?? memoryQuantity(sized("limits", "memory")) },
        pods: q.pods ?? Math.max(FALLBACK_QUOTA.pods, need.pods),
    };
}

const mib = (bytes: number) => `${Math.ceil(bytes / 2 ** 20)}Mi`;
const milli = (cores: number) => `${Math.ceil(cores * 1000)}m`;

/**
 * Reports each project whose services need more than its quota, and the stack whose services
 * need more than its nodes leave (in total, or for one pod on the roomiest node).
 */
export function capacityProblems(raw: RawConfig, report: Report): void {
    const capacity = clusterCapacity(raw);
    const total = stackDemand(raw);
    const all: ServiceDemand[] = [];
    for (const [project, p] of Object.entries(raw.projects)) {
        const services = Object.values(p.services).map(serviceDemand);
        all.push(...services);
        const need = demand(services);
        const quota = projectQuota(p, capacity, total);
        const why = `its services' most pods (${Object.entries(p.services)
            .map(([name, s]) => `${name}: ${serviceDemand(s).maxReplicas}`)
            .join(", ")}) plus one rollout's surge pod`;
        const checks: [string[], number, number, string][] = [
            [["requests", "cpu"], need.requests.cpu, quantityValue(quota.requests.cpu), milli(need.requests.cpu)],
            [["requests", "memory"], need.requests.memory, quantityValue(quota.requests.memory), mib(need.requests.memory)],
            [["limits", "cpu"], need.limits.cpu, quantityValue(quota.limits.cpu), milli(need.limits.cpu)],
            [["limits", "memory"], need.limits.memory, quantityValue(quota.limits.memory), mib(need.limits.memory)],
        ];
        for (const [path, needed, allowed, example] of checks) {
            if (needed > allowed) {
                const configured = path[0] === "requests" ? quota.requests : quota.limits;
                report(
                    ["projects", project, "quota", ...path],
                    `the project's quota allows ${configured[path[1] as "cpu" | "memory"]} of ${path.join(".")}, but ${why} need ${example}; raise the quota, or lower replicas or resources, e.g. "${example}"`,
                );
            }
        }
        if (need.pods > quota.pods)
            report(["projects", project, "quota", "pods"], `the quota allows ${quota.pods} pods, but ${why} need ${need.pods}; e.g. ${need.pods}`);
    }
    if (!capacity) return;
    const need = demand(all).requests;
    if (need.cpu > capacity.total.cpu || need.memory > capacity.total.memory) {
        report(
            ["projects"],
            `the services request ${describe(need)} (their most pods plus one rollout's surge pod), but the nodes leave ${describe(capacity.total)} after k3s with etcd, the kubelet's eviction threshold and the platform; use a larger cluster.plan or add cluster.workers, or lower replicas or resources, e.g. cluster.plan "vc2-2c-4gb"`,
        );
    }
    for (const [project, p] of Object.entries(raw.projects)) {
        for (const [service, s] of Object.entries(p.services)) {
            const pod = serviceDemand(s).requests;
            if (pod.cpu > capacity.largestNode.cpu || pod.memory > capacity.largestNode.memory) {
                report(
                    ["projects", project, "services", service, "resources", "requests"],
                    `one pod requests ${describe(pod)}, but no node has that much left after k3s (the roomiest: ${describe(capacity.largestNode)}); request less or use a larger plan, e.g. memory "${memoryQuantity(capacity.largestNode.memory / 2)}"`,
                );
            }
        }
    }
}
