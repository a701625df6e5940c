import * as gitlab from "@hobby-platform/gitlab";
import * as pulumi from "@pulumi/pulumi";
import { assertArgs } from "../lib/invariants";
import { GITLAB_TIERS } from "../../lib/names";

/** Characters GitLab accepts in a masked variable's value. */
const MASKABLE = /^[a-zA-Z0-9_+=/@:.~-]*$/;
/** Shortest value GitLab masks. */
const MASK_MIN_LENGTH = 8;

/**
 * Why GitLab would refuse to mask `value`, or undefined when it can. The reason never quotes the
 * value: it is only called on secrets.
 */
export function maskingProblem(value: string): string | undefined {
    if (value.length < MASK_MIN_LENGTH) {
        return `it is ${value.length} characters long and GitLab masks only values of at least ${MASK_MIN_LENGTH}`;
    }
    if (!MASKABLE.test(value)) {
        const bad = [...value].filter((c) => !MASKABLE.test(c)).length;
        return `it contains ${bad} character(s) outside [a-zA-Z0-9_+=/@:.~-] (e.g. a space or a line break), which GitLab cannot mask`;
    }
    return undefined;
}

/**
 * The token path writes the API URL (`K8S_<ENV>_SERVER`), its PEM CA certificate (stored base64 in
 * `K8S_<ENV>_CA`, so the pipeline verifies TLS) and the CI deployer's bearer token
 * (`Microservice.deployerToken`, in `K8S_<ENV>_TOKEN`). The agent path writes only the kube
 * context GitLab gives the job for the agent (`<agent project>:<agent name>`, in `K8S_<ENV>_CONTEXT`):
 * no cluster credential is stored in GitLab.
 */
export type PipelineClusterAccess =
    | { mode: "token"; server: pulumi.Input<string>; caCertificate: pulumi.Input<string>; deployerToken: pulumi.Input<string> }
    | { mode: "agent"; kubeContext: string };

export interface GitlabProjectArgs {
    /** GitLab project of the service: full path (`group/project`) or numeric id. */
    gitlabProject: pulumi.Input<string>;
    /** Environment (`dev`, `stg`, `prod`): the GitLab environment and every variable's scope. */
    environment: string;
    /** Service name, for the variables' descriptions. */
    service: string;
    /** How the pipeline reaches the cluster: the variables of the token path, or the agent's kube context. */
    clusterAccess: PipelineClusterAccess;
    /** Namespace of the service's Deployment (`K8S_<ENV>_NAMESPACE`), which the GitLab group need not match. */
    namespace: pulumi.Input<string>;
    /** Domain of the GitLab instance (`GITLAB_DOMAIN`), e.g. `gitlab.example.com`. */
    gitlabDomain: string;
    /** Read token for the team's private Go modules (`GITLAB_TOKEN`), from a config secret. */
    goModulesToken: pulumi.Input<string>;
    /** Public URL of the service, linked from the GitLab environment. */
    externalUrl?: pulumi.Input<string>;
}

/** One CI/CD variable the component writes. */
interface VariableSpec {
    key: string;
    value: pulumi.Input<string>;
    /** A credential: masked and hidden, so GitLab must be able to mask it. */
    secret: boolean;
    description: string;
}

/**
 * What a service's pipeline needs from GitLab for one environment: the GitLab environment (with its
 * deployment tier) and the CI/CD variables, each scoped to that environment and protected, so a
 * stack writes only its own environment's variables and only protected branches read them.
 *
 * Variables (`<ENV>` is the environment in upper case, e.g. `DEV`):
 * - `GITLAB_DOMAIN`: the instance's domain, plain.
 * - `GITLAB_TOKEN`: the private Go modules read token, masked and hidden.
 * - `K8S_<ENV>_NAMESPACE`: the namespace of the service's Deployment, plain.
 * - token path: `K8S_<ENV>_SERVER`, the Kubernetes API URL, plain; `K8S_<ENV>_TOKEN`, the CI
 *   deployer's bearer token, masked and hidden; `K8S_<ENV>_CA`, the API's CA certificate, PEM then
 *   base64 on one line (the form of a kubeconfig's `certificate-authority-data`), plain, as a CA
 *   certificate is public.
 * - agent path: `K8S_<ENV>_CONTEXT`, the agent's kube context, plain.
 * All are `env_var` variables with `raw` set (no `$` expansion of their values).
 */
export class GitlabProject extends pulumi.ComponentResource {
    /** GitLab environment name, which is also every variable's environment scope. */
    public readonly environmentName: pulumi.Output<string>;
    /** Keys of the variables written, e.g. `K8S_DEV_TOKEN`. */
    public readonly variableKeys: pulumi.Output<string[]>;

    constructor(name: string, args: GitlabProjectArgs, opts?: pulumi.ComponentResourceOptions) {
        super("hobby-platform:gitlab:GitlabProject", name, {}, opts);
        const tier = GITLAB_TIERS[args.environment];
        assertArgs(this, [
            !tier &&
                `environment must be one of ${Object.keys(GITLAB_TIERS).join(", ")} (a stack with a GitLab environment), got "${args.environment}"`,
        ]);
        const env = args.environment;
        const ENV = env.toUpperCase();
        const managed = `Managed by the hobby-platform stack ${pulumi.getStack()}`;

        const environment = new gitlab.ProjectEnvironment(
            `${name}-environment`,
            {
                project: args.gitlabProject,
                name: env,
                tier,
                externalUrl: args.externalUrl,
                // GitLab deletes only stopped environments: let `pulumi destroy` stop it first.
                stopBeforeDestroy: true,
            },
            { parent: this, deleteBeforeReplace: true },
        );

        const access = args.clusterAccess;
        const variables: VariableSpec[] = [
            { key: "GITLAB_DOMAIN", value: args.gitlabDomain, secret: false, description: "GitLab domain, for go get of private modules" },
            {
                key: "GITLAB_TOKEN",
                value: args.goModulesToken,
                secret: true,
                description: "Read token for private Go modules (pass it to go through a BuildKit secret)",
            },
            ...(access.mode === "token"
                ? [{ key: `K8S_${ENV}_SERVER`, value: access.server, secret: false, description: `Kubernetes API URL of ${env}` }]
                : []),
            { key: `K8S_${ENV}_NAMESPACE`, value: args.namespace, secret: false, description: `Namespace of ${args.service} in ${env}` },
            ...(access.mode === "token"
                ? [
                      {
                          key: `K8S_${ENV}_TOKEN`,
                          value: access.deployerToken,
                          secret: true,
                          description: `Bearer token of ${args.service}-deployer in ${env}`,
                      },
                      {
                          key: `K8S_${ENV}_CA`,
                          value: this.caBase64(access.caCertificate, args.service),
                          secret: false,
                          description: `CA certificate of the Kubernetes API of ${env}, base64 PEM (certificate-authority-data)`,
                      },
                  ]
                : [
                      {
                          key: `K8S_${ENV}_CONTEXT`,
                          value: access.kubeContext,
                          secret: false,
                          description: `Kube context of the agent for Kubernetes that deploys to ${env} (ci_access)`,
                      },
                  ]),
        ];

        for (const v of variables) {
            const value = v.secret
                ? // GitLab rejects a masked variable it cannot mask; say which one and why before it is sent.
                  // Known values (config secrets) are checked in preview too.
                  pulumi.secret(
                      pulumi.output(v.value).apply((plain) => {
                          const problem = maskingProblem(plain);
                          if (problem)
                              throw new pulumi.ResourceError(
                                  `CI/CD variable ${v.key} of ${args.service} (${env}) cannot be masked: ${problem}`,
                                  this,
                              );
                          return plain;
                      }),
                  )
                : v.value;
            new gitlab.ProjectVariable(
                `${name}-${v.key}`,
                {
                    project: args.gitlabProject,
                    key: v.key,
                    value,
                    environmentScope: env,
                    protected: true,
                    masked: v.secret,
                    hidden: v.secret,
                    raw: true,
                    variableType: "env_var",
                    description: `${v.description}. ${managed}.`,
                },
                {
                    parent: this,
                    additionalSecretOutputs: v.secret ? ["value"] : [],
                    // Key and scope are unique in a project: the old variable must go before its replacement.
                    deleteBeforeReplace: true,
                },
            );
        }

        this.environmentName = environment.name;
        this.variableKeys = pulumi.output(variables.map((v) => v.key));
        this.registerOutputs({ environmentName: this.environmentName, variableKeys: this.variableKeys });
    }

    /**
     * One line of base64: the form of a kubeconfig's certificate-authority-data, which is how
     * templates/microservice.gitlab-ci.yml uses it (`kubectl config set clusters.<env>.certificate-authority-data`).
     */
    private caBase64(caCertificate: pulumi.Input<string>, service: string): pulumi.Output<string> {
        return pulumi.output(caCertificate).apply((pem) => {
            if (!/^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----$/.test(pem.trim())) {
                throw new pulumi.ResourceError(
                    `clusterCaCertificate of ${service} must be a PEM certificate ("-----BEGIN CERTIFICATE-----\\n...")`,
                    this,
                );
            }
            return Buffer.from(pem, "utf8").toString("base64");
        });
    }
}
