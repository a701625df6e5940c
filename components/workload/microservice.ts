import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import * as YAML from "yaml";
import { assertArgs } from "../lib/invariants";
import { HARDENED_CONTAINER, PREFER_AGENTS, RESTRICTED_POD } from "../lib/kubernetes";
import { LabelArgs, labels as labelsFor } from "../lib/labels";
import { IngressController, K3S_TRAEFIK } from "../../lib/clusterFacts";
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

/** A HorizontalPodAutoscaler on CPU instead of a fixed pod count. */
export interface Autoscaling {
    min: number;
    max: number;
    /** Target average CPU use, in percent of the CPU request. */
    cpu: number;
}

/** How the container gets its secrets. */
export type SecretsAs = "env" | "files" | "both";

export interface MicroserviceArgs extends LabelArgs {
    /** Service name: the name of every object, the `app` label and the container name. */
    service: string;
    /** Namespace of the project (a `ProjectNamespace`'s name, so objects wait for it). */
    namespace: pulumi.Input<string>;
    /** Container image; CI later rolls out other tags, which `pulumi up` keeps (see README). */
    image: string;
    /** Pod count; at least 1. Not set on the Deployment when `autoscaling` is given. */
    replicas: number;
    /** Scale on CPU between `min` and `max` pods; the stack then never writes `replicas`. */
    autoscaling?: Autoscaling;
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
    /** Secret values by name (Pulumi secrets): a Kubernetes Secret, given to the container as `secretsAs` says. */
    secrets?: Record<string, pulumi.Input<string>>;
    /** Secrets as environment variables (default), as files under `/secrets`, or both. */
    secretsAs?: SecretsAs;
    /** CPU and memory requests and limits of the container. */
    resources: ResourceRequirements;
    /** IngressClass of the cluster's ingress controller. */
    ingressClassName: pulumi.Input<string>;
    /** The ingress controller's pods, admitted to the service's port; default k3s's Traefik. */
    ingressController?: IngressController;
    /** TLS Secret with the host's certificate (a `HostCertificate`'s `secretName`). */
    tlsSecret: pulumi.Input<string>;
    /** Credentials for the image-pull Secret (a secret Output). */
    registryCredentials: pulumi.Input<RegistryCredentials>;
    /** Prefer nodes of the worker pools for the pods (the cluster has agents); servers still take them when no agent can. */
    preferWorkers?: boolean;
    /** Issue the CI deployer a long-lived token (default true; the agent path needs none). */
    issueDeployerToken?: boolean;
    /**
     * Never wait for rollouts, not even after the first build. Only for API servers with no
     * controllers or kubelets behind them (the loopback test cluster); a real cluster should be awaited.
     */
    skipAwait?: boolean;
}

/** Path of the container's image in a Deployment, which CI owns after the first rollout. */
export const IMAGE_PATH = "spec.template.spec.containers[0].image";

/**
 * The pulumi-kubernetes annotation that makes the provider skip awaiting an object. A new
 * Deployment carries it, so the first `up` does not wait for an image CI has not built yet;
 * the service template's deploy job removes it once its rollout succeeded, and from then on
 * (the state refreshed, the annotation in ignoreChanges) every `up` awaits its changes.
 */
export const FIRST_BUILD_ANNOTATION = "pulumi.com/skipAwait";
export const FIRST_BUILD_PATH = `metadata.annotations["${FIRST_BUILD_ANNOTATION}"]`;
/** The pulumi-kubernetes annotation that makes a server-side apply of the object force its fields. */
export const PATCH_FORCE_ANNOTATION = "pulumi.com/patchForce";
/** Where a service's secrets are mounted when it takes them as files (`/secrets/<NAME>`). */
export const SECRETS_DIR = "/secrets";
/** The pod template annotation that rolls the pods when the secrets change: the Secret's resourceVersion, nothing derived from a value. */
export const SECRETS_VERSION_ANNOTATION = "hobby-platform/secrets-version";
/**
 * Seconds a stopping pod keeps serving before its process gets TERM: the time for the endpoint
 * removal to reach Traefik (it watches EndpointSlices) and kube-proxy on every node.
 */
export const PRE_STOP_SECONDS = 10;
/** Grace period of a pod: the preStop delay plus 30 s for the process to finish its requests. */
export const TERMINATION_GRACE_SECONDS = PRE_STOP_SECONDS + 30;
/**
 * Seconds a pod stays bound to a node that is lost (unreachable) or reports itself not ready,
 * before the Node lifecycle controller evicts it and the ReplicaSet makes a replacement. The
 * default, 300 s (the API server's DefaultTolerationSeconds), leaves a spread service on one
 * replica, or a single-replica service down, for about 6 minutes after a VM dies. 60 s: a lost
 * node is tainted unreachable 50 s after its last heartbeat, so its pods go about 2 minutes after
 * it died; a kubelet that reports itself not ready (its runtime or network down) is tainted at
 * once, so its pods go after about a minute of it. A k3s restart (seconds, on a drained node) or
 * a short blip stays below either.
 */
export const LOST_NODE_TOLERATION_SECONDS = 60;
const LOST_NODE_TOLERATIONS = ["node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready"].map((key) => ({
    key,
    operator: "Exists",
    effect: "NoExecute",
    tolerationSeconds: LOST_NODE_TOLERATION_SECONDS,
}));
/** A NetworkPolicy peer that selects an ingress controller's pods (namespaces by their `kubernetes.io/metadata.name`). */
export function ingressPeer(c: IngressController) {
    return { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": c.namespace } }, podSelector: { matchLabels: c.podLabels } };
}
/** Traefik as k3s runs it: the `traefik` release of its chart in kube-system (see test/upstream). */
export const INGRESS_CONTROLLER_PEER = ingressPeer(K3S_TRAEFIK);

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
    /** Whether the Deployment still waits for the pipeline's first deploy (which removes FIRST_BUILD_ANNOTATION). */
    public readonly awaitingFirstBuild: pulumi.Output<boolean>;

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
            args.autoscaling !== undefined &&
                !(Number.isInteger(args.autoscaling.min) && args.autoscaling.min >= 1 && args.autoscaling.max >= args.autoscaling.min) &&
                `autoscaling must have 1 <= min <= max, got ${args.autoscaling.min}..${args.autoscaling.max}`,
            (!Number.isInteger(args.port) || args.port < 1024 || args.port > 65535) &&
                `port must be 1024..65535 (the container is not root), got ${args.port}`,
            !args.basePath.startsWith("/") && `basePath must start with "/", got "${args.basePath}"`,
        ]);

        const svc = args.service;
        const env = args.environment;
        const labels = labelsFor(svc, args);
        // A Service's and an Ingress's readiness is their pods', which the Deployment's rollout awaits
        // (and which a service waiting for its first build does not have).
        const annotations = { [FIRST_BUILD_ANNOTATION]: "true" };
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

        const secretValues = args.secrets ?? {};
        const secretNames = Object.keys(secretValues).sort();
        const secretsAs = args.secretsAs ?? "env";
        const secretsName = `${svc}-secrets`;
        const secret =
            secretNames.length > 0
                ? new k8s.core.v1.Secret(
                      `${name}-secrets`,
                      {
                          metadata: meta(secretsName),
                          type: "Opaque",
                          stringData: Object.fromEntries(secretNames.map((k) => [k, pulumi.secret(secretValues[k])])),
                      },
                      child,
                  )
                : undefined;
        const secretEnv =
            secret && secretsAs !== "files" ? secretNames.map((k) => ({ name: k, valueFrom: { secretKeyRef: { name: secretsName, key: k } } })) : [];
        const secretFiles = secret !== undefined && secretsAs !== "env";

        const probe = args.healthPath ? { httpGet: { path: args.healthPath, port: "http" } } : { tcpSocket: { port: "http" } };
        const maxReplicas = args.autoscaling?.max ?? args.replicas;
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
                metadata: {
                    ...meta(svc),
                    annotations: {
                        ...annotations,
                        // What the stack declares wins a server-side apply conflict: the count an autoscaler
                        // wrote, once autoscaling is turned off (the API refuses that apply otherwise). CI's
                        // image and an autoscaler's count are left out of the apply (ignoreChanges), so they
                        // never conflict.
                        [PATCH_FORCE_ANNOTATION]: "true",
                    },
                },
                spec: {
                    // With an autoscaler the stack never writes the count (see ignoreChanges below).
                    ...(args.autoscaling === undefined && { replicas: args.replicas }),
                    selector: { matchLabels: { app: svc } },
                    // A new pod must be ready before an old one goes: no unavailable pod in a rollout.
                    strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
                    template: {
                        metadata: {
                            labels,
                            annotations: {
                                // A config change rolls the pods, which read the file only at start.
                                "hobby-platform/config-sha256": createHash("sha256").update(configYaml).digest("hex"),
                                // So does a change of a secret: the Secret's version, which a value cannot be read from
                                // (a hash of it could be, for a short one).
                                ...(secret && { [SECRETS_VERSION_ANNOTATION]: secret.metadata.resourceVersion }),
                            },
                        },
                        spec: {
                            automountServiceAccountToken: false,
                            imagePullSecrets: [{ name: pullSecretName }],
                            securityContext: { ...RESTRICTED_POD, runAsUser: 65532, runAsGroup: 65532, ...(secretFiles && { fsGroup: 65532 }) },
                            ...(args.preferWorkers && { affinity: PREFER_AGENTS }),
                            ...(maxReplicas >= 2 && { topologySpreadConstraints: [spreadOverNodes(svc)] }),
                            tolerations: LOST_NODE_TOLERATIONS,
                            terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
                            containers: [
                                {
                                    name: svc,
                                    image: args.image,
                                    imagePullPolicy: "Always",
                                    ports: [{ name: "http", containerPort: args.port, protocol: "TCP" }],
                                    env: [
                                        ...Object.entries(envVars).map(([k, value]) => ({ name: k, value })),
                                        { name: "AGENT", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                                        ...secretEnv,
                                    ],
                                    volumeMounts: [
                                        { name: "configs", mountPath: "/configs", readOnly: true },
                                        ...(secretFiles ? [{ name: "secrets", mountPath: SECRETS_DIR, readOnly: true }] : []),
                                    ],
                                    // Liveness and readiness start once the startup probe passed: a slow start
                                    // (up to 5 minutes) is not killed by liveness.
                                    startupProbe: { ...probe, periodSeconds: 5, failureThreshold: 60 },
                                    readinessProbe: { ...probe, periodSeconds: 5, failureThreshold: 3 },
                                    livenessProbe: { ...probe, periodSeconds: 10, failureThreshold: 3 },
                                    // The endpoint removal reaches Traefik and kube-proxy while the pod still
                                    // serves; TERM comes after. The kubelet's own sleep: no shell in the image.
                                    lifecycle: { preStop: { sleep: { seconds: PRE_STOP_SECONDS } } },
                                    resources: args.resources,
                                    securityContext: HARDENED_CONTAINER,
                                },
                            ],
                            // By name, known at preview: an unknown name would make the provider replace the
                            // Deployment (and a replacement ignores ignoreChanges, so CI's image).
                            volumes: [
                                { name: "configs", configMap: { name: svc } },
                                // Readable by the service's group only (fsGroup), not by every user.
                                ...(secretFiles ? [{ name: "secrets", secret: { secretName: secretsName, defaultMode: 0o440 } }] : []),
                            ],
                        },
                    },
                },
            },
            {
                ...child,
                dependsOn: [pullSecret, configMap, ...(secret ? [secret] : [])],
                ignoreChanges: [
                    // CI rolls out new tags with `kubectl set image`; the stack only sets the first image.
                    IMAGE_PATH,
                    // Set on creation only; CI's first deploy removes it (see FIRST_BUILD_ANNOTATION). An API
                    // server with no kubelets (skipAwait) keeps it on every `up`.
                    ...(args.skipAwait ? [] : [FIRST_BUILD_PATH]),
                    // The autoscaler's: the apply leaves it out once the autoscaler owns it, and repeats
                    // the live value while the stack still co-owns it, so it never resets the count.
                    ...(args.autoscaling ? ["spec.replicas"] : []),
                ],
            },
        );

        // A drain evicts one pod at a time: the next eviction waits until a replacement is ready.
        // With one replica it lets the drain evict the pod (a short outage) rather than hang the upgrade.
        new k8s.policy.v1.PodDisruptionBudget(
            `${name}-pdb`,
            {
                metadata: meta(svc),
                spec: {
                    maxUnavailable: 1,
                    selector: { matchLabels: { app: svc } },
                    // A pod that is not ready serves nothing: evicting it never blocks a drain.
                    unhealthyPodEvictionPolicy: "AlwaysAllow",
                },
            },
            child,
        );

        if (args.autoscaling) {
            new k8s.autoscaling.v2.HorizontalPodAutoscaler(
                `${name}-hpa`,
                {
                    metadata: meta(svc),
                    spec: {
                        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: deployment.metadata.name },
                        minReplicas: args.autoscaling.min,
                        maxReplicas: args.autoscaling.max,
                        metrics: [
                            {
                                type: "Resource",
                                resource: { name: "cpu", target: { type: "Utilization", averageUtilization: args.autoscaling.cpu } },
                            },
                        ],
                    },
                },
                child,
            );
        }

        // Only the ingress controller reaches the service from outside its project (the project's
        // own policies deny the rest and admit its namespace).
        new k8s.networking.v1.NetworkPolicy(
            `${name}-ingress-policy`,
            {
                metadata: meta(svc),
                spec: {
                    podSelector: { matchLabels: { app: svc } },
                    policyTypes: ["Ingress"],
                    ingress: [{ from: [ingressPeer(args.ingressController ?? K3S_TRAEFIK)], ports: [{ protocol: "TCP", port: args.port }] }],
                },
            },
            child,
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
        this.awaitingFirstBuild = deployment.metadata.annotations.apply((a) => !args.skipAwait && (a ?? {})[FIRST_BUILD_ANNOTATION] === "true");
        this.awaitingFirstBuild.apply((waiting) => {
            if (waiting)
                pulumi.log.info(
                    `${svc} waits for its first build: its pipeline's deploy job (the CI/CD variables are written) rolls it out, and from then on \`pulumi up\` awaits its changes`,
                    this,
                );
        });
        this.registerOutputs({
            awaitingFirstBuild: this.awaitingFirstBuild,
            namespace: this.namespace,
            deployerServiceAccount: this.deployerServiceAccount,
            deployerToken: this.deployerToken,
            deploymentName: this.deploymentName,
            url: this.url,
        });
    }
}

/**
 * Pods spread over nodes, at most one more on any node than on another, counting only nodes the
 * pod may run on: a cordoned (draining) or lost node carries a NoSchedule taint
 * (`node.kubernetes.io/unschedulable`, `not-ready`, `unreachable`) that the pods do not tolerate,
 * and with `nodeTaintsPolicy: Honor` it leaves the count. With the scheduler's default (`Ignore`)
 * it would stay in it with no pod, and `DoNotSchedule` would keep a replacement pod Pending on
 * the nodes that are left. `pod-template-hash`: a rollout's new pods are spread among themselves.
 */
export function spreadOverNodes(service: string) {
    return {
        maxSkew: 1,
        topologyKey: "kubernetes.io/hostname",
        whenUnsatisfiable: "DoNotSchedule",
        labelSelector: { matchLabels: { app: service } },
        matchLabelKeys: ["pod-template-hash"],
        nodeAffinityPolicy: "Honor",
        nodeTaintsPolicy: "Honor",
    };
}
