// `npm run new-stack -- <env>` as a user runs it: a child process in a project directory, with its
// answers piped or typed on a terminal (a pty from util-linux's `script`), against a stub resolver
// and a stub Vultr API on 127.0.0.1, and a test double of the pulumi CLI that records each call's
// arguments and standard input.
import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { checkDelegation, VULTR_NAME_SERVERS } from "../scripts/preflight";
import { StubResolver, StubVultr, startStubResolver, startStubVultr } from "./helpers/cloudStubs";

const ROOT = path.resolve(__dirname, "..");
const ZONE = "hobby-team.net";
const SECRETS = { vultr: "vultr-key-0123456789ABCDEF", gitlab: "glpat-api-token-0123456789", go: "glpat-go-modules-0123456789" };
const STDIN = `${SECRETS.vultr}\n${SECRETS.gitlab}\n${SECRETS.go}\n`;
/** A team member's public key (the form OpenSSH writes to ~/.ssh/id_ed25519.pub). */
const SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ0d6Xl3H2vD5nYwq8f0b9Zc7p8mKq1rT2sV4uW6yX8z ops@hobby-team.net";

/** The pulumi CLI's test double: one JSON line per call, its arguments and its standard input. */
const FAKE_PULUMI = `#!/usr/bin/env node
const fs = require("fs");
const stdin = process.argv.includes("set") ? fs.readFileSync(0, "utf8") : "";
fs.appendFileSync(process.env.FAKE_PULUMI_LOG, JSON.stringify({ args: process.argv.slice(2), stdin }) + "\\n");
`;

interface Run {
    code: number;
    stdout: string;
    stderr: string;
    calls: { args: string[]; stdin: string }[];
    file?: string;
}

/** A project directory: Pulumi.yaml and, optionally, the committed stack file of `env`. */
function project(withCommitted?: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hp-new-stack-"));
    fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    if (withCommitted) fs.copyFileSync(path.join(ROOT, `Pulumi.${withCommitted}.yaml`), path.join(dir, `Pulumi.${withCommitted}.yaml`));
    fs.writeFileSync(path.join(dir, "id_ed25519.pub"), `${SSH_KEY}\n`);
    fs.mkdirSync(path.join(dir, "bin"));
    fs.writeFileSync(path.join(dir, "bin", "pulumi"), FAKE_PULUMI, { mode: 0o755 });
    return dir;
}

const SCRIPT = ["-r", path.join(ROOT, "scripts", "register.ts"), path.join(ROOT, "scripts", "newStack.ts")];

/** Runs the scaffold in `dir` with `args`; `stdin` piped, or typed on a pty when `tty`. */
function newStack(dir: string, args: string[], stdin: string, tty = false): Promise<Run> {
    const env = {
        ...process.env,
        PATH: `${path.join(dir, "bin")}:${process.env.PATH}`,
        FAKE_PULUMI_LOG: path.join(dir, "calls.log"),
        PULUMI_CONFIG_PASSPHRASE: "test-passphrase",
    };
    const quoted = [process.execPath, ...SCRIPT, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
    // `script` gives the command a pty and types its own standard input into it.
    const [cmd, argv] = tty ? ["script", ["-qefc", quoted, "/dev/null"]] : [process.execPath, [...SCRIPT, ...args]];
    return new Promise((resolve) => {
        const child = spawn(cmd, argv, { cwd: dir, env, stdio: ["pipe", "pipe", "pipe"] });
        let [stdout, stderr] = ["", ""];
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        if (tty) {
            // A person types each answer once its prompt is on the screen (a prompt ends in ": ").
            const lines = stdin.split("\n").slice(0, -1);
            child.stdout.on("data", () => {
                if (stdout.endsWith(": ") && lines.length > 0) child.stdin.write(`${lines.shift()}\r`);
            });
        } else child.stdin.end(stdin);
        child.on("close", (code) => {
            const log = path.join(dir, "calls.log");
            const file = path.join(dir, `Pulumi.${args[0]}.yaml`);
            resolve({
                code: code ?? 1,
                stdout,
                stderr,
                calls: fs.existsSync(log)
                    ? fs
                          .readFileSync(log, "utf8")
                          .trim()
                          .split("\n")
                          .map((l) => JSON.parse(l))
                    : [],
                file: fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined,
            });
        });
    });
}

describe("npm run new-stack -- <env> (scripts/newStack.ts)", function () {
    this.timeout(60_000);
    let resolver: StubResolver;
    let vultr: StubVultr;
    const dirs: string[] = [];
    const dir = (committed?: string) => {
        const d = project(committed);
        dirs.push(d);
        return d;
    };
    const flags = (o: { domain?: string; adminCidr?: string; email?: string } = {}) => [
        "--domain",
        o.domain ?? ZONE,
        "--admin-cidr",
        o.adminCidr ?? "84.17.32.9/32",
        "--acme-email",
        o.email ?? `ops@${ZONE}`,
        "--ssh-public-key-file",
        "id_ed25519.pub",
        "--resolver",
        resolver.address,
        "--vultr-api",
        vultr.url,
    ];

    before(async () => {
        resolver = await startStubResolver({ [ZONE]: ["ns1.vultr.com.", "NS2.vultr.com"], "elsewhere.net": ["ns1.registrar-servers.com"] });
        vultr = await startStubVultr({ key: SECRETS.vultr, zones: [ZONE, "elsewhere.net"] });
    });
    after(async () => {
        await Promise.all([resolver.close(), vultr.close()]);
        for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    });

    it("from flags, secrets piped: checks the cloud, writes the stack file, sets each secret on pulumi's standard input, prints the next commands", async () => {
        const d = dir("dev");
        const run = await newStack(d, ["dev", ...flags()], STDIN);
        assert.strictEqual(run.code, 0, run.stderr);
        assert.match(run.stderr, /ok {3}DNS: hobby-team\.net is delegated to ns1\.vultr\.com, ns2\.vultr\.com/);
        assert.match(run.stderr, /ok {3}Vultr API: the key answers from this address/);
        assert.match(run.stderr, /ok {3}Vultr DNS: the account holds the zone hobby-team\.net/);
        const config = YAML.parse(run.file!).config;
        assert.strictEqual(config["hobby-platform:domain"], ZONE);
        const committed = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8")).config["hobby-platform:cluster"];
        assert.deepStrictEqual(
            config["hobby-platform:cluster"],
            { ...committed, adminCidrs: ["84.17.32.9/32"], sshPublicKeys: [SSH_KEY] },
            "the example's plan, node count and k3s release stay; its address and key are replaced",
        );
        assert.deepStrictEqual(config["hobby-platform:dns"], { provider: "vultr" });
        assert.deepStrictEqual(config["hobby-platform:acme"], { email: `ops@${ZONE}`, staging: true }, "a new environment starts on the staging CA");
        assert.strictEqual(config["hobby-platform:gitlab"].domain, "gitlab.com");
        assert.match(config["hobby-platform:gitlab"].deployTokenExpiresAt, /^\d{4}-\d{2}-\d{2}$/);
        assert.match(run.file!, /deployTokenExpiresAt: "\d{4}-\d{2}-\d{2}"/, "quoted, or pulumi's own rewrite of the file makes it a timestamp");
        assert.deepStrictEqual(
            Object.keys(config["hobby-platform:projects"]["the-project"].services),
            ["example-microservice"],
            "the committed example's services are kept",
        );
        assert.deepStrictEqual(
            run.calls.map((c) => c.args.join(" ")),
            [
                "stack select dev --create --secrets-provider passphrase --non-interactive",
                "config set --secret --stack dev vultr:apiKey --non-interactive",
                "config set --secret --stack dev gitlabApiToken --non-interactive",
                "config set --secret --stack dev goModulesToken --non-interactive",
            ],
        );
        assert.deepStrictEqual(
            run.calls.slice(1).map((c) => c.stdin),
            [SECRETS.vultr, SECRETS.gitlab, SECRETS.go],
        );
        for (const secret of Object.values(SECRETS)) {
            assert.ok(!run.file!.includes(secret), "no secret in the stack file");
            assert.ok(!run.stdout.includes(secret) && !run.stderr.includes(secret), "no secret in the output");
        }
        assert.match(run.stdout, /pulumi up --stack dev --yes/);
        assert.match(run.stdout, /pulumi stack output serviceUrls --stack dev/);
        assert.ok(
            vultr.requests.every((r) => r.bearer),
            "the key goes in the Authorization header",
        );
    });

    it("on a terminal: asks for each value, does not echo the secrets, and writes the same file", async () => {
        const d = dir();
        const answers = `${ZONE}\n84.17.32.9/32\n\n\nops@${ZONE}\nid_ed25519.pub\n${STDIN}`;
        const run = await newStack(d, ["stg", "--resolver", resolver.address, "--vultr-api", vultr.url], answers, true);
        assert.strictEqual(run.code, 0, run.stdout + run.stderr);
        // On a pty stdout and stderr are one stream, the terminal's.
        assert.match(run.stdout, /Base domain/);
        assert.match(run.stdout, /GitLab host \[gitlab\.com\]/);
        assert.match(run.stdout, /Vultr API key \(vultr:apiKey\)/);
        for (const secret of Object.values(SECRETS)) assert.ok(!run.stdout.includes(secret), "a typed secret is not echoed");
        const config = YAML.parse(run.file!).config;
        assert.strictEqual(config["hobby-platform:gitlab"].registry, "registry.gitlab.com");
        assert.deepStrictEqual(config["hobby-platform:cluster"].adminCidrs, ["84.17.32.9/32"]);
        assert.deepStrictEqual(config["hobby-platform:cluster"].sshPublicKeys, [SSH_KEY]);
        assert.deepStrictEqual(
            run.calls.slice(1).map((c) => c.stdin),
            [SECRETS.vultr, SECRETS.gitlab, SECRETS.go],
        );
    });

    it("writes the agent path from flags, and refuses it without the agent's project", async () => {
        const agent = ["--cluster-access", "agent", "--kas-address", "wss://kas.gitlab.com"];
        const [ok, incomplete] = await Promise.all([
            newStack(dir(), ["dev", ...flags(), ...agent, "--agent-project", "the-project/cluster-agents"], STDIN),
            newStack(dir(), ["dev", ...flags(), ...agent], STDIN),
        ]);
        assert.strictEqual(ok.code, 0, ok.stderr);
        const gitlab = YAML.parse(ok.file!).config["hobby-platform:gitlab"];
        assert.strictEqual(gitlab.clusterAccess, "agent");
        assert.deepStrictEqual(gitlab.agent, { project: "the-project/cluster-agents", kasAddress: "wss://kas.gitlab.com" });
        assert.strictEqual(incomplete.code, 2);
        assert.match(incomplete.stderr, /hobby-platform:gitlab\.agent\.project: is required when gitlab\.clusterAccess is "agent"/);
        assert.strictEqual(incomplete.file, undefined);
    });

    it("without a terminal, names the missing flags and reads no secret as a value; refuses a secret given as a flag", async () => {
        const d = dir();
        const [missing, asFlag] = await Promise.all([
            newStack(d, ["dev", "--domain", ZONE], STDIN),
            newStack(d, ["dev", ...flags(), `--vultr-api-key=${SECRETS.vultr}`], ""),
        ]);
        assert.strictEqual(missing.code, 2);
        assert.match(missing.stderr, /without a terminal, give --admin-cidr, --acme-email, --ssh-public-key-file/);
        assert.strictEqual(asFlag.code, 2);
        assert.match(asFlag.stderr, /--vultr-api-key: secrets are never taken on the command line/);
        assert.ok(!asFlag.stderr.includes(SECRETS.vultr));
        for (const run of [missing, asFlag]) {
            assert.strictEqual(run.file, undefined);
            assert.deepStrictEqual(run.calls, []);
        }
    });

    it("refuses example values before any check, naming each key and what to put there", async () => {
        const d = dir();
        const args = ["dev", ...flags({ domain: "example.com", adminCidr: "203.0.113.0/24", email: "ops@example.com" })];
        const before = vultr.requests.length;
        const run = await newStack(d, args, STDIN);
        assert.strictEqual(run.code, 2);
        assert.match(run.stderr, /hobby-platform:cluster\.adminCidrs: "203\.0\.113\.0\/24" is in 203\.0\.113\.0\/24, a documentation network/);
        assert.match(run.stderr, /hobby-platform:domain: "example\.com" is under example\.com/);
        assert.match(run.stderr, /hobby-platform:acme\.email/);
        assert.strictEqual(vultr.requests.length, before, "nothing was asked of Vultr");
        assert.strictEqual(run.file, undefined);
        assert.deepStrictEqual(run.calls, []);
    });

    it("stops before anything is written when the zone is not Vultr's, or the key does not accept this address", async () => {
        const locked = await startStubVultr({ key: SECRETS.vultr, zones: [ZONE], allowedAddress: "84.17.32.9", callerAddress: "198.18.7.7" });
        const [elsewhere, undelegated, refused] = await Promise.all([
            newStack(
                dir(),
                ["dev", ...flags(), "--dns-zone", "elsewhere.net", "--domain", "elsewhere.net", "--acme-email", "ops@elsewhere.net"],
                STDIN,
            ),
            newStack(dir(), ["dev", ...flags(), "--dns-zone", "dev.hobby-team.net"], STDIN),
            newStack(dir(), ["dev", ...flags().slice(0, -1), locked.url], STDIN),
        ]).finally(() => locked.close());
        assert.strictEqual(elsewhere.code, 3);
        assert.match(
            elsewhere.stderr,
            /FAIL DNS: elsewhere\.net is delegated to ns1\.registrar-servers\.com, not to Vultr .*set the name servers of elsewhere\.net to ns1\.vultr\.com and ns2\.vultr\.com/,
        );
        assert.strictEqual(undelegated.code, 3);
        assert.match(undelegated.stderr, /FAIL DNS: dev\.hobby-team\.net has no NS records of its own \(ENOTFOUND\): it is not delegated/);
        assert.match(undelegated.stderr, /FAIL Vultr DNS: the account has no zone dev\.hobby-team\.net: create it/);
        assert.strictEqual(refused.code, 3);
        assert.match(
            refused.stderr,
            /FAIL Vultr API: the key does not accept requests from this address \(198\.18\.7\.7\): add 198\.18\.7\.7\/32 to the key's Access Control/,
        );
        for (const run of [elsewhere, undelegated, refused]) {
            assert.strictEqual(run.file, undefined);
            assert.deepStrictEqual(run.calls, []);
        }
    });

    it("replaces the committed example, but a file with a team's values only with --force", async () => {
        const d = dir("dev");
        const first = await newStack(d, ["dev", ...flags()], STDIN);
        assert.strictEqual(first.code, 0, first.stderr);
        assert.ok(!first.file!.includes("203.0.113.0/24"), "the example's values are gone");
        // What pulumi adds to the file: the salt, and each secret encrypted.
        const file = path.join(d, "Pulumi.dev.yaml");
        fs.appendFileSync(file, "encryptionsalt: v1:c2FsdA==:v1:x:y\n");
        const doc = YAML.parseDocument(fs.readFileSync(file, "utf8"));
        doc.setIn(["config", "vultr:apiKey"], { secure: "v1:AAAA:BBBB" });
        fs.writeFileSync(file, doc.toString());
        const [again, forced] = [
            await newStack(d, ["dev", ...flags()], STDIN),
            await newStack(d, ["dev", ...flags(), "--admin-cidr", "84.17.32.10/32", "--force"], STDIN),
        ];
        assert.strictEqual(again.code, 2);
        assert.match(again.stderr, /holds a team's values already; keep it, or replace it with --force/);
        assert.strictEqual(forced.code, 0, forced.stderr);
        const written = YAML.parse(forced.file!);
        assert.deepStrictEqual(written.config["hobby-platform:cluster"].adminCidrs, ["84.17.32.9/32", "84.17.32.10/32"]);
        assert.deepStrictEqual(written.config["vultr:apiKey"], { secure: "v1:AAAA:BBBB" }, "the stack's encrypted secrets stay");
        assert.strictEqual(written.encryptionsalt, "v1:c2FsdA==:v1:x:y", "and its salt");
    });

    it("asks the resolver for the zone's NS records and wants both of Vultr's name servers", async () => {
        const partial = await startStubResolver({ [ZONE]: ["ns1.vultr.com"] });
        try {
            const result = await checkDelegation(ZONE, partial.address);
            assert.strictEqual(result.ok, false);
            assert.match(result.message, /ns2\.vultr\.com missing/);
        } finally {
            await partial.close();
        }
        assert.deepStrictEqual(VULTR_NAME_SERVERS, ["ns1.vultr.com", "ns2.vultr.com"]);
    });
});
