// gitlab-ci-local's expansion of a pipeline and a runner's way of running one job's script,
// shared by the pipeline unit tests (a stub kubectl) and the engine test (the real one).
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import * as YAML from "yaml";

export const run = promisify(execFile);
const ROOT = path.resolve(__dirname, "..", "..");
export const GCL = path.join(ROOT, "node_modules", "gitlab-ci-local", "dist", "index.js");
export const TEMPLATE = path.join(ROOT, "templates", "microservice.gitlab-ci.yml");
export const SERVICE_CI = "include:\n  - local: templates/microservice.gitlab-ci.yml\n";

/** A throwaway git repository with a GitLab remote, holding the given files. */
export async function gitRepo(dir: string, files: Record<string, string>): Promise<void> {
    for (const [name, text] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
        fs.writeFileSync(path.join(dir, name), text);
    }
    const git = (...args: string[]) => run("git", args, { cwd: dir });
    await git("init", "-q", "-b", "main");
    await git("config", "user.name", "ci");
    await git("config", "user.email", "ci@example.com");
    await git("remote", "add", "origin", "https://gitlab.example.com/the-project/repo.git");
    await git("symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main");
    await git("add", "-A");
    await git("commit", "-q", "-m", "pipeline under test");
}

/** The stdout of `--preview`: the expanded config. */
export async function preview(cwd: string): Promise<string> {
    const { stdout } = await run(process.execPath, [GCL, "--preview", "--json-schema-validation"], { cwd, maxBuffer: 1 << 24 });
    return stdout;
}

/** A service repository that includes the template, expanded by gitlab-ci-local. */
export async function servicePipeline(): Promise<Record<string, any>> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hp-service-"));
    try {
        await gitRepo(dir, { ".gitlab-ci.yml": SERVICE_CI, "templates/microservice.gitlab-ci.yml": fs.readFileSync(TEMPLATE, "utf8") });
        return YAML.parse(await preview(dir));
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/**
 * Runs a job of the expanded config as a runner would: its variables expanded over the
 * predefined and project ones (an undefined one expands to nothing, as in GitLab), its script
 * lines in one `sh -e`, with PATH as given.
 */
export async function runJob(config: Record<string, any>, jobName: string, variables: Record<string, string>, PATH: string) {
    const job = config[jobName];
    const expand = (value: string, vars: Record<string, string>) => value.replace(/\$([A-Za-z0-9_]+)/g, (_, n: string) => vars[n] ?? "");
    const env: Record<string, string> = { ...variables };
    for (const [k, v] of Object.entries({ ...config.variables, ...job.variables })) env[k] = expand(String(v), env);
    return run("sh", ["-ec", (job.script as string[]).join("\n")], { env: { ...env, PATH } });
}
