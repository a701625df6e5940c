// Mirrors `ProjectEnvironment` of the official @pulumi/gitlab SDK (schema of plugin gitlab 10.1.1).
import * as pulumi from "@pulumi/pulumi";
import * as utilities from "./utilities";

/**
 * The `gitlab.ProjectEnvironment` resource manages the lifecycle of an environment in a project.
 *
 * Import id: `{project}:{environment-id}`.
 */
export class ProjectEnvironment extends pulumi.CustomResource {
    /**
     * Get an existing ProjectEnvironment resource's state with the given name, ID, and optional extra
     * properties used to qualify the lookup.
     *
     * @param name The _unique_ name of the resulting resource.
     * @param id The _unique_ provider ID of the resource to lookup.
     * @param state Any extra arguments used during the lookup.
     * @param opts Optional settings to control the behavior of the CustomResource.
     */
    public static get(name: string, id: pulumi.Input<pulumi.ID>, state?: ProjectEnvironmentState, opts?: pulumi.CustomResourceOptions): ProjectEnvironment {
        return new ProjectEnvironment(name, <any>state, { ...opts, id: id });
    }

    /** @internal */
    public static readonly __pulumiType = "gitlab:index/projectEnvironment:ProjectEnvironment";

    /**
     * Returns true if the given object is an instance of ProjectEnvironment. This is designed to work even
     * when multiple copies of the Pulumi SDK have been loaded into the same process.
     */
    public static isInstance(obj: any): obj is ProjectEnvironment {
        if (obj === undefined || obj === null) {
            return false;
        }
        return obj["__pulumiType"] === ProjectEnvironment.__pulumiType;
    }

    /** The ISO8601 date/time that this environment will be automatically stopped at in UTC. */
    declare public /*out*/ readonly autoStopAt: pulumi.Output<string>;
    /** The auto stop setting for the environment. Allowed values are `always`, `with_action`. */
    declare public readonly autoStopSetting: pulumi.Output<string>;
    /** The cluster agent to associate with this environment. */
    declare public readonly clusterAgentId: pulumi.Output<number | undefined>;
    /** The ISO8601 date/time that this environment was created at in UTC. */
    declare public /*out*/ readonly createdAt: pulumi.Output<string>;
    /** The description of the environment. */
    declare public readonly description: pulumi.Output<string>;
    /** Place to link to for this environment. */
    declare public readonly externalUrl: pulumi.Output<string>;
    /** The Flux resource path to associate with this environment. */
    declare public readonly fluxResourcePath: pulumi.Output<string>;
    /** The Kubernetes namespace to associate with this environment. */
    declare public readonly kubernetesNamespace: pulumi.Output<string>;
    /** The name of the environment. */
    declare public readonly name: pulumi.Output<string>;
    /** The ID or full path of the project to environment is created for. */
    declare public readonly project: pulumi.Output<string>;
    /** The name of the environment in lowercase, shortened to 63 bytes, for URLs, host names and domain names. */
    declare public /*out*/ readonly slug: pulumi.Output<string>;
    /** State the environment is in. Valid values are `available`, `stopped`. */
    declare public /*out*/ readonly state: pulumi.Output<string>;
    /** Determines whether the environment is attempted to be stopped before the environment is deleted. */
    declare public readonly stopBeforeDestroy: pulumi.Output<boolean>;
    /** The tier of the new environment. Valid values are `production`, `staging`, `testing`, `development`, `other`. */
    declare public readonly tier: pulumi.Output<string>;
    /** The ISO8601 date/time that this environment was last updated at in UTC. */
    declare public /*out*/ readonly updatedAt: pulumi.Output<string>;

    /**
     * Create a ProjectEnvironment resource with the given unique name, arguments, and options.
     *
     * @param name The _unique_ name of the resource.
     * @param args The arguments to use to populate this resource's properties.
     * @param opts A bag of options that control this resource's behavior.
     */
    constructor(name: string, args: ProjectEnvironmentArgs, opts?: pulumi.CustomResourceOptions)
    constructor(name: string, argsOrState?: ProjectEnvironmentArgs | ProjectEnvironmentState, opts?: pulumi.CustomResourceOptions) {
        let resourceInputs: pulumi.Inputs = {};
        opts = opts || {};
        if (opts.id) {
            const state = argsOrState as ProjectEnvironmentState | undefined;
            resourceInputs["autoStopAt"] = state?.autoStopAt;
            resourceInputs["autoStopSetting"] = state?.autoStopSetting;
            resourceInputs["clusterAgentId"] = state?.clusterAgentId;
            resourceInputs["createdAt"] = state?.createdAt;
            resourceInputs["description"] = state?.description;
            resourceInputs["externalUrl"] = state?.externalUrl;
            resourceInputs["fluxResourcePath"] = state?.fluxResourcePath;
            resourceInputs["kubernetesNamespace"] = state?.kubernetesNamespace;
            resourceInputs["name"] = state?.name;
            resourceInputs["project"] = state?.project;
            resourceInputs["slug"] = state?.slug;
            resourceInputs["state"] = state?.state;
            resourceInputs["stopBeforeDestroy"] = state?.stopBeforeDestroy;
            resourceInputs["tier"] = state?.tier;
            resourceInputs["updatedAt"] = state?.updatedAt;
        } else {
            const args = argsOrState as ProjectEnvironmentArgs | undefined;
            if (args?.project === undefined && !opts.urn) {
                throw new Error("Missing required property 'project'");
            }
            resourceInputs["autoStopSetting"] = args?.autoStopSetting;
            resourceInputs["clusterAgentId"] = args?.clusterAgentId;
            resourceInputs["description"] = args?.description;
            resourceInputs["externalUrl"] = args?.externalUrl;
            resourceInputs["fluxResourcePath"] = args?.fluxResourcePath;
            resourceInputs["kubernetesNamespace"] = args?.kubernetesNamespace;
            resourceInputs["name"] = args?.name;
            resourceInputs["project"] = args?.project;
            resourceInputs["stopBeforeDestroy"] = args?.stopBeforeDestroy;
            resourceInputs["tier"] = args?.tier;
            resourceInputs["autoStopAt"] = undefined /*out*/;
            resourceInputs["createdAt"] = undefined /*out*/;
            resourceInputs["slug"] = undefined /*out*/;
            resourceInputs["state"] = undefined /*out*/;
            resourceInputs["updatedAt"] = undefined /*out*/;
        }
        opts = pulumi.mergeOptions(utilities.resourceOptsDefaults(), opts);
        super(ProjectEnvironment.__pulumiType, name, resourceInputs, opts);
    }
}

/**
 * Input properties used for looking up and filtering ProjectEnvironment resources.
 */
export interface ProjectEnvironmentState {
    /** The ISO8601 date/time that this environment will be automatically stopped at in UTC. */
    autoStopAt?: pulumi.Input<string>;
    /** The auto stop setting for the environment. Allowed values are `always`, `with_action`. */
    autoStopSetting?: pulumi.Input<string>;
    /** The cluster agent to associate with this environment. */
    clusterAgentId?: pulumi.Input<number>;
    /** The ISO8601 date/time that this environment was created at in UTC. */
    createdAt?: pulumi.Input<string>;
    /** The description of the environment. */
    description?: pulumi.Input<string>;
    /** Place to link to for this environment. */
    externalUrl?: pulumi.Input<string>;
    /** The Flux resource path to associate with this environment. */
    fluxResourcePath?: pulumi.Input<string>;
    /** The Kubernetes namespace to associate with this environment. */
    kubernetesNamespace?: pulumi.Input<string>;
    /** The name of the environment. */
    name?: pulumi.Input<string>;
    /** The ID or full path of the project to environment is created for. */
    project?: pulumi.Input<string>;
    /** The name of the environment in lowercase, shortened to 63 bytes. */
    slug?: pulumi.Input<string>;
    /** State the environment is in. Valid values are `available`, `stopped`. */
    state?: pulumi.Input<string>;
    /** Determines whether the environment is attempted to be stopped before the environment is deleted. */
    stopBeforeDestroy?: pulumi.Input<boolean>;
    /** The tier of the new environment. Valid values are `production`, `staging`, `testing`, `development`, `other`. */
    tier?: pulumi.Input<string>;
    /** The ISO8601 date/time that this environment was last updated at in UTC. */
    updatedAt?: pulumi.Input<string>;
}

/**
 * The set of arguments for constructing a ProjectEnvironment resource.
 */
export interface ProjectEnvironmentArgs {
    /** The auto stop setting for the environment. Allowed values are `always`, `with_action`. */
    autoStopSetting?: pulumi.Input<string>;
    /** The cluster agent to associate with this environment. */
    clusterAgentId?: pulumi.Input<number>;
    /** The description of the environment. */
    description?: pulumi.Input<string>;
    /** Place to link to for this environment. */
    externalUrl?: pulumi.Input<string>;
    /** The Flux resource path to associate with this environment. */
    fluxResourcePath?: pulumi.Input<string>;
    /** The Kubernetes namespace to associate with this environment. */
    kubernetesNamespace?: pulumi.Input<string>;
    /** The name of the environment. */
    name?: pulumi.Input<string>;
    /** The ID or full path of the project to environment is created for. */
    project: pulumi.Input<string>;
    /**
     * Determines whether the environment is attempted to be stopped before the environment is deleted.
     * If `autoStopSetting` is set to `with_action`, this will perform a force stop.
     */
    stopBeforeDestroy?: pulumi.Input<boolean>;
    /** The tier of the new environment. Valid values are `production`, `staging`, `testing`, `development`, `other`. */
    tier?: pulumi.Input<string>;
}
