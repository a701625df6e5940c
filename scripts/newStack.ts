// npm run new-stack -- <env> [flags]: a new environment's stack, from nothing to `pulumi up`.
// 1. the plain values from flags, or prompts on a terminal; every secret from standard input
//    (never a flag: a command line stays in shell history and in `ps` for every user to read);
// 2. the values validated as a real run validates them (example values refused), then the cloud
//    checked from this machine: the zone delegated to Vultr, the Vultr key answering from here;
// 3. only then Pulumi.<env>.yaml written, the stack created in the backend and each secret set
//    through `pulumi config set --secret` on its standard input; then the next commands.
// Nothing is written and no stack is created when a check fails. docs/quickstart.md walks it.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as readline from "readline";
import { Writable } from "stream";
import { parseArgs } from "util";
import * as YAML from "yaml";
import { ConfigError, parseConfig, SECRET_KEYS } from "../config";
import { placeholderRules } from "../config/placeholders";
import { isRecord } from "../config/rules";
import { DATE } from "../config/schema";
import { checkDelegation, checkVultr, CheckResult, VULTR_API } from "./preflight";
import { programKeys } from "./stackConfig";

const PROJECT_KEY = (key: string) => `hobby-platform:${key}`;
export const NEW_STACK_ENVIRONMENTS = ["dev", "stg", "prod"] as const;

/** The secrets a new stack needs, in the order they are read from standard input. */
export const SECRETS = [
    { key: "vultr:apiKey", what: "Vultr API key" },
    { key: SECRET_KEYS.gitlabApiToken, what: "GitLab API token (Maintainer, scope api)" },
    { key: SECRET_KEYS.goModulesToken, what: "GitLab read token for private Go modules (read_api, read_repository)" },
] as const;

/** The plain values, each a flag and, on a terminal, a prompt when the flag is missing. */
const VALUES = [
    { flag: "domain", prompt: "Base domain (the services are api.<project>.<env>.<domain>)" },
    { flag: "admin-cidr", prompt: "Public IPv4 networks that run pulumi, comma-separated (yours as /32, and the CI runners')" },
    { flag: "gitlab-domain", prompt: "GitLab host", fallback: "gitlab.com" },
    { flag: "gitlab-registry", prompt: "Container registry host", fallback: "registry.gitlab.com" },
    { flag: "acme-email", prompt: "E-mail for Let's Encrypt's expiry notices" },
    // Offered on a terminal only: without one, the key file is named, never guessed.
    {
        flag: "ssh-public-key-file",
        prompt: "Your SSH public key file, root's key on the servers (a restore needs it)",
        suggest: "~/.ssh/id_ed25519.pub",
    },
] as const;
type ValueFlag = (typeof VALUES)[number]["flag"];

const OPTIONS = {
    domain: { type: "string" },
    "admin-cidr": { type: "string", multiple: true },
    "gitlab-domain": { type: "string" },
    "gitlab-registry": { type: "string" },
    "acme-email": { type: "string" },
    "dns-zone": { type: "string" },
    "ssh-public-key-file": { type: "string" },
    "deploy-token-expires-at": { type: "string" },
    "cluster-access": { type: "string" },
    "agent-project": { type: "string" },
    "kas-address": { type: "string" },
    region: { type: "string" },
    "node-count": { type: "string" },
    resolver: { type: "string" },
    "vultr-api": { type: "string" },
    force: { type: "boolean" },
    help: { type: "boolean" },
} as const;

/** The scaffold's flags, as `--<name>`. */
export const NEW_STACK_FLAGS = Object.keys(OPTIONS).map((o) => `--${o}`);

const USAGE = `usage: npm run new-stack -- <${NEW_STACK_ENVIRONMENTS.join("|")}> [flags]
  --domain <name>                 base domain; its zone must be at Vultr, delegated to ns1/ns2.vultr.com
  --admin-cidr <cidr>             public IPv4 network that runs pulumi (repeat, or comma-separate)
  --gitlab-domain <host>          default gitlab.com
  --gitlab-registry <host>        default registry.gitlab.com
  --acme-email <address>          Let's Encrypt account e-mail
  --dns-zone <zone>               Vultr DNS zone, default the domain
  --ssh-public-key-file <file>    root's key on the servers (a restore needs a root shell)
  --deploy-token-expires-at <day> default a year from today, less a day
  --cluster-access agent --agent-project <group/project> --kas-address <wss://...>
                                  service deploys through GitLab's agent (runners without a fixed address)
  --region <id> --node-count <n>  default ams, 3
  --resolver <host:port>          DNS resolver for the delegation check, default the system's
  --vultr-api <url>               default ${VULTR_API}
  --force                         replace a Pulumi.<env>.yaml that holds no example values
Secrets are read from standard input, one a line, in this order: ${SECRETS.map((s) => s.key).join(", ")}.
On a terminal each missing value is asked for, secrets without echo.`;

/** Reads lines from standard input one at a time, prompting on stderr; a terminal does not echo secrets. */
class Input {
    private readonly lines: string[] = [];
    private readonly waiting: ((line: string | undefined) => void)[] = [];
    private closed = false;
    private muted = false;
    private readonly rl: readline.Interface;
    readonly terminal = Boolean(process.stdin.isTTY);

    constructor() {
        const output = new Writable({
            write: (chunk, _encoding, done) => {
                if (!this.muted) process.stderr.write(chunk);
                done();
            },
        });
        // No history: on a terminal readline would keep each typed line, secrets too, for the arrow keys.
        this.rl = readline.createInterface({ input: process.stdin, output, terminal: this.terminal, historySize: 0 });
        this.rl.on("line", (line) => (this.waiting.length > 0 ? this.waiting.shift()!(line) : this.lines.push(line)));
        this.rl.on("close", () => {
            this.closed = true;
            for (const w of this.waiting.splice(0)) w(undefined);
        });
    }

    /** The next line, or undefined at the end of input. */
    async ask(prompt: string, secret = false): Promise<string | undefined> {
        // Piped answers need no prompt (and would run into one line of the log).
        if (this.terminal) process.stderr.write(`${prompt}: `);
        this.muted = secret && this.terminal;
        const line =
            this.lines.length > 0 ? this.lines.shift() : this.closed ? undefined : await new Promise<string | undefined>((r) => this.waiting.push(r));
        this.muted = false;
        if (secret && this.terminal) process.stderr.write("\n");
        return line?.trim();
    }

    close(): void {
        this.rl.close();
    }
}

/** A year from `today`, less a day: the deploy tokens rotate yearly, like the other tokens. */
function defaultExpiry(today: string): string {
    const d = new Date(`${today}T00:00:00Z`);
    d.setUTCFullYear(d.getUTCFullYear() + 1);
    d.setUTCDate(d.getUTCDate() - 1);
    return d.toISOString().slice(0, 10);
}

/** The config of the stack file that is there, if any, as a map (empty without one). */
function existingStackFile(file: string): { config: Record<string, unknown>; rest: Record<string, unknown> } {
    if (!fs.existsSync(file)) return { config: {}, rest: {} };
    const { config, ...rest } = (YAML.parse(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
    return { config: config ?? {}, rest };
}

/** The example service of the committed files, when the stack file has no projects of its own. */
const EXAMPLE_PROJECTS = {
    "the-project": {
        services: { "example-microservice": { gitlabProject: "the-project/example-microservice", replicas: 2, basePath: "/example/api/endpoint" } },
    },
};

/** Whether a stack file's config still holds an example value: then it is the committed example. */
function holdsExampleValues(config: Record<string, unknown>): boolean {
    let found = false;
    placeholderRules(programKeys(config), () => (found = true));
    return found;
}

/** The validation problems of a config as a real run reports them, or [] (secrets taken as set). */
function problemsOf(config: Record<string, unknown>, env: string, today: string): string[] {
    try {
        parseConfig({ environment: env, ...programKeys(config) }, () => "set", today, { refusePlaceholders: true });
        return [];
    } catch (e) {
        if (e instanceof ConfigError) return e.problems;
        throw e;
    }
}

/** Runs the pulumi CLI with `stdin` as its standard input; the arguments never hold a secret. */
function pulumi(args: string[], stdin = ""): { code: number; output: string } {
    const r = spawnSync("pulumi", args, { input: stdin, encoding: "utf8" });
    if (r.error) return { code: 127, output: `pulumi: ${r.error.message}` };
    return { code: r.status ?? 1, output: `${r.stdout}${r.stderr}`.trim() };
}

const fail = (lines: string[], code: number) => {
    for (const l of lines) console.error(l);
    return code;
};

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
    const secretFlag = argv.find((a) => /^--?(.*(key|token|password|secret|passphrase))(=|$)/i.test(a));
    if (secretFlag)
        return fail(
            [
                `new-stack: ${secretFlag.split("=")[0]}: secrets are never taken on the command line (shell history, ps); give them on standard input`,
                USAGE,
            ],
            2,
        );
    let parsed;
    try {
        parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    } catch (e) {
        return fail([`new-stack: ${(e as Error).message}`, USAGE], 2);
    }
    const { values: flags, positionals } = parsed;
    if (flags.help) return fail([USAGE], 0);
    const stack = positionals[0];
    if (positionals.length !== 1 || !(NEW_STACK_ENVIRONMENTS as readonly string[]).includes(stack))
        return fail(
            [`new-stack: name one environment, ${NEW_STACK_ENVIRONMENTS.join(", ")} (got ${JSON.stringify(positionals.join(" "))})`, USAGE],
            2,
        );
    if (!env.PULUMI_CONFIG_PASSPHRASE && !env.PULUMI_CONFIG_PASSPHRASE_FILE)
        return fail(
            [
                "new-stack: set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) first: it encrypts the stack's secrets, and CI needs the same value (docs/quickstart.md)",
            ],
            2,
        );
    // The project's directory: `npm run` starts scripts there.
    if (!fs.existsSync("Pulumi.yaml")) return fail([`new-stack: no Pulumi.yaml in ${process.cwd()}; run it from the project's directory`], 2);
    const file = path.resolve(`Pulumi.${stack}.yaml`);
    const today = new Date().toISOString().slice(0, 10);

    const input = new Input();
    try {
        // Without a terminal nothing can be asked: every plain value must be a flag, so that a
        // secret on standard input is never read as a domain and written to the file.
        const missing = VALUES.filter((v) => flags[v.flag] === undefined && !("fallback" in v));
        if (!input.terminal && missing.length > 0)
            return fail(
                [`new-stack: without a terminal, give ${missing.map((v) => `--${v.flag}`).join(", ")} (standard input carries only the secrets)`],
                2,
            );
        const value: Partial<Record<ValueFlag, string>> = {};
        for (const v of VALUES) {
            const given = flags[v.flag];
            const offered = "fallback" in v ? v.fallback : "suggest" in v ? v.suggest : undefined;
            if (given !== undefined) value[v.flag] = Array.isArray(given) ? given.join(",") : given;
            else if ("fallback" in v && !input.terminal) value[v.flag] = v.fallback;
            else value[v.flag] = (await input.ask(`${v.prompt}${offered ? ` [${offered}]` : ""}`)) || (offered ?? "");
        }
        const keyFile = value["ssh-public-key-file"]!.replace(/^~(?=\/)/, os.homedir());
        if (!fs.existsSync(keyFile))
            return fail([`new-stack: no SSH public key at ${keyFile}; make one with \`ssh-keygen -t ed25519\`, or give --ssh-public-key-file`], 2);
        const existing = existingStackFile(file);
        if (fs.existsSync(file) && !flags.force && !holdsExampleValues(existing.config))
            return fail([`new-stack: ${path.basename(file)} holds a team's values already; keep it, or replace it with --force`], 2);

        const secrets: Record<string, string> = {};
        for (const s of SECRETS) {
            const answer = await input.ask(`${s.what} (${s.key})`, true);
            if (!answer) return fail([`new-stack: standard input ended before the ${s.what} (${s.key}); give each secret on its own line`], 2);
            secrets[s.key] = answer;
        }

        const zone = flags["dns-zone"] ?? value.domain!;
        const sshKeys = [fs.readFileSync(keyFile, "utf8").trim()];
        const config: Record<string, unknown> = {
            [PROJECT_KEY("domain")]: value.domain,
            [PROJECT_KEY("cluster")]: {
                ...(flags.region !== undefined ? { region: flags.region } : {}),
                ...(flags["node-count"] !== undefined ? { nodeCount: Number(flags["node-count"]) } : {}),
                adminCidrs: value["admin-cidr"]!.split(",")
                    .map((c) => c.trim())
                    .filter(Boolean),
                sshPublicKeys: sshKeys,
            },
            // The stack keeps the service hosts' A records, so the example serves without a hand step.
            [PROJECT_KEY("dns")]: { provider: "vultr", ...(zone !== value.domain ? { zone } : {}) },
            [PROJECT_KEY("gitlab")]: {
                domain: value["gitlab-domain"],
                registry: value["gitlab-registry"],
                deployTokenExpiresAt: flags["deploy-token-expires-at"] ?? defaultExpiry(today),
                ...(flags["cluster-access"] !== undefined ? { clusterAccess: flags["cluster-access"] } : {}),
                ...(flags["agent-project"] !== undefined || flags["kas-address"] !== undefined
                    ? { agent: { project: flags["agent-project"], kasAddress: flags["kas-address"] } }
                    : {}),
            },
            // Every new environment starts on Let's Encrypt's staging CA (docs/operations.md, Certificates).
            [PROJECT_KEY("acme")]: { email: value["acme-email"], staging: true },
            [PROJECT_KEY("projects")]: existing.config[PROJECT_KEY("projects")] ?? EXAMPLE_PROJECTS,
        };

        // Over the file that is there: what it sets and this run does not (the example's plan, its
        // k3s release, a team's agent settings) stays, section by section.
        const merged = Object.fromEntries(
            Object.entries(config).map(([key, value]) => {
                const before = existing.config[key];
                return [key, isRecord(before) && isRecord(value) ? { ...before, ...value } : value];
            }),
        );
        const written = { ...existing.config, ...merged };
        const problems = problemsOf(written, stack, today);
        if (problems.length > 0)
            return fail([`new-stack: the values are not valid yet (nothing was written):`, ...problems.map((p) => `  - ${p}`)], 2);

        const checks: CheckResult[] = [
            await checkDelegation(zone, flags.resolver),
            ...(await checkVultr(secrets["vultr:apiKey"], zone, flags["vultr-api"])),
        ];
        for (const c of checks) console.error(`${c.ok ? "ok  " : "FAIL"} ${c.message}`);
        if (checks.some((c) => !c.ok)) return fail(["new-stack: fix the above and run the same command again (nothing was written)"], 3);

        const doc = new YAML.Document({ ...existing.rest, config: written });
        doc.commentBefore =
            ` ${stack}: written by \`npm run new-stack -- ${stack}\` on ${today} (docs/quickstart.md).\n` +
            ` Secrets are set with \`pulumi config set --secret <key>\` from standard input, and appear here only encrypted.`;
        // Quoted: pulumi rewrites the file (Go's YAML), which reads a bare 2027-06-30 as a timestamp.
        YAML.visit(doc, {
            Scalar(_, node) {
                if (typeof node.value === "string" && DATE.test(node.value)) node.type = "QUOTE_DOUBLE";
            },
        });
        fs.writeFileSync(file, doc.toString());
        console.error(`wrote ${path.basename(file)}`);

        const selected = pulumi(["stack", "select", stack, "--create", "--secrets-provider", "passphrase", "--non-interactive"]);
        if (selected.code !== 0)
            return fail(
                [selected.output, `new-stack: could not create or select the stack ${stack}; is \`pulumi login\` done (docs/quickstart.md)?`],
                4,
            );
        for (const s of SECRETS) {
            const set = pulumi(["config", "set", "--secret", "--stack", stack, s.key, "--non-interactive"], secrets[s.key]);
            if (set.code !== 0) return fail([set.output, `new-stack: could not set ${s.key}`], 4);
            console.error(`set ${s.key} (secret)`);
        }
    } finally {
        input.close();
    }

    console.log(`
Stack ${stack} is ready. Next (docs/quickstart.md, from "Up"):
  git add Pulumi.${stack}.yaml && git commit -m "Stack ${stack}"   # only encrypted secrets in it
  pulumi preview --stack ${stack}            # creates nothing; already calls the Vultr API
  pulumi up --stack ${stack} --yes           # servers, k3s, Traefik, cert-manager, the services, in one run
  pulumi stack output serviceUrls --stack ${stack}
  curl -k "$(pulumi stack output serviceUrls --stack ${stack} --json | jq -r 'to_entries[0].value')"   # -k: staging CA
Then give CI the same backend and passphrase (docs/pipeline.md, "CI/CD variables of this project").`);
    return 0;
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => {
            process.exitCode = code;
        },
        (e: Error) => {
            console.error(`new-stack: ${e.message}`);
            process.exitCode = 1;
        },
    );
}
