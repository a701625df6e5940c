// A stack file's config as the engine hands it to the program, for the tests and the benches.
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";

const ROOT = path.resolve(__dirname, "..");

/** Flat `namespace:key` -> string config of Pulumi.<stack>.yaml (structured values as JSON). */
export function stackConfig(stack: string): Record<string, string> {
    const file = path.join(ROOT, `Pulumi.${stack}.yaml`);
    const doc = YAML.parse(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> };
    return Object.fromEntries(Object.entries(doc.config ?? {}).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}
