// The stack's whole configuration, typed and validated before any resource is declared.
// Every problem is reported at once, one line each, naming the config key, what is wrong and
// an example of a good value, so that a bad stack file costs one run, not one run per typo.
// What comes out is resolved: every default filled in, and each optional part of the platform
// (own cluster or not, GitLab or not, ...) a variant with exactly the values it needs.
import * as pulumi from "@pulumi/pulumi";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import { z } from "zod";
import { WorkloadCapacity } from "../lib/capacity";
import { IngressController, K3S_TRAEFIK } from "../lib/clusterFacts";
import { capacityProblems, clusterCapacity, projectQuota, QuotaConfig, stackDemand } from "./capacity";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { placeholderRules } from "./placeholders";
import { crossFieldRules } from "./rules";
import { DEFAULT_K3S_VERSION, defaultApiHost, Environment, keyOf, PROJECT, rawSchema, RawConfig, resourcesSchema } from "./schema";
import { SECRET_KEYS, SecretKey } from "./secrets";

export { DEFAULT_K3S_VERSION, DNS_1035_LABEL, DNS_1123_LABEL, ENVIRONMENTS, OCI_PATH_COMPONENT, PROJECT } from "./schema";
export type { Environment } from "./schema";
export type { QuotaConfig } from "./capacity";
export { INVALID_PATH_SEQUENCES, INVALID_PATH_SUFFIXES, RESERVED_NAMESPACES } from "./rules";
export { requiredSecrets, SECRET_KEYS } from "./secrets";
export type { SecretKey } from "./secrets";

/** A service container's requests and limits unless configured; also a project's LimitRange defaults. */
export const DEFAULT_CONTAINER_RESOURCES = resourcesSchema.parse({});

/** Plain config keys (as in `pulumi config set <key>`), validated by the schema. */
const OBJECT_KEYS = ["cluster", "gitlab", "dns", "acme", "ingress", "certManager", "projects"] as const;
const STRING_KEYS = ["environment", "domain", "client"] as const;

type RawService = RawConfig["projects"][string]["services"][string];
type RawCluster = RawConfig["cluster"];

/** One service, every default resolved; `S` is the type its secret values have. */
export type ServiceConfig<S = pulumi.Output<string>> = Omit<RawService, "gitlabProject" | "host" | "image" | "secrets"> & {
    /** The service's secrets by name, each a Pulumi secret. */
    secrets: Record<string, S>;
    /** GitLab project path, `<project>/<service>` unless configured. */
    gitlabProject: string;
    /** Public host, `api.<project>.<env>.<domain>` unless configured. */
    host: string;
    /** First image, `<registry>/<gitlabProject>:<env>-latest` unless configured; CI rolls out the next ones. */
    image: string;
};

export interface ProjectConfig<S = pulumi.Output<string>> {
    client: string;
    services: Record<string, ServiceConfig<S>>;
    /** The project namespace's ResourceQuota. */
    quota: QuotaConfig;
    /** The distinct hosts of the project's services: one certificate each. */
    hosts: string[];
}

/** The stack's own k3s cluster on Vultr. */
export type ManagedCluster = Omit<RawCluster, "enabled" | "kubeContext" | "skipAwait" | "hostnamePrefix" | "apiHost"> & {
    enabled: true;
    hostnamePrefix: string;
    /** The API's fixed name, `k8s.<env>.<domain>` unless configured. */
    apiHost: string;
    /** The Vultr DNS zone that holds `apiHost`. */
    dnsZone: string;
    /** Protect the servers and the cluster's identity from deletion (prod). */
    protect: boolean;
};
/** A cluster the stack does not create: the current kubeconfig context, or `kubeContext`. */
export interface ExistingCluster {
    enabled: false;
    kubeContext?: string;
    /** Do not await rollouts (an API server with no kubelets, e.g. the engine tests'). */
    skipAwait: boolean;
}

/** Service pipelines reach the cluster with the API server, its CA and a deployer token in CI/CD variables. */
export interface TokenAccess {
    mode: "token";
}
/** Service pipelines reach the cluster through GitLab's agent for Kubernetes (`ci_access`). */
export interface AgentAccess {
    mode: "agent";
    /** Path of the project holding the agent's configuration. */
    project: string;
    /** The agent's name, `hobby-<environment>` unless configured. */
    name: string;
    /** Branch the agent reads its configuration from. */
    branch: string;
    /** `wss://` or `grpcs://` address of GitLab's agent server (KAS). */
    kasAddress: string;
}

/** GitLab managed by the stack: deploy tokens and CI/CD variables. */
export interface ManagedGitlab<S> {
    enabled: true;
    domain: string;
    registry: string;
    deployTokenExpiresAt: string;
    apiToken: S;
    goModulesToken: S;
    clusterAccess: TokenAccess | AgentAccess;
}
/** No GitLab API: the pull Secrets use fixed registry credentials. */
export interface UnmanagedGitlab<S> {
    enabled: false;
    registry: string;
    registryUsername: string;
    registryPassword: S;
}

/** Who keeps the service hosts' A records: the team by hand, or the stack in Vultr DNS. */
export type DnsConfig = { provider: "none" } | { provider: "vultr"; zone: string; ttl: number };

export type IngressConfig = ({ install: true } | { install: false; className: string }) & {
    /** The controller's pods, which the projects' NetworkPolicies admit to the services. */
    controller: IngressController;
};
export type CertManagerConfig = { install: true; email: string; staging: boolean } | { install: false; issuer: string };

/** The validated configuration; `S` is the type secrets have (Pulumi secret Outputs in a run). */
export interface PlatformConfig<S = pulumi.Output<string>> {
    environment: Environment;
    domain: string;
    client: string;
    cluster: ManagedCluster | ExistingCluster;
    gitlab: ManagedGitlab<S> | UnmanagedGitlab<S>;
    dns: DnsConfig;
    ingress: IngressConfig;
    certManager: CertManagerConfig;
    projects: Record<string, ProjectConfig<S>>;
    /** Pod Security Standards version the project namespaces enforce: the Kubernetes minor the cluster runs, e.g. `v1.33`. */
    podSecurityVersion: string;
    /** What the stack's own nodes leave for services (undefined for a cluster it does not create). */
    capacity?: WorkloadCapacity;
}

/** How the values under a service's `secrets` were read: whether `pulumi config set --secret` marked them, and how to wrap each. */
export interface ServiceSecrets<S> {
    /** Whether the stack's `projects` key holds secret values (Pulumi marks the whole key when a leaf is set with --secret). */
    marked: boolean;
    /** Makes one value a secret of type `S` (a Pulumi secret Output in a run). */
    wrap: (value: string) => S;
}

/** A bad configuration: one line a problem. Thrown as a RunError, so no stack trace is shown. */
export class ConfigError extends pulumi.RunError {
    constructor(readonly problems: string[]) {
        super(`Invalid configuration of stack "${pulumi.getStack()}" (nothing was created):\n` + problems.map((p) => `  - ${p}`).join("\n"));
        this.name = "ConfigError";
    }
}

const isRecord = (v: unknown): v is Record<PropertyKey, unknown> => v !== null && typeof v === "object";

/** The value at `path` in the input, to tell a missing key from a wrong value. */
function valueAt(input: unknown, path: PropertyKey[]): unknown {
    return path.reduce<unknown>((v, k) => (isRecord(v) ? v[k] : undefined), input);
}

const EXPECTED: Record<string, string> = {
    string: "a string",
    number: "a number",
    int: "an integer",
    boolean: "true or false",
    array: "a list",
    object: "a map",
    record: "a map",
};

/** For a schema without a message of its own: what is wrong, in the report's words, not the validator's. */
const fallbackMessage: z.core.$ZodErrorMap = (issue) => {
    if (issue.code === "invalid_type") return `must be ${EXPECTED[issue.expected] ?? issue.expected}`;
    if (issue.code === "too_small") return "must not be empty";
    return "is not a valid value";
};

/** One schema issue as a line of the report: the key, then what is wrong. */
function schemaProblem(issue: z.core.$ZodIssue, input: Record<string, unknown>): string {
    if (issue.code === "unrecognized_keys") {
        return `${keyOf(issue.path)}: unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}; check the spelling against Pulumi.yaml`;
    }
    if (issue.code === "invalid_key") {
        return `${keyOf(issue.path)}: name ${issue.issues.map((i) => i.message).join("; ")}`;
    }
    if (issue.code === "invalid_type" && valueAt(input, issue.path) === undefined) {
        return `${keyOf(issue.path)}: is required; it ${issue.message}`;
    }
    return `${keyOf(issue.path)}: ${issue.message}`;
}

/** How a configuration is checked beyond its form. */
export interface ParseOptions<S> {
    /** How the values under the services' `secrets` were read (default: marked, and kept as they are). */
    serviceSecrets?: ServiceSecrets<S>;
    /**
     * Refuse the example values of the committed stack files (documentation networks, the example
     * SSH key, example domains) when the stack creates servers: true wherever the run is real.
     */
    refusePlaceholders?: boolean;
}

/**
 * Validates a raw configuration (as read from the stack) and resolves it, in one pass: the
 * schema and the rules across keys report together. `secret` gives a secret key's value, or
 * undefined when it is not set; it is never read as plain text here. `today` (YYYY-MM-DD, UTC)
 * dates token expiries.
 */
export function parseConfig<S>(
    input: Record<string, unknown>,
    secret: (key: SecretKey) => S | undefined,
    today: string = new Date().toISOString().slice(0, 10),
    options: ParseOptions<S> = {},
): PlatformConfig<S> {
    const serviceSecrets: ServiceSecrets<S> = options.serviceSecrets ?? { marked: true, wrap: (v) => v as unknown as S };
    const secrets: Partial<Record<SecretKey, S>> = {};
    const hasSecret = (key: SecretKey) => (secrets[key] ??= secret(key)) !== undefined;
    const problems: string[] = [];
    const parsed = rawSchema.safeParse(input, { error: fallbackMessage });
    for (const issue of parsed.error?.issues ?? []) problems.push(schemaProblem(issue, input));
    const report = (path: PropertyKey[], message: string) => problems.push(`${keyOf(path)}: ${message}`);
    crossFieldRules(input, report, hasSecret, today, serviceSecrets.marked);
    if (options.refusePlaceholders) placeholderRules(input, report);
    if (parsed.success) capacityProblems(parsed.data, report);
    if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
    return resolve(parsed.data, secrets as Record<SecretKey, S>, serviceSecrets.wrap);
}

/**
 * The resolved configuration of a valid one. The rules have checked that every value a variant
 * needs is there; the `??` below only name, for the type checker, what they guarantee.
 */
function resolve<S>(raw: RawConfig, secrets: Record<SecretKey, S>, wrap: (value: string) => S): PlatformConfig<S> {
    const env = raw.environment;
    const { enabled: clusterEnabled, kubeContext, skipAwait, hostnamePrefix, apiHost, ...vms } = raw.cluster;
    const dnsZone = raw.dns.zone ?? raw.domain;
    const { gitlab } = raw;
    const registry = gitlab.registry ?? "";
    const capacity = clusterCapacity(raw);
    const total = stackDemand(raw);
    const projects: Record<string, ProjectConfig<S>> = {};
    for (const [project, p] of Object.entries(raw.projects)) {
        const services: Record<string, ServiceConfig<S>> = {};
        for (const [service, s] of Object.entries(p.services)) {
            const gitlabProject = s.gitlabProject ?? `${project}/${service}`;
            services[service] = {
                ...s,
                secrets: Object.fromEntries(Object.entries(s.secrets).map(([name, value]) => [name, wrap(value)])),
                gitlabProject,
                host: s.host ?? `api.${project}.${env}.${raw.domain}`,
                image: s.image ?? `${registry}/${gitlabProject}:${env}-latest`,
            };
        }
        projects[project] = {
            client: p.client ?? raw.client,
            services,
            hosts: [...new Set(Object.values(services).map((s) => s.host))],
            quota: projectQuota(p, capacity, total),
        };
    }
    const ingressInstall = raw.ingress.install ?? clusterEnabled;
    const certManagerInstall = raw.certManager.install ?? clusterEnabled;
    return {
        environment: env,
        domain: raw.domain,
        client: raw.client,
        cluster: clusterEnabled
            ? {
                  enabled: true,
                  ...vms,
                  hostnamePrefix: hostnamePrefix ?? `hobby-${env}`,
                  apiHost: apiHost ?? defaultApiHost(env, raw.domain),
                  dnsZone,
                  protect: env === "prod",
              }
            : { enabled: false, kubeContext, skipAwait },
        gitlab: gitlab.enabled
            ? {
                  enabled: true,
                  domain: gitlab.domain ?? "",
                  registry,
                  deployTokenExpiresAt: gitlab.deployTokenExpiresAt ?? "",
                  apiToken: secrets.gitlabApiToken,
                  goModulesToken: secrets.goModulesToken,
                  clusterAccess:
                      gitlab.clusterAccess === "agent"
                          ? {
                                mode: "agent",
                                project: gitlab.agent.project ?? "",
                                name: gitlab.agent.name ?? `hobby-${env}`,
                                branch: gitlab.agent.branch,
                                kasAddress: gitlab.agent.kasAddress ?? "",
                            }
                          : { mode: "token" },
              }
            : { enabled: false, registry, registryUsername: gitlab.registryUsername ?? "", registryPassword: secrets.registryPassword },
        dns: raw.dns.provider === "vultr" ? { provider: "vultr", zone: dnsZone, ttl: raw.dns.ttl } : { provider: "none" },
        ingress: {
            ...(ingressInstall ? { install: true as const } : { install: false as const, className: raw.ingress.className ?? "" }),
            controller: raw.ingress.controller ?? K3S_TRAEFIK,
        },
        certManager: certManagerInstall
            ? { install: true, email: raw.acme.email ?? "", staging: raw.acme.staging ?? env !== "prod" }
            : { install: false, issuer: raw.certManager.issuer ?? "" },
        projects,
        podSecurityVersion: kubernetesMinor(clusterEnabled ? raw.cluster.k3sVersion : DEFAULT_K3S_VERSION),
        capacity,
    };
}

/** The Kubernetes minor a k3s release runs, e.g. `v1.33` for `v1.33.5+k3s1`. */
export function kubernetesMinor(k3sVersion: string): string {
    return k3sVersion.split(".").slice(0, 2).join(".");
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
    // A leaf set with `pulumi config set --secret --path` makes the whole key secret; `getObject`
    // still returns it plain, so each service secret is wrapped as a Pulumi secret before any use.
    // (`isConfigSecret` is what the SDK's own secret getters read; its typings mark it internal.)
    const { isConfigSecret } = runtimeConfig as unknown as { isConfigSecret: (key: string) => boolean };
    const serviceSecrets = { marked: isConfigSecret(`${PROJECT}:projects`), wrap: (v: string) => pulumi.secret(v) };
    return parseConfig(input, (key) => config.getSecret(SECRET_KEYS[key]), undefined, { refusePlaceholders: !underMocks(), serviceSecrets });
}

/**
 * Whether the program runs under Pulumi's mocks, which create nothing: the unit tests run the
 * committed stack files there, whose example values (RFC 5737, RFC 2606) are what those RFCs
 * reserve them for. Every run of the engine (preview, up, CI) refuses them.
 */
function underMocks(): boolean {
    return pulumi.runtime.getMonitor() instanceof MockMonitor;
}
