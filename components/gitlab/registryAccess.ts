import * as gitlab from "@hobby-platform/gitlab";
import * as pulumi from "@pulumi/pulumi";
import { isCalendarDate, REGISTRY_HOST } from "../../lib/formats";
import { assertArgs } from "../lib/invariants";
import type { UnmanagedGitlab } from "../../config";
import type { RegistryCredentials } from "../workload/microservice";

export interface GitlabRegistryAccessArgs {
    /** GitLab project holding the service's images: full path (`group/project`) or numeric id. */
    gitlabProject: pulumi.Input<string>;
    /** Environment (`dev`, `stg`, `prod`): part of the token name, so each stack owns its own token. */
    environment: string;
    /** Service name: part of the token name. */
    service: string;
    /** Container registry host the pull Secret logs in to, e.g. `registry.example.com`. */
    registry: string;
    /** Expiry date `YYYY-MM-DD` (UTC midnight); changing it replaces the token on the next `pulumi up`. */
    expiresAt: string;
}

/**
 * Read-only access to one service's container registry for one environment: a project deploy
 * token with the `read_registry` scope alone, whose username and token become the credentials of
 * the service's image-pull Secret. It is created before the Microservice, which consumes it.
 */
export class GitlabRegistryAccess extends pulumi.ComponentResource {
    /** Name of the deploy token in GitLab (`<service>-<env>-pull`). */
    public readonly tokenName: pulumi.Output<string>;
    /** Registry host, deploy-token username and token, for the pull Secret (secret as a whole). */
    public readonly registryCredentials: pulumi.Output<RegistryCredentials>;

    constructor(name: string, args: GitlabRegistryAccessArgs, opts?: pulumi.ComponentResourceOptions) {
        super("hobby-platform:gitlab:GitlabRegistryAccess", name, {}, opts);
        assertArgs(this, [
            !isCalendarDate(args.expiresAt) && `expiresAt must be a date YYYY-MM-DD, e.g. "2027-06-30", got "${args.expiresAt}"`,
            !REGISTRY_HOST.test(args.registry) && `registry must be a registry host, e.g. "registry.example.com", got "${args.registry}"`,
        ]);

        const tokenName = `${args.service}-${args.environment}-pull`;
        // GitLab keeps the default username (`gitlab+deploy-token-<n>`) unique, so a rotation
        // (replace: create the new token, then delete the old one) never collides with itself.
        const token = new gitlab.ProjectDeployToken(
            `${name}-pull`,
            {
                project: args.gitlabProject,
                name: tokenName,
                scopes: ["read_registry"],
                // The provider wants RFC 3339; the config holds a date.
                expiresAt: `${args.expiresAt}T00:00:00Z`,
            },
            { parent: this },
        );

        this.tokenName = token.name;
        this.registryCredentials = pulumi.secret(
            pulumi.all([token.username, token.token]).apply(([username, password]) => ({
                server: args.registry,
                username,
                password,
            })),
        );
        this.registerOutputs({ tokenName: this.tokenName, registryCredentials: this.registryCredentials });
    }
}

/** The pull Secrets' credentials without GitLab (e.g. `local`): the configured registry user and password (secret). */
export function fixedRegistryCredentials(g: UnmanagedGitlab<pulumi.Output<string>>): pulumi.Output<RegistryCredentials> {
    return pulumi.secret(
        pulumi.all([g.registry, g.registryUsername, g.registryPassword]).apply(([server, username, password]) => ({ server, username, password })),
    );
}
