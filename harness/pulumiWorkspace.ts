// A throw-away Pulumi workspace for engine tests: a copy of the program (so `stack init` and
// `config set` never touch the repository's stack files), a `file://` backend and a passphrase
// of its own, and the offline toolchain of scripts/toolchain.sh.
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "./mocks";

/** What the program needs from the repository; everything else (tests, tools, state) stays. */
const PROGRAM_EXCLUDES = new Set(["node_modules", ".git", ".pulumi-state", "bin", "tools", "test", "bench", "pulumi-preview"]);

/** The environment scripts/toolchain.sh's env.sh sets (builds the toolchain the first time). */
export function toolchainEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    const envSh = execFileSync("bash", [path.join(ROOT, "scripts", "toolchain.sh")], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
    }).trim();
    const dump = execFileSync("bash", ["-c", '. "$1" && env -0', "_", envSh], { env: base, encoding: "utf8" });
    return Object.fromEntries(
        dump
            .split("\0")
            .filter(Boolean)
            .map((kv) => {
                const i = kv.indexOf("=");
                return [kv.slice(0, i), kv.slice(i + 1)];
            }),
    );
}

/** The line of a stack file that holds its passphrase salt. */
const SALT_LINE = /^encryptionsalt: .*$/m;

/** Copies the program files of `source` to `dir`, with the repository's node_modules. */
function copyProgram(source: string, dir: string): void {
    fs.cpSync(source, dir, {
        recursive: true,
        filter: (src) => path.dirname(src) !== source || !PROGRAM_EXCLUDES.has(path.basename(src)),
    });
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
}

export interface PulumiResult {
    status: number;
    stdout: string;
    stderr: string;
    seconds: number;
}

export class PulumiWorkspace {
    readonly root: string;
    /** The program's copy, where pulumi runs. */
    readonly dir: string;
    readonly env: NodeJS.ProcessEnv;

    /** Copies the program (the repository's, or another tree of it) and creates `stack` in a new local backend. */
    constructor(
        readonly stack: string,
        baseEnv: NodeJS.ProcessEnv,
        source = ROOT,
    ) {
        this.root = fs.mkdtempSync(path.join(os.tmpdir(), "hp-pulumi-"));
        this.dir = path.join(this.root, "program");
        copyProgram(source, this.dir);
        fs.mkdirSync(path.join(this.root, "state"));
        this.env = {
            ...toolchainEnv(baseEnv),
            PULUMI_BACKEND_URL: `file://${path.join(this.root, "state")}`,
            // Protects only this throw-away state; the tests never hold a real credential.
            PULUMI_CONFIG_PASSPHRASE: "engine-test-only",
        };
        this.ok("stack", "init", "--secrets-provider", "passphrase");
    }

    /**
     * Replaces the program with another tree of it (e.g. a later release), as an upgrade of the
     * repository does; the stack keeps its state and its secrets' salt, not its other settings.
     */
    useProgram(source: string): void {
        const stackFile = path.join(this.dir, `Pulumi.${this.stack}.yaml`);
        const salt = SALT_LINE.exec(fs.readFileSync(stackFile, "utf8"))?.[0];
        fs.rmSync(this.dir, { recursive: true, force: true });
        copyProgram(source, this.dir);
        if (!salt) return;
        // A salt in the new tree's file (of another stack) gives way to this stack's: set its secrets again.
        const text = fs.existsSync(stackFile) ? fs.readFileSync(stackFile, "utf8") : "";
        fs.writeFileSync(stackFile, SALT_LINE.test(text) ? text.replace(SALT_LINE, salt) : `${text}${salt}\n`);
    }

    /** Runs `pulumi ARGS --stack STACK` (non-interactive), returning its result; never throws on a failed exit. */
    run(...args: string[]): PulumiResult {
        return this.runWithInput(undefined, args);
    }

    private runWithInput(input: string | undefined, args: string[]): PulumiResult {
        const t0 = Date.now();
        const r = spawnSync("pulumi", [...args, "--stack", this.stack, "--non-interactive", "--color", "never"], {
            cwd: this.dir,
            env: this.env,
            input,
            encoding: "utf8",
            maxBuffer: 64 * 1024 * 1024,
        });
        if (r.error) throw r.error;
        return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, seconds: (Date.now() - t0) / 1000 };
    }

    /** Like `run`, but throws with the command's output when it fails. */
    ok(...args: string[]): PulumiResult {
        return this.checked(this.run(...args), args);
    }

    /**
     * Sets the stack's secret `key` from standard input (the CLI reads a value it is not given
     * there), so that the value is never on a command line, where `ps` shows it to every user.
     */
    setSecret(key: string, value: string, { path = false } = {}): void {
        // `--path`: a leaf inside a structured key (e.g. a service's secret under `projects`).
        const args = ["config", "set", "--secret", ...(path ? ["--path"] : []), key];
        this.checked(this.runWithInput(value, args), args);
    }

    private checked(r: PulumiResult, args: string[]): PulumiResult {
        if (r.status !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
        return r;
    }

    /** Removes the copy and its state (after `destroy`, nothing of the stack is left anywhere). */
    remove(): void {
        fs.rmSync(this.root, { recursive: true, force: true });
    }
}
