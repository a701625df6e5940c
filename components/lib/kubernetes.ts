// Kubernetes shapes more than one component declares: the hardened container, a Role granted to
// subjects (a ServiceAccount of its own), a k3s HelmChart, and outputs that are known at preview yet order their users after a resource.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/**
 * Server-side apply, and ConfigMaps and Secrets updated in place: by default the provider
 * replaces a ConfigMap or Secret whose data changes (pulumi-kubernetes `forceNewProperties`), by
 * delete-before-replace (same name), and the engine then replaces what depends on it: the
 * Deployment, whose replacement kills every pod at once and puts the stack's image back over
 * CI's. The pod template's config-sha256 and secrets-version annotations roll the pods instead.
 */
export const PROVIDER_SETTINGS = { enableServerSideApply: true, enableConfigMapMutable: true, enableSecretMutable: true };

/** A container that cannot gain privileges, write its image or use any capability. */
export const HARDENED_CONTAINER = {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"] },
};

/**
 * Pods prefer k3s agents (nodes without the control-plane role k3s gives its servers), so that
 * workloads leave the servers to etcd and the API when there are worker pools; a preference,
 * so pods still run when no agent has room.
 */
export const PREFER_AGENTS = {
    nodeAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 100, preference: { matchExpressions: [{ key: "node-role.kubernetes.io/control-plane", operator: "DoesNotExist" }] } },
        ],
    },
};

/** The pod side of Pod Security `restricted`: non-root and the runtime's default seccomp profile. */
export const RESTRICTED_POD = { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } };

export interface BoundServiceAccountArgs {
    /** Metadata of all three objects (name, namespace, labels). */
    metadata: { name: string; namespace: pulumi.Input<string>; labels: Record<string, string> };
    /** What the ServiceAccount may do, in its namespace. */
    rules: k8s.types.input.rbac.v1.PolicyRule[];
    /** Mount its token into pods (default true); false for an identity used only from outside. */
    automountToken?: boolean;
}

/** A Role and the RoleBinding that grants it to `subjects`, both named `name` in Pulumi and `metadata.name` in the cluster. */
export function grantedRole(
    name: string,
    args: { metadata: BoundServiceAccountArgs["metadata"]; rules: k8s.types.input.rbac.v1.PolicyRule[]; subjects: k8s.types.input.rbac.v1.Subject[] },
    opts: pulumi.CustomResourceOptions,
) {
    const role = new k8s.rbac.v1.Role(name, { metadata: args.metadata, rules: args.rules }, opts);
    const binding = new k8s.rbac.v1.RoleBinding(
        name,
        {
            metadata: args.metadata,
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
            subjects: args.subjects,
        },
        opts,
    );
    return { role, binding };
}

/** A ServiceAccount, a Role and the RoleBinding between them, all named `name` in Pulumi. */
export function boundServiceAccount(name: string, args: BoundServiceAccountArgs, opts: pulumi.CustomResourceOptions) {
    const serviceAccount = new k8s.core.v1.ServiceAccount(
        name,
        {
            metadata: args.metadata,
            automountServiceAccountToken: args.automountToken,
        },
        opts,
    );
    const subjects = [{ kind: "ServiceAccount", name: serviceAccount.metadata.name, namespace: args.metadata.namespace }];
    return { serviceAccount, ...grantedRole(name, { metadata: args.metadata, rules: args.rules, subjects }, opts) };
}

export interface K3sHelmChartArgs {
    /** Release name (and the HelmChart's, in `kube-system`). */
    release: string;
    labels: Record<string, string>;
    repo: string;
    chart: string;
    version: string;
    /** Namespace the release is installed into. */
    targetNamespace: pulumi.Input<string>;
    /** The chart's values, as YAML. */
    valuesContent: pulumi.Input<string>;
}

/**
 * A `helm.cattle.io/v1` HelmChart: k3s's in-cluster Helm controller installs (and upgrades) the
 * chart from its repository, so nothing is downloaded or rendered at preview.
 */
export function k3sHelmChart(name: string, args: K3sHelmChartArgs, opts: pulumi.CustomResourceOptions) {
    return new k8s.apiextensions.CustomResource(
        name,
        {
            apiVersion: "helm.cattle.io/v1",
            kind: "HelmChart",
            metadata: { name: args.release, namespace: "kube-system", labels: args.labels },
            spec: {
                repo: args.repo,
                chart: args.chart,
                version: args.version,
                targetNamespace: args.targetNamespace,
                valuesContent: args.valuesContent,
            },
        },
        opts,
    );
}

/**
 * `value`, known at preview like a constant, yet an Output of `resource`: whatever takes it
 * as an input is created after `resource`.
 */
export function knownAfter<T>(resource: pulumi.Resource, value: T): pulumi.Output<T> {
    return resource.urn.apply(() => value);
}
