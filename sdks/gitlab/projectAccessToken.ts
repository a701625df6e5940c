// Mirrors `ProjectAccessToken` of the official @pulumi/gitlab SDK (schema of plugin gitlab 10.1.1).
import * as pulumi from "@pulumi/pulumi";
import * as inputs from "./types/input";
import * as outputs from "./types/output";
import * as utilities from "./utilities";

/**
 * The `gitlab.ProjectAccessToken` resource manages the lifecycle of a project access token.
 *
 * Import id: `{project}:{token-id}` (the `token` is not available for imported resources).
 */
export class ProjectAccessToken extends pulumi.CustomResource {
    /**
     * Get an existing ProjectAccessToken resource's state with the given name, ID, and optional extra
     * properties used to qualify the lookup.
     *
     * @param name The _unique_ name of the resulting resource.
     * @param id The _unique_ provider ID of the resource to lookup.
     * @param state Any extra arguments used during the lookup.
     * @param opts Optional settings to control the behavior of the CustomResource.
     */
    public static get(name: string, id: pulumi.Input<pulumi.ID>, state?: ProjectAccessTokenState, opts?: pulumi.CustomResourceOptions): ProjectAccessToken {
        return new ProjectAccessToken(name, <any>state, { ...opts, id: id });
    }

    /** @internal */
    public static readonly __pulumiType = "gitlab:index/projectAccessToken:ProjectAccessToken";

    /**
     * Returns true if the given object is an instance of ProjectAccessToken. This is designed to work even
     * when multiple copies of the Pulumi SDK have been loaded into the same process.
     */
    public static isInstance(obj: any): obj is ProjectAccessToken {
        if (obj === undefined || obj === null) {
            return false;
        }
        return obj["__pulumiType"] === ProjectAccessToken.__pulumiType;
    }

    /**
     * The access level for the project access token. Valid values are: `no one`, `minimal`, `guest`, `planner`,
     * `reporter`, `security_manager`, `developer`, `maintainer`, `owner`. Default is `maintainer`.
     */
    declare public readonly accessLevel: pulumi.Output<string>;
    /** True if the token is active. */
    declare public /*out*/ readonly active: pulumi.Output<boolean>;
    /** Time the token has been created, RFC3339 format. */
    declare public /*out*/ readonly createdAt: pulumi.Output<string>;
    /** The description of the project access token. */
    declare public readonly description: pulumi.Output<string>;
    /** When the token will expire, YYYY-MM-DD format. Is automatically set when `rotationConfiguration` is used. */
    declare public readonly expiresAt: pulumi.Output<string>;
    /** The name of the project access token. */
    declare public readonly name: pulumi.Output<string>;
    /** The ID or full path of the project. */
    declare public readonly project: pulumi.Output<string>;
    /** True if the token is revoked. */
    declare public /*out*/ readonly revoked: pulumi.Output<boolean>;
    /** The configuration for when to rotate a token automatically. Will not rotate a token until `pulumi up` is run. */
    declare public readonly rotationConfiguration: pulumi.Output<outputs.ProjectAccessTokenRotationConfiguration | undefined>;
    /**
     * The scopes of the project access token, e.g. `api`, `read_api`, `read_registry`, `write_registry`,
     * `read_repository`, `write_repository`, `create_runner`, `manage_runner`, `k8s_proxy`, `self_rotate`.
     */
    declare public readonly scopes: pulumi.Output<string[]>;
    /** The token of the project access token. The token is not available for imported resources. */
    declare public /*out*/ readonly token: pulumi.Output<string>;
    /** The userId associated to the token. */
    declare public /*out*/ readonly userId: pulumi.Output<number>;
    /** Whether to validate if the expiration date is in the future. */
    declare public readonly validatePastExpirationDate: pulumi.Output<boolean>;

    /**
     * Create a ProjectAccessToken resource with the given unique name, arguments, and options.
     *
     * @param name The _unique_ name of the resource.
     * @param args The arguments to use to populate this resource's properties.
     * @param opts A bag of options that control this resource's behavior.
     */
    constructor(name: string, args: ProjectAccessTokenArgs, opts?: pulumi.CustomResourceOptions)
    constructor(name: string, argsOrState?: ProjectAccessTokenArgs | ProjectAccessTokenState, opts?: pulumi.CustomResourceOptions) {
        let resourceInputs: pulumi.Inputs = {};
        opts = opts || {};
        if (opts.id) {
            const state = argsOrState as ProjectAccessTokenState | undefined;
            resourceInputs["accessLevel"] = state?.accessLevel;
            resourceInputs["active"] = state?.active;
            resourceInputs["createdAt"] = state?.createdAt;
            resourceInputs["description"] = state?.description;
            resourceInputs["expiresAt"] = state?.expiresAt;
            resourceInputs["name"] = state?.name;
            resourceInputs["project"] = state?.project;
            resourceInputs["revoked"] = state?.revoked;
            resourceInputs["rotationConfiguration"] = state?.rotationConfiguration;
            resourceInputs["scopes"] = state?.scopes;
            resourceInputs["token"] = state?.token;
            resourceInputs["userId"] = state?.userId;
            resourceInputs["validatePastExpirationDate"] = state?.validatePastExpirationDate;
        } else {
            const args = argsOrState as ProjectAccessTokenArgs | undefined;
            if (args?.project === undefined && !opts.urn) {
                throw new Error("Missing required property 'project'");
            }
            if (args?.scopes === undefined && !opts.urn) {
                throw new Error("Missing required property 'scopes'");
            }
            resourceInputs["accessLevel"] = args?.accessLevel;
            resourceInputs["description"] = args?.description;
            resourceInputs["expiresAt"] = args?.expiresAt;
            resourceInputs["name"] = args?.name;
            resourceInputs["project"] = args?.project;
            resourceInputs["rotationConfiguration"] = args?.rotationConfiguration;
            resourceInputs["scopes"] = args?.scopes;
            resourceInputs["validatePastExpirationDate"] = args?.validatePastExpirationDate;
            resourceInputs["active"] = undefined /*out*/;
            resourceInputs["createdAt"] = undefined /*out*/;
            resourceInputs["revoked"] = undefined /*out*/;
            resourceInputs["token"] = undefined /*out*/;
            resourceInputs["userId"] = undefined /*out*/;
        }
        opts = pulumi.mergeOptions(utilities.resourceOptsDefaults(), opts);
        const secretOpts = { additionalSecretOutputs: ["token"] };
        opts = pulumi.mergeOptions(opts, secretOpts);
        super(ProjectAccessToken.__pulumiType, name, resourceInputs, opts);
    }
}

/**
 * Input properties used for looking up and filtering ProjectAccessToken resources.
 */
export interface ProjectAccessTokenState {
    /** The access level for the project access token. Default is `maintainer`. */
    accessLevel?: pulumi.Input<string>;
    /** True if the token is active. */
    active?: pulumi.Input<boolean>;
    /** Time the token has been created, RFC3339 format. */
    createdAt?: pulumi.Input<string>;
    /** The description of the project access token. */
    description?: pulumi.Input<string>;
    /** When the token will expire, YYYY-MM-DD format. */
    expiresAt?: pulumi.Input<string>;
    /** The name of the project access token. */
    name?: pulumi.Input<string>;
    /** The ID or full path of the project. */
    project?: pulumi.Input<string>;
    /** True if the token is revoked. */
    revoked?: pulumi.Input<boolean>;
    /** The configuration for when to rotate a token automatically. */
    rotationConfiguration?: pulumi.Input<inputs.ProjectAccessTokenRotationConfiguration>;
    /** The scopes of the project access token, e.g. `read_api`. */
    scopes?: pulumi.Input<pulumi.Input<string>[]>;
    /** The token of the project access token. */
    token?: pulumi.Input<string>;
    /** The userId associated to the token. */
    userId?: pulumi.Input<number>;
    /** Whether to validate if the expiration date is in the future. */
    validatePastExpirationDate?: pulumi.Input<boolean>;
}

/**
 * The set of arguments for constructing a ProjectAccessToken resource.
 */
export interface ProjectAccessTokenArgs {
    /**
     * The access level for the project access token. Valid values are: `no one`, `minimal`, `guest`, `planner`,
     * `reporter`, `security_manager`, `developer`, `maintainer`, `owner`. Default is `maintainer`.
     */
    accessLevel?: pulumi.Input<string>;
    /** The description of the project access token. */
    description?: pulumi.Input<string>;
    /** When the token will expire, YYYY-MM-DD format. Is automatically set when `rotationConfiguration` is used. */
    expiresAt?: pulumi.Input<string>;
    /** The name of the project access token. */
    name?: pulumi.Input<string>;
    /** The ID or full path of the project. */
    project: pulumi.Input<string>;
    /** The configuration for when to rotate a token automatically. Will not rotate a token until `pulumi up` is run. */
    rotationConfiguration?: pulumi.Input<inputs.ProjectAccessTokenRotationConfiguration>;
    /**
     * The scopes of the project access token, e.g. `api`, `read_api`, `read_registry`, `write_registry`,
     * `read_repository`, `write_repository`, `create_runner`, `manage_runner`, `k8s_proxy`, `self_rotate`.
     */
    scopes: pulumi.Input<pulumi.Input<string>[]>;
    /** Whether to validate if the expiration date is in the future. */
    validatePastExpirationDate?: pulumi.Input<boolean>;
}
