import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { LabelArgs, labels } from "../lib/labels";

export interface ProjectNamespaceArgs extends LabelArgs {
    /** Project name, which is also the namespace name (DNS-1123 label). */
    project: string;
}

/**
 * The namespace a project's services share. It is its own component, created once per project,
 * so that removing one service never deletes the namespace under the others.
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
        const namespace = new k8s.core.v1.Namespace(
            name,
            {
                metadata: {
                    name: args.project,
                    labels: {
                        ...labels(args.project, args),
                        // Services run as non-root with no privileges: enforce it for every pod here.
                        "pod-security.kubernetes.io/enforce": "restricted",
                        "pod-security.kubernetes.io/enforce-version": "latest",
                    },
                },
            },
            { parent: this },
        );
        this.name = namespace.metadata.name;
        this.registerOutputs({ name: this.name });
    }
}
