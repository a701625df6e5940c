// How the stack reaches Kubernetes: the HobbyCluster it creates (cluster.enabled true), or the
// current kubeconfig context (false, e.g. `local`). Every Kubernetes resource uses `provider`.
import * as k8s from "@pulumi/kubernetes";
import type { PlatformConfig } from "../../config";
import { HobbyCluster } from "./hobbyCluster";

export interface ClusterAccess {
    provider: k8s.Provider;
    /** The stack's own cluster, when it makes one. */
    cluster?: HobbyCluster;
}

export function clusterAccess(cfg: Pick<PlatformConfig, "cluster" | "environment">): ClusterAccess {
    const c = cfg.cluster;
    if (!c.enabled) {
        return { provider: new k8s.Provider("k8s", { context: c.kubeContext, enableServerSideApply: true }) };
    }
    const cluster = new HobbyCluster("cluster", {
        region: c.region,
        plan: c.plan,
        nodeCount: c.nodeCount,
        k3sVersion: c.k3sVersion,
        osId: c.osId,
        enableIpv6: c.enableIpv6,
        sshPublicKeys: c.sshPublicKeys,
        adminCidrs: c.adminCidrs,
        vpcCidr: c.vpcCidr,
        hostnamePrefix: c.hostnamePrefix,
        planPrices: c.planPrices,
        environment: cfg.environment,
        protect: cfg.environment === "prod",
    });
    return { provider: cluster.provider, cluster };
}
