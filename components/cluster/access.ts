// How the stack reaches Kubernetes: the HobbyCluster it creates, or (a cluster it does not
// create, e.g. `local`) the current kubeconfig context. Every Kubernetes resource uses `provider`.
import * as k8s from "@pulumi/kubernetes";
import type { ExistingCluster, ManagedCluster } from "../../config";
import { LabelArgs } from "../lib/labels";
import { PROVIDER_SETTINGS } from "../lib/kubernetes";
import { HobbyCluster } from "./hobbyCluster";

export interface ClusterAccess {
    provider: k8s.Provider;
    /** The stack's own cluster, when it makes one. */
    cluster?: HobbyCluster;
}

export function clusterAccess(c: ManagedCluster | ExistingCluster, labels: LabelArgs): ClusterAccess {
    if (!c.enabled) {
        return { provider: new k8s.Provider("k8s", { context: c.kubeContext, ...PROVIDER_SETTINGS }) };
    }
    const { enabled: _, ...args } = c;
    const cluster = new HobbyCluster("cluster", { ...args, ...labels });
    return { provider: cluster.provider, cluster };
}
