// k3s upgrades in place: Rancher's system-upgrade-controller and Plans that move every server,
// then every agent, to `cluster.k3sVersion`, one node at a time, cordoned and drained. The controller's manifests and
// the Plan CRD are those of its release v0.20.1, kept in manifests/ (the Go module proxy does not
// serve the module), and declared by the stack, so nothing is fetched at preview.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { SYSTEM_UPGRADE_NAMESPACE } from "../../lib/names";

export const SYSTEM_UPGRADE_CONTROLLER_VERSION = "v0.20.1";
const MANIFESTS = path.join(__dirname, "manifests", "system-upgrade-controller");
/** The release's own objects: `kustomize build` of kustomization.yaml, CRD first. */
const FILES = ["upgrade.cattle.io_plans.yaml", "clusterrole.yaml", "clusterrolebinding.yaml", "system-upgrade-controller.yaml"];

type Manifest = {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; labels?: Record<string, string> };
    [k: string]: unknown;
};

/** The typed resource class of each kind the release ships. */
const KINDS: Record<string, new (name: string, args: never, opts?: pulumi.CustomResourceOptions) => pulumi.CustomResource> = {
    CustomResourceDefinition: k8s.apiextensions.v1.CustomResourceDefinition,
    Namespace: k8s.core.v1.Namespace,
    ServiceAccount: k8s.core.v1.ServiceAccount,
    ConfigMap: k8s.core.v1.ConfigMap,
    Deployment: k8s.apps.v1.Deployment,
    ClusterRole: k8s.rbac.v1.ClusterRole,
    ClusterRoleBinding: k8s.rbac.v1.ClusterRoleBinding,
    Role: k8s.rbac.v1.Role,
    RoleBinding: k8s.rbac.v1.RoleBinding,
};
const CLUSTER_SCOPED = new Set(["CustomResourceDefinition", "Namespace", "ClusterRole", "ClusterRoleBinding"]);

/** The release's objects as JSON, image at the release's tag: parsed once a process, as the files never change. */
let releaseJson: string | undefined;
function releaseObjects(): Manifest[] {
    releaseJson ??= JSON.stringify(
        FILES.flatMap((file) =>
            YAML.parseAllDocuments(fs.readFileSync(path.join(MANIFESTS, file), "utf8"))
                .map((d) => d.toJS() as Manifest | null)
                .filter((o): o is Manifest => o !== null),
        ),
    ).replace(/"rancher\/system-upgrade-controller:[^"]+"/g, `"rancher/system-upgrade-controller:${SYSTEM_UPGRADE_CONTROLLER_VERSION}"`);
    return JSON.parse(releaseJson) as Manifest[];
}

/**
 * The controller's objects as its release builds them (kustomization.yaml: every namespaced
 * object and ServiceAccount subject in `system-upgrade`, the image at the release's tag), with
 * the platform's labels added.
 */
export function controllerManifests(labels: Record<string, string>): Manifest[] {
    return releaseObjects().map((o) => {
        const m = o as Manifest & { subjects?: { kind: string; namespace?: string }[] };
        m.metadata = { ...m.metadata, labels: { ...m.metadata.labels, ...labels } };
        if (!CLUSTER_SCOPED.has(m.kind)) m.metadata.namespace = SYSTEM_UPGRADE_NAMESPACE;
        for (const s of m.subjects ?? []) if (s.kind === "ServiceAccount") s.namespace = SYSTEM_UPGRADE_NAMESPACE;
        return m;
    });
}

export const SERVER_PLAN = "k3s-server";

/**
 * One node at a time, cordoned and drained first: the drain evicts the node's pods, which the
 * eviction API refuses while a PodDisruptionBudget allows no disruption (each service's lets one
 * pod go at a time, waiting until its replacement is ready); `maxUnavailable` of a Deployment's
 * rollout governs rollouts only, not evictions.
 */
const ONE_AT_A_TIME = {
    concurrency: 1,
    serviceAccountName: "system-upgrade",
    cordon: true,
    drain: { ignoreDaemonSets: true, deleteEmptydirData: true, force: false, skipWaitForDeleteTimeout: 60 },
    upgrade: { image: "rancher/k3s-upgrade" },
};

/** The Plan: every server (control-plane node) to `version`, one at a time, cordoned and drained first. */
export function serverUpgradePlan(version: string, labels: Record<string, string>) {
    return {
        apiVersion: "upgrade.cattle.io/v1",
        kind: "Plan",
        metadata: { name: SERVER_PLAN, namespace: SYSTEM_UPGRADE_NAMESPACE, labels },
        spec: {
            ...ONE_AT_A_TIME,
            version,
            nodeSelector: { matchExpressions: [{ key: "node-role.kubernetes.io/control-plane", operator: "Exists" }] },
        },
    };
}

/**
 * The agents' Plan: every other node to `version` once the servers run it, one at a time. Its
 * prepare step (k3s-upgrade's `prepare <plan>`) waits until the server Plan applies to no node
 * and every control-plane node reports this version, as the skew policy wants (servers first).
 * Its jobs tolerate every taint: a pool's taints would otherwise keep them off its nodes.
 */
export function agentUpgradePlan(version: string, labels: Record<string, string>) {
    return {
        apiVersion: "upgrade.cattle.io/v1",
        kind: "Plan",
        metadata: { name: "k3s-agent", namespace: SYSTEM_UPGRADE_NAMESPACE, labels },
        spec: {
            ...ONE_AT_A_TIME,
            version,
            nodeSelector: { matchExpressions: [{ key: "node-role.kubernetes.io/control-plane", operator: "DoesNotExist" }] },
            tolerations: [{ operator: "Exists" }],
            prepare: { image: "rancher/k3s-upgrade", args: ["prepare", SERVER_PLAN] },
        },
    };
}

/** Declares the controller and the Plans (the agents' one when there are agents) through `provider`, as children of `parent`. */
export function createK3sUpgrades(
    name: string,
    version: string,
    labels: Record<string, string>,
    withAgents: boolean,
    provider: k8s.Provider,
    parent: pulumi.Resource,
): k8s.apiextensions.CustomResource[] {
    const opts = { parent, provider };
    const created = controllerManifests(labels).map(
        (m) => new KINDS[m.kind](`${name}-suc-${m.kind.toLowerCase()}-${m.metadata.name.replace(/[^a-z0-9-]/g, "-")}`, m as never, opts),
    );
    const plan = (role: string, spec: k8s.apiextensions.CustomResourceArgs) =>
        new k8s.apiextensions.CustomResource(`${name}-k3s-${role}-plan`, spec, { ...opts, dependsOn: created });
    return [plan("server", serverUpgradePlan(version, labels)), ...(withAgents ? [plan("agent", agentUpgradePlan(version, labels))] : [])];
}
