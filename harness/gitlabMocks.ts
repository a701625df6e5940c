// What GitLab computes for the stack's GitLab resources, for the mocks (mocks.ts registers it).
export const DEPLOY_TOKEN = "gitlab:index/projectDeployToken:ProjectDeployToken";
export const VARIABLE = "gitlab:index/projectVariable:ProjectVariable";
export const ENVIRONMENT = "gitlab:index/projectEnvironment:ProjectEnvironment";

/** Username and token GitLab gives a new deploy token (deterministic per resource name). */
export function deployTokenState(name: string): { username: string; token: string; expired: boolean; revoked: boolean } {
    return { username: `gitlab+deploy-token-${name.length}`, token: `gldt-mock${name.replace(/\W/g, "")}`, expired: false, revoked: false };
}

export const CLUSTER_AGENT = "gitlab:index/clusterAgent:ClusterAgent";
export const CLUSTER_AGENT_TOKEN = "gitlab:index/clusterAgentToken:ClusterAgentToken";
export const REPOSITORY_FILE = "gitlab:index/repositoryFile:RepositoryFile";

/** The id GitLab gives a new agent, and the token (and its id) of a new agent token. */
export const AGENT_ID = 42;
export const agentTokenState = (name: string) => ({ token: `glagent-mock${name.replace(/\W/g, "")}`, tokenId: 7 });
