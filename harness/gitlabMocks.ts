// What GitLab computes for the stack's GitLab resources, for the mocks (mocks.ts registers it).
export const DEPLOY_TOKEN = "gitlab:index/projectDeployToken:ProjectDeployToken";
export const VARIABLE = "gitlab:index/projectVariable:ProjectVariable";
export const ENVIRONMENT = "gitlab:index/projectEnvironment:ProjectEnvironment";

/** Username and token GitLab gives a new deploy token (deterministic per resource name). */
export function deployTokenState(name: string): { username: string; token: string; expired: boolean; revoked: boolean } {
    return { username: `gitlab+deploy-token-${name.length}`, token: `gldt-mock${name.replace(/\W/g, "")}`, expired: false, revoked: false };
}
