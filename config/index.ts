// The stack's whole configuration, typed and validated before any resource is declared.
// Every problem is reported at once, one line each, naming the config key, what is wrong and
// an example of a good value, so that a bad stack file costs one run, not one run per typo.
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { z } from "zod";
import { CERT_MANAGER_NAMESPACE } from "../components/platform/certManager";
import { clusterSpecProblems, parseIpv4Cidr } from "../components/lib/clusterFacts";
import { TIERS as GITLAB_TIERS } from "../components/gitlab/project";
import { tlsSecretName } from "../components/platform/hostCertificate";

export const PROJECT = "hobby-platform";

/** The k3s release a cluster runs unless `cluster.k3sVersion` says otherwise. */
export const DEFAULT_K3S_VERSION = "v1.33.5+k3s1";

export const ENVIRONMENTS = ["dev", "stg", "prod", "local"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** Plain config keys (as in `pulumi config set <key>`), validated by the schema below. */
const OBJECT_KEYS = ["cluster", "gitlab", "acme", "ingress", "certManager", "projects"] as const;
const STRING_KEYS = ["environment", "domain", "client"] as const;

/** Secret config keys (`pulumi config set --secret <key>`): never read as plain values. */
export const SECRET_KEYS = {
    /** GitLab API token the provider uses (scope `api`, owner a maintainer of the service projects). */
    gitlabApiToken: "gitlabApiToken",
    /** Read token for private Go modules, written to each service project as `GITLAB_TOKEN`. */
    goModulesToken: "goModulesToken",
    /** Registry password for the pull Secrets when GitLab is not managed by the stack (`local`). */
    registryPassword: "registryPassword",
} as const;
export type SecretKey = keyof typeof SECRET_KEYS;

/** A namespace's name (and a container's) is a DNS-1123 label (k8s.io/apimachinery validation). */
export const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A Service's name is a DNS-1035 label: it starts with a letter (k8s.io/apimachinery validation). */
export const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** A path component of an image name (github.com/distribution/reference, regexp.go). */
export const OCI_PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/;
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/;
const ENV_VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const K8S_QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;


/** A string matching `pattern`; the same message (with an example) for a wrong type or shape. */
const matching = (pattern: RegExp, error: string) => z.string({ error }).regex(pattern, { error });

const dnsLabel = (example: string) =>
    matching(DNS_1123_LABEL, `must be a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters), e.g. "${example}"`)
        .max(63, { error: `must be at most 63 characters, e.g. "${example}"` });

const dns1035Label = (example: string) =>
    matching(DNS_1035_LABEL, `must be a DNS-1035 label (lower-case letters, digits and '-', starting with a letter and ending with a letter or digit, at most 63 characters: it names the Service), e.g. "${example}"`)
        .max(63, { error: `must be at most 63 characters, e.g. "${example}"` });

const dnsName = (example: string) => matching(DNS_NAME, `must be a lower-case DNS name, e.g. "${example}"`);

const quantity = (example: string) => matching(K8S_QUANTITY, `must be a Kubernetes quantity, e.g. "${example}"`);

const urlPath = (example: string) => matching(/^\/[A-Za-z0-9._~\/-]*$/, `must be an absolute URL path, e.g. "${example}"`);

const resourcesSchema = z.strictObject({
    requests: z.strictObject({ cpu: quantity("50m").default("50m"), memory: quantity("64Mi").default("64Mi") }).prefault({}),
    limits: z.strictObject({ cpu: quantity("500m").default("500m"), memory: quantity("128Mi").default("128Mi") }).prefault({}),
});

const serviceSchema = z.strictObject({
    /** GitLab project path, e.g. `the-project/example-microservice`; default `<project>/<service>`. */
    gitlabProject: z.string({ error: `must be a GitLab project path "group/project", e.g. "the-project/example-microservice"` })
        .check((ctx) => {
            const problem = gitlabPathProblem(ctx.value);
            if (problem) ctx.issues.push({ code: "custom", input: ctx.value, message: `${problem}; it must be a GitLab project path "group/project" in lower case, e.g. "the-project/example-microservice"` });
        }).optional(),
    replicas: z.int({ error: "must be an integer, e.g. 2" }).min(1, { error: "must be at least 1, e.g. 2" }).max(50, { error: "must be at most 50, e.g. 2" }).default(2),
    port: z.int({ error: "must be an integer port, e.g. 8080" }).min(1024, { error: "must be 1024..65535 (the container runs as non-root), e.g. 8080" }).max(65535, { error: "must be 1024..65535, e.g. 8080" }).default(8080),
    basePath: urlPath("/example/api/endpoint"),
    host: dnsName("api.the-project.dev.example.com").optional(),
    /** HTTP path for readiness and liveness probes; without it the probes check the TCP port. */
    healthPath: urlPath("/healthz").optional(),
    config: z.record(z.string(), z.unknown(), { error: `must be an object (rendered to <env>_config.yml), e.g. { something: "value" }` }).default({}),
    env: z.record(
        matching(ENV_VAR_NAME, `must be an environment variable name, e.g. "LOG_LEVEL"`),
        z.union([z.string(), z.number(), z.boolean()], { error: `must be a string, number or boolean, e.g. "true"` }),
    ).default({}),
    resources: resourcesSchema.prefault({}),
    image: matching(/^[a-z0-9.-]+(:[0-9]+)?\/[a-z0-9._\/-]+(:[A-Za-z0-9._-]+|@sha256:[a-f0-9]{64})?$/,
        `must be an image reference, e.g. "registry.example.com/the-project/example-microservice:dev-latest"`).optional(),
});

const projectSchema = z.strictObject({
    client: dnsLabel("acme-corp").optional(),
    services: z.record(dns1035Label("example-microservice"), serviceSchema, {
        error: `must be a map of service name to service, e.g. { example-microservice: { basePath: "/example/api/endpoint" } }`,
    }).refine((s) => Object.keys(s).length > 0, { error: "must define at least one service, e.g. { example-microservice: { basePath: \"/api\" } }" }),
});

const clusterSchema = z.strictObject({
    enabled: z.boolean({ error: "must be true or false, e.g. true" }).default(true),
    region: z.string().regex(/^[a-z]{3,4}$/, { error: `must be a Vultr region id, e.g. "ams"` }).default("ams"),
    plan: z.string().regex(/^vc2-\d+c-\d+gb$|^vhf-\d+c-\d+gb$|^vhp-\d+c-\d+gb(-amd|-intel)?$/, {
        error: `must be a Vultr plan id, e.g. "vc2-1c-2gb"`,
    }).default("vc2-1c-2gb"),
    nodeCount: z.int({ error: "must be an integer, e.g. 3" }).min(1, { error: "must be 1 (a cheap dev) or an odd number up to 7, e.g. 3" }).max(7, { error: "must be at most 7, e.g. 3" })
        .refine((n) => n % 2 === 1, { error: "must be odd: etcd needs a majority, and an even count adds cost without tolerating one more failure; e.g. 3" })
        .default(3),
    k3sVersion: z.string().regex(/^v\d+\.\d+\.\d+\+k3s\d+$/, { error: `must be a k3s release, e.g. "${DEFAULT_K3S_VERSION}"` }).default(DEFAULT_K3S_VERSION),
    /** Vultr OS id: 2136 is Debian 12 x64. */
    osId: z.int({ error: "must be a Vultr OS id, e.g. 2136" }).positive({ error: "must be a Vultr OS id, e.g. 2136" }).default(2136),
    /** Public IPv6 addresses on the VMs, for outbound traffic only: the cluster serves IPv4 alone. */
    enableIpv6: z.boolean({ error: "must be true or false, e.g. false" }).default(false),
    sshPublicKeys: z.array(z.string().regex(/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) [A-Za-z0-9+\/=]+( .*)?$/, {
        error: `must be an OpenSSH public key, e.g. "ssh-ed25519 AAAAC3... ops@example.com"`,
    })).default([]),
    /** IPv4 only: the API server and the kubeconfig use the nodes' IPv4 addresses. */
    adminCidrs: z.array(z.string().refine((c) => parseIpv4Cidr(c) !== undefined, {
        error: `must be an IPv4 CIDR (the cluster is reached over IPv4 only), e.g. "203.0.113.7/32"`,
    })).default([]),
    /** Private network of the VPC. */
    vpcCidr: z.string().refine((c) => parseIpv4Cidr(c) !== undefined, { error: `must be an IPv4 CIDR, e.g. "10.99.0.0/24"` }).default("10.99.0.0/24"),
    /** Node hostnames are `<hostnamePrefix>-1`, `-2`, ...; default `hobby-<environment>`. */
    hostnamePrefix: dnsLabel("hobby-dev").max(61, { error: `must be at most 61 characters (a "-N" suffix follows), e.g. "hobby-dev"` }).optional(),
    /** Monthly USD price per plan, overriding the built-in table. */
    planPrices: z.record(z.string(), z.number({ error: "must be a price in USD, e.g. 10" }).nonnegative({ error: "must not be negative, e.g. 10" })).default({}),
    /** kubeconfig context to use when `enabled` is false; default: the current context. */
    kubeContext: z.string().optional(),
    /**
     * Do not await rollouts, Service endpoints or Ingress addresses: only for an API server with
     * no kubelets (the engine tests' loopback cluster), where no pod ever runs.
     */
    skipAwait: z.boolean({ error: "must be true or false, e.g. false" }).default(false),
});

const gitlabSchema = z.strictObject({
    enabled: z.boolean({ error: "must be true or false, e.g. true" }).default(true),
    domain: dnsName("gitlab.example.com").optional(),
    registry: matching(/^[a-z0-9.-]+(:[0-9]+)?$/, `must be a registry host, e.g. "registry.example.com"`).optional(),
    /** Expiry of the deploy tokens; changing it rotates them on the next `pulumi up`. */
    deployTokenExpiresAt: matching(DATE, `must be a date YYYY-MM-DD, e.g. "2027-06-30"`).optional(),
    /** Registry user for the pull Secrets when `enabled` is false (password: secret `registryPassword`). */
    registryUsername: z.string().min(1).optional(),
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
});

const certManagerSchema = z.strictObject({
    /** Install cert-manager and its issuers; false: assume present (e.g. `local`). */
    install: z.boolean({ error: "must be true or false, e.g. true" }).optional(),
    /** ClusterIssuer services use when `install` is false. */
    issuer: dnsLabel("letsencrypt-prod").optional(),
});

const rawSchema = z.strictObject({
    environment: z.enum(ENVIRONMENTS, { error: `must be one of ${ENVIRONMENTS.join(", ")}, e.g. "dev"` }),
    domain: dnsName("example.com"),
    client: dnsLabel("internal").default("internal"),
    cluster: clusterSchema.prefault({}),
    gitlab: gitlabSchema.prefault({}),
    acme: acmeSchema.prefault({}),
    ingress: ingressSchema.prefault({}),
    certManager: certManagerSchema.prefault({}),
    projects: z.record(dnsLabel("the-project"), projectSchema, {
        error: `must be a map of project (namespace) to project, e.g. { the-project: { services: {...} } }`,
    }),
});

type Raw = z.infer<typeof rawSchema>;
export type ServiceConfig = Raw["projects"][string]["services"][string] & { gitlabProject: string; host: string };
export type ProjectConfig = { client: string; services: Record<string, ServiceConfig> };
export type ClusterConfig = Raw["cluster"] & { hostnamePrefix: string };
export type GitlabConfig = Raw["gitlab"];

export interface PlatformConfig {
    environment: Environment;
    domain: string;
    client: string;
    cluster: ClusterConfig;
    gitlab: GitlabConfig;
    acme: { email?: string; staging: boolean };
    ingress: { install: boolean; className?: string };
    certManager: { install: boolean; issuer?: string };
    projects: Record<string, ProjectConfig>;
    /** Secret config values; present exactly when the configuration needs them. */
    secrets: Partial<Record<SecretKey, pulumi.Output<string>>>;
}

/** A bad configuration: one line a problem. Thrown as a RunError, so no stack trace is shown. */
export class ConfigError extends pulumi.RunError {
    constructor(readonly problems: string[]) {
        super(`Invalid configuration of stack "${pulumi.getStack()}" (nothing was created):\n` +
            problems.map((p) => `  - ${p}`).join("\n"));
        this.name = "ConfigError";
    }
}

const keyOf = (path: PropertyKey[]) => `${PROJECT}:` + path.map((p, i) => (i === 0 ? String(p) : `.${String(p)}`)).join("");

/** Which secrets a configuration needs, so that a missing one is reported before any resource. */
export function requiredSecrets(raw: { gitlab: { enabled: boolean } }): SecretKey[] {
    return raw.gitlab.enabled ? ["gitlabApiToken", "goModulesToken"] : ["registryPassword"];
}

/** Reports one problem under the key it belongs to. */
type Report = (path: PropertyKey[], message: string) => void;

const isString = (v: unknown): v is string => typeof v === "string";
const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
/** Whether `value` passes `schema` on its own: cross-field rules look only at values that do. */
const valid = (schema: z.ZodType, value: unknown) => schema.safeParse(value).success;

/**
 * Paths the Kubernetes API refuses for an Ingress path of type Prefix (and Exact): the
 * `invalidPathSequences` and `invalidPathSuffixes` of k8s.io/kubernetes
 * pkg/apis/networking/validation/validation.go.
 */
export const INVALID_PATH_SEQUENCES = ["//", "/./", "/../", "%2f", "%2F"];
export const INVALID_PATH_SUFFIXES = ["/..", "/."];

/** Namespaces every cluster has, or that the stack itself creates: no project may take one. */
export const RESERVED_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease", CERT_MANAGER_NAMESPACE];

/** The factors of the Kubernetes quantity suffixes K8S_QUANTITY accepts. */
const QUANTITY_FACTORS: Record<string, number> = {
    "": 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40,
};
/** The value of a quantity K8S_QUANTITY accepts, e.g. 0.5 for "500m". */
export function quantityValue(q: string): number {
    const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(q)!;
    return Number(m[1]) * QUANTITY_FACTORS[m[2]];
}

/** A ConfigMap (like every object) is stored in etcd whole: at most 1 MiB. */
const CONFIGMAP_MAX_BYTES = 1024 * 1024;

/** Pulumi names of the components a configuration declares; the engine refuses a duplicate URN. */
export const serviceResourceName = (project: string, service: string) => `${project}-${service}`;
export const hostResourceName = (project: string, host: string) => `${project}-${host}`;

/** Whether a YYYY-MM-DD string names a day that exists (2027-02-30 does not). */
function isCalendarDate(date: string): boolean {
    const d = new Date(`${date}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === date;
}

/**
 * The rules that look at more than one value, or at what values become once combined (names,
 * hosts, paths). They read the input as given, beside the schema, so a configuration with
 * problems of both kinds is reported at once; each looks only at values that pass their own schema.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the input as read: every use is guarded
function crossFieldRules(raw: Record<string, any>, report: Report, hasSecret: (key: SecretKey) => boolean, today: string): void {
    const cluster = isRecord(raw.cluster) ? raw.cluster : clusterSchema.parse({});
    const gitlab = isRecord(raw.gitlab) ? raw.gitlab : gitlabSchema.parse({});
    const gitlabEnabled = gitlab.enabled !== false;
    const clusterEnabled = cluster.enabled !== false;
    const env = isString(raw.environment) ? raw.environment : undefined;

    if (gitlabEnabled) {
        if (!gitlab.domain) report(["gitlab", "domain"], `is required when gitlab.enabled is true, e.g. "gitlab.example.com"`);
        if (!gitlab.registry) report(["gitlab", "registry"], `is required when gitlab.enabled is true, e.g. "registry.example.com"`);
        if (!gitlab.deployTokenExpiresAt) {
            report(["gitlab", "deployTokenExpiresAt"], `is required when gitlab.enabled is true (every deploy token expires), e.g. "2027-06-30"`);
        } else if (isString(gitlab.deployTokenExpiresAt) && DATE.test(gitlab.deployTokenExpiresAt)) {
            if (!isCalendarDate(gitlab.deployTokenExpiresAt)) {
                report(["gitlab", "deployTokenExpiresAt"], `"${gitlab.deployTokenExpiresAt}" is not a day of the calendar, e.g. "2027-06-30"`);
            } else if (gitlab.deployTokenExpiresAt <= today) {
                report(["gitlab", "deployTokenExpiresAt"], `"${gitlab.deployTokenExpiresAt}" is not after today (${today}): the deploy tokens would be expired; set a later date, which rotates them, e.g. "${Number(today.slice(0, 4)) + 1}-06-30"`);
            }
        }
        if (!clusterEnabled) {
            report(["gitlab", "enabled"], `needs cluster.enabled true (the CI variables carry the cluster's server and CA); for a local cluster set it false, e.g. gitlab: { enabled: false }`);
        }
        if (env !== undefined && !(env in GITLAB_TIERS)) {
            report(["gitlab", "enabled"], `environment "${env}" has no GitLab deployment tier (only ${Object.keys(GITLAB_TIERS).join(", ")} do); for "${env}" set it false, e.g. gitlab: { enabled: false }`);
        }
    } else {
        if (!gitlab.registry) report(["gitlab", "registry"], `is required (the pull Secret's server), e.g. "registry.example.com"`);
        if (!gitlab.registryUsername) report(["gitlab", "registryUsername"], `is required when gitlab.enabled is false (the pull Secret's user), e.g. "deploy-token-1"`);
    }
    for (const key of requiredSecrets({ gitlab: { enabled: gitlabEnabled } })) {
        if (!hasSecret(key)) report([SECRET_KEYS[key]], `secret is missing; set it with \`pulumi config set --secret ${SECRET_KEYS[key]} <value>\``);
    }
    const acme = isRecord(raw.acme) ? raw.acme : {};
    const ingress = isRecord(raw.ingress) ? raw.ingress : {};
    const certManager = isRecord(raw.certManager) ? raw.certManager : {};
    const certManagerInstall = certManager.install ?? clusterEnabled;
    if (certManagerInstall && !acme.email) {
        report(["acme", "email"], `is required when cert-manager is installed (Let's Encrypt account), e.g. "ops@example.com"`);
    }
    if (!(ingress.install ?? clusterEnabled) && !ingress.className) {
        report(["ingress", "className"], `is required when ingress.install is false, e.g. "traefik"`);
    }
    if (!certManagerInstall && !certManager.issuer) {
        report(["certManager", "issuer"], `is required when certManager.install is false, e.g. "letsencrypt-prod"`);
    }
    if (clusterEnabled && valid(clusterSchema, cluster)) {
        for (const p of clusterSpecProblems(clusterSchema.parse(cluster))) report(["cluster", p.field], p.message);
    }
    if (clusterEnabled && cluster.skipAwait === true) {
        report(["cluster", "skipAwait"], `only for an API server with no kubelets (cluster.enabled false); the stack's own cluster runs pods, so its rollouts are awaited, e.g. false`);
    }
    if (!isRecord(raw.projects)) return;
    if (Object.keys(raw.projects).length === 0) {
        report(["projects"], `must define at least one project, e.g. { the-project: { services: {...} } }`);
    }

    // Every name below is made by joining others; the rules check what they become together.
    const routes = new Map<string, string>();
    const gitlabProjects = new Map<string, string>();
    const serviceNames = new Map<string, string>();
    const hostNames = new Map<string, string>();
    const domain = isString(raw.domain) ? raw.domain : undefined;
    for (const [project, p] of Object.entries(raw.projects)) {
        if (RESERVED_NAMESPACES.includes(project) || project.startsWith("kube-")) {
            report(["projects"], `project "${project}" would be the namespace ${project}, which ${project === CERT_MANAGER_NAMESPACE ? "the stack creates for cert-manager" : "Kubernetes reserves"}; name the project after the team or product, e.g. "the-project"`);
        }
        if (!isRecord(p) || !isRecord(p.services)) continue;
        for (const [service, s] of Object.entries(p.services)) {
            if (!isRecord(s)) continue;
            const at = ["projects", project, "services", service];
            const where = keyOf(at);
            const resourceName = serviceResourceName(project, service);
            const clash = serviceNames.get(resourceName);
            if (clash) report(at, `project and service join to "${resourceName}", as ${clash} does, and Pulumi would see one resource twice; rename one of them, e.g. "${service}-2"`);
            serviceNames.set(resourceName, where);

            const host = isString(s.host) ? s.host : env && domain ? `api.${project}.${env}.${domain}` : undefined;
            if (host !== undefined) {
                const hostProblem = hostNameProblem(host);
                if (hostProblem) report([...at, "host"], `"${host}" ${hostProblem}; set a shorter host, e.g. "api.${project}.${env}.example.com"`);
                const hostName = hostResourceName(project, host);
                const other = hostNames.get(hostName);
                if (other && other !== `${project}/${host}`) report([...at, "host"], `project and host join to "${hostName}", as ${other.split("/")[0]} and its host do, and Pulumi would see one certificate twice; rename the project or set another host, e.g. "api.${project}.example.com"`);
                hostNames.set(hostName, `${project}/${host}`);
            }
            const basePath = s.basePath;
            if (isString(basePath) && valid(urlPath("/x"), basePath)) {
                const bad = INVALID_PATH_SEQUENCES.find((seq) => basePath.includes(seq)) ??
                    INVALID_PATH_SUFFIXES.find((suffix) => basePath.endsWith(suffix));
                if (bad) report([...at, "basePath"], `"${basePath}" contains "${bad}", which Kubernetes refuses in an Ingress path; write it plainly, e.g. "/example/api/endpoint"`);
                if (host !== undefined) {
                    // Services of a project share its host by default and are told apart by path.
                    const route = `${host}${basePath}`;
                    const other = routes.get(route);
                    if (other) report([...at, "host"], `host and basePath "${route}" are already used by ${other}; give this service another basePath or host, e.g. "/other/api"`);
                    routes.set(route, where);
                }
            }
            const gitlabProject = isString(s.gitlabProject) ? s.gitlabProject : `${project}/${service}`;
            // A GitLab project holds one service's environments and CI/CD variables.
            const sharing = gitlabProjects.get(gitlabProject);
            if (gitlabEnabled && sharing) report([...at, "gitlabProject"], `"${gitlabProject}" is already the GitLab project of ${sharing}; give each service its own, e.g. "${project}/${service}"`);
            gitlabProjects.set(gitlabProject, where);
            if (isRecord(s.env) && "AGENT" in s.env) {
                report([...at, "env", "AGENT"], `is set by the platform (the pod's name); remove it or use another name, e.g. "LOG_LEVEL"`);
            }
            if (isRecord(s.config) && Buffer.byteLength(YAML.stringify(s.config)) > CONFIGMAP_MAX_BYTES) {
                report([...at, "config"], `renders to more than 1 MiB, the most a ConfigMap holds; move bulk data elsewhere, e.g. a volume`);
            }
            if (isRecord(s.resources) && valid(resourcesSchema, s.resources)) {
                const r = resourcesSchema.parse(s.resources);
                for (const what of ["cpu", "memory"] as const) {
                    if (quantityValue(r.requests[what]) > quantityValue(r.limits[what])) {
                        report([...at, "resources", "requests", what], `"${r.requests[what]}" is more than the limit "${r.limits[what]}", which Kubernetes refuses; request at most the limit, e.g. "${r.limits[what]}"`);
                    }
                }
            }
        }
    }
}

/** Why Kubernetes, cert-manager or DNS would refuse a service host, or undefined. */
function hostNameProblem(host: string): string | undefined {
    if (host.length > 253 || host.split(".").some((label) => label.length > 63)) return "is not a valid DNS name (over 253 characters, or a label over 63)";
    if (tlsSecretName(host).length > 253) return `makes a TLS Secret name "${tlsSecretName(host).slice(0, 40)}..." over 253 characters`;
    return undefined;
}

/**
 * Why GitLab or an image reference would refuse a project path, or undefined: each segment is a
 * path component of the OCI distribution grammar (lower-case alphanumerics joined by one '.',
 * '_', '__' or dashes), which GitLab's own path rules also accept, and does not end in ".git"
 * or ".atom", which GitLab refuses.
 */
export function gitlabPathProblem(path: string): string | undefined {
    const segments = path.split("/");
    if (segments.length < 2) return "is not a path \"group/project\"";
    const bad = segments.find((seg) => !OCI_PATH_COMPONENT.test(seg));
    if (bad !== undefined) return `has the segment "${bad}", which is not lower-case letters and digits joined by one '.', '_', '__' or dashes (the registry's image path)`;
    const suffix = segments.find((seg) => /\.(git|atom)$/.test(seg));
    if (suffix !== undefined) return `has the segment "${suffix}", and GitLab refuses a path ending in ".git" or ".atom"`;
    if (path.length > 255) return "is over 255 characters, the longest image repository name";
    return undefined;
}

/** The value at `path` in the input, to tell a missing key from a wrong value. */
function valueAt(input: unknown, path: PropertyKey[]): unknown {
    return path.reduce<unknown>((v, k) => (isRecord(v) || Array.isArray(v) ? (v as Record<PropertyKey, unknown>)[k] : undefined), input);
}

/** One schema issue as a line of the report: the key, then what is wrong. */
function schemaProblem(issue: z.core.$ZodIssue, input: Record<string, unknown>): string {
    if (issue.code === "unrecognized_keys") {
        return `${keyOf(issue.path)}: unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}; check the spelling against Pulumi.yaml`;
    }
    if (issue.code === "invalid_key") {
        return `${keyOf(issue.path)}: name ${issue.issues.map((i) => i.message).join("; ")}`;
    }
    if (issue.code === "invalid_type" && valueAt(input, issue.path) === undefined) {
        return `${keyOf(issue.path)}: is required and ${issue.message}`;
    }
    return `${keyOf(issue.path)}: ${issue.message}`;
}

/**
 * Validates a raw configuration (as read from the stack) and derives defaults, in one pass: the
 * schema and the rules across fields report together. `hasSecret` says whether a secret key is
 * set; secrets themselves are never read here. `today` (YYYY-MM-DD, UTC) dates token expiries.
 */
export function parseConfig(input: Record<string, unknown>, hasSecret: (key: SecretKey) => boolean,
    today: string = new Date().toISOString().slice(0, 10)): Omit<PlatformConfig, "secrets"> {
    const problems: string[] = [];
    const parsed = rawSchema.safeParse(input);
    for (const issue of parsed.error?.issues ?? []) problems.push(schemaProblem(issue, input));
    crossFieldRules(input, (path, message) => problems.push(`${keyOf(path)}: ${message}`), hasSecret, today);
    if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
    const raw = parsed.data;
    const env = raw.environment;
    const projects: Record<string, ProjectConfig> = {};
    for (const [project, p] of Object.entries(raw.projects)) {
        const services: Record<string, ServiceConfig> = {};
        for (const [service, s] of Object.entries(p.services)) {
            services[service] = {
                ...s,
                gitlabProject: s.gitlabProject ?? `${project}/${service}`,
                host: s.host ?? `api.${project}.${env}.${raw.domain}`,
            };
        }
        projects[project] = { client: p.client ?? raw.client, services };
    }
    const clusterEnabled = raw.cluster.enabled;
    return {
        environment: env,
        domain: raw.domain,
        client: raw.client,
        cluster: { ...raw.cluster, hostnamePrefix: raw.cluster.hostnamePrefix ?? `hobby-${env}` },
        gitlab: raw.gitlab,
        acme: { email: raw.acme.email, staging: raw.acme.staging ?? env !== "prod" },
        ingress: { install: raw.ingress.install ?? clusterEnabled, className: raw.ingress.className },
        certManager: { install: raw.certManager.install ?? clusterEnabled, issuer: raw.certManager.issuer },
        projects,
    };
}

/** Reads and validates the current stack's configuration. Throws ConfigError on any problem. */
export function loadConfig(): PlatformConfig {
    const config = new pulumi.Config(PROJECT);
    const input: Record<string, unknown> = {};
    const problems: string[] = [];
    for (const key of STRING_KEYS) {
        const value = config.get(key);
        if (value !== undefined) input[key] = value;
    }
    for (const key of OBJECT_KEYS) {
        try {
            const value = config.getObject<unknown>(key);
            if (value !== undefined) input[key] = value;
        } catch {
            problems.push(`${PROJECT}:${key}: is not valid YAML/JSON; write it as a YAML map in Pulumi.${pulumi.getStack()}.yaml`);
        }
    }
    if (problems.length > 0) throw new ConfigError(problems);
    input.environment ??= pulumi.getStack();

    const secrets: Partial<Record<SecretKey, pulumi.Output<string>>> = {};
    const parsed = parseConfig(input, (key) => {
        const value = config.getSecret(SECRET_KEYS[key]);
        if (value !== undefined) secrets[key] = value;
        return value !== undefined;
    });
    return { ...parsed, secrets };
}
