// docs/troubleshooting.md quotes what the program prints: each quote must still be printed, or a
// user searching the page for their error finds nothing.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { advice, Cause } from "../components/cluster/readiness";
import { ConfigError, parseConfig } from "../config";
import { stackConfig } from "../scripts/stackConfig";

const PAGE = fs.readFileSync(path.join(__dirname, "..", "docs", "troubleshooting.md"), "utf8");
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
        const input = Object.fromEntries(
            Object.entries(stackConfig("dev")).map(([k, v]) => {
                const key = k.replace(/^hobby-platform:/, "");
                return [key, key === "domain" ? v : JSON.parse(v)];
            }),
        );
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
