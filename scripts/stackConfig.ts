// A stack file's config as the engine hands it to the program, for the tests and the benches.
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";

const ROOT = path.resolve(__dirname, "..");

/** The `config` map of Pulumi.<stack>.yaml, as the file holds it. */
export function stackFileConfig(stack: string): Record<string, unknown> {
    const file = path.join(ROOT, `Pulumi.${stack}.yaml`);
    return (YAML.parse(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> }).config ?? {};
}

/** Flat `namespace:key` -> string config of Pulumi.<stack>.yaml (structured values as JSON). */
export function stackConfig(stack: string): Record<string, string> {
    return Object.fromEntries(Object.entries(stackFileConfig(stack)).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

/** A stack file's plain `hobby-platform:` keys without the prefix, as the program reads them (secrets are set apart). */
export const programKeys = (config: Record<string, unknown>) =>
    Object.fromEntries(
        Object.entries(config)
            .filter(([k, v]) => k.startsWith("hobby-platform:") && !(v !== null && typeof v === "object" && "secure" in v))
            .map(([k, v]) => [k.replace(/^hobby-platform:/, ""), v]),
    );
