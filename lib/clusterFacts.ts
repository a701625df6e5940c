// Facts about a HobbyCluster that both the config validation and the component need: the k3s
// networks (which the VPC must not overlap and which the metadata block names) and the plan
// prices behind the cost estimate, the shape of a worker pool. Plain data and small pure functions:
// no resources here.

/** k3s's pod network (`cluster-cidr`), set explicitly so the metadata block names it. */
export const POD_CIDR = "10.42.0.0/16";

/** A pool of k3s agents on their own plan: as the config validates it and the nodes are made from it. */
export interface WorkerPool {
    /** Names the pool's nodes `<hostnamePrefix>-<name>-1..count`. */
    name: string;
    /** Vultr plan of the pool's nodes. */
    plan: string;
    /** Number of agents; 0 keeps the pool with no node. */
    count: number;
    /** Node labels (`key: value`) the agents register. */
    labels: Record<string, string>;
    /** Node taints (`key[=value]:Effect`) the agents register. */
    taints: string[];
}

/** An ingress controller's pods, as a NetworkPolicy peer finds them: their namespace and labels. */
export interface IngressController {
    namespace: string;
    podLabels: Record<string, string>;
}

/**
 * Traefik as k3s runs it: the HelmChart `traefik` in kube-system, installed into that namespace,
 * its pods labelled by the chart's selector (`app.kubernetes.io/name: traefik`; see test/upstream).
 */
export const K3S_TRAEFIK: IngressController = { namespace: "kube-system", podLabels: { "app.kubernetes.io/name": "traefik" } };

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
/**
 * Monthly list price in USD of a Vultr Object Storage subscription (the etcd snapshots' bucket),
 * written down with PLAN_PRICES_USD and as unchecked: confirm it on Vultr's pricing page.
 */
export const OBJECT_STORAGE_PRICE_USD = 6;
/** The date PLAN_PRICES_USD was written down. */
export const PRICES_READ_ON = "2026-11-26";

/** Monthly price of one node of `plan`, the override first; undefined when neither knows it. */
export function planPrice(plan: string, overrides: Readonly<Record<string, number>> = {}): number | undefined {
    return overrides[plan] ?? PLAN_PRICES_USD[plan];
}

/**
 * The shortest record TTL the config takes. Vultr documents no minimum and its provider checks
 * none (terraform-provider-vultr v2.21.0 resource_vultr_dns_records.go: default 3600); many
 * resolvers raise TTLs below a minute anyway.
 */
export const MIN_DNS_TTL_SECONDS = 60;
/**
 * TTL of the API name's A records. Clients try every address of the name in turn (Go's
 * dialSerial, client-go's 30 s dial timeout split between them), so a stale address of a
 * replaced server costs a slower connection, not an outage, until the TTL runs out.
 */
export const API_DNS_TTL_SECONDS = 300;

/**
 * Node labels the kubelet may register for itself in the kubernetes.io and k8s.io namespaces:
 * `kubeletLabels` and `kubeletLabelNamespaces` of k8s.io/kubelet pkg/apis/well_known_labels.go.
 * Any other key in those namespaces makes the kubelet refuse to start (`--node-labels`).
 */
export const KUBELET_LABELS = [
    "beta.kubernetes.io/arch",
    "beta.kubernetes.io/instance-type",
    "beta.kubernetes.io/os",
    "failure-domain.beta.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone",
    "kubernetes.io/arch",
    "kubernetes.io/hostname",
    "kubernetes.io/os",
    "node.kubernetes.io/instance-type",
    "topology.kubernetes.io/region",
    "topology.kubernetes.io/zone",
];
export const KUBELET_LABEL_NAMESPACES = ["kubelet.kubernetes.io", "node.kubernetes.io"];

/** Whether a kubelet may register `key` on its own node (a k3s `node-label`). */
export function isKubeletLabel(key: string): boolean {
    const namespace = key.includes("/") ? key.split("/")[0] : "";
    const within = (ns: string) => namespace === ns || namespace.endsWith(`.${ns}`);
    if (!within("kubernetes.io") && !within("k8s.io")) return true;
    return KUBELET_LABELS.includes(key) || KUBELET_LABEL_NAMESPACES.some(within);
}
