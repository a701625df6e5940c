import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { assertArgs } from "../lib/invariants";
import { knownAfter } from "../lib/kubernetes";
import { LabelArgs, labels } from "../lib/labels";
import { hostResourceName, tlsSecretName } from "../../lib/names";

export interface HostCertificateArgs extends LabelArgs {
    /** Public host the certificate is for (its only DNS name). */
    host: string;
    /** Namespace of the Ingresses that serve the host (the TLS Secret must live beside them). */
    namespace: pulumi.Input<string>;
    /** Project the host belongs to: the `app` label. */
    project: string;
    /** cert-manager ClusterIssuer that signs it; an Output of the issuer orders this after it. */
    clusterIssuer: pulumi.Input<string>;
}

/**
 * One cert-manager `Certificate` for one host of a project, which every service on that host
 * names in its Ingress. It is explicit rather than asked for by an Ingress annotation, because
 * with the annotation each Ingress of a shared host claims the same Certificate: the first owns
 * it, and removing that service deletes the certificate from under the others.
 */
export class HostCertificate extends pulumi.ComponentResource {
    /** TLS Secret cert-manager writes the key and certificate to. */
    public readonly secretName: pulumi.Output<string>;

    constructor(name: string, args: HostCertificateArgs, opts?: pulumi.ComponentResourceOptions) {
        super(
            "hobby-platform:platform:HostCertificate",
            name,
            {},
            pulumi.mergeOptions(opts, {
                aliases: [{ type: "hobby-platform:tls:HostCertificate" }],
            }),
        );
        const objectLabels = labels(args.project, args);
        const secretName = tlsSecretName(args.host);
        assertArgs(this, [secretName.length > 253 && `host "${args.host}" makes the TLS Secret name over 253 characters`]);
        const certificate = new k8s.apiextensions.CustomResource(
            name,
            {
                apiVersion: "cert-manager.io/v1",
                kind: "Certificate",
                metadata: { name: secretName, namespace: args.namespace, labels: objectLabels },
                spec: {
                    secretName,
                    // The Secret gets the same labels, so `kubectl get secret -l env=dev` finds it too.
                    secretTemplate: { labels: objectLabels },
                    dnsNames: [args.host],
                    issuerRef: { group: "cert-manager.io", kind: "ClusterIssuer", name: args.clusterIssuer },
                    // A new key at each renewal (cert-manager's default from v1.18, stated here).
                    privateKey: { rotationPolicy: "Always" },
                },
            },
            { parent: this },
        );
        // Through the Certificate, so that an Ingress naming the Secret is created after it.
        this.secretName = knownAfter(certificate, secretName);
        this.registerOutputs({ secretName: this.secretName });
    }
}

/** A HostCertificate for each host of a project: the TLS Secret name by host, for the Ingresses on it. */
export function hostCertificates(
    hosts: string[],
    args: Omit<HostCertificateArgs, "host">,
    opts?: pulumi.ComponentResourceOptions,
): Record<string, pulumi.Output<string>> {
    return Object.fromEntries(
        hosts.map((host) => [host, new HostCertificate(hostResourceName(args.project, host), { ...args, host }, opts).secretName]),
    );
}
