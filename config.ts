// The stack's whole configuration, typed and validated before any resource is declared.
// Every problem is reported at once, one line each, naming the config key, what is wrong and
// an example of a good value, so that a bad stack file costs one run, not one run per typo.
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { clusterSpecProblems, parseIpv4Cidr } from "./components/clusterSpec";

export const PROJECT = "hobby-platform";

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

const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/;
const ENV_VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$|^[0-9a-fA-F:]+\/\d{1,3}$/;
const K8S_QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function isValidCidr(value: string): boolean {
    const m = CIDR.exec(value);
    if (!m) return false;
    if (m[1] === undefined) return true; // IPv6: the shape check is enough for a firewall rule
    return [m[1], m[2], m[3], m[4]].every((o) => Number(o) <= 255) && Number(m[5]) <= 32;
}

/** A string matching `pattern`; the same message (with an example) for a wrong type or shape. */
const matching = (pattern: RegExp, error: string) => z.string({ error }).regex(pattern, { error });

const dnsLabel = (example: string) =>
    matching(DNS_1123_LABEL, `must be a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters), e.g. "${example}"`)
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
    gitlabProject: matching(/^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)+$/,
        `must be a GitLab project path "group/project" in lower case, e.g. "the-project/example-microservice"`).optional(),
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
    services: z.record(dnsLabel("example-microservice"), serviceSchema, {
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
    k3sVersion: z.string().regex(/^v\d+\.\d+\.\d+\+k3s\d+$/, { error: `must be a k3s release, e.g. "v1.33.5+k3s1"` }).default("v1.33.5+k3s1"),
    /** Vultr OS id: 2136 is Debian 12 x64. */
    osId: z.int({ error: "must be a Vultr OS id, e.g. 2136" }).positive({ error: "must be a Vultr OS id, e.g. 2136" }).default(2136),
    enableIpv6: z.boolean({ error: "must be true or false, e.g. true" }).default(true),
    sshPublicKeys: z.array(z.string().regex(/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) [A-Za-z0-9+\/=]+( .*)?$/, {
        error: `must be an OpenSSH public key, e.g. "ssh-ed25519 AAAAC3... ops@example.com"`,
    })).default([]),
    adminCidrs: z.array(z.string().refine(isValidCidr, { error: `must be a CIDR, e.g. "203.0.113.7/32"` })).default([]),
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
export function requiredSecrets(raw: Pick<Raw, "cluster" | "gitlab">): SecretKey[] {
    return raw.gitlab.enabled ? ["gitlabApiToken", "goModulesToken"] : ["registryPassword"];
}

/**
 * Validates a raw configuration (as read from the stack) and derives defaults.
 * `hasSecret` says whether a secret key is set; secrets themselves are never read here.
 */
export function parseConfig(input: Record<string, unknown>, hasSecret: (key: SecretKey) => boolean): Omit<PlatformConfig, "secrets"> {
    const parsed = rawSchema.safeParse(input);
    if (!parsed.success) {
        throw new ConfigError(parsed.error.issues.map((issue) => {
            if (issue.code === "unrecognized_keys") {
                return `${keyOf(issue.path)}: unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}; check the spelling against Pulumi.yaml`;
            }
            if (issue.code === "invalid_key") {
                return `${keyOf(issue.path)}: name ${issue.issues.map((i) => i.message).join("; ")}`;
            }
            if (issue.code === "invalid_type" && issue.input === undefined) {
                return `${keyOf(issue.path)}: is required and ${issue.message}`;
            }
            return `${keyOf(issue.path)}: ${issue.message}`;
        }));
    }
    const raw = parsed.data;
    const env = raw.environment;
    const problems: string[] = [];

    if (raw.gitlab.enabled) {
        if (!raw.gitlab.domain) problems.push(`${keyOf(["gitlab", "domain"])}: is required when gitlab.enabled is true, e.g. "gitlab.example.com"`);
        if (!raw.gitlab.registry) problems.push(`${keyOf(["gitlab", "registry"])}: is required when gitlab.enabled is true, e.g. "registry.example.com"`);
        if (!raw.gitlab.deployTokenExpiresAt) problems.push(`${keyOf(["gitlab", "deployTokenExpiresAt"])}: is required when gitlab.enabled is true (every deploy token expires), e.g. "2027-06-30"`);
        if (!raw.cluster.enabled) {
            problems.push(`${keyOf(["gitlab", "enabled"])}: needs cluster.enabled true (the CI variables carry the cluster's server and CA); for a local cluster set it false, e.g. gitlab: { enabled: false }`);
        }
    } else {
        if (!raw.gitlab.registry) problems.push(`${keyOf(["gitlab", "registry"])}: is required (the pull Secret's server), e.g. "registry.example.com"`);
        if (!raw.gitlab.registryUsername) problems.push(`${keyOf(["gitlab", "registryUsername"])}: is required when gitlab.enabled is false (the pull Secret's user), e.g. "deploy-token-1"`);
    }
    for (const key of requiredSecrets(raw)) {
        if (!hasSecret(key)) {
            problems.push(`${PROJECT}:${SECRET_KEYS[key]}: secret is missing; set it with \`pulumi config set --secret ${SECRET_KEYS[key]} <value>\``);
        }
    }
    const certManagerInstall = raw.certManager.install ?? raw.cluster.enabled;
    if (certManagerInstall && !raw.acme.email) {
        problems.push(`${keyOf(["acme", "email"])}: is required when cert-manager is installed (Let's Encrypt account), e.g. "ops@example.com"`);
    }
    const ingressInstall = raw.ingress.install ?? raw.cluster.enabled;
    if (!ingressInstall && !raw.ingress.className) {
        problems.push(`${keyOf(["ingress", "className"])}: is required when ingress.install is false, e.g. "traefik"`);
    }
    if (!certManagerInstall && !raw.certManager.issuer) {
        problems.push(`${keyOf(["certManager", "issuer"])}: is required when certManager.install is false, e.g. "letsencrypt-prod"`);
    }
    if (raw.cluster.enabled) problems.push(...clusterSpecProblems(raw.cluster, (field) => keyOf(["cluster", field])));
    if (raw.cluster.enabled && raw.cluster.skipAwait) {
        problems.push(`${keyOf(["cluster", "skipAwait"])}: only for an API server with no kubelets (cluster.enabled false); the stack's own cluster runs pods, so its rollouts are awaited, e.g. false`);
    }
    if (Object.keys(raw.projects).length === 0) {
        problems.push(`${keyOf(["projects"])}: must define at least one project, e.g. { the-project: { services: {...} } }`);
    }

    const hosts = new Map<string, string>();
    const gitlabProjects = new Map<string, string>();
    const projects: Record<string, ProjectConfig> = {};
    for (const [project, p] of Object.entries(raw.projects)) {
        const services: Record<string, ServiceConfig> = {};
        for (const [service, s] of Object.entries(p.services)) {
            const where = keyOf(["projects", project, "services", service]);
            const host = s.host ?? `api.${project}.${env}.${raw.domain}`;
            // Services of a project share its host by default and are told apart by path.
            const route = `${host}${s.basePath}`;
            const other = hosts.get(route);
            if (other) problems.push(`${where}.host: host and basePath "${route}" are already used by ${other}; give this service another basePath or host, e.g. "/other/api"`);
            hosts.set(route, where);
            if (host.split(".").some((label) => label.length > 63) || host.length > 253) {
                problems.push(`${where}.host: "${host}" is not a valid DNS name (a label over 63 characters); set a shorter host, e.g. "api.the-project.${env}.example.com"`);
            }
            const gitlabProject = s.gitlabProject ?? `${project}/${service}`;
            // A GitLab project holds one service's environments and CI/CD variables.
            const sharing = gitlabProjects.get(gitlabProject);
            if (raw.gitlab.enabled && sharing) problems.push(`${where}.gitlabProject: "${gitlabProject}" is already the GitLab project of ${sharing}; give each service its own, e.g. "${project}/${service}"`);
            gitlabProjects.set(gitlabProject, where);
            services[service] = { ...s, gitlabProject, host };
        }
        projects[project] = { client: p.client ?? raw.client, services };
    }
    if (problems.length > 0) throw new ConfigError(problems);

    return {
        environment: env,
        domain: raw.domain,
        client: raw.client,
        cluster: { ...raw.cluster, hostnamePrefix: raw.cluster.hostnamePrefix ?? `hobby-${env}` },
        gitlab: raw.gitlab,
        acme: { email: raw.acme.email, staging: raw.acme.staging ?? env !== "prod" },
        ingress: { install: ingressInstall, className: raw.ingress.className },
        certManager: { install: certManagerInstall, issuer: raw.certManager.issuer },
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
