// The change guard: a dynamic resource whose provider `check` compares a cluster's settings with
// the ones of its last `up` and refuses, at preview, a change that would lose the cluster. It is
// the cluster's first resource and the VPC and every server depend on it, so a refused change
// stops the `up` before any of them moves. (A scale-down is checked by the readiness gate, which
// knows the node set and can ask the running cluster.)
import * as pulumi from "@pulumi/pulumi";

/** The settings whose change can lose a running cluster. */
export interface ClusterGuardInputs {
    region: string;
    vpcCidr: string;
    k3sVersion: string;
}

/** `[major, minor, patch, k3s build]` of a k3s release such as `v1.33.5+k3s1`. */
export function k3sRelease(version: string): number[] {
    const m = /^v(\d+)\.(\d+)\.(\d+)\+k3s(\d+)$/.exec(version);
    if (!m) throw new Error(`"${version}" is not a k3s release such as v1.33.5+k3s1`);
    return m.slice(1).map(Number);
}

const compare = (a: number[], b: number[]) => a.reduce((d, x, i) => d || x - b[i], 0);

/** What is unsafe in going from `old` to `next` settings, one line each with the safe procedure. */
export function unsafeChanges(old: ClusterGuardInputs, next: ClusterGuardInputs): string[] {
    const problems: string[] = [];
    if (old.region !== next.region) {
        problems.push(
            `cluster.region: "${old.region}" -> "${next.region}" would build a new VPC and servers in another region and lose etcd; ` +
                "build the new region as a new stack, move the workloads, then remove this one",
        );
    }
    if (old.vpcCidr !== next.vpcCidr) {
        problems.push(
            `cluster.vpcCidr: "${old.vpcCidr}" -> "${next.vpcCidr}" would replace the VPC under running etcd members; ` +
                "keep it, or build a new stack with the new network",
        );
    }
    const [was, will] = [k3sRelease(old.k3sVersion), k3sRelease(next.k3sVersion)];
    if (compare(will, was) < 0) {
        problems.push(
            `cluster.k3sVersion: ${old.k3sVersion} -> ${next.k3sVersion} is a downgrade, which etcd and the API server do not support; ` +
                "restore an etcd snapshot taken on the old version instead",
        );
    } else if (will[0] !== was[0] || will[1] - was[1] > 1) {
        problems.push(
            `cluster.k3sVersion: ${old.k3sVersion} -> ${next.k3sVersion} skips a minor version, beyond Kubernetes' version skew policy; ` +
                `upgrade one minor version at a time, e.g. to v${was[0]}.${was[1] + 1}.x first`,
        );
    }
    return problems;
}

export const guardProvider: pulumi.dynamic.ResourceProvider<ClusterGuardInputs, ClusterGuardInputs> = {
    async check(olds, news) {
        // A new cluster has nothing to lose yet.
        const problems = olds.region === undefined ? [] : unsafeChanges(olds, news);
        return { inputs: news, failures: problems.map((reason) => ({ property: reason.split(":")[0], reason })) };
    },
    async create(inputs) {
        return { id: "cluster-guard", outs: inputs };
    },
    async diff(_id, olds, news) {
        const keys = ["region", "vpcCidr", "k3sVersion"] as const;
        return { changes: keys.some((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k])) };
    },
    async update(_id, _olds, news) {
        return { outs: news };
    },
};

/** Refuses (at preview) a change of region or VPC network, and a k3s downgrade or minor-version skip. */
export class ClusterGuard extends pulumi.dynamic.Resource {
    constructor(name: string, args: ClusterGuardInputs, opts?: pulumi.CustomResourceOptions) {
        super(guardProvider, name, { ...args }, opts, "hobby-platform", "ClusterGuard");
    }
}
