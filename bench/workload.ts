// The workload both benchmarks declare: N services spread over projects of ten, as the
// program's stack config (the `local` stack: no VMs, no GitLab), and as the baseline: the very
// objects that program run declares (type, name, inputs, as the mocks recorded them), declared
// raw with @pulumi/kubernetes. The difference is what the program adds: config validation, the
// components and the Outputs between them.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { SECRET_KEYS } from "../config";
import { placeholderSecrets, runProgram } from "../harness/mocks";
import { stackConfig } from "../scripts/stackConfig";

const SERVICES_PER_PROJECT = 10;
const SECRETS = placeholderSecrets(Object.values(SECRET_KEYS));

export function localConfigWith(n: number): Record<string, string> {
    const projects: Record<string, { services: Record<string, unknown> }> = {};
    for (let i = 0; i < n; i++) {
        const service = `service-${i}`;
        (projects[`project-${Math.floor(i / SERVICES_PER_PROJECT)}`] ??= { services: {} }).services[service] = {
            basePath: `/${service}/api`,
            config: { something: service },
            env: { DEBUG: "false" },
        };
    }
    return { ...stackConfig("local"), "hobby-platform:projects": JSON.stringify(projects) };
}

/** One object as the engine receives it. */
export interface RawObject {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
}

/** Runs the program for `n` services under the mocks: its resource count, and its objects without the components. */
export async function programRun(n: number): Promise<{ resources: number; objects: RawObject[] }> {
    const { resources } = await runProgram("local", { ...localConfigWith(n), ...SECRETS }, Object.keys(SECRETS));
    const objects = resources
        .filter((r) => r.type.startsWith("kubernetes:") || r.type === "pulumi:providers:kubernetes")
        .map(({ type, name, inputs }) => ({ type, name, inputs }));
    return { resources: resources.length, objects };
}

type KubernetesClass = new (name: string, args: never, opts?: pulumi.CustomResourceOptions) => pulumi.CustomResource;

/** The typed class of a token such as `kubernetes:apps/v1:Deployment`; a CRD's kinds by the generic class. */
function classOf(type: string): KubernetesClass {
    const [, group, version, kind] = /^kubernetes:([^/]+)\/([^:]+):(\w+)$/.exec(type)!;
    const module = (k8s as unknown as Record<string, Record<string, Record<string, unknown>> | undefined>)[group.split(".")[0]];
    const cls = group.includes(".") && !group.endsWith(".k8s.io") ? undefined : module?.[version]?.[kind];
    return typeof cls === "function" ? (cls as KubernetesClass) : (k8s.apiextensions.CustomResource as unknown as KubernetesClass);
}

/** Declares `objects` directly: the Kubernetes provider first, every object through it. */
export function declareRaw(objects: RawObject[]): void {
    const spec = objects.find((o) => o.type === "pulumi:providers:kubernetes");
    const provider = spec && new k8s.Provider(spec.name, spec.inputs as k8s.ProviderArgs);
    for (const o of objects) if (o !== spec) new (classOf(o.type))(o.name, o.inputs as never, { provider });
}
