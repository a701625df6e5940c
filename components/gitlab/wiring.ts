// The GitLab side of a stack, as index.ts composes it: per service the registry access its pull
// Secret uses (before the workload) and the CI/CD variables its pipeline reads (after, from the
// workload's outputs); on the agent path, the agent and agentk. A stack without GitLab (`local`)
// gets the same shape with fixed registry credentials and nothing to wire.
// Plain functions, not a component: the resources keep the URNs they have at the stack's root.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { AgentAccess, ManagedGitlab, UnmanagedGitlab } from "../../config";
import type { HobbyCluster } from "../cluster/hobbyCluster";
import { LabelArgs } from "../lib/labels";
import { deployerName } from "../../lib/names";
import { Agentk } from "../platform/agentk";
import type { Microservice, RegistryCredentials } from "../workload/microservice";
import { AgentAuthorization, agentKubeContext, GitlabAgent } from "./agent";
import { GitlabProject, PipelineClusterAccess } from "./project";
import { gitlabProvider } from "./provider";
import { fixedRegistryCredentials, GitlabRegistryAccess } from "./registryAccess";

/** One deployed service, as its pipeline's wiring needs it. */
export interface DeployedService {
    /** Resource name (`<project>-<service>`). */
    name: string;
    project: string;
    service: string;
    gitlabProject: string;
    microservice: Microservice;
}

export interface GitlabWiring {
    /** Whether pipelines reach the cluster through the agent (so the deployers need no token). */
    viaAgent: boolean;
    /** Credentials of one service's image-pull Secret (a secret Output). */
    registryCredentials(name: string, service: string, gitlabProject: string): pulumi.Output<RegistryCredentials>;
    /** Every service's CI/CD variables and, on the agent path, the agent and agentk. */
    wirePipelines(services: DeployedService[], cluster: HobbyCluster | undefined, provider: k8s.Provider, labels: LabelArgs): void;
}

export function gitlabWiring(cfg: ManagedGitlab<pulumi.Output<string>> | UnmanagedGitlab<pulumi.Output<string>>, environment: string): GitlabWiring {
    if (!cfg.enabled) {
        const fixed = fixedRegistryCredentials(cfg);
        return { viaAgent: false, registryCredentials: () => fixed, wirePipelines: () => undefined };
    }
    const provider = gitlabProvider("gitlab", { domain: cfg.domain, token: cfg.apiToken });
    const agent = cfg.clusterAccess.mode === "agent" ? cfg.clusterAccess : undefined;
    return {
        viaAgent: agent !== undefined,
        registryCredentials: (name, service, gitlabProject) =>
            new GitlabRegistryAccess(
                name,
                { gitlabProject, environment, service, registry: cfg.registry, expiresAt: cfg.deployTokenExpiresAt },
                { provider },
            ).registryCredentials,
        wirePipelines(services, cluster, k8sProvider, labels) {
            for (const { name, service, gitlabProject, microservice: ms } of services) {
                const clusterAccess = pipelineAccess(agent, cluster, ms, name);
                const args = { gitlabProject, environment, service, clusterAccess, namespace: ms.namespace, externalUrl: ms.url };
                new GitlabProject(name, { ...args, gitlabDomain: cfg.domain, goModulesToken: cfg.goModulesToken }, { provider });
            }
            if (!agent) return;
            const authorizations: AgentAuthorization[] = services.map((s) => ({
                gitlabProject: s.gitlabProject,
                namespace: s.project,
                serviceAccount: deployerName(s.service),
            }));
            const registered = new GitlabAgent(
                "gitlab-agent",
                { project: agent.project, agentName: agent.name, branch: agent.branch, environment, authorizations },
                { provider },
            );
            new Agentk(
                "gitlab-agent",
                { ...labels, kasAddress: agent.kasAddress, token: registered.token, tokenId: registered.tokenId, impersonates: authorizations },
                { provider: k8sProvider, dependsOn: services.map((s) => s.microservice) },
            );
        },
    };
}

/** What a service's pipeline is told: the agent's kube context, or the token path's server, CA and deployer token. */
function pipelineAccess(agent: AgentAccess | undefined, cluster: HobbyCluster | undefined, ms: Microservice, name: string): PipelineClusterAccess {
    if (agent) return { mode: "agent", kubeContext: agentKubeContext(agent) };
    // The config refuses GitLab without the stack's own cluster; the token path issues every deployer a token.
    if (!cluster || !ms.deployerToken) throw new Error(`${name}: the token path needs the stack's own cluster and the deployer's token`);
    return { mode: "token", server: cluster.apiServerUrl, caCertificate: cluster.caCertificate, deployerToken: ms.deployerToken };
}
