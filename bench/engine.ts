// Wall time of a real `pulumi preview` (the offline toolchain of scripts/toolchain.sh) of the
// program with 1, 10 and 50 services, against the same Kubernetes objects declared raw with
// @pulumi/kubernetes (bench/raw: the objects the program declares under the mocks for that
// size) in the same engine. Each preview is a whole CLI run: start-up,
// the TypeScript compile of the program, the language host, the provider, the plan.
// The generated stack config is the `local` layout (no VMs, no GitLab), the one whose
// providers the toolchain can build offline (README: "The offline toolchain").
// Run with `npm run bench:engine`; numbers depend on the machine, the ratio is what to watch.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { PROJECT, SECRET_KEYS } from "../config";
import { ROOT } from "../harness/mocks";
import { toolchainEnv } from "../harness/pulumiWorkspace";
import { localConfigWith, programRun } from "./workload";

const SIZES = (process.env.BENCH_SIZES ?? "1,10,50").split(",").map(Number);
const STACK = "local";

function pulumi(env: NodeJS.ProcessEnv, cwd: string, args: string[]): { ms: number; stdout: string } {
    const start = process.hrtime.bigint();
    const r = spawnSync("pulumi", [...args, "--non-interactive"], { cwd, env, encoding: "utf8", maxBuffer: 256 * 2 ** 20 });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.status !== 0) throw new Error(`pulumi ${args.join(" ")} (in ${cwd}) failed:\n${r.stdout}\n${r.stderr}`);
    return { ms, stdout: r.stdout };
}

/** A stack config file holding `config`, whose JSON-encoded objects are written as YAML maps. */
function writeStackConfig(file: string, config: Record<string, string | number>): void {
    const values = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" && /^[[{]/.test(v) ? JSON.parse(v) : v]));
    fs.writeFileSync(file, YAML.stringify({ config: values }));
}

/** Times one preview and counts the resources it plans to create. */
function preview(env: NodeJS.ProcessEnv, cwd: string, configFile: string): { ms: number; resources: number } {
    const { ms, stdout } = pulumi(env, cwd, ["preview", "--stack", STACK, "--config-file", configFile, "--json"]);
    const steps = (JSON.parse(stdout) as { steps?: Array<{ op: string; urn: string }> }).steps ?? [];
    // Count the resources (not the stack, components or providers), as the mocks benchmark does.
    const resources = steps.filter((s) => s.op === "create" && s.urn.split("::")[2].split("$").pop()!.startsWith("kubernetes:")).length;
    return { ms, resources };
}

async function main(): Promise<void> {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hp-bench-engine-"));
    try {
        const env: NodeJS.ProcessEnv = {
            ...toolchainEnv(process.env),
            PULUMI_BACKEND_URL: `file://${tmp}/state`,
            PULUMI_CONFIG_PASSPHRASE: "bench-only",
            PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER: "true",
        };
        fs.mkdirSync(`${tmp}/state`);
        const rawDir = path.join(ROOT, "bench", "raw");
        // Each project gets its stack in the throwaway backend; `stack init` writes the
        // passphrase salt into a stack file, so it runs on copies of the projects.
        for (const [name, dir] of [
            ["program", ROOT],
            ["raw", rawDir],
        ]) {
            fs.mkdirSync(`${tmp}/${name}`);
            fs.copyFileSync(path.join(dir, "Pulumi.yaml"), `${tmp}/${name}/Pulumi.yaml`);
            pulumi(env, `${tmp}/${name}`, ["stack", "init", STACK, "--secrets-provider", "passphrase"]);
        }

        const rows: string[][] = [];
        for (const n of SIZES) {
            const programConfig = `${tmp}/program/Pulumi.${STACK}.${n}.yaml`;
            writeStackConfig(programConfig, localConfigWith(n));
            for (const key of Object.values(SECRET_KEYS)) {
                pulumi(env, ROOT, [
                    "config",
                    "set",
                    "--secret",
                    `${PROJECT}:${key}`,
                    `placeholder-${key}`,
                    "--stack",
                    STACK,
                    "--config-file",
                    programConfig,
                ]);
            }
            const rawConfig = `${tmp}/raw/Pulumi.${STACK}.${n}.yaml`;
            const objectsFile = `${tmp}/raw/objects.${n}.json`;
            fs.writeFileSync(objectsFile, JSON.stringify((await programRun(n)).objects));
            writeStackConfig(rawConfig, { "hobby-platform-bench-raw:objectsFile": objectsFile });

            const program = preview(env, ROOT, programConfig);
            const raw = preview(env, rawDir, rawConfig);
            rows.push([
                String(n),
                String(program.resources),
                (program.ms / 1000).toFixed(1),
                String(raw.resources),
                (raw.ms / 1000).toFixed(1),
                (program.ms / raw.ms).toFixed(2),
            ]);
            console.error(`bench:engine: ${n} service(s) done`);
        }
        const header = ["services", "k8s objects", "program preview s", "raw objects", "raw preview s", "time ratio"];
        const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
        const line = (cells: string[]) => "| " + cells.map((c, i) => c.padStart(widths[i])).join(" | ") + " |";
        console.log(line(header));
        console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|");
        for (const r of rows) console.log(line(r));
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
