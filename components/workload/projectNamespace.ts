import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { QuotaConfig } from "../../config";
import { assertArgs } from "../lib/invariants";
import { LabelArgs, labels } from "../lib/labels";
import { IngressController, K3S_TRAEFIK } from "../../lib/clusterFacts";
import { PROJECT_POLICIES } from "../../lib/names";
import { ingressPeer } from "./microservice";

export interface ProjectNamespaceArgs extends LabelArgs {
    /** Project name, which is also the namespace name (DNS-1123 label). */
    project: string;
    /** Pod Security Standards version to enforce, warn and audit, e.g. `v1.33` (the cluster's Kubernetes minor). */
    podSecurityVersion: string;
    /** The namespace's ResourceQuota. */
    quota: QuotaConfig;
    /** The ingress controller's pods, admitted to cert-manager's HTTP-01 solvers; default k3s's Traefik. */
    ingressController?: IngressController;
    /** Requests and limits of a container that sets none (the LimitRange's defaults). */
    containerDefaults: { requests: { cpu: string; memory: string }; limits: { cpu: string; memory: string } };
}

/** Pod Security Standards every project's pods meet: non-root, no privileges, no host access. */
export const POD_SECURITY_LEVEL = "restricted";

/**
 * The labels that make Pod Security admission enforce `level` (refuse a pod), warn (tell the
 * client) and audit (log) at a pinned version: `latest` would change what is refused when the
 * cluster is upgraded, with nothing in the stack changing.
 */
export function podSecurityLabels(level: string, version: string): Record<string, string> {
    return Object.fromEntries(
        ["enforce", "warn", "audit"].flatMap((mode) => [
            [`pod-security.kubernetes.io/${mode}`, level],
            [`pod-security.kubernetes.io/${mode}-version`, version],
        ]),
    );
}

/** cert-manager's HTTP-01 solver pods (in the namespace of the Certificate) and their port (see test/upstream). */
export const ACME_SOLVER = { labels: { "acme.cert-manager.io/http01-solver": "true" }, port: 8089 };

/**
 * The namespace a project's services share. It is its own component, created once per project,
 * so that removing one service never deletes the namespace under the others. It isolates the
 * project: no ingress from other namespaces (each service admits the ingress controller to its
 * port), a quota and default container resources, Pod Security `restricted`.
 */
export class ProjectNamespace extends pulumi.ComponentResource {
    /** Namespace name; depending on it orders children after the namespace exists. */
    public readonly name: pulumi.Output<string>;

    constructor(name: string, args: ProjectNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
        super(
            "hobby-platform:workload:ProjectNamespace",
            name,
            {},
            pulumi.mergeOptions(opts, {
                aliases: [{ type: "hobby-platform:kubernetes:ProjectNamespace" }],
            }),
        );
        assertArgs(this, [
            !/^v\d+\.\d+$/.test(args.podSecurityVersion) &&
                `podSecurityVersion must be a Kubernetes minor such as "v1.33", got "${args.podSecurityVersion}"`,
        ]);
        const child = { parent: this };
        const objectLabels = labels(args.project, args);
        const namespace = new k8s.core.v1.Namespace(
            name,
            {
                metadata: {
                    name: args.project,
                    labels: { ...objectLabels, ...podSecurityLabels(POD_SECURITY_LEVEL, args.podSecurityVersion) },
                },
            },
            child,
        );
        const meta = (objectName: string) => ({ name: objectName, namespace: namespace.metadata.name, labels: objectLabels });
        const everyPod = {};

        // Nothing reaches a pod of the project unless a policy admits it: the pods of the project
        // itself, the ingress controller to a service's port (the service's own policy) and to
        // cert-manager's HTTP-01 solvers.
        new k8s.networking.v1.NetworkPolicy(
            `${name}-${PROJECT_POLICIES.defaultDeny}`,
            { metadata: meta(PROJECT_POLICIES.defaultDeny), spec: { podSelector: everyPod, policyTypes: ["Ingress"] } },
            child,
        );
        new k8s.networking.v1.NetworkPolicy(
            `${name}-${PROJECT_POLICIES.sameNamespace}`,
            {
                metadata: meta(PROJECT_POLICIES.sameNamespace),
                spec: { podSelector: everyPod, policyTypes: ["Ingress"], ingress: [{ from: [{ podSelector: everyPod }] }] },
            },
            child,
        );
        new k8s.networking.v1.NetworkPolicy(
            `${name}-${PROJECT_POLICIES.acmeSolver}`,
            {
                metadata: meta(PROJECT_POLICIES.acmeSolver),
                spec: {
                    podSelector: { matchLabels: ACME_SOLVER.labels },
                    policyTypes: ["Ingress"],
                    ingress: [{ from: [ingressPeer(args.ingressController ?? K3S_TRAEFIK)], ports: [{ protocol: "TCP", port: ACME_SOLVER.port }] }],
                },
            },
            child,
        );

        const q = args.quota;
        new k8s.core.v1.ResourceQuota(
            `${name}-quota`,
            {
                metadata: meta(args.project),
                spec: {
                    hard: {
                        "requests.cpu": q.requests.cpu,
                        "requests.memory": q.requests.memory,
                        "limits.cpu": q.limits.cpu,
                        "limits.memory": q.limits.memory,
                        pods: String(q.pods),
                    },
                },
            },
            child,
        );
        // Under a quota on requests and limits, a pod that sets none is refused: give it defaults.
        new k8s.core.v1.LimitRange(
            `${name}-limits`,
            {
                metadata: meta(args.project),
                spec: { limits: [{ type: "Container", defaultRequest: args.containerDefaults.requests, default: args.containerDefaults.limits }] },
            },
            child,
        );

        this.name = namespace.metadata.name;
        this.registerOutputs({ name: this.name });
    }
}
