// What every service's Ingress and Certificate use: the stack's own ingress controller and
// cert-manager, or (e.g. `local`) the ones the cluster already has, named in the config.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { CertManagerConfig, IngressConfig } from "../../config";
import { LabelArgs } from "../lib/labels";
import { CertManager } from "./certManager";
import { ClusterIngress } from "./ingress";

export interface ClusterPlatform {
    /** IngressClass of every service's Ingress. */
    ingressClassName: pulumi.Output<string>;
    /** Addresses every service host must resolve to (none known when the controller is not the stack's). */
    publicAddresses: pulumi.Output<string[]>;
    /** ClusterIssuer that signs the environment's certificates. */
    clusterIssuer: pulumi.Output<string>;
}

export function clusterPlatform(
    settings: { ingress: IngressConfig; certManager: CertManagerConfig },
    labels: LabelArgs,
    publicAddresses: pulumi.Input<string[]> | undefined,
    provider: k8s.Provider,
): ClusterPlatform {
    const { ingress, certManager } = settings;
    const controller = ingress.install
        ? new ClusterIngress("ingress", { ...labels, publicAddresses }, { provider })
        : { ingressClassName: pulumi.output(ingress.className), publicAddresses: pulumi.output<string[]>([]) };
    const clusterIssuer = certManager.install
        ? new CertManager(
              "cert-manager",
              { ...labels, email: certManager.email, staging: certManager.staging, ingressClassName: controller.ingressClassName },
              { provider },
          ).clusterIssuer
        : pulumi.output(certManager.issuer);
    return { ingressClassName: controller.ingressClassName, publicAddresses: controller.publicAddresses, clusterIssuer };
}
