// The secret config keys, which the program only ever reads as Pulumi secrets.

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

/** Which secrets a configuration needs, so that a missing one is reported before any resource. */
export function requiredSecrets(raw: { gitlab: { enabled: boolean } }): SecretKey[] {
    return raw.gitlab.enabled ? ["gitlabApiToken", "goModulesToken"] : ["registryPassword"];
}
