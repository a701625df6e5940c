// The one way a component refuses arguments it cannot work with: every problem in one error,
// naming the component, before it creates anything.
import * as pulumi from "@pulumi/pulumi";

/** Throws a ResourceError listing `problems` (each "arg: what is wrong"), if there are any. */
export function assertArgs(component: pulumi.ComponentResource, problems: (string | false | undefined)[]): void {
    const found = problems.filter((p): p is string => typeof p === "string");
    if (found.length > 0) {
        throw new pulumi.ResourceError(`invalid arguments: ${found.join("; ")}`, component);
    }
}
