import * as gitlab from "@hobby-platform/gitlab";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { assertArgs } from "../lib/invariants";
import { GITLAB_TIERS } from "../../lib/names";

/** One service project whose pipeline the agent serves, and the deployer identity it gets. */
export interface AgentAuthorization {
    /** Full path of the service's GitLab project. */
    gitlabProject: string;
    /** Namespace of the service's deployer ServiceAccount. */
    namespace: string;
    /** The deployer ServiceAccount (`<service>-deployer`), which the agent impersonates for that project. */
    serviceAccount: string;
}

export interface GitlabAgentArgs {
    /** Path of the project that holds the agent's configuration. */
    project: string;
    /** The agent's name. */
    agentName: string;
    /** Branch the agent reads its configuration from (the project's default branch). */
    branch: string;
    /** Environment (`dev`, `stg`, `prod`): the only environment whose jobs may use the agent. */
    environment: string;
    /** The service projects the agent serves. */
    authorizations: AgentAuthorization[];
}

/** The ServiceAccount user name Kubernetes authenticates and impersonates, e.g. `system:serviceaccount:ns:name`. */
export const serviceAccountUser = (namespace: string, name: string) => `system:serviceaccount:${namespace}:${name}`;

/** The kube context GitLab gives a job the agent serves: `<agent project path>:<agent name>`. */
export const agentKubeContext = (agent: { project: string; name: string }) => `${agent.project}:${agent.name}`;

/**
 * The agent's configuration file: `ci_access` for each service project, for jobs of `environment`
 * only, acting in the cluster as that service's deployer ServiceAccount (impersonated), so a
 * pipeline may do through the agent exactly what the token path lets it do.
 */
export function agentConfigYaml(args: Pick<GitlabAgentArgs, "environment" | "authorizations">): string {
    const projects = [...args.authorizations]
        .sort((a, b) => a.gitlabProject.localeCompare(b.gitlabProject))
        .map((a) => ({
            id: a.gitlabProject,
            environments: [args.environment],
            access_as: { impersonate: { username: serviceAccountUser(a.namespace, a.serviceAccount) } },
        }));
    return (
        `# Managed by the hobby-platform stack ${pulumi.getStack()}: \`pulumi up\` rewrites this file.\n` +
        YAML.stringify({ ci_access: { projects } })
    );
}

/**
 * The agent for Kubernetes on the GitLab side: the agent registered in its configuration project,
 * its token (a secret, for `Agentk`), and its configuration file, committed by the stack.
 */
export class GitlabAgent extends pulumi.ComponentResource {
    /** The agent's token, which agentk presents to GitLab (secret). */
    public readonly token: pulumi.Output<string>;
    /** Id of the token: it changes when the token is replaced. */
    public readonly tokenId: pulumi.Output<number>;
    /** The kube context GitLab gives an authorized job, `<project>:<agent name>`. */
    public readonly kubeContext: string;

    constructor(name: string, args: GitlabAgentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("hobby-platform:gitlab:GitlabAgent", name, {}, opts);
        assertArgs(this, [
            !GITLAB_TIERS[args.environment] && `environment must be one of ${Object.keys(GITLAB_TIERS).join(", ")}, got "${args.environment}"`,
            args.authorizations.length === 0 && "authorizations must name at least one service project",
        ]);
        const child = { parent: this };
        const managed = `Managed by the hobby-platform stack ${pulumi.getStack()}`;

        const agent = new gitlab.ClusterAgent(name, { project: args.project, name: args.agentName }, child);
        const token = new gitlab.ClusterAgentToken(
            `${name}-token`,
            { project: args.project, agentId: agent.agentId, name: `hobby-platform-${args.environment}`, description: `${managed}.` },
            child,
        );
        const filePath = `.gitlab/agents/${args.agentName}/config.yaml`;
        new gitlab.RepositoryFile(
            `${name}-config`,
            {
                project: args.project,
                branch: args.branch,
                filePath,
                encoding: "text",
                content: agentConfigYaml(args),
                createCommitMessage: `Add ${filePath} (${managed})`,
                updateCommitMessage: `Update ${filePath} (${managed})`,
                deleteCommitMessage: `Remove ${filePath} (${managed})`,
            },
            // The file names the agent's directory: register the agent first.
            { ...child, dependsOn: [agent] },
        );

        this.token = pulumi.secret(token.token);
        this.tokenId = token.tokenId;
        this.kubeContext = agentKubeContext({ project: args.project, name: args.agentName });
        this.registerOutputs({ token: this.token, tokenId: this.tokenId, kubeContext: this.kubeContext });
    }
}
