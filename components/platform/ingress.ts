import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { knownAfter } from "../lib/kubernetes";
import { LabelArgs, labels } from "../lib/labels";

/** IngressClass of k3s's bundled Traefik; services' Ingresses and HTTP-01 solvers use it. */
export const TRAEFIK_INGRESS_CLASS = "traefik";
/** k3s deploys Traefik from the HelmChart `traefik` in `kube-system`; a HelmChartConfig of the
 * same name and namespace is merged into its values by k3s's Helm controller. */
const TRAEFIK_CHART = { name: "traefik", namespace: "kube-system" } as const;

export interface ClusterIngressArgs extends LabelArgs {
    /**
     * Public addresses of the nodes. k3s's ServiceLB publishes Traefik's ports 80 and 443 on
     * every node, so these are the A/AAAA targets of every service host. Default: none known
     * (a cluster this stack does not create).
     */
    publicAddresses?: pulumi.Input<pulumi.Input<string>[]>;
    /** Answer plain HTTP with a permanent redirect to HTTPS (default true). */
    redirectToHttps?: boolean;
    /** Log one line a request (Traefik access log on stdout, headers dropped; default true). */
    accessLogs?: boolean;
}

/**
 * Traefik chart values this platform sets on top of k3s's defaults. Only keys every chart
 * major k3s has bundled since v34 declares (test/fixtures/traefik-chart-schemas): k3s patch
 * releases move to new majors (v1.33.13+k3s2 to chart v40), whose schemas refuse unknown keys,
 * and a refused value fails Traefik's upgrade Job on the running cluster. The redirect and the
 * access log are therefore Traefik's own flags: the chart moved their keys twice (v39
 * `ports.web.http.redirections`, v41 `logs` to `accessLog`), Traefik's flags never did.
 */
export function traefikValues(args: Pick<ClusterIngressArgs, "redirectToHttps" | "accessLogs">): Record<string, unknown> {
    const flags: string[] = [];
    if (args.redirectToHttps ?? true) {
        // To the Service's port 443, as the chart itself renders it (`to: websecure` would
        // name the pod's port 8443). cert-manager's HTTP-01 challenge still passes: Let's
        // Encrypt and cert-manager's self-check both follow the redirect and do not verify the
        // certificate there.
        const redirect = "--entryPoints.web.http.redirections.entryPoint";
        flags.push(`${redirect}.to=:443`, `${redirect}.scheme=https`, `${redirect}.permanent=true`);
    }
    // One line a request on stdout; Traefik drops headers by default.
    if (args.accessLogs ?? true) flags.push("--accesslog=true");
    return {
        // One Traefik on every node: every node address in DNS answers locally, and with
        // `externalTrafficPolicy: Local` ServiceLB hands it the client's own source address,
        // so access logs and rate limits see clients, not node IPs. No proxy protocol: no load
        // balancer sits in front that would send it. No hostNetwork: ServiceLB already binds 80/443.
        deployment: { kind: "DaemonSet" },
        service: { spec: { externalTrafficPolicy: "Local" } },
        // The class name is pinned here rather than derived from the release name.
        ingressClass: { enabled: true, isDefaultClass: true, name: TRAEFIK_INGRESS_CLASS },
        // Ingress status carries the published addresses (what `kubectl get ingress` shows).
        providers: { kubernetesIngress: { publishedService: { enabled: true } } },
        additionalArguments: flags,
    };
}

/**
 * The cluster's ingress controller: k3s's bundled Traefik, configured declaratively with a
 * `HelmChartConfig` that k3s's in-cluster Helm controller applies. Nothing is downloaded or
 * rendered by Pulumi, so `pulumi preview` needs no network and no cluster.
 */
export class ClusterIngress extends pulumi.ComponentResource {
    /** IngressClass to put on Ingresses (known at preview); its users depend on the controller's configuration. */
    public readonly ingressClassName: pulumi.Output<string>;
    /** Addresses every service host must resolve to. */
    public readonly publicAddresses: pulumi.Output<string[]>;

    constructor(name: string, args: ClusterIngressArgs, opts?: pulumi.ComponentResourceOptions) {
        super(
            "hobby-platform:platform:ClusterIngress",
            name,
            {},
            pulumi.mergeOptions(opts, {
                aliases: [{ type: "hobby-platform:kubernetes:ClusterIngress" }],
            }),
        );

        const config = new k8s.apiextensions.CustomResource(
            `${name}-traefik-config`,
            {
                apiVersion: "helm.cattle.io/v1",
                kind: "HelmChartConfig",
                metadata: { name: TRAEFIK_CHART.name, namespace: TRAEFIK_CHART.namespace, labels: labels("traefik", args) },
                spec: { valuesContent: YAML.stringify(traefikValues(args)) },
            },
            { parent: this },
        );

        // Every Ingress that uses the class depends on the configuration.
        this.ingressClassName = knownAfter(config, TRAEFIK_INGRESS_CLASS);
        this.publicAddresses = pulumi.output(args.publicAddresses ?? []);
        this.registerOutputs({ ingressClassName: this.ingressClassName, publicAddresses: this.publicAddresses });
    }
}
