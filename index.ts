// Reads the validated configuration and composes the components, in the order of the seed's
// workflow: cluster, ingress and TLS, then per project its namespace and certificates, and per
// service its registry access, workload and GitLab wiring; last, the agent for Kubernetes.
import * as pulumi from "@pulumi/pulumi";
import { clusterAccess } from "./components/cluster/access";
import { AgentAuthorization, agentKubeContext, GitlabAgent } from "./components/gitlab/agent";
import { GitlabProject, PipelineClusterAccess } from "./components/gitlab/project";
import { gitlabProvider } from "./components/gitlab/provider";
import { fixedRegistryCredentials, GitlabRegistryAccess } from "./components/gitlab/registryAccess";
import { deployerName, hostResourceName, serviceResourceName } from "./components/lib/names";
import { Agentk } from "./components/platform/agentk";
import { HostCertificate } from "./components/platform/hostCertificate";
import { clusterPlatform } from "./components/platform/platform";
import { Microservice } from "./components/workload/microservice";
import { ProjectNamespace } from "./components/workload/projectNamespace";
import { loadConfig } from "./config";

const cfg = loadConfig();
const env = cfg.environment;
const labels = { environment: env, client: cfg.client };

const { provider, cluster } = clusterAccess(cfg.cluster, labels);
const platform = clusterPlatform(cfg, labels, cluster?.publicIps, provider);

// GitLab (dev, stg, prod): deploy tokens feed the pull Secrets, CI/CD variables tell pipelines
// how to reach the cluster. Without it (`local`) the pull Secrets use fixed credentials.
const gitlab = cfg.gitlab.enabled
    ? { ...cfg.gitlab, provider: gitlabProvider("gitlab", { domain: cfg.gitlab.domain, token: cfg.gitlab.apiToken }) }
    : cfg.gitlab;
const agent = gitlab.enabled && gitlab.clusterAccess.mode === "agent" ? gitlab.clusterAccess : undefined;

const serviceUrls: Record<string, pulumi.Output<string>> = {};
const authorizations: AgentAuthorization[] = [];
const deployers: Microservice[] = [];
for (const [project, p] of Object.entries(cfg.projects)) {
    const projectLabels = { ...labels, client: p.client };
    const namespace = new ProjectNamespace(project, { ...projectLabels, project }, { provider });
    // One certificate per host of the project, named by every Ingress on that host.
    const tlsSecrets = Object.fromEntries(
        p.hosts.map((host) => {
            const args = { ...projectLabels, host, project, namespace: namespace.name, clusterIssuer: platform.clusterIssuer };
            return [host, new HostCertificate(hostResourceName(project, host), args, { provider }).secretName];
        }),
    );
    for (const [service, s] of Object.entries(p.services)) {
        const name = serviceResourceName(project, service);
        const registryCredentials = gitlab.enabled
            ? new GitlabRegistryAccess(
                  name,
                  { gitlabProject: s.gitlabProject, environment: env, service, registry: gitlab.registry, expiresAt: gitlab.deployTokenExpiresAt },
                  { provider: gitlab.provider },
              ).registryCredentials
            : fixedRegistryCredentials(gitlab);
        const ms = new Microservice(
            name,
            {
                ...projectLabels,
                ...s,
                service,
                namespace: namespace.name,
                ingressClassName: platform.ingressClassName,
                tlsSecret: tlsSecrets[s.host],
                registryCredentials,
                skipAwait: !cfg.cluster.enabled && cfg.cluster.skipAwait,
                issueDeployerToken: !agent,
            },
            { provider },
        );
        // The agent path, or the token path (the deployer has a token): what the pipeline is told.
        const access: PipelineClusterAccess | undefined = agent
            ? { mode: "agent", kubeContext: agentKubeContext(agent) }
            : cluster &&
              ms.deployerToken && {
                  mode: "token",
                  server: cluster.apiServerUrl,
                  caCertificate: cluster.caCertificate,
                  deployerToken: ms.deployerToken,
              };
        if (gitlab.enabled && access) {
            const { domain: gitlabDomain, goModulesToken } = gitlab;
            const args = {
                gitlabProject: s.gitlabProject,
                environment: env,
                service,
                clusterAccess: access,
                namespace: ms.namespace,
                externalUrl: ms.url,
            };
            new GitlabProject(name, { ...args, gitlabDomain, goModulesToken }, { provider: gitlab.provider });
        }
        authorizations.push({ gitlabProject: s.gitlabProject, namespace: project, serviceAccount: deployerName(service) });
        deployers.push(ms);
        serviceUrls[`${project}/${service}`] = ms.url;
    }
}

// The agent path: the agent registered in GitLab with its configuration, and agentk in the cluster.
if (gitlab.enabled && agent) {
    const registered = new GitlabAgent(
        "gitlab-agent",
        { project: agent.project, agentName: agent.name, branch: agent.branch, environment: env, authorizations },
        { provider: gitlab.provider },
    );
    new Agentk(
        "gitlab-agent",
        { ...labels, kasAddress: agent.kasAddress, token: registered.token, tokenId: registered.tokenId, impersonates: authorizations },
        { provider, dependsOn: deployers },
    );
}

// Only a stack with its own cluster has the cluster's outputs: an exported `undefined` would
// make the engine warn on every run of the others (e.g. `local`).
export = {
    environment: env,
    ...(cluster && {
        apiServerUrl: cluster.apiServerUrl,
        nodePublicIps: cluster.publicIps,
        nodePrivateIps: cluster.privateIps,
        kubeconfig: cluster.kubeconfig,
        estimatedMonthlyCostUsd: cluster.monthlyCostUsd,
        etcdSnapshotBucket: cluster.etcdSnapshotBucket,
    }),
    serviceUrls,
    /** Addresses every service host must resolve to (none known when the controller is not the stack's). */
    ingressAddresses: platform.publicAddresses,
    /** ClusterIssuer that signs this environment's certificates. */
    certificateIssuer: platform.clusterIssuer,
};
