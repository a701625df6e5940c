// Mirrors `ProjectDeployToken` of the official @pulumi/gitlab SDK (schema of plugin gitlab 10.1.1).
import * as pulumi from "@pulumi/pulumi";
import * as utilities from "./utilities";

/**
 * The `gitlab.ProjectDeployToken` resource allows you to manage the lifecycle of deploy tokens on a project.
 *
 * Import id: `{project_id}:{deploy_token_id}` (the `token` is not available for imported resources).
 */
export class ProjectDeployToken extends pulumi.CustomResource {
    /**
     * Get an existing ProjectDeployToken resource's state with the given name, ID, and optional extra
     * properties used to qualify the lookup.
     *
     * @param name The _unique_ name of the resulting resource.
     * @param id The _unique_ provider ID of the resource to lookup.
     * @param state Any extra arguments used during the lookup.
     * @param opts Optional settings to control the behavior of the CustomResource.
     */
    public static get(name: string, id: pulumi.Input<pulumi.ID>, state?: ProjectDeployTokenState, opts?: pulumi.CustomResourceOptions): ProjectDeployToken {
        return new ProjectDeployToken(name, <any>state, { ...opts, id: id });
    }

    /** @internal */
    public static readonly __pulumiType = "gitlab:index/projectDeployToken:ProjectDeployToken";

    /**
     * Returns true if the given object is an instance of ProjectDeployToken. This is designed to work even
     * when multiple copies of the Pulumi SDK have been loaded into the same process.
     */
    public static isInstance(obj: any): obj is ProjectDeployToken {
        if (obj === undefined || obj === null) {
            return false;
        }
        return obj["__pulumiType"] === ProjectDeployToken.__pulumiType;
    }

    /** True if the token is expired. */
    declare public /*out*/ readonly expired: pulumi.Output<boolean>;
    /** Time the token expires in RFC3339 format. Not set by default. */
    declare public readonly expiresAt: pulumi.Output<string>;
    /** A name to describe the deploy token with. */
    declare public readonly name: pulumi.Output<string>;
    /** The Id or full path of the project. */
    declare public readonly project: pulumi.Output<string>;
    /** True if the token is revoked. */
    declare public /*out*/ readonly revoked: pulumi.Output<boolean>;
    /**
     * The scopes of the project deploy token. Valid values are: `read_repository`, `read_registry`, `write_registry`,
     * `read_virtual_registry`, `write_virtual_registry`, `read_package_registry`, `write_package_registry`.
     */
    declare public readonly scopes: pulumi.Output<string[]>;
    /** The secret token. This is only populated when creating a new deploy token. */
    declare public /*out*/ readonly token: pulumi.Output<string>;
    /** A username for the deploy token. Default is `gitlab+deploy-token-{n}`. */
    declare public readonly username: pulumi.Output<string>;
    /** Whether to validate if the expiration date is in the future. */
    declare public readonly validatePastExpirationDate: pulumi.Output<boolean>;

    /**
     * Create a ProjectDeployToken resource with the given unique name, arguments, and options.
     *
     * @param name The _unique_ name of the resource.
     * @param args The arguments to use to populate this resource's properties.
     * @param opts A bag of options that control this resource's behavior.
     */
    constructor(name: string, args: ProjectDeployTokenArgs, opts?: pulumi.CustomResourceOptions)
    constructor(name: string, argsOrState?: ProjectDeployTokenArgs | ProjectDeployTokenState, opts?: pulumi.CustomResourceOptions) {
        let resourceInputs: pulumi.Inputs = {};
        opts = opts || {};
        if (opts.id) {
            const state = argsOrState as ProjectDeployTokenState | undefined;
            resourceInputs["expired"] = state?.expired;
            resourceInputs["expiresAt"] = state?.expiresAt;
            resourceInputs["name"] = state?.name;
            resourceInputs["project"] = state?.project;
            resourceInputs["revoked"] = state?.revoked;
            resourceInputs["scopes"] = state?.scopes;
            resourceInputs["token"] = state?.token;
            resourceInputs["username"] = state?.username;
            resourceInputs["validatePastExpirationDate"] = state?.validatePastExpirationDate;
        } else {
            const args = argsOrState as ProjectDeployTokenArgs | undefined;
            if (args?.project === undefined && !opts.urn) {
                throw new Error("Missing required property 'project'");
            }
            if (args?.scopes === undefined && !opts.urn) {
                throw new Error("Missing required property 'scopes'");
            }
            resourceInputs["expiresAt"] = args?.expiresAt;
            resourceInputs["name"] = args?.name;
            resourceInputs["project"] = args?.project;
            resourceInputs["scopes"] = args?.scopes;
            resourceInputs["username"] = args?.username;
            resourceInputs["validatePastExpirationDate"] = args?.validatePastExpirationDate;
            resourceInputs["expired"] = undefined /*out*/;
            resourceInputs["revoked"] = undefined /*out*/;
            resourceInputs["token"] = undefined /*out*/;
        }
        opts = pulumi.mergeOptions(utilities.resourceOptsDefaults(), opts);
        const secretOpts = { additionalSecretOutputs: ["token"] };
        opts = pulumi.mergeOptions(opts, secretOpts);
        super(ProjectDeployToken.__pulumiType, name, resourceInputs, opts);
    }
}

/**
 * Input properties used for looking up and filtering ProjectDeployToken resources.
 */
export interface ProjectDeployTokenState {
    /** True if the token is expired. */
    expired?: pulumi.Input<boolean>;
    /** Time the token expires in RFC3339 format. Not set by default. */
    expiresAt?: pulumi.Input<string>;
    /** A name to describe the deploy token with. */
    name?: pulumi.Input<string>;
    /** The Id or full path of the project. */
    project?: pulumi.Input<string>;
    /** True if the token is revoked. */
    revoked?: pulumi.Input<boolean>;
    /** The scopes of the project deploy token, e.g. `read_registry`. */
    scopes?: pulumi.Input<pulumi.Input<string>[]>;
    /** The secret token. This is only populated when creating a new deploy token. */
    token?: pulumi.Input<string>;
    /** A username for the deploy token. Default is `gitlab+deploy-token-{n}`. */
    username?: pulumi.Input<string>;
    /** Whether to validate if the expiration date is in the future. */
    validatePastExpirationDate?: pulumi.Input<boolean>;
}

/**
 * The set of arguments for constructing a ProjectDeployToken resource.
 */
export interface ProjectDeployTokenArgs {
    /** Time the token expires in RFC3339 format. Not set by default. */
    expiresAt?: pulumi.Input<string>;
    /** A name to describe the deploy token with. */
    name?: pulumi.Input<string>;
    /** The Id or full path of the project. */
    project: pulumi.Input<string>;
    /**
     * The scopes of the project deploy token. Valid values are: `read_repository`, `read_registry`, `write_registry`,
     * `read_virtual_registry`, `write_virtual_registry`, `read_package_registry`, `write_package_registry`.
     */
    scopes: pulumi.Input<pulumi.Input<string>[]>;
    /** A username for the deploy token. Default is `gitlab+deploy-token-{n}`. */
    username?: pulumi.Input<string>;
    /** Whether to validate if the expiration date is in the future. */
    validatePastExpirationDate?: pulumi.Input<boolean>;
}
