import * as pulumi from "@pulumi/pulumi";
import * as pkg from "./package.json";

/** Version of the provider plugin these classes describe (`pulumi.version` in package.json). */
export function getVersion(): string {
    return pkg.pulumi.version;
}

/** Options every resource of this package gets, as in generated SDKs: the engine loads exactly this plugin version. */
export function resourceOptsDefaults(): pulumi.ResourceOptions {
    return { version: getVersion() };
}
