// Names the program derives from configured ones, in one place: the config validation checks
// what they become, and the components use the same functions to make them.

/** Pulumi name of a service's components: unique per (project, service), or two URNs collide. */
export const serviceResourceName = (project: string, service: string) => `${project}-${service}`;

/** Pulumi name of a host's certificate component: unique per (project, host). */
export const hostResourceName = (project: string, host: string) => `${project}-${host}`;

/** Name of the TLS Secret (and of its Certificate) for a host. */
export const tlsSecretName = (host: string) => `${host.replace(/\./g, "-")}-tls`;

/**
 * The NetworkPolicies every project namespace has; a service's own policy is named after the
 * service, so no service may take one of these names.
 */
export const PROJECT_POLICIES = {
    defaultDeny: "default-deny-ingress",
    sameNamespace: "allow-same-namespace",
    acmeSolver: "allow-acme-http01-solver",
} as const;

/** Name of a service's CI deployer ServiceAccount, Role and RoleBinding. */
export const deployerName = (service: string) => `${service}-deployer`;

/** The namespace the stack creates for cert-manager; no project may take it. */
export const CERT_MANAGER_NAMESPACE = "cert-manager";

/** The namespace of the k3s upgrade controller, which the stack creates. */
export const SYSTEM_UPGRADE_NAMESPACE = "system-upgrade";

/** The namespace of GitLab's agent for Kubernetes (agentk), which the stack creates in agent mode. */
export const AGENTK_NAMESPACE = "gitlab-agent";

/** GitLab deployment tier of each environment that has one. */
export const GITLAB_TIERS: Readonly<Record<string, string>> = { dev: "development", stg: "staging", prod: "production" };

/** Hostname (and node name) of server `index` (from 1) of a cluster. */
export const serverHostname = (prefix: string, index: number) => `${prefix}-${index}`;

/** Hostname (and node name) of agent `index` (from 1) of a worker pool. */
export const agentHostname = (prefix: string, pool: string, index: number) => `${prefix}-${pool}-${index}`;
