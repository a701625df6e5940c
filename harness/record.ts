// A stack's declared resources under mocks, as a stable record: the identity the engine keys
// state by (parent type chain, type, name), inputs and options. A restructure that changes
// nothing for a user leaves every record as it was (test/resources.test.ts).
import * as pulumi from "@pulumi/pulumi";
import { Recorded } from "./mocks";
import { stackRun, STACKS } from "./stacks";

export const RECORDED_STACKS = STACKS;

/** Keys and certificates are made afresh by each mocked run: record their kind, not their bytes. */
function stable(value: unknown): unknown {
    if (typeof value === "string") {
        return value
            .replace(/-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----/g, "<$1>")
            .replace(/LS0tLS1CRUdJT[A-Za-z0-9+/=]+/g, "<base64 PEM>")
            .replace(/K10[0-9a-f]{64}::server:[0-9a-f]{32}/g, "<k3s token>")
            .replace(/K10[0-9a-f]{64}::node:[0-9a-f]{32}/g, "<k3s agent token>")
            .replace(/agent-token: [0-9a-f]{32}/g, "agent-token: <k3s agent secret>")
            .replace(/\b([a-z]+-)[0-9a-f]{16}\b/g, "$1<server CA hash>");
    }
    if (Array.isArray(value)) return value.map(stable);
    if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, stable(v)]));
    return value;
}

/** `type$type$...` of a resource's ancestors, as in its URN. */
function typeChain(parent: pulumi.Resource | undefined): string {
    const types: string[] = [];

    for (let p: any = parent; p && p.__pulumiType !== "pulumi:pulumi:Stack"; p = p.__parentResource) types.unshift(p.__pulumiType);
    return types.join("$");
}

const nameOf = (r: unknown) => (pulumi.Resource.isInstance(r) ? (r as unknown as { __name: string }).__name : String(r));

/** A URN in the record's form: the parent's type chain (empty at the stack), the type, the name. */
export const joinUrn = (parentChain: string, type: string, name: string) => `${[parentChain, type].filter(Boolean).join("$")}::${name}`;

/** A resource's URN without the stack and project (`type$type$...::name`); the stack is no parent. */
export function urnOf(type: string, name: string, parent: pulumi.Resource | undefined): string {
    return joinUrn(typeChain(parent), type, name);
}

/** The URN (as `urnOf`) of a live resource, e.g. a parent in a resource's options. */
export function resourceUrn(r: pulumi.Resource): string {
    const live = r as unknown as { __pulumiType: string; __name: string; __parentResource?: pulumi.Resource };
    return urnOf(live.__pulumiType, live.__name, live.__parentResource);
}

export interface ResourceRecord {
    urn: string;
    inputs: unknown;
    options: Record<string, unknown>;
}

export async function recordOf(r: Recorded): Promise<ResourceRecord> {
    const o = r.opts;
    const deps =
        o.dependsOn === undefined
            ? undefined
            : ([] as unknown[])
                  .concat(await Promise.resolve(o.dependsOn as unknown))
                  .map(nameOf)
                  .sort();
    const options = {
        protect: o.protect,
        ignoreChanges: o.ignoreChanges,
        dependsOn: deps,
        deleteBeforeReplace: o.deleteBeforeReplace,
        additionalSecretOutputs: o.additionalSecretOutputs,
        customTimeouts: o.customTimeouts,
        // Aliases are plain values here (the SDK's own type aliases, the components' old type tokens).
        aliases: (o.aliases as Array<string | Record<string, unknown>> | undefined)?.map((a) =>
            typeof a === "string" ? a : { ...a, parent: a.parent === undefined ? undefined : nameOf(a.parent) },
        ),
        provider: r.provider?.replace(/::[0-9a-f-]+$/, ""),
        secretInputs: (await r.secretInputs).sort(),
    };
    return {
        urn: urnOf(r.type, r.name, o.parent),
        inputs: stable(r.inputs),
        options: Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0))),
    };
}

/** The record of one stack's committed configuration, sorted by URN. */
export async function recordStack(stack: string): Promise<ResourceRecord[]> {
    const { resources } = await stackRun(stack);
    const records = await Promise.all(resources.filter((r) => r.type !== "pulumi:pulumi:Stack").map(recordOf));
    return records.sort((a, b) => a.urn.localeCompare(b.urn));
}
