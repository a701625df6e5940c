import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { assertArgs } from "../lib/invariants";
import { boundServiceAccount, HARDENED_CONTAINER, k3sHelmChart, knownAfter, RESTRICTED_POD } from "../lib/kubernetes";
import { LabelArgs, labels as labelsFor } from "../lib/labels";
import { CERT_MANAGER_NAMESPACE } from "../../lib/names";

/** cert-manager release (chart and images); upgrade by changing it here and running `pulumi up`. */
export const CERT_MANAGER_VERSION = "v1.21.1";
/** Jetstack's chart repository, which k3s's Helm controller reads from inside the cluster. */
const CERT_MANAGER_CHART_REPO = "https://charts.jetstack.io";

/** The two ClusterIssuers, by ACME directory; every environment gets both. */
export const LETSENCRYPT_ISSUERS = {
    staging: { name: "letsencrypt-staging", server: "https://acme-staging-v02.api.letsencrypt.org/directory" },
    prod: { name: "letsencrypt-prod", server: "https://acme-v02.api.letsencrypt.org/directory" },
} as const;

/**
 * What cert-manager's API checker (pkg/util/cmapichecker) needs: since v1.16 it dry-run creates
 * CertificateRequests (a valid and an invalid one, to see the webhook answer), not Certificates.
 */
export const API_CHECK_RULES = [{ apiGroups: ["cert-manager.io"], resources: ["certificaterequests"], verbs: ["create"] }];

export interface CertManagerArgs extends LabelArgs {
    /** E-mail of the Let's Encrypt account: expiry and policy notices go there. */
    email: pulumi.Input<string>;
    /** IngressClass that answers HTTP-01 challenges (the cluster's ingress controller). */
    ingressClassName: pulumi.Input<string>;
    /** Whether this environment's certificates come from Let's Encrypt's staging CA. */
    staging: boolean;
    /** cert-manager release to install; default `CERT_MANAGER_VERSION`. */
    version?: string;
}

/**
 * cert-manager, installed by k3s's in-cluster Helm controller (a `helm.cattle.io/v1` HelmChart:
 * nothing is downloaded or rendered at preview time), and the ClusterIssuers
 * `letsencrypt-staging` and `letsencrypt-prod` (ACME HTTP-01 through the ingress class).
 *
 * Ordering: the issuers depend on a Job that runs cert-manager's own API check (dry-run creates
 * of CertificateRequests, retried until they pass). It passes only once the CRDs are served and the
 * webhook answers with its injected CA, which is what creating a ClusterIssuer needs; Pulumi
 * waits for a Job to complete before it creates anything that depends on it.
 */
export class CertManager extends pulumi.ComponentResource {
    /** The ClusterIssuer this environment uses; known at preview, usable once it exists. */
    public readonly clusterIssuer: pulumi.Output<string>;
    /** Namespace of cert-manager (and of the ACME account keys). */
    public readonly namespace: pulumi.Output<string>;
    /** The installed cert-manager release. */
    public readonly version: pulumi.Output<string>;

    constructor(name: string, args: CertManagerArgs, opts?: pulumi.ComponentResourceOptions) {
        super(
            "hobby-platform:platform:CertManager",
            name,
            {},
            pulumi.mergeOptions(opts, {
                aliases: [{ type: "hobby-platform:kubernetes:CertManager" }],
            }),
        );
        const version = args.version ?? CERT_MANAGER_VERSION;
        assertArgs(this, [
            !/^v\d+\.\d+\.\d+$/.test(version) && `version must be a cert-manager release such as "${CERT_MANAGER_VERSION}", got "${version}"`,
        ]);
        const child = { parent: this };
        const labels = labelsFor("cert-manager", args);

        // Created here, not by the chart, so the API check below has a namespace to run in.
        const namespace = new k8s.core.v1.Namespace(
            `${name}-namespace`,
            {
                metadata: { name: CERT_MANAGER_NAMESPACE, labels },
            },
            child,
        );

        const chart = k3sHelmChart(
            `${name}-chart`,
            {
                release: "cert-manager",
                labels,
                repo: CERT_MANAGER_CHART_REPO,
                chart: "cert-manager",
                version,
                targetNamespace: namespace.metadata.name,
                valuesContent: YAML.stringify({
                    // CRDs come with the release; `keep` leaves them (and so every certificate)
                    // in place if the release is ever uninstalled.
                    crds: { enabled: true, keep: true },
                    // The chart's own check runs as a Helm hook nobody waits on; ours below is
                    // the one Pulumi waits for.
                    startupapicheck: { enabled: false },
                }),
            },
            child,
        );

        // The API check: cert-manager's startupapicheck image, with the permission the chart's own
        // startupapicheck Role gives it (deploy/charts/cert-manager/templates/startupapicheck-rbac.yaml):
        // create CertificateRequests in its namespace, which it only ever dry-runs.
        const checkName = "cert-manager-api-check";
        const { serviceAccount, binding } = boundServiceAccount(
            `${name}-api-check`,
            {
                metadata: { name: checkName, namespace: namespace.metadata.name, labels },
                rules: API_CHECK_RULES,
            },
            child,
        );
        const apiCheck = new k8s.batch.v1.Job(
            `${name}-api-check`,
            {
                // One Job a release: an upgrade replaces it, and the issuers wait for the new webhook.
                metadata: { name: `${checkName}-${version.replace(/\./g, "-")}`, namespace: namespace.metadata.name, labels },
                spec: {
                    backoffLimit: 2,
                    template: {
                        metadata: { labels },
                        spec: {
                            restartPolicy: "Never",
                            serviceAccountName: serviceAccount.metadata.name,
                            securityContext: RESTRICTED_POD,
                            containers: [
                                {
                                    name: "check",
                                    image: `quay.io/jetstack/cert-manager-startupapicheck:${version}`,
                                    // The chart's helm-install Job, the image pulls and the webhook's
                                    // certificate take a few minutes on small nodes.
                                    args: ["check", "api", "--wait=8m"],
                                    env: [{ name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } }],
                                    resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "64Mi" } },
                                    securityContext: HARDENED_CONTAINER,
                                },
                            ],
                        },
                    },
                },
            },
            { ...child, dependsOn: [chart, binding], customTimeouts: { create: "30m", update: "30m" } },
        );

        const issuers = Object.fromEntries(
            Object.entries(LETSENCRYPT_ISSUERS).map(([key, issuer]) => [
                key,
                new k8s.apiextensions.CustomResource(
                    `${name}-${issuer.name}`,
                    {
                        apiVersion: "cert-manager.io/v1",
                        kind: "ClusterIssuer",
                        metadata: { name: issuer.name, labels },
                        spec: {
                            acme: {
                                server: issuer.server,
                                email: args.email,
                                // The ACME account key, kept in cert-manager's namespace.
                                privateKeySecretRef: { name: `${issuer.name}-account-key` },
                                // ClusterIP: Traefik reaches the solver pod directly; no NodePort is opened on the nodes.
                                solvers: [{ http01: { ingress: { ingressClassName: args.ingressClassName, serviceType: "ClusterIP" } } }],
                            },
                        },
                    },
                    { ...child, dependsOn: [apiCheck] },
                ),
            ]),
        ) as Record<keyof typeof LETSENCRYPT_ISSUERS, k8s.apiextensions.CustomResource>;

        const used = args.staging ? "staging" : "prod";
        // Derived from the issuer's URN: known at preview, yet Ingresses that name it depend on it.
        this.clusterIssuer = knownAfter(issuers[used], LETSENCRYPT_ISSUERS[used].name);
        this.namespace = namespace.metadata.name;
        this.version = pulumi.output(version);
        this.registerOutputs({ clusterIssuer: this.clusterIssuer, namespace: this.namespace, version: this.version });
    }
}
