// What system-upgrade-controller v0.20.1 (the release components/cluster/upgrades.ts deploys,
// tag v0.20.1, commit f1362a3fe1a8d55a0c65847f7c2779909dc7ec95) does to the nodes of a Plan, for
// tests that run those steps without the controller (the Go module proxy does not serve it):
// which node goes next, the kubectl command its Job's init container runs, and the uncordon once
// the Job completes.
import { createHash } from "crypto";

/** The Plan fields these steps read (upgrade.cattle.io/v1, pkg/apis/upgrade.cattle.io/v1/types.go). */
export interface UpgradePlan {
    metadata: { name?: string; uid?: string };
    spec: {
        version?: string;
        serviceAccountName?: string;
        cordon?: boolean;
        drain?: {
            timeout?: string | number;
            gracePeriod?: number;
            deleteLocalData?: boolean;
            deleteEmptydirData?: boolean;
            ignoreDaemonSets?: boolean;
            force?: boolean;
            disableEviction?: boolean;
            skipWaitForDeleteTimeout?: number;
            podSelector?: unknown;
        };
    };
}

/**
 * The kubectl arguments of the Job's init container for `node` (pkg/upgrade/job/job.go lines
 * 349-441): with `drain`, one `kubectl drain` that also cordons, never evicting the controller's
 * own pods (the selector is labels.Requirement's String() of DoesNotExist, "!key": apimachinery
 * v0.36.0 pkg/labels/selector.go line 353); with only `cordon`, `kubectl cordon`; else nothing.
 */
export function upgradeJobKubectl(plan: UpgradePlan, node: string): string[] | undefined {
    const drain = plan.spec.drain;
    if (!drain) return plan.spec.cordon ? ["cordon", node] : undefined;
    // Neither is set by the program's Plans; refused rather than run differently from job.go.
    if (drain.podSelector !== undefined) throw new Error("drain.podSelector is not handled here");
    if (typeof drain.timeout === "number") throw new Error("drain.timeout in nanoseconds is not handled here");
    const args = ["drain", node, "--pod-selector", "!upgrade.cattle.io/controller"];
    if (drain.ignoreDaemonSets ?? true) args.push("--ignore-daemonsets");
    if ((drain.deleteLocalData ?? true) && (drain.deleteEmptydirData ?? true)) args.push("--delete-emptydir-data");
    if (drain.force) args.push("--force");
    if (drain.timeout !== undefined) args.push("--timeout", drain.timeout);
    if (drain.gracePeriod !== undefined) args.push("--grace-period", String(drain.gracePeriod));
    if (drain.disableEviction) args.push("--disable-eviction=true");
    if ((drain.skipWaitForDeleteTimeout ?? 0) > 0) args.push("--skip-wait-for-delete-timeout", String(drain.skipWaitForDeleteTimeout));
    return args;
}

/** Whether the controller uncordons the node when its Job completes (pkg/upgrade/handle_batch.go line 136). */
export function uncordonsAfter(plan: UpgradePlan): boolean {
    return Boolean(plan.spec.cordon || plan.spec.drain);
}

const sha = (algorithm: string, ...parts: string[]) => {
    const h = createHash(algorithm);
    for (const p of parts) h.update(p);
    return h.digest("hex");
};

/**
 * The order in which a Plan with a `version` takes its nodes. The controller sorts the candidates
 * by sha256(node UID + Plan UID + the Plan's latest hash) and takes the first `concurrency` of
 * them (pkg/upgrade/plan/plan.go lines 188-206); the latest hash is sha224(latest version +
 * serviceAccountName) for a Plan without secrets or digest annotation (DigestStatus, lines 51-75),
 * the latest version being spec.version with "+" turned into "-" (MungeVersion, line 97;
 * pkg/upgrade/handle_upgrade.go lines 68-77). A node leaves the candidates once done, so with
 * concurrency 1 the nodes go one after another in this order.
 */
export function upgradeOrder<N extends { uid: string }>(plan: UpgradePlan, nodes: N[]): N[] {
    const planUid = plan.metadata.uid;
    if (!planUid || !plan.spec.version) throw new Error("the Plan needs its UID (read it from the API server) and a spec.version");
    const latestHash = sha("sha224", plan.spec.version.replace(/\+/g, "-"), plan.spec.serviceAccountName ?? "");
    const key = (n: N) => sha("sha256", n.uid, planUid, latestHash);
    return [...nodes].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
