import * as gitlab from "@hobby-platform/gitlab";
import * as pulumi from "@pulumi/pulumi";

/** Settings of the GitLab provider: the stack's one API token, the instance's domain. */
export interface GitlabProviderArgs {
    /** Domain of the GitLab instance, e.g. `gitlab.example.com`; the API is `https://<domain>/api/v4/`. */
    domain: string;
    /** API token (scope `api`, a Maintainer of the service projects); kept secret. */
    token: pulumi.Input<string>;
}

/**
 * The GitLab provider the components use. It is configured so that `pulumi preview` makes no API
 * call: no early authentication check (the provider would otherwise fetch the current user when it
 * starts) and the components use no invokes (data sources). TLS stays verified.
 */
export function gitlabProvider(name: string, args: GitlabProviderArgs, opts?: pulumi.ResourceOptions): gitlab.Provider {
    return new gitlab.Provider(
        name,
        {
            baseUrl: `https://${args.domain}/api/v4/`,
            token: pulumi.secret(args.token),
            earlyAuthCheck: false,
            insecure: false,
        },
        opts,
    );
}
