// The shape of the stack's configuration: every key, its type, its default, and a message with
// an example for each way a value can be wrong. Rules across keys are in rules.ts.
import { z } from "zod";
import { MIN_DNS_TTL_SECONDS } from "../lib/clusterFacts";
import { KAS_ADDRESS, LABEL_KEY, LABEL_VALUE, REGISTRY_HOST, TAINT } from "../lib/formats";
import { parseIpv4Cidr } from "../lib/net";

export const PROJECT = "hobby-platform";

/** The k3s release a cluster runs unless `cluster.k3sVersion` says otherwise. */
export const DEFAULT_K3S_VERSION = "v1.33.5+k3s1";

/** The API's fixed name unless `cluster.apiHost` says otherwise. */
export const defaultApiHost = (environment: string, domain: string) => `k8s.${environment}.${domain}`;

export const ENVIRONMENTS = ["dev", "stg", "prod", "local"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** A config key as `pulumi config` names it, e.g. `hobby-platform:cluster.nodeCount`. */
export const keyOf = (path: PropertyKey[]) => `${PROJECT}:` + path.map((p, i) => (i === 0 ? String(p) : `.${String(p)}`)).join("");

/** A namespace's name (and a container's) is a DNS-1123 label (k8s.io/apimachinery validation). */
export const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A Service's name is a DNS-1035 label: it starts with a letter (k8s.io/apimachinery validation). */
export const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** A path component of an image name (github.com/distribution/reference, regexp.go). */
export const OCI_PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/;
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/;
export const ENV_VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const K8S_QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/;
export const DATE = /^\d{4}-\d{2}-\d{2}$/;

export const CLUSTER_ACCESS_MODES = ["token", "agent"] as const;
export const SECRETS_AS = ["env", "files", "both"] as const;

/** A string matching `pattern`; the same message (with an example) for a wrong type or shape. */
const matching = (pattern: RegExp, error: string) => z.string({ error }).regex(pattern, { error });

const dnsLabel = (example: string) =>
    matching(
        DNS_1123_LABEL,
        `must be a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters), e.g. "${example}"`,
    ).max(63, { error: `must be at most 63 characters, e.g. "${example}"` });

const dns1035Label = (example: string) =>
    matching(
        DNS_1035_LABEL,
        `must be a DNS-1035 label (lower-case letters, digits and '-', starting with a letter and ending with a letter or digit, at most 63 characters: it names the Service), e.g. "${example}"`,
    ).max(63, { error: `must be at most 63 characters, e.g. "${example}"` });

const dnsName = (example: string) => matching(DNS_NAME, `must be a lower-case DNS name, e.g. "${example}"`);

const quantity = (example: string) => matching(K8S_QUANTITY, `must be a Kubernetes quantity, e.g. "${example}"`);

export const urlPath = (example: string) => matching(/^\/[A-Za-z0-9._~/-]*$/, `must be an absolute URL path, e.g. "${example}"`);

/** A GitLab project's full path, as GitLab and the registry's image names accept it. */
const gitlabProjectPath = (example: string) =>
    z.string({ error: `must be a GitLab project path "group/project", e.g. "${example}"` }).check((ctx) => {
        const problem = gitlabPathProblem(ctx.value);
        if (problem)
            ctx.issues.push({
                code: "custom",
                input: ctx.value,
                message: `${problem}; it must be a GitLab project path "group/project" in lower case, e.g. "${example}"`,
            });
    });

export const resourcesSchema = z.strictObject({
    requests: z.strictObject({ cpu: quantity("50m").default("50m"), memory: quantity("64Mi").default("64Mi") }).prefault({}),
    limits: z.strictObject({ cpu: quantity("500m").default("500m"), memory: quantity("128Mi").default("128Mi") }).prefault({}),
});

const serviceSchema = z.strictObject({
    /** GitLab project path, e.g. `the-project/example-microservice`; default `<project>/<service>`. */
    gitlabProject: gitlabProjectPath("the-project/example-microservice").optional(),
    replicas: z
        .int({ error: "must be an integer, e.g. 2" })
        .min(1, { error: "must be at least 1, e.g. 2" })
        .max(50, { error: "must be at most 50, e.g. 2" })
        .default(2),
    port: z
        .int({ error: "must be an integer port, e.g. 8080" })
        .min(1024, { error: "must be 1024..65535 (the container runs as non-root), e.g. 8080" })
        .max(65535, { error: "must be 1024..65535, e.g. 8080" })
        .default(8080),
    basePath: urlPath("/example/api/endpoint"),
    host: dnsName("api.the-project.dev.example.com").optional(),
    /** HTTP path for readiness and liveness probes; without it the probes check the TCP port. */
    healthPath: urlPath("/healthz").optional(),
    config: z.record(z.string(), z.unknown(), { error: `must be an object (rendered to <env>_config.yml), e.g. { something: "value" }` }).default({}),
    env: z
        .record(
            matching(ENV_VAR_NAME, `must be an environment variable name, e.g. "LOG_LEVEL"`),
            z.union([z.string(), z.number(), z.boolean()], { error: `must be a string, number or boolean, e.g. "true"` }),
        )
        .default({}),
    resources: resourcesSchema.prefault({}),
    /**
     * Values set with `pulumi config set --secret --path 'projects.<p>.services.<s>.secrets.<NAME>'`:
     * a Kubernetes Secret, given to the container as `NAME` and/or the file `/secrets/NAME`.
     */
    secrets: z
        .record(
            matching(ENV_VAR_NAME, `must be an environment variable name (also the file's name under /secrets), e.g. "DB_PASSWORD"`),
            z.string({ error: "must be a string, set with `pulumi config set --secret --path`" }).min(1, { error: "must not be empty" }),
        )
        .default({}),
    /** How the container gets its secrets: environment variables, files under `/secrets`, or both. */
    secretsAs: z.enum(SECRETS_AS, { error: `must be "env", "files" or "both", e.g. "env"` }).default("env"),
    /** A HorizontalPodAutoscaler on CPU (k3s's metrics-server) instead of a fixed `replicas`. */
    autoscaling: z
        .strictObject({
            min: z.int({ error: "must be an integer, e.g. 2" }).min(1, { error: "must be at least 1, e.g. 2" }).default(2),
            max: z
                .int({ error: "must be an integer, e.g. 4" })
                .min(1, { error: "must be at least 1, e.g. 4" })
                .max(50, { error: "must be at most 50, e.g. 4" }),
            /** Target average CPU use, in percent of the request. */
            cpu: z
                .int({ error: "must be a percentage of the CPU request, e.g. 70" })
                .min(10, { error: "must be at least 10 (percent of the CPU request), e.g. 70" })
                .max(500, { error: "must be at most 500 (percent of the CPU request), e.g. 70" })
                .default(70),
        })
        .optional(),
    image: matching(
        /^[a-z0-9.-]+(:[0-9]+)?\/[a-z0-9._/-]+(:[A-Za-z0-9._-]+|@sha256:[a-f0-9]{64})?$/,
        `must be an image reference, e.g. "registry.example.com/the-project/example-microservice:dev-latest"`,
    ).optional(),
});

/** A project's ResourceQuota; what is not set is sized to its services and the cluster (config/capacity.ts). */
const quotaSchema = z.strictObject({
    requests: z.strictObject({ cpu: quantity("2").optional(), memory: quantity("2Gi").optional() }).prefault({}),
    limits: z.strictObject({ cpu: quantity("4").optional(), memory: quantity("4Gi").optional() }).prefault({}),
    pods: z.int({ error: "must be an integer, e.g. 30" }).min(1, { error: "must be at least 1, e.g. 30" }).optional(),
});

const projectSchema = z.strictObject({
    client: dnsLabel("acme-corp").optional(),
    quota: quotaSchema.prefault({}),
    services: z
        .record(dns1035Label("example-microservice"), serviceSchema, {
            error: `must be a map of service name to service, e.g. { example-microservice: { basePath: "/example/api/endpoint" } }`,
        })
        .refine((s) => Object.keys(s).length > 0, { error: 'must define at least one service, e.g. { example-microservice: { basePath: "/api" } }' }),
});

/** A Vultr plan id, e.g. `vc2-1c-2gb`. */
const planId = z.string().regex(/^vc2-\d+c-\d+gb$|^vhf-\d+c-\d+gb$|^vhp-\d+c-\d+gb(-amd|-intel)?$/, {
    error: `must be a Vultr plan id, e.g. "vc2-1c-2gb"`,
});

/** A pool of k3s agents: nodes for workloads only, joining the servers with the agent token. */
const workerPoolSchema = z.strictObject({
    /** Names the pool's nodes `<hostnamePrefix>-<name>-1..count`. */
    name: dnsLabel("workers"),
    plan: planId.default("vc2-1c-2gb"),
    /** Agents in the pool; 0 keeps the pool's settings with no node. */
    count: z
        .int({ error: "must be an integer, e.g. 2" })
        .min(0, { error: "must be at least 0, e.g. 2" })
        .max(20, { error: "must be at most 20 (a larger pool wants its own plan), e.g. 2" })
        .default(1),
    /** Node labels the kubelet registers (`node-label`). */
    labels: z
        .record(
            matching(LABEL_KEY, `must be a label key ("prefix/name" or "name"), e.g. "hobby-platform/pool"`),
            matching(LABEL_VALUE, `must be a label value (at most 63 letters, digits, '-', '_' or '.'), e.g. "batch"`),
        )
        .default({}),
    /** Node taints the kubelet registers (`node-taint`), `key[=value]:Effect`. */
    taints: z
        .array(
            matching(TAINT, `must be a taint "key[=value]:Effect" with NoSchedule, PreferNoSchedule or NoExecute, e.g. "dedicated=batch:NoSchedule"`),
        )
        .default([]),
});

export const clusterSchema = z.strictObject({
    enabled: z.boolean({ error: "must be true or false, e.g. true" }).default(true),
    region: z
        .string()
        .regex(/^[a-z]{3,4}$/, { error: `must be a Vultr region id, e.g. "ams"` })
        .default("ams"),
    plan: planId.default("vc2-1c-2gb"),
    nodeCount: z
        .int({ error: "must be an integer, e.g. 3" })
        .min(1, { error: "must be 1 (a cheap dev) or an odd number up to 7, e.g. 3" })
        .max(7, { error: "must be at most 7, e.g. 3" })
        .refine((n) => n % 2 === 1, {
            error: "must be odd: etcd needs a majority, and an even count adds cost without tolerating one more failure; e.g. 3",
        })
        .default(3),
    k3sVersion: z
        .string()
        .regex(/^v\d+\.\d+\.\d+\+k3s\d+$/, { error: `must be a k3s release, e.g. "${DEFAULT_K3S_VERSION}"` })
        .default(DEFAULT_K3S_VERSION),
    /** Vultr OS id: 2136 is Debian 12 x64. */
    osId: z.int({ error: "must be a Vultr OS id, e.g. 2136" }).positive({ error: "must be a Vultr OS id, e.g. 2136" }).default(2136),
    /** Public IPv6 addresses on the VMs, for outbound traffic only: the cluster serves IPv4 alone. */
    enableIpv6: z.boolean({ error: "must be true or false, e.g. false" }).default(false),
    sshPublicKeys: z
        .array(
            z.string().regex(/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+( .*)?$/, {
                error: `must be an OpenSSH public key, e.g. "ssh-ed25519 AAAAC3... ops@example.com"`,
            }),
        )
        .default([]),
    /** IPv4 only: the API server and the kubeconfig use the nodes' IPv4 addresses. */
    adminCidrs: z
        .array(
            z.string().refine((c) => parseIpv4Cidr(c) !== undefined, {
                error: `must be an IPv4 CIDR (the cluster is reached over IPv4 only), e.g. "203.0.113.7/32"`,
            }),
        )
        .default([]),
    /** Private network of the VPC. */
    vpcCidr: z
        .string()
        .refine((c) => parseIpv4Cidr(c) !== undefined, { error: `must be an IPv4 CIDR, e.g. "10.99.0.0/24"` })
        .default("10.99.0.0/24"),
    /** Node hostnames are `<hostnamePrefix>-1`, `-2`, ...; default `hobby-<environment>`. */
    hostnamePrefix: dnsLabel("hobby-dev").max(61, { error: `must be at most 61 characters (a "-N" suffix follows), e.g. "hobby-dev"` }).optional(),
    /** Monthly USD price per plan, overriding the built-in table. */
    planPrices: z
        .record(z.string(), z.number({ error: "must be a price in USD, e.g. 10" }).nonnegative({ error: "must not be negative, e.g. 10" }))
        .default({}),
    /** Scheduled etcd snapshots, uploaded to Vultr Object Storage (always on for the stack's own cluster). */
    etcdSnapshots: z
        .strictObject({
            /** Cron schedule (five fields, the servers' time). */
            schedule: matching(/^(\S+\s+){4}\S+$/, `must be a cron schedule of five fields, e.g. "0 */6 * * *"`).default("0 */6 * * *"),
            /** Snapshots kept, on each server and in the bucket. */
            retention: z
                .int({ error: "must be an integer, e.g. 28" })
                .min(1, { error: "must be at least 1, e.g. 28" })
                .max(500, { error: "must be at most 500, e.g. 28" })
                .default(28),
            /** Vultr Object Storage cluster id; default: the one Vultr lists for `region`. */
            objectStorageClusterId: z
                .int({ error: "must be a Vultr Object Storage cluster id, e.g. 2" })
                .positive({ error: "must be a Vultr Object Storage cluster id, e.g. 2" })
                .optional(),
        })
        .prefault({}),
    /** The API's fixed name (A records of every server, in `dns.zone`); default `k8s.<environment>.<domain>`. */
    apiHost: dnsName("k8s.dev.example.com").optional(),
    /** Pools of k3s agents beside the servers; none by default. */
    workers: z.array(workerPoolSchema, { error: `must be a list of pools, e.g. [{ name: "workers", count: 2 }]` }).default([]),
    /** kubeconfig context to use when `enabled` is false; default: the current context. */
    kubeContext: z.string().optional(),
    /**
     * Do not await rollouts, Service endpoints or Ingress addresses: only for an API server with
     * no kubelets (the engine tests' loopback cluster), where no pod ever runs.
     */
    skipAwait: z.boolean({ error: "must be true or false, e.g. false" }).default(false),
});

export const gitlabSchema = z.strictObject({
    enabled: z.boolean({ error: "must be true or false, e.g. true" }).default(true),
    domain: dnsName("gitlab.example.com").optional(),
    registry: matching(REGISTRY_HOST, `must be a registry host, e.g. "registry.example.com"`).optional(),
    /** Expiry of the deploy tokens; changing it rotates them on the next `pulumi up`. */
    deployTokenExpiresAt: matching(DATE, `must be a date YYYY-MM-DD, e.g. "2027-06-30"`).optional(),
    /** Registry user for the pull Secrets when `enabled` is false (password: secret `registryPassword`). */
    registryUsername: z.string().min(1).optional(),
    /**
     * How service pipelines reach the cluster: `token` (CI/CD variables with the API server, its CA
     * and the deployer's token) or `agent` (GitLab's agent for Kubernetes, `ci_access`).
     */
    clusterAccess: z.enum(CLUSTER_ACCESS_MODES, { error: `must be "token" or "agent", e.g. "agent"` }).default("token"),
    /** The agent for Kubernetes, when `clusterAccess` is `agent`. */
    agent: z
        .strictObject({
            /** Path of the project that holds the agent's configuration, e.g. `the-project/cluster-agents`. */
            project: gitlabProjectPath("the-project/cluster-agents").optional(),
            /** The agent's name (its config is `.gitlab/agents/<name>/config.yaml`); default `hobby-<environment>`. */
            name: dnsLabel("hobby-dev").optional(),
            /** Branch of the agent project the agent reads its configuration from (its default branch). */
            branch: z.string({ error: `must be a branch name, e.g. "main"` }).min(1, { error: `must be a branch name, e.g. "main"` }).default("main"),
            /** Address agentk dials: GitLab's KAS, over WebSocket or gRPC with TLS. */
            kasAddress: matching(KAS_ADDRESS, `must be the KAS address, wss:// or grpcs:// (TLS), e.g. "wss://kas.gitlab.example.com"`).optional(),
        })
        .prefault({}),
});

export const DNS_PROVIDERS = ["none", "vultr"] as const;

export const dnsSchema = z.strictObject({
    /** Who keeps the service hosts' A records: `none` (you, by hand) or `vultr` (the stack, in Vultr DNS). */
    provider: z.enum(DNS_PROVIDERS, { error: `must be "none" or "vultr", e.g. "vultr"` }).default("none"),
    /** The Vultr DNS zone holding the API name (and the service hosts with provider vultr); default `domain`. */
    zone: dnsName("example.com").optional(),
    /** TTL in seconds of the service hosts' records. */
    ttl: z
        .int({ error: "must be an integer number of seconds, e.g. 300" })
        .min(MIN_DNS_TTL_SECONDS, { error: `must be at least ${MIN_DNS_TTL_SECONDS} s, e.g. 300` })
        .max(86_400, { error: "must be at most 86400 s (a day), e.g. 300" })
        .default(300),
});

const acmeSchema = z.strictObject({
    email: z.email({ error: `must be an e-mail address for Let's Encrypt notices, e.g. "ops@example.com"` }).optional(),
    /** Use Let's Encrypt's staging CA (untrusted certificates, generous rate limits). */
    staging: z.boolean({ error: "must be true or false, e.g. false" }).optional(),
});

const ingressSchema = z.strictObject({
    /** Install/configure the ingress controller; false: assume one is present (e.g. `local`). */
    install: z.boolean({ error: "must be true or false, e.g. true" }).optional(),
    /** IngressClass name services use when `install` is false. */
    className: dnsLabel("traefik").optional(),
    /** The controller's pods, which the projects' NetworkPolicies admit, when `install` is false; default k3s's Traefik. */
    controller: z
        .strictObject({
            namespace: dnsLabel("ingress-nginx"),
            podLabels: z
                .record(
                    matching(LABEL_KEY, `must be a label key, e.g. "app.kubernetes.io/name"`),
                    matching(LABEL_VALUE, `must be a label value, e.g. "ingress-nginx"`),
                )
                .refine((l) => Object.keys(l).length > 0, {
                    error: 'must name at least one label, e.g. { "app.kubernetes.io/name": "ingress-nginx" }',
                }),
        })
        .optional(),
});

const certManagerSchema = z.strictObject({
    /** Install cert-manager and its issuers; false: assume present (e.g. `local`). */
    install: z.boolean({ error: "must be true or false, e.g. true" }).optional(),
    /** ClusterIssuer services use when `install` is false. */
    issuer: dnsLabel("letsencrypt-prod").optional(),
});

export const rawSchema = z.strictObject({
    environment: z.enum(ENVIRONMENTS, { error: `must be one of ${ENVIRONMENTS.join(", ")}, e.g. "dev"` }),
    domain: dnsName("example.com"),
    client: dnsLabel("internal").default("internal"),
    cluster: clusterSchema.prefault({}),
    gitlab: gitlabSchema.prefault({}),
    dns: dnsSchema.prefault({}),
    acme: acmeSchema.prefault({}),
    ingress: ingressSchema.prefault({}),
    certManager: certManagerSchema.prefault({}),
    projects: z.record(dnsLabel("the-project"), projectSchema, {
        error: `must be a map of project (namespace) to project, e.g. { the-project: { services: {...} } }`,
    }),
});

export type RawConfig = z.infer<typeof rawSchema>;

/**
 * Why GitLab or an image reference would refuse a project path, or undefined: each segment is a
 * path component of the OCI distribution grammar (lower-case alphanumerics joined by one '.',
 * '_', '__' or dashes), which GitLab's own path rules also accept, and does not end in ".git"
 * or ".atom", which GitLab refuses.
 */
export function gitlabPathProblem(path: string): string | undefined {
    const segments = path.split("/");
    if (segments.length < 2) return 'is not a path "group/project"';
    const bad = segments.find((seg) => !OCI_PATH_COMPONENT.test(seg));
    if (bad !== undefined)
        return `has the segment "${bad}", which is not lower-case letters and digits joined by one '.', '_', '__' or dashes (the registry's image path)`;
    const suffix = segments.find((seg) => /\.(git|atom)$/.test(seg));
    if (suffix !== undefined) return `has the segment "${suffix}", and GitLab refuses a path ending in ".git" or ".atom"`;
    if (path.length > 255) return "is over 255 characters, the longest image repository name";
    return undefined;
}
