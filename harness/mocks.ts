// Runs the program (or one component) under Pulumi's mocks and records the resource graph.
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import * as path from "path";
import { PROJECT } from "../config";
import { CLUSTER_MOCK_CALLS, CLUSTER_MOCK_STATES } from "./clusterMocks";
import { AGENT_ID, agentTokenState, CLUSTER_AGENT, CLUSTER_AGENT_TOKEN, DEPLOY_TOKEN, deployTokenState } from "./gitlabMocks";

export const ROOT = path.resolve(__dirname, "..");

// Pulumi stamps every promise it makes with `new Error().stack`, only to print it should the
// promise leak at exit; capturing and formatting those is a third of a mocked run. The stamp is
// left empty (a leak report still names each promise's context); errors keep their stacks.
const debuggable = require("@pulumi/pulumi/runtime/debuggable") as { debuggablePromise: (p: Promise<unknown>, ctx: unknown) => Promise<unknown> };
const stampPromise = debuggable.debuggablePromise;
debuggable.debuggablePromise = (p, ctx) => {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
        return stampPromise(p, ctx);
    } finally {
        Error.stackTraceLimit = limit;
    }
};

/** One registered resource, as the engine would see it. */
export interface Recorded {
    type: string;
    name: string;
    inputs: Record<string, any>;
    id: string;
    /** Provider reference the engine received. */
    provider?: string;
    /** Resource options the program gave (ignoreChanges, protect, dependsOn, ...). */
    opts: pulumi.CustomResourceOptions;
    /** Dotted paths of the inputs the program passed as secret Outputs, e.g. `stringData..dockerconfigjson`. */
    secretInputs: Promise<string[]>;
}

/** Paths (dot-joined) under `value` whose value is a secret Output. */
async function secretPaths(value: unknown, at: string[] = []): Promise<string[]> {
    if (pulumi.Output.isInstance(value)) {
        if (await isSecret(value)) return [at.join(".")];
        // A value unknown in a preview holds nothing to look into (and `apply` never runs on it).
        if (!(await (value as unknown as { isKnown: Promise<boolean> }).isKnown)) return [];
        return secretPaths(await valueOf(value), at);
    }
    if (value && typeof value === "object" && !pulumi.Resource.isInstance(value)) {
        const nested = await Promise.all(Object.entries(value).map(([k, v]) => secretPaths(v, [...at, k])));
        return nested.flat();
    }
    return [];
}

/**
 * Outputs a mocked resource has beyond its inputs, by type token. A component's tests add the
 * computed properties its resources have in real life (e.g. a token filled in by a controller).
 */
export const MOCK_STATES: Record<string, (inputs: Record<string, any>, name: string) => Record<string, any>> = {
    "kubernetes:core/v1:Secret": (inputs) => ({
        // The API server's version of the object, which changes with its content (the mock's stand-in
        // for etcd's revision: a number, unrelated to the content as far as a reader can tell).
        metadata: { ...inputs.metadata, resourceVersion: mockResourceVersion(inputs.stringData ?? inputs.data ?? {}) },
        ...(inputs.type === "kubernetes.io/service-account-token" && {
            data: { token: Buffer.from(`mock-sa-token-for-${inputs.metadata?.name}`).toString("base64") },
        }),
    }),
    [DEPLOY_TOKEN]: (_inputs, name) => deployTokenState(name),
    [CLUSTER_AGENT]: () => ({ agentId: AGENT_ID }),
    [CLUSTER_AGENT_TOKEN]: (_inputs, name) => agentTokenState(name),
};

/** A resourceVersion for a mocked object's content: stable for the same content, another for another. */
function mockResourceVersion(content: unknown): string {
    return String(parseInt(createHash("sha256").update(JSON.stringify(content)).digest("hex").slice(0, 8), 16));
}

const SECRET_SIG = pulumi.runtime.specialSigKey;
const SECRET_VALUE = pulumi.runtime.specialSecretSig;

/** The mock monitor hands nested secrets over still wrapped: unwrap them to plain values. */
function unwrap(value: any): any {
    if (Array.isArray(value)) return value.map(unwrap);
    if (value && typeof value === "object") {
        if (value[SECRET_SIG] === SECRET_VALUE) return unwrap(value.value);
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrap(v)]));
    }
    return value;
}

let recorded: Recorded[] = [];
/** Mocked registrations still computing their outputs (e.g. a certificate signed off the main thread). */
let pending = 0;
/** Options and secret input paths by `type::name`, captured by a stack transformation. */
let options = new Map<string, { opts: pulumi.CustomResourceOptions; props: pulumi.Inputs }>();

/**
 * Installs mocks that record every resource; returns the live list of records. `overrides`
 * replaces computed outputs of the resources it names, e.g. an address a provider left empty.
 */
export async function installMocks(stack: string, preview = false, overrides: Record<string, Record<string, unknown>> = {}): Promise<Recorded[]> {
    recorded = [];
    pending = 0;
    options = new Map();
    const list = recorded;
    const opts = options;
    await pulumi.runtime.setMocks(
        {
            async newResource(args: pulumi.runtime.MockResourceArgs) {
                pending++;
                try {
                    return await record(args);
                } finally {
                    pending--;
                }
            },
            call(args: pulumi.runtime.MockCallArgs) {
                return CLUSTER_MOCK_CALLS[args.token]?.(args.inputs) ?? args.inputs;
            },
        },
        PROJECT,
        stack,
        preview,
    );
    return list;

    async function record(args: pulumi.runtime.MockResourceArgs) {
        args = { ...args, inputs: unwrap(args.inputs) };
        const state = MOCK_STATES[args.type] ?? CLUSTER_MOCK_STATES[args.type];
        // In a preview, computed outputs are unknown: nothing to compute.
        const extra = preview ? {} : ((await state?.(args.inputs, args.name)) ?? {});
        const id = args.inputs.metadata?.name ?? `${args.name}-id`;
        const given = opts.get(`${args.type}::${args.name}`);
        let secretInputs: Promise<string[]> | undefined;
        list.push({
            type: args.type,
            name: args.name,
            inputs: args.inputs,
            id,
            provider: args.provider,
            opts: given?.opts ?? {},
            // Walking every input for secrets costs as much as the rest of a run: only when asked.
            get secretInputs() {
                return (secretInputs ??= given ? secretPaths(given.props) : Promise.resolve([]));
            },
        });
        // In a preview, computed outputs are unknown: only inputs come back.
        return { id, state: preview ? args.inputs : { ...args.inputs, ...extra, ...overrides[args.name] } };
    }
}

/**
 * Waits until no registration is in flight and none has been made for a few event-loop turns:
 * what is left of the program then is promise callbacks, which all run within a turn.
 */
async function settle(list: Recorded[] = recorded): Promise<void> {
    let last = -1;
    let quiet = 0;
    while (quiet < 5) {
        await new Promise((r) => setImmediate(r));
        if (pending === 0 && list.length === last) quiet++;
        else {
            quiet = 0;
            last = list.length;
        }
    }
}

/** Value of an Output (unknown values resolve to undefined). */
export function valueOf<T>(o: pulumi.Input<T>): Promise<T> {
    return new Promise((resolve) =>
        pulumi.output(o).apply((v) => {
            resolve(v as T);
            return v;
        }),
    );
}

/** Whether an Output is marked secret. */
export function isSecret(o: pulumi.Output<unknown>): Promise<boolean> {
    return (o as any).isSecret as Promise<boolean>;
}

export { stackConfig } from "../scripts/stackConfig";

/** Placeholder values for secret config keys (the real ones are set per stack, never committed). */
export function placeholderSecrets(keys: string[]): Record<string, string> {
    return Object.fromEntries(keys.map((k) => [k.includes(":") ? k : `${PROJECT}:${k}`, `placeholder-${k.replace(/\W/g, "-")}-0123456789`]));
}

/** Runs `init` as the program of a stack, recording every resource's options. */
export async function runInStack(init: () => Promise<Record<string, unknown>> | Record<string, unknown>): Promise<Record<string, any>> {
    const opts = options;
    const outputs = await pulumi.runtime.runInPulumiStack(async () => {
        pulumi.runtime.registerStackTransformation((args) => {
            opts.set(`${args.type}::${args.name}`, { opts: args.opts as pulumi.CustomResourceOptions, props: args.props });
            return undefined;
        });
        return await init();
    });
    await settle();
    return outputs ?? {};
}

/**
 * Runs `init` as a stack's program and returns the messages of the errors that would fail it: a
 * rejected resource input or invoke surfaces as an unhandled rejection, which the language host
 * turns into the program's error. They are collected here instead of failing the test run.
 */
export async function runCollectingFailures(init: () => void): Promise<string[]> {
    const failures = new Set<string>();
    const others = process.listeners("unhandledRejection");
    process.removeAllListeners("unhandledRejection");
    const collect = (e: unknown) => failures.add(e instanceof Error ? e.message : String(e));
    process.on("unhandledRejection", collect);
    try {
        await runInStack(() => {
            init();
            return {};
        });
        await new Promise((r) => setTimeout(r, 50));
    } finally {
        process.off("unhandledRejection", collect);
        for (const l of others) process.on("unhandledRejection", l);
    }
    return [...failures];
}

export interface ProgramRun {
    resources: Recorded[];
    /** Stack outputs as the engine stores them (plain values). */
    outputs: Record<string, any>;
    /** The program's exports as Outputs, to check which are secret. */
    exports: Record<string, unknown>;
}

/**
 * Runs `index.ts` (loaded afresh) for a stack with the given flat config (and which keys of it are
 * secret), and returns the recorded graph and stack outputs.
 */
export async function runProgram(stack: string, config: Record<string, string>, secretKeys: string[] = [], preview = false): Promise<ProgramRun> {
    const resources = await installMocks(stack, preview);
    pulumi.runtime.setAllConfig(config, secretKeys);
    // Only index.ts runs anything when loaded (the components and the config run when called), so
    // only it is loaded afresh: the rest, and what the SDK caches by object (a dynamic provider's
    // serialized code), is shared by every run, as in one `pulumi up`.
    delete require.cache[require.resolve(path.join(ROOT, "index"))];
    let programExports: Record<string, unknown> = {};
    const outputs = await runInStack(async () => {
        // `require`: index.ts assigns its outputs to `module.exports` (`export =`).
        programExports = { ...require(path.join(ROOT, "index")) };
        return programExports;
    });
    return { resources, outputs, exports: programExports };
}

/** Resources of one type token, e.g. `kubernetes:apps/v1:Deployment`. */
export function ofType(resources: Recorded[], type: string): Recorded[] {
    return resources.filter((r) => r.type === type);
}

/** A flat config with structured keys (given without the project prefix) replaced, as JSON. */
export function withObjects(config: Record<string, string>, objects: Record<string, unknown>): Record<string, string> {
    return { ...config, ...Object.fromEntries(Object.entries(objects).map(([k, v]) => [`${PROJECT}:${k}`, JSON.stringify(v)])) };
}
