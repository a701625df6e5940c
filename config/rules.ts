// The rules that look at more than one key, or at what values become once combined (names,
// hosts, paths): what Kubernetes, GitLab, Vultr and the engine would refuse.
import * as YAML from "yaml";
import { clusterSpecProblems } from "./cluster";
import { clusterSchema, DATE, defaultApiHost, dnsSchema, gitlabSchema, keyOf, resourcesSchema, urlPath } from "./schema";
import { recordName } from "../lib/net";
import { requiredSecrets, SECRET_KEYS, SecretKey } from "./secrets";
import { isCalendarDate } from "../lib/formats";
import {
    AGENTK_NAMESPACE,
    CERT_MANAGER_NAMESPACE,
    SYSTEM_UPGRADE_NAMESPACE,
    GITLAB_TIERS,
    hostResourceName,
    PROJECT_POLICIES,
    serviceResourceName,
    tlsSecretName,
} from "../lib/names";
import { z } from "zod";

/** Reports one problem under the key it belongs to. */
export type Report = (path: PropertyKey[], message: string) => void;

export const isString = (v: unknown): v is string => typeof v === "string";
export const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
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
export const RESERVED_NAMESPACES = [
    "default",
    "kube-system",
    "kube-public",
    "kube-node-lease",
    CERT_MANAGER_NAMESPACE,
    SYSTEM_UPGRADE_NAMESPACE,
    AGENTK_NAMESPACE,
];

/** The factors of the Kubernetes quantity suffixes K8S_QUANTITY accepts. */
const QUANTITY_FACTORS: Record<string, number> = {
    "": 1,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
};
/** The value of a quantity K8S_QUANTITY accepts, e.g. 0.5 for "500m". */
export function quantityValue(q: string): number {
    const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(q)!;
    return Number(m[1]) * QUANTITY_FACTORS[m[2]];
}

/** Projects one agent's `ci_access` may authorize (GitLab's docs: ci_cd_workflow.md). */
const AGENT_MAX_PROJECTS = 500;

/** A ConfigMap (like every object) is stored in etcd whole: at most 1 MiB. */
const CONFIGMAP_MAX_BYTES = 1024 * 1024;

/**
 * The rules that look at more than one value, or at what values become once combined (names,
 * hosts, paths). They read the input as given, beside the schema, so a configuration with
 * problems of both kinds is reported at once; each looks only at values that pass their own schema.
 */
export function crossFieldRules(
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the input as read: every use is guarded
    raw: Record<string, any>,
    report: Report,
    hasSecret: (key: SecretKey) => boolean,
    today: string,
    /** Whether Pulumi marked the `projects` key secret (a leaf of it was set with --secret). */
    serviceSecretsMarked = true,
): void {
    // A section of the wrong type is the schema's to report: no rule reads it as a default.
    const sectionOf = (value: unknown, fallback: Record<string, unknown> = {}) =>
        value === undefined ? fallback : isRecord(value) ? value : undefined;
    const section = (key: string, fallback?: Record<string, unknown>) => sectionOf(raw[key], fallback);
    const cluster = section("cluster", clusterSchema.parse({}));
    const gitlab = section("gitlab", gitlabSchema.parse({}));
    if (!cluster || !gitlab) return;
    const gitlabEnabled = gitlab.enabled !== false;
    const clusterEnabled = cluster.enabled !== false;
    const env = isString(raw.environment) ? raw.environment : undefined;
    /** The agent section, on the agent path. */
    const agent = gitlabEnabled && gitlab.clusterAccess === "agent" ? sectionOf(gitlab.agent) : undefined;

    if (gitlabEnabled) {
        if (!gitlab.domain) report(["gitlab", "domain"], `is required when gitlab.enabled is true, e.g. "gitlab.example.com"`);
        if (!gitlab.registry) report(["gitlab", "registry"], `is required when gitlab.enabled is true, e.g. "registry.example.com"`);
        if (!gitlab.deployTokenExpiresAt) {
            report(["gitlab", "deployTokenExpiresAt"], `is required when gitlab.enabled is true (every deploy token expires), e.g. "2027-06-30"`);
        } else if (isString(gitlab.deployTokenExpiresAt) && DATE.test(gitlab.deployTokenExpiresAt)) {
            if (!isCalendarDate(gitlab.deployTokenExpiresAt)) {
                report(["gitlab", "deployTokenExpiresAt"], `"${gitlab.deployTokenExpiresAt}" is not a day of the calendar, e.g. "2027-06-30"`);
            } else if (gitlab.deployTokenExpiresAt <= today) {
                report(
                    ["gitlab", "deployTokenExpiresAt"],
                    `"${gitlab.deployTokenExpiresAt}" is not after today (${today}): the deploy tokens would be expired; set a later date, which rotates them, e.g. "${Number(today.slice(0, 4)) + 1}-06-30"`,
                );
            }
        }
        if (agent) {
            if (!agent.project) {
                report(
                    ["gitlab", "agent", "project"],
                    `is required when gitlab.clusterAccess is "agent" (the project that holds .gitlab/agents/<name>/config.yaml), e.g. "the-project/cluster-agents"`,
                );
            }
            if (!agent.kasAddress) {
                report(
                    ["gitlab", "agent", "kasAddress"],
                    `is required when gitlab.clusterAccess is "agent" (the agent server agentk dials), e.g. "wss://kas.gitlab.example.com"`,
                );
            }
        }
        if (!clusterEnabled) {
            report(
                ["gitlab", "enabled"],
                `needs cluster.enabled true (the CI variables carry the cluster's server and CA); for a local cluster set it false, e.g. gitlab: { enabled: false }`,
            );
        }
        if (env !== undefined && !(env in GITLAB_TIERS)) {
            report(
                ["gitlab", "enabled"],
                `environment "${env}" has no GitLab deployment tier (only ${Object.keys(GITLAB_TIERS).join(", ")} do); for "${env}" set it false, e.g. gitlab: { enabled: false }`,
            );
        }
    } else {
        if (!gitlab.registry) report(["gitlab", "registry"], `is required (the pull Secret's server), e.g. "registry.example.com"`);
        if (!gitlab.registryUsername)
            report(["gitlab", "registryUsername"], `is required when gitlab.enabled is false (the pull Secret's user), e.g. "deploy-token-1"`);
    }
    for (const key of requiredSecrets({ gitlab: { enabled: gitlabEnabled } })) {
        if (!hasSecret(key))
            report(
                [SECRET_KEYS[key]],
                `secret is missing; set it with \`pulumi config set --secret ${SECRET_KEYS[key]}\` (it prompts for the value, or reads it from standard input)`,
            );
    }
    const [acme, ingress, certManager] = [section("acme"), section("ingress"), section("certManager")];
    if (!acme || !ingress || !certManager) return;
    const certManagerInstall = certManager.install ?? clusterEnabled;
    if (certManagerInstall && !acme.email) {
        report(["acme", "email"], `is required when cert-manager is installed (Let's Encrypt account), e.g. "ops@example.com"`);
    }
    if (!(ingress.install ?? clusterEnabled) && !ingress.className) {
        report(["ingress", "className"], `is required when ingress.install is false, e.g. "traefik"`);
    }
    if ((ingress.install ?? clusterEnabled) && ingress.controller !== undefined) {
        report(
            ["ingress", "controller"],
            `is the stack's own Traefik (k3s's, in kube-system) when ingress.install is true; set it only for a controller the stack does not install, e.g. remove it`,
        );
    }
    if (!certManagerInstall && !certManager.issuer) {
        report(["certManager", "issuer"], `is required when certManager.install is false, e.g. "letsencrypt-prod"`);
    }
    const domain = isString(raw.domain) ? raw.domain : undefined;
    const dns = section("dns", dnsSchema.parse({}));
    const zone = dns && isString(dns.zone) ? dns.zone : domain;
    if (clusterEnabled && valid(clusterSchema, cluster)) {
        const c = clusterSchema.parse(cluster);
        for (const p of clusterSpecProblems(c, c.hostnamePrefix ?? `hobby-${env}`)) report(["cluster", ...p.path], p.message);
        const apiHost = c.apiHost ?? (env && domain ? defaultApiHost(env, domain) : undefined);
        if (apiHost && zone && recordName(apiHost, zone) === undefined) {
            report(
                ["cluster", "apiHost"],
                `"${apiHost}" is not inside the Vultr DNS zone "${zone}" (dns.zone) that holds its A records; set a name in it, e.g. "k8s.${env}.${zone}"`,
            );
        }
    }
    if (!clusterEnabled && isRecord(cluster) && Array.isArray(cluster.workers) && cluster.workers.length > 0) {
        report(["cluster", "workers"], `needs cluster.enabled true (the pools join the stack's own cluster); remove them, e.g. workers: []`);
    }
    const dnsManaged = dns?.provider === "vultr";
    if (dnsManaged && !clusterEnabled) {
        report(
            ["dns", "provider"],
            `"vultr" needs cluster.enabled true (the records point at the stack's own nodes); keep the records by hand for this cluster, e.g. provider: "none"`,
        );
    }
    if (clusterEnabled && cluster.skipAwait === true) {
        report(
            ["cluster", "skipAwait"],
            `only for an API server with no kubelets (cluster.enabled false); the stack's own cluster runs pods, so its rollouts are awaited, e.g. false`,
        );
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
    for (const [project, p] of Object.entries(raw.projects)) {
        const tlsNames = new Map<string, string>();
        if (RESERVED_NAMESPACES.includes(project) || project.startsWith("kube-")) {
            report(
                ["projects"],
                `project "${project}" would be the namespace ${project}, which ${[CERT_MANAGER_NAMESPACE, SYSTEM_UPGRADE_NAMESPACE].includes(project) ? "the stack creates (for cert-manager or k3s upgrades)" : "Kubernetes reserves"}; name the project after the team or product, e.g. "the-project"`,
            );
        }
        if (!isRecord(p) || !isRecord(p.services)) continue;
        for (const [service, s] of Object.entries(p.services)) {
            if (!isRecord(s)) continue;
            const at = ["projects", project, "services", service];
            const where = keyOf(at);
            const resourceName = serviceResourceName(project, service);
            const clash = serviceNames.get(resourceName);
            if (clash)
                report(
                    at,
                    `project and service join to "${resourceName}", as ${clash} does, and Pulumi would see one resource twice; rename one of them, e.g. "${service}-2"`,
                );
            serviceNames.set(resourceName, where);

            const host = isString(s.host) ? s.host : env && domain ? `api.${project}.${env}.${domain}` : undefined;
            if (host !== undefined) {
                if (dnsManaged && clusterEnabled && zone && recordName(host, zone) === undefined) {
                    report(
                        [...at, "host"],
                        `"${host}" is not inside the Vultr DNS zone "${zone}" (dns.zone) whose records the stack keeps; set a host in it, or dns.provider "none", e.g. "api.${project}.${env}.${zone}"`,
                    );
                }
                const hostProblem = hostNameProblem(host);
                if (hostProblem) report([...at, "host"], `"${host}" ${hostProblem}; set a shorter host, e.g. "api.${project}.${env}.example.com"`);
                const hostName = hostResourceName(project, host);
                const other = hostNames.get(hostName);
                if (other && other !== `${project}/${host}`)
                    report(
                        [...at, "host"],
                        `project and host join to "${hostName}", as ${other.split("/")[0]} and its host do, and Pulumi would see one certificate twice; rename the project or set another host, e.g. "api.${project}.example.com"`,
                    );
                hostNames.set(hostName, `${project}/${host}`);
                // One Certificate and TLS Secret a host, by a name that turns dots into dashes.
                const tls = tlsSecretName(host);
                const sameName = tlsNames.get(tls);
                if (sameName !== undefined && sameName !== host)
                    report(
                        [...at, "host"],
                        `"${host}" and "${sameName}" both name their certificate "${tls}" (dots become dashes), and one would replace the other; use hosts that differ in more than '.' and '-', e.g. "api2.${project}.example.com"`,
                    );
                tlsNames.set(tls, host);
            }
            if ((Object.values(PROJECT_POLICIES) as string[]).includes(service)) {
                report(at, `"${service}" is the name of one of the project's own NetworkPolicies; name the service otherwise, e.g. "${service}-api"`);
            }
            const basePath = s.basePath;
            if (isString(basePath) && valid(urlPath("/x"), basePath)) {
                const bad =
                    INVALID_PATH_SEQUENCES.find((seq) => basePath.includes(seq)) ?? INVALID_PATH_SUFFIXES.find((suffix) => basePath.endsWith(suffix));
                if (bad)
                    report(
                        [...at, "basePath"],
                        `"${basePath}" contains "${bad}", which Kubernetes refuses in an Ingress path; write it plainly, e.g. "/example/api/endpoint"`,
                    );
                if (host !== undefined) {
                    // Services of a project share its host by default and are told apart by path.
                    const route = `${host}${basePath}`;
                    const other = routes.get(route);
                    if (other)
                        report(
                            [...at, "host"],
                            `host and basePath "${route}" are already used by ${other}; give this service another basePath or host, e.g. "/other/api"`,
                        );
                    routes.set(route, where);
                }
            }
            const gitlabProject = isString(s.gitlabProject) ? s.gitlabProject : `${project}/${service}`;
            // A GitLab project holds one service's environments and CI/CD variables.
            const sharing = gitlabProjects.get(gitlabProject);
            if (gitlabEnabled && sharing)
                report(
                    [...at, "gitlabProject"],
                    `"${gitlabProject}" is already the GitLab project of ${sharing}; give each service its own, e.g. "${project}/${service}"`,
                );
            gitlabProjects.set(gitlabProject, where);
            if (agent && isString(agent.project)) {
                // GitLab's ci_access authorizes only projects under the agent project's top-level namespace.
                const root = agent.project.split("/")[0];
                if (gitlabProject.split("/")[0] !== root)
                    report(
                        [...at, "gitlabProject"],
                        `"${gitlabProject}" is outside "${root}", the top-level group of gitlab.agent.project, and GitLab's agent serves only projects under it; move the agent project or use a second stack, e.g. "${root}/${service}"`,
                    );
            }
            if (isRecord(s.env) && "AGENT" in s.env) {
                report([...at, "env", "AGENT"], `is set by the platform (the pod's name); remove it or use another name, e.g. "LOG_LEVEL"`);
            }
            const secretCommand = (name: string) =>
                `\`pulumi config set --secret --path '${keyOf([...at, "secrets", name]).slice(PROJECT_PREFIX.length)}'\` (it prompts for the value, or reads it from standard input)`;
            for (const [path, value] of plainEntries(s.config, [...at, "config"]).concat(plainEntries(s.env, [...at, "env"], 1))) {
                const key = String(path[path.length - 1]);
                if (typeof value === "string" && looksSecret(key))
                    report(
                        path,
                        `"${key}" names a secret, and a plain value ends in git, the state and a ConfigMap anyone who reads the namespace sees; set it as a secret with ${secretCommand(secretEnvName(key))}, then remove this key`,
                    );
            }
            if (isRecord(s.secrets) && Object.keys(s.secrets).length > 0) {
                if (!serviceSecretsMarked)
                    report(
                        [...at, "secrets"],
                        `was set without --secret, so its values are in plain text in the stack file; set each again with ${secretCommand(Object.keys(s.secrets)[0])}`,
                    );
                if (s.secretsAs !== "files") {
                    for (const name of Object.keys(s.secrets)) {
                        if (PLATFORM_ENV.includes(name) || (isRecord(s.env) && name in s.env))
                            report(
                                [...at, "secrets", name],
                                `is also ${PLATFORM_ENV.includes(name) ? "set by the platform" : "in env"}, and the container would get one variable twice; rename the secret, e.g. "${name}_SECRET"`,
                            );
                    }
                }
            }
            if (isRecord(s.autoscaling)) {
                if (s.replicas !== undefined)
                    report(
                        [...at, "replicas"],
                        `is the autoscaler's to set when autoscaling is on (the stack never writes it then); remove it and set autoscaling.min, e.g. autoscaling: { min: ${s.replicas}, max: ${Number(s.replicas) * 2} }`,
                    );
                const { min = 2, max } = s.autoscaling;
                if (typeof min === "number" && typeof max === "number" && min > max)
                    report([...at, "autoscaling", "max"], `${max} is less than autoscaling.min ${min}; e.g. ${min * 2}`);
            }
            if (isRecord(s.config) && Buffer.byteLength(YAML.stringify(s.config)) > CONFIGMAP_MAX_BYTES) {
                report([...at, "config"], `renders to more than 1 MiB, the most a ConfigMap holds; move bulk data elsewhere, e.g. a volume`);
            }
            if (isRecord(s.resources) && valid(resourcesSchema, s.resources)) {
                const r = resourcesSchema.parse(s.resources);
                for (const what of ["cpu", "memory"] as const) {
                    if (quantityValue(r.requests[what]) > quantityValue(r.limits[what])) {
                        report(
                            [...at, "resources", "requests", what],
                            `"${r.requests[what]}" is more than the limit "${r.limits[what]}", which Kubernetes refuses; request at most the limit, e.g. "${r.limits[what]}"`,
                        );
                    }
                }
            }
        }
    }
    if (agent && gitlabProjects.size > AGENT_MAX_PROJECTS) {
        report(
            ["gitlab", "agent"],
            `would authorize ${gitlabProjects.size} projects, and one agent serves at most ${AGENT_MAX_PROJECTS}; split the services over two stacks, e.g. by team`,
        );
    }
}

const PROJECT_PREFIX = keyOf([""]);

/** Environment variables every service's container gets from the platform. */
export const PLATFORM_ENV = ["BASE_PATH", "CONFIG", "DEBUG", "PORT", "AGENT"];

/** Words that make a key name a secret (compared with each word of the key: `encKey`, `DB_PASSWORD`, not `keyspace`). */
export const SECRET_WORDS = [
    "token",
    "password",
    "passwd",
    "pwd",
    "secret",
    "key",
    "apikey",
    "credential",
    "credentials",
    "passphrase",
    "privatekey",
];

/** A key's words: split at non-alphanumerics and camelCase humps, lower-cased. */
const words = (key: string) =>
    key
        .split(/[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])/)
        .filter(Boolean)
        .map((w) => w.toLowerCase());

/** Whether a config or env key names a secret (a public key does not). */
export function looksSecret(key: string): boolean {
    const w = words(key);
    return w.some((word, i) => SECRET_WORDS.includes(word) && !(word === "key" && w[i - 1] === "public"));
}

/** The secret name a plain key would move to: its words in upper snake case (`encKey` -> `ENC_KEY`). */
export const secretEnvName = (key: string) => words(key).join("_").toUpperCase();

/** Every leaf of a config value (maps and lists) with its key path, to `depth` levels (a plain map: 1). */
function plainEntries(value: unknown, at: PropertyKey[], depth = Infinity): [PropertyKey[], unknown][] {
    if (!(isRecord(value) || Array.isArray(value)) || depth === 0) return [];
    return Object.entries(value).flatMap(([k, v]): [PropertyKey[], unknown][] =>
        isRecord(v) || Array.isArray(v) ? plainEntries(v, [...at, Array.isArray(value) ? Number(k) : k], depth - 1) : [[[...at, k], v]],
    );
}

/** Why Kubernetes, cert-manager or DNS would refuse a service host, or undefined. */
function hostNameProblem(host: string): string | undefined {
    if (host.length > 253 || host.split(".").some((label) => label.length > 63))
        return "is not a valid DNS name (over 253 characters, or a label over 63)";
    if (tlsSecretName(host).length > 253) return `makes a TLS Secret name "${tlsSecretName(host).slice(0, 40)}..." over 253 characters`;
    return undefined;
}
