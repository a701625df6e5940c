// The program with a committed stack file and placeholder secrets. Most test files only read what
// such a run declared: `stackRun` makes one run per stack and mode and shares it (a dev run costs
// about half a second), `runStack` makes a fresh one for a test that changes the config.
import { PROJECT, SECRET_KEYS } from "../config";
import { placeholderSecrets, ProgramRun, runProgram, stackConfig } from "./mocks";

export const STACKS = ["dev", "stg", "prod", "local"] as const;

/** Every secret the program or its providers may read, with placeholder values. */
export const PLACEHOLDER_SECRETS = placeholderSecrets([...Object.values(SECRET_KEYS), "vultr:apiKey"]);
export const SECRET_NAMES = Object.keys(PLACEHOLDER_SECRETS);

/** The value every service's `TOKEN` secret has in the runs below (as the stack files' comments set it). */
export const SERVICE_SECRET_PLACEHOLDER = "placeholder-service-token-0123456789";

/**
 * A stack's config with a service secret set as `pulumi config set --secret --path
 * 'projects.<p>.services.<s>.secrets.TOKEN'` leaves it: the value inside `projects`, and the
 * whole key marked secret.
 */
export function withServiceSecrets(config: Record<string, string>): Record<string, string> {
    const projects = JSON.parse(config[PROJECTS_KEY]) as Record<string, { services: Record<string, { secrets?: Record<string, string> }> }>;
    for (const p of Object.values(projects))
        for (const s of Object.values(p.services)) s.secrets = { TOKEN: SERVICE_SECRET_PLACEHOLDER, ...s.secrets };
    return { ...config, [PROJECTS_KEY]: JSON.stringify(projects) };
}
const PROJECTS_KEY = `${PROJECT}:projects`;

/** A fresh run of the stack's committed config with the placeholder secrets, after `patch`. */
export function runStack(stack: string, patch: (config: Record<string, string>) => void = () => {}, preview = false): Promise<ProgramRun> {
    const config = withServiceSecrets({ ...stackConfig(stack), ...PLACEHOLDER_SECRETS });
    patch(config);
    return runProgram(stack, config, [...SECRET_NAMES, PROJECTS_KEY], preview);
}

/** Deep-freezes plain data, so that no test changes what the next one reads. */
function frozen<T>(value: T): T {
    if (value && typeof value === "object" && !Object.isFrozen(value)) {
        Object.freeze(value);
        for (const v of Object.values(value)) frozen(v);
    }
    return value;
}

const runs = new Map<string, Promise<ProgramRun>>();

/**
 * The run of the stack's committed config (`runStack` without a patch), made once per process and
 * shared by every test that asks for it: its resources' inputs and the outputs are frozen.
 */
export function stackRun(stack: string, preview = false): Promise<ProgramRun> {
    const key = `${stack}${preview ? " preview" : ""}`;
    let run = runs.get(key);
    if (!run) {
        run = runStack(stack, undefined, preview).then((r) => {
            // The records themselves only shallowly: their options hold the SDK's live resources.
            for (const resource of r.resources) {
                frozen(resource.inputs);
                Object.freeze(resource);
            }
            return { ...r, resources: Object.freeze(r.resources) as ProgramRun["resources"], outputs: frozen(r.outputs) };
        });
        runs.set(key, run);
    }
    return run;
}
