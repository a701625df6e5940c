// Public API: the subset of @pulumi/gitlab (plugin gitlab 10.1.1) this project uses, same names and shapes.
import * as pulumi from "@pulumi/pulumi";
import { ProjectAccessToken } from "./projectAccessToken";
import { ProjectDeployToken } from "./projectDeployToken";
import { ProjectEnvironment } from "./projectEnvironment";
import { ProjectVariable } from "./projectVariable";
import { Provider } from "./provider";
import * as types from "./types";
import * as utilities from "./utilities";

export * from "./projectAccessToken";
export * from "./projectDeployToken";
export * from "./projectEnvironment";
export * from "./projectVariable";
export * from "./provider";
export { types };

// Lets the runtime rebuild these resources from a URN (e.g. `opts.urn`, component providers), as generated SDKs do.
pulumi.runtime.registerResourceModule("gitlab", "index", {
    version: utilities.getVersion(),
    construct: (name: string, type: string, urn: string): pulumi.Resource => {
        switch (type) {
            case ProjectAccessToken.__pulumiType:
                return new ProjectAccessToken(name, <any>undefined, { urn });
            case ProjectDeployToken.__pulumiType:
                return new ProjectDeployToken(name, <any>undefined, { urn });
            case ProjectEnvironment.__pulumiType:
                return new ProjectEnvironment(name, <any>undefined, { urn });
            case ProjectVariable.__pulumiType:
                return new ProjectVariable(name, <any>undefined, { urn });
            default:
                throw new Error(`unknown resource type ${type}`);
        }
    },
});
pulumi.runtime.registerResourcePackage("gitlab", {
    version: utilities.getVersion(),
    constructProvider: (name: string, type: string, urn: string): pulumi.ProviderResource => {
        if (type !== "pulumi:providers:gitlab") {
            throw new Error(`unknown provider type ${type}`);
        }
        return new Provider(name, <any>undefined, { urn });
    },
});
