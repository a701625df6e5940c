import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import * as YAML from "yaml";
import { assertArgs } from "../lib/invariants";
import { HARDENED_CONTAINER, PREFER_AGENTS, RESTRICTED_POD } from "../lib/kubernetes";
import { LabelArgs, labels as labelsFor } from "../lib/labels";
import { CiDeployer } from "./ciDeployer";

/** Registry credentials for the image-pull Secret. Pass them as a secret Output. */
export interface RegistryCredentials {
    /** Registry host, e.g. `registry.example.com`. */
    server: string;
    username: string;
    password: string;
}

export interface ResourceRequirements {
    requests: { cpu: string; memory: string };
    limits: { cpu: string; memory: string };
}

export interface MicroserviceArgs extends LabelArgs {
    /** Service name: the name of every object, the `app` label and the container name. */
    service: string;
    /** Namespace of the project (a `ProjectNamespace`'s name, so objects wait for it). */
    namespace: pulumi.Input<string>;
    /** Container image; CI later rolls out other tags, which `pulumi up` keeps (see README). */
    image: string;
    /** Pod count; at least 1. */
    replicas: number;
    /** Container port the service listens on (also `PORT`); 1024 or above, as the container is not root. */
    port: number;
    /** URL path prefix of the service (also `BASE_PATH`). */
    basePath: string;
    /** Public host of the Ingress and of its TLS certificate. */
    host: string;
    /** HTTP probe path; without it the probes check the TCP port. */
    healthPath?: string;
    /** Service configuration, rendered to `<env>_config.yml` and mounted at `/configs`. */
    config: Record<string, unknown>;
    /** Extra environment variables; they override the defaults (e.g. `DEBUG`). */
    env: Record<string, string | number | boolean>;
    /** CPU and memory requests and limits of the container. */
    resources: ResourceRequirements;
    /** IngressClass of the cluster's ingress controller. */
    ingressClassName: pulumi.Input<string>;
    /** TLS Secret with the host's certificate (a `HostCertificate`'s `secretName`). */
    tlsSecret: pulumi.Input<string>;
    /** Credentials for the image-pull Secret (a secret Output). */
    registryCredentials: pulumi.Input<RegistryCredentials>;
    /** Prefer nodes of the worker pools for the pods (the cluster has agents); servers still take them when no agent can. */
    preferWorkers?: boolean;
    /** Issue the CI deployer a long-lived token (default true; the agent path needs none). */
    issueDeployerToken?: boolean;
    /**
     * Do not wait for rollouts and load balancers. Only for API servers with no controllers or
     * kubelets behind them (the loopback test cluster); a real cluster should be awaited.
     */
    skipAwait?: boolean;
}

/** Path of the container's image in a Deployment, which CI owns after the first rollout. */
export const IMAGE_PATH = "spec.template.spec.containers[0].image";

/** `.dockerconfigjson` content for one registry. */
export function dockerConfigJson(c: RegistryCredentials): string {
    const auth = Buffer.from(`${c.username}:${c.password}`).toString("base64");
    return JSON.stringify({ auths: { [c.server]: { username: c.username, password: c.password, auth } } });
}

/**
 * One service in one environment: the seed's `k8s/<env>/10..50` manifests (the namespace is a
 * `ProjectNamespace`, shared by a project's services) plus what was done by hand: the image-pull
 * Secret, and a least-privilege `CiDeployer` whose token (if issued) the component exposes as a secret.
 */
export class Microservice extends pulumi.ComponentResource {
    public readonly namespace: pulumi.Output<string>;
    /** ServiceAccount the service's pipeline deploys as. */
    public readonly deployerServiceAccount: pulumi.Output<string>;
    /** Bearer token of the deployer ServiceAccount (secret), when one is issued. */
    public readonly deployerToken?: pulumi.Output<string>;
    /** Name of the Deployment (and of its container), which CI's `kubectl set image` targets. */
    public readonly deploymentName: pulumi.Output<string>;
    /** Public URL of the service. */
    public readonly url: pulumi.Output<string>;

    constructor(name: string, args: MicroserviceArgs, opts?: pulumi.ComponentResourceOptions) {
        super(
            "hobby-platform:workload:Microservice",
            name,
            {},
            pulumi.mergeOptions(opts, {
                aliases: [{ type: "hobby-platform:kubernetes:Microservice" }],
            }),
        );
        assertArgs(this, [
            (!Number.isInteger(args.replicas) || args.replicas < 1) && `replicas must be an integer of at least 1, got ${args.replicas}`,
            (!Number.isInteger(args.port) || args.port < 1024 || args.port > 65535) &&
                `port must be 1024..65535 (the container is not root), got ${args.port}`,
            !args.basePath.startsWith("/") && `basePath must start with "/", got "${args.basePath}"`,
        ]);

        const svc = args.service;
        const env = args.environment;
        const labels = labelsFor(svc, args);
        const annotations = args.skipAwait ? { "pulumi.com/skipAwait": "true" } : undefined;
        const meta = (objectName: string) => ({ name: objectName, namespace: args.namespace, labels });
        const child = { parent: this };

        const configFile = `${env}_config.yml`;
        const configYaml = YAML.stringify(args.config);
        const configMap = new k8s.core.v1.ConfigMap(
            `${name}-config`,
            {
                metadata: meta(svc),
                data: { [configFile]: configYaml },
            },
            child,
        );

        const pullSecretName = `${svc}-regcred`;
        const pullSecret = new k8s.core.v1.Secret(
            `${name}-regcred`,
            {
                metadata: meta(pullSecretName),
                type: "kubernetes.io/dockerconfigjson",
                stringData: {
                    ".dockerconfigjson": pulumi.secret(pulumi.output(args.registryCredentials).apply(dockerConfigJson)),
                },
            },
            child,
        );

        const service = new k8s.core.v1.Service(
            `${name}-service`,
            {
                metadata: { ...meta(svc), annotations },
                spec: {
                    type: "ClusterIP",
                    selector: { app: svc },
                    ports: [{ name: "http", port: args.port, targetPort: "http", protocol: "TCP" }],
                },
            },
            child,
        );

        const probe = args.healthPath ? { httpGet: { path: args.healthPath, port: "http" } } : { tcpSocket: { port: "http" } };
        const envVars = {
            BASE_PATH: args.basePath,
            CONFIG: `/configs/${configFile}`,
            DEBUG: "false",
            PORT: String(args.port),
            ...Object.fromEntries(Object.entries(args.env).map(([k, v]) => [k, String(v)])),
        };

        const deployment = new k8s.apps.v1.Deployment(
            `${name}-deployment`,
            {
                metadata: { ...meta(svc), annotations },
                spec: {
                    replicas: args.replicas,
                    selector: { matchLabels: { app: svc } },
                    // A new pod must be ready before an old one goes: no unavailable pod in a rollout.
                    strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
                    template: {
                        metadata: {
                            labels,
                            // A config change rolls the pods, which read the file only at start.
                            annotations: { "hobby-platform/config-sha256": createHash("sha256").update(configYaml).digest("hex") },
                        },
                        spec: {
                            automountServiceAccountToken: false,
                            imagePullSecrets: [{ name: pullSecretName }],
                            securityContext: { ...RESTRICTED_POD, runAsUser: 65532, runAsGroup: 65532 },
                            ...(args.preferWorkers && { affinity: PREFER_AGENTS }),
                            containers: [
                                {
                                    name: svc,
                                    image: args.image,
                                    imagePullPolicy: "Always",
                                    ports: [{ name: "http", containerPort: args.port, protocol: "TCP" }],
                                    env: [
                                        ...Object.entries(envVars).map(([k, value]) => ({ name: k, value })),
                                        { name: "AGENT", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                                    ],
                                    volumeMounts: [{ name: "configs", mountPath: "/configs", readOnly: true }],
                                    readinessProbe: { ...probe, initialDelaySeconds: 2, periodSeconds: 5, failureThreshold: 3 },
                                    livenessProbe: { ...probe, initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 3 },
                                    resources: args.resources,
                                    securityContext: HARDENED_CONTAINER,
                                },
                            ],
                            // By name, known at preview: an unknown name would make the provider replace the
                            // Deployment (and a replacement ignores ignoreChanges, so CI's image).
                            volumes: [{ name: "configs", configMap: { name: svc } }],
                        },
                    },
                },
            },
            {
                ...child,
                dependsOn: [pullSecret, configMap],
                // CI rolls out new tags with `kubectl set image`; the stack only sets the first image.
                ignoreChanges: [IMAGE_PATH],
            },
        );

        new k8s.networking.v1.Ingress(
            `${name}-ingress`,
            {
                metadata: { ...meta(svc), annotations },
                spec: {
                    ingressClassName: args.ingressClassName,
                    tls: [{ hosts: [args.host], secretName: args.tlsSecret }],
                    rules: [
                        {
                            host: args.host,
                            http: {
                                paths: [
                                    {
                                        path: args.basePath,
                                        pathType: "Prefix",
                                        backend: { service: { name: service.metadata.name, port: { name: "http" } } },
                                    },
                                ],
                            },
                        },
                    ],
                },
            },
            child,
        );

        const deployer = new CiDeployer(
            `${name}-deployer`,
            { service: svc, namespace: args.namespace, client: args.client, environment: env, issueToken: args.issueDeployerToken },
            child,
        );

        this.namespace = pulumi.output(args.namespace);
        this.deployerServiceAccount = deployer.serviceAccountName;
        this.deploymentName = deployment.metadata.name;
        this.deployerToken = deployer.token;
        this.url = pulumi.interpolate`https://${args.host}${args.basePath}`;
        this.registerOutputs({
            namespace: this.namespace,
            deployerServiceAccount: this.deployerServiceAccount,
            deployerToken: this.deployerToken,
            deploymentName: this.deploymentName,
            url: this.url,
        });
    }
}
