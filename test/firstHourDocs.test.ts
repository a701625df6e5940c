// The first hour's documents against the program: the troubleshooting page quotes what the
// program prints (or a user searching it for their error finds nothing), the quickstart uses the
// scaffold's real flags, and no document puts a secret on a command line.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { advice, Cause } from "../components/cluster/readiness";
import { ConfigError, parseConfig } from "../config";
import { NEW_STACK_FLAGS } from "../scripts/newStack";
import { programKeys, stackFileConfig } from "../scripts/stackConfig";

const ROOT = path.join(__dirname, "..");
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");
const PAGE = read("docs/troubleshooting.md");
/** Every `code` span of the page's text (fenced blocks left out: their backticks are not spans). */
const quoted = [...PAGE.replace(/^```[\s\S]*?^```$/gm, "").matchAll(/`([^`\n]+)`/g)].map((m) => m[1]);

describe("docs/troubleshooting.md quotes the program's own messages", () => {
    it("names each cause of a readiness gate's timeout with words of the gate's own advice", () => {
        const causes: Cause[] = ["no-address", "refused", "timeout", "tls", "not-ready"];
        for (const cause of causes) {
            const text = advice([{ address: "k8s.dev.your-team.net", cause, detail: "" }], "k8s.dev.your-team.net");
            const quote = quoted.find((q) => text.includes(q.replace("<host>", "k8s.dev.your-team.net")) && q.length > 20);
            assert.ok(quote, `no quote of the ${cause} advice on the page: "${text}"`);
        }
    });

    it("shows the first lines a real run prints for the committed dev example", () => {
        const input = programKeys(stackFileConfig("dev"));
        let problems: string[] = [];
        try {
            parseConfig({ environment: "dev", ...input }, () => "set", "2026-12-02", { refusePlaceholders: true });
        } catch (e) {
            problems = (e as ConfigError).problems;
        }
        const shown = [...PAGE.matchAll(/^ {2}- (hobby-platform:\S+: .*?), \.\.\.$/gm)].map((m) => m[1]);
        assert.ok(shown.length >= 2, "the page shows the refusal's lines");
        for (const line of shown)
            assert.ok(
                problems.some((p) => p.startsWith(line)),
                `not printed any more: ${line}`,
            );
    });
});

describe("the quickstart and the secrets in the documents", () => {
    it("is linked from the README's first screen", () => {
        assert.match(read("README.md").split("\n").slice(0, 12).join("\n"), /\]\(docs\/quickstart\.md\)/);
    });

    it("uses only flags the scaffold has", () => {
        // Shell continuation lines joined, so a call's flags are on its one line.
        const quickstart = read("docs/quickstart.md").replace(/\\\n\s*/g, " ");
        const calls = [...quickstart.matchAll(/npm run new-stack -- [^\n]*/g)].map((m) => m[0]);
        assert.ok(calls.length >= 2);
        const used = calls.flatMap((c) => c.match(/(?<=\s)--[a-z][a-z-]*/g) ?? []);
        assert.ok(used.includes("--ssh-public-key-file"));
        for (const flag of used) assert.ok(NEW_STACK_FLAGS.includes(flag), `${flag} is not a flag of npm run new-stack`);
    });

    it("never shows a secret's value on a command line", () => {
        const files = [
            "README.md",
            ...fs.readdirSync(path.join(ROOT, "docs")).map((f) => `docs/${f}`),
            ...fs.readdirSync(ROOT).filter((f) => /^Pulumi\..*\.yaml$/.test(f)),
        ];
        for (const file of files.filter((f) => /\.(md|yaml)$/.test(f))) {
            // `pulumi config set --secret <key> <value>`: anything after the key but a flag or a comment.
            const offending = read(file)
                .split("\n")
                .filter((line) => /config set --secret(?: --stack \S+)? [\w:.<>][\w:.<>-]* +[^\s#`-]/.test(line));
            assert.deepStrictEqual(offending, [], file);
        }
    });
});
