import * as assert from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { checkTransport, MergeRequestRef, upsertNote } from "../scripts/gitlabNotes";
import { changedSteps, codeBlock, describeUrn, MAX_DIFF_CHARS, noteMarker, parsePreview, renderNote, widgetCounts } from "../scripts/previewReport";

const FIXTURES = path.join(__dirname, "fixtures");
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name), "utf8");

describe("merge-request preview report (scripts/previewReport.ts)", () => {
    const changes = parsePreview(fixture("preview-changes.json"));

    it("reads the change summary and steps of `pulumi preview --json`", () => {
        // The fixture is consistent with itself: one logical step per counted change.
        for (const op of ["create", "update", "replace", "delete"]) {
            assert.strictEqual(changes.steps.filter((s) => s.op === op).length, changes.changeSummary[op], op);
        }
        assert.deepStrictEqual(changes.changeSummary, { create: 1, delete: 1, replace: 1, same: 9, update: 1 });
        assert.strictEqual(changes.steps.length, 7);
    });

    it("gives the MR widget create/update/delete, counting a replacement as a create and a delete", () => {
        assert.deepStrictEqual(widgetCounts(changes), { create: 2, update: 1, delete: 2 });
        assert.deepStrictEqual(widgetCounts(parsePreview(fixture("preview-no-changes.json"))), { create: 0, update: 0, delete: 0 });
    });

    it("rejects output that is not a preview, naming what was wrong", () => {
        assert.throws(() => parsePreview("error: no stack named 'dev' found\n"), /not JSON.*no stack named/);
        assert.throws(() => parsePreview(JSON.stringify({ steps: [{ op: 1 }] })), /unexpected shape: steps\.0\.op/);
        assert.throws(() => parsePreview(JSON.stringify({ changeSummary: { create: -1 } })), /changeSummary\.create/);
    });

    it("reads a resource's type and name from its URN, parent types and '::' in names included", () => {
        assert.deepStrictEqual(
            describeUrn("urn:pulumi:dev::hobby-platform::hobby-platform:kubernetes:Microservice$kubernetes:apps/v1:Deployment::a::b"),
            { type: "kubernetes:apps/v1:Deployment", name: "a::b" },
        );
        assert.deepStrictEqual(describeUrn("not-a-urn"), { type: "", name: "not-a-urn" });
    });

    it("lists each changed resource once: a replacement as one row, unchanged resources not at all", () => {
        assert.deepStrictEqual(
            changedSteps(changes).map((s) => s.op),
            ["create", "update", "replace", "delete"],
        );
    });

    it("writes a note with the stack's marker, the counts, the changed resources and the diff", () => {
        const diffText = fixture("preview-changes.diff.txt");
        const body = renderNote({
            stack: "dev",
            digest: changes,
            succeeded: true,
            diffText,
            commit: "0a1b2c3d",
            jobUrl: "https://gitlab.example.com/j/1",
        });
        assert.ok(body.startsWith(`${noteMarker("dev")}\n### Pulumi preview: \`dev\`\n`));
        assert.ok(body.includes("| create | update | replace | delete | unchanged |\n| ---: | ---: | ---: | ---: | ---: |\n| 1 | 1 | 1 | 1 | 9 |"));
        assert.ok(body.includes("4 resources to change"));
        assert.ok(body.includes("| `+- replace` | `kubernetes:core/v1:Secret` | the-project-example-microservice-regcred | replaced for: type |"));
        assert.ok(body.includes("| `~ update` | `kubernetes:core/v1:ConfigMap` | the-project-example-microservice | data |"));
        assert.ok(body.includes("commit `0a1b2c3d` · [job log](https://gitlab.example.com/j/1)"));
        assert.ok(body.includes(`\`\`\`diff\n${diffText.trimEnd()}\n\`\`\``));
        assert.ok(!body.includes("(failed)"));
    });

    it("says 'No resource changes' when there are none", () => {
        const body = renderNote({ stack: "stg", digest: parsePreview(fixture("preview-no-changes.json")), succeeded: true, diffText: "" });
        assert.ok(body.includes("No resource changes."));
        assert.ok(body.includes("| 0 | 0 | 0 | 0 | 14 |"));
    });

    it("marks a failed preview and shows its errors", () => {
        const body = renderNote({
            stack: "prod",
            digest: parsePreview(fixture("preview-failed.json")),
            succeeded: false,
            diffText: "error: preview failed\n",
        });
        assert.ok(body.includes("### Pulumi preview: `prod` (failed)"));
        assert.ok(body.includes("**Errors**"));
        assert.ok(body.includes("hobby-platform:cluster.adminCidrs: must be a list of CIDRs"));
        const noJson = renderNote({ stack: "prod", succeeded: false, diffText: "error: could not decrypt" });
        assert.ok(noJson.includes("produced no JSON summary") && noJson.includes("error: could not decrypt"));
    });

    it("keeps the diff inside its code block whatever backticks it holds, and truncates a huge diff", () => {
        assert.strictEqual(codeBlock("a ``` b"), "````\na ``` b\n````");
        const huge = "x".repeat(MAX_DIFF_CHARS + 10);
        const body = renderNote({ stack: "dev", digest: changes, succeeded: true, diffText: huge });
        assert.ok(body.includes("truncated: 10 more characters in the job log"));
        assert.ok(body.length < MAX_DIFF_CHARS + 5_000);
    });

    it("keeps table cells intact when names hold '|'", () => {
        const digest = parsePreview(
            JSON.stringify({ steps: [{ op: "create", urn: "urn:pulumi:dev::p::t:m:R::a|b" }], changeSummary: { create: 1 } }),
        );
        assert.ok(renderNote({ stack: "dev", digest, succeeded: true, diffText: "" }).includes("| a\\|b |"));
    });
});

interface Seen {
    method: string;
    url: string;
    token?: string;
    body?: any;
}

/** A GitLab API v4 on 127.0.0.1 that holds one merge request's notes (its REST shape, paginated). */
async function fakeGitLab(notes: { id: number; body: string; system: boolean; author: { id: number } }[], perPage = 2) {
    const seen: Seen[] = [];
    const server = http.createServer((req, res) => {
        let raw = "";
        req.on("data", (c) => {
            raw += c;
        });
        req.on("end", () => {
            const url = new URL(req.url!, "http://x");
            seen.push({ method: req.method!, url: req.url!, token: req.headers["private-token"] as string, body: raw ? JSON.parse(raw) : undefined });
            const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
                res.writeHead(status, { "Content-Type": "application/json", ...headers }).end(JSON.stringify(body));
            };
            if (req.headers["private-token"] !== "glpat-test") return send(401, { message: "401 Unauthorized" });
            const m = url.pathname.match(/^\/api\/v4\/projects\/42\/merge_requests\/7\/notes(?:\/(\d+))?$/);
            if (url.pathname === "/api/v4/user" && req.method === "GET") return send(200, { id: 900, username: "project_42_bot" });
            if (m && req.method === "GET" && !m[1]) {
                const page = Number(url.searchParams.get("page") ?? "1");
                const slice = notes.slice((page - 1) * perPage, page * perPage);
                return send(200, slice, { "x-next-page": page * perPage < notes.length ? String(page + 1) : "" });
            }
            if (m && req.method === "PUT" && m[1]) {
                const note = notes.find((n) => n.id === Number(m[1]));
                if (!note || note.author.id !== 900) return send(403, { message: "403 Forbidden" });
                note.body = JSON.parse(raw).body;
                return send(200, note);
            }
            if (m && req.method === "POST" && !m[1]) {
                const note = { id: 1000 + notes.length, body: JSON.parse(raw).body, system: false, author: { id: 900 } };
                notes.push(note);
                return send(201, note);
            }
            send(404, { message: "404 Not found" });
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const ref: MergeRequestRef = {
        apiUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v4`,
        projectId: "42",
        mergeRequestIid: "7",
        token: "glpat-test",
    };
    return { ref, seen, notes, close: () => new Promise((r) => server.close(r)) };
}

describe("the one MR note per stack (scripts/gitlabNotes.ts)", () => {
    const marker = noteMarker("dev");

    it("creates the note on the first run, sending the token in the PRIVATE-TOKEN header", async () => {
        const gl = await fakeGitLab([]);
        try {
            const result = await upsertNote(gl.ref, marker, `${marker}\nfirst`);
            assert.deepStrictEqual(result, { action: "created", id: 1000 });
            assert.deepStrictEqual(
                gl.notes.map((n) => n.body),
                [`${marker}\nfirst`],
            );
            assert.ok(gl.seen.every((s) => s.token === "glpat-test"));
            assert.ok(
                gl.seen.every((s) => !s.url.includes("glpat-test")),
                "the token never goes in a URL",
            );
        } finally {
            await gl.close();
        }
    });

    it("updates its own earlier note in place on later pushes, looking past the first page", async () => {
        const gl = await fakeGitLab([
            { id: 1, body: "LGTM", system: false, author: { id: 5 } },
            { id: 2, body: "added 1 commit", system: true, author: { id: 5 } },
            { id: 3, body: `quoting: ${marker}`, system: false, author: { id: 5 } },
            { id: 4, body: `${noteMarker("stg")}\nstg`, system: false, author: { id: 900 } },
            { id: 5, body: `${marker}\nold`, system: false, author: { id: 900 } },
        ]);
        try {
            const result = await upsertNote(gl.ref, marker, `${marker}\nnew`);
            assert.deepStrictEqual(result, { action: "updated", id: 5 });
            assert.strictEqual(gl.notes.length, 5, "no new note");
            assert.strictEqual(gl.notes.find((n) => n.id === 5)!.body, `${marker}\nnew`);
            assert.strictEqual(gl.notes.find((n) => n.id === 3)!.body, `quoting: ${marker}`, "another user's note is left alone");
            assert.strictEqual(gl.notes.find((n) => n.id === 4)!.body, `${noteMarker("stg")}\nstg`, "another stack's note is left alone");
            assert.deepStrictEqual(
                gl.seen.filter((s) => s.method === "GET").map((s) => new URL(s.url, "http://x").searchParams.get("page")),
                [null, "1", "2", "3"],
            );
        } finally {
            await gl.close();
        }
    });

    it("fails with GitLab's status and message, without the token", async () => {
        const gl = await fakeGitLab([]);
        try {
            await assert.rejects(
                upsertNote({ ...gl.ref, token: "glpat-wrong" }, marker, marker),
                (e: Error) => /GitLab API GET \/user: HTTP 401 .*Unauthorized/.test(e.message) && !e.message.includes("glpat"),
            );
        } finally {
            await gl.close();
        }
    });

    it("never sends the token over plain HTTP to another host, or with certificate checks off", () => {
        assert.throws(() => checkTransport("http://gitlab.example.com/api/v4", {}), /must be https/);
        assert.throws(
            () => checkTransport("https://gitlab.example.com/api/v4", { NODE_TLS_REJECT_UNAUTHORIZED: "0" }),
            /turns off certificate checks/,
        );
        assert.strictEqual(checkTransport("https://gitlab.example.com/api/v4", {}).host, "gitlab.example.com");
        assert.strictEqual(checkTransport("http://127.0.0.1:8080/api/v4", {}).port, "8080");
    });

    it("refuses a body without its marker, which the next run could not find", async () => {
        await assert.rejects(
            upsertNote({ apiUrl: "https://gitlab.example.com/api/v4", projectId: "1", mergeRequestIid: "1", token: "t" }, marker, "no marker"),
            /must contain its marker/,
        );
    });
});

/**
 * Test double of the `pulumi` CLI: logs its arguments and replays a fixture (`--json` or the
 * `--diff` text) with a given exit code, as the real CLI prints them.
 */
const FAKE_PULUMI = `#!/bin/sh
echo "$*" >> "$FAKE_PULUMI_LOG"
case " $* " in
  *" stack ls "*) if [ -n "$FAKE_PULUMI_STACKS" ]; then printf '%s' "$FAKE_PULUMI_STACKS"; else printf '%s' '[{"name":"dev"},{"name":"organization/hobby-platform/stg"},{"name":"prod"}]'; fi; exit 0 ;;
  *" --json "*) cat "$FAKE_PULUMI_JSON" ;;
  *) cat "$FAKE_PULUMI_DIFF" ;;
esac
exit "$FAKE_PULUMI_CODE"
`;

interface JobRun {
    code: number;
    stdout: string;
    stderr: string;
    pulumiCalls: string[];
    report?: unknown;
}

/** Runs `scripts/previewJob.ts` as CI does (`npm run ci:preview`), in a fresh directory, with the fake CLI first on PATH. */
function previewJob(stack: string, env: Record<string, string>): Promise<JobRun> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hp-preview-job-"));
    fs.writeFileSync(path.join(dir, "pulumi"), FAKE_PULUMI, { mode: 0o755 });
    const log = path.join(dir, "pulumi.log");
    const root = path.resolve(__dirname, "..");
    const childEnv: NodeJS.ProcessEnv = {
        PATH: `${dir}:${process.env.PATH}`,
        FAKE_PULUMI_LOG: log,
        FAKE_PULUMI_DIFF: path.join(FIXTURES, "preview-changes.diff.txt"),
        FAKE_PULUMI_CODE: "0",
        CI_COMMIT_SHORT_SHA: "0a1b2c3d",
        CI_JOB_URL: "https://gitlab.example.com/the-project/hobby-platform/-/jobs/1",
        ...env,
    };
    // CI loads it with ts-node; scripts/register.ts gives the same emit from its cache, without
    // loading the compiler in each child (0.9 s of CPU a run).
    const args = ["-r", path.join(root, "scripts", "register.ts"), path.join(root, "scripts", "previewJob.ts"), stack];
    return new Promise((resolve) => {
        execFile(process.execPath, args, { cwd: dir, env: childEnv }, (error, stdout, stderr) => {
            const report = path.join(dir, "pulumi-preview", `${stack}.json`);
            resolve({
                code: error ? (typeof error.code === "number" ? error.code : 1) : 0,
                stdout,
                stderr,
                pulumiCalls: fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [],
                report: fs.existsSync(report) ? JSON.parse(fs.readFileSync(report, "utf8")) : undefined,
            });
            fs.rmSync(dir, { recursive: true, force: true });
        });
    });
}

/** The variables GitLab gives a merge-request job, pointing at the loopback GitLab. */
const mergeRequestEnv = (ref: MergeRequestRef) => ({
    CI_MERGE_REQUEST_IID: ref.mergeRequestIid,
    CI_PROJECT_ID: ref.projectId,
    CI_API_V4_URL: ref.apiUrl,
    PREVIEW_NOTE_TOKEN: ref.token,
});

describe("the preview job (npm run ci:preview -- <stack>)", function () {
    // Each run starts Node in a child process.
    this.timeout(60_000);

    it("previews with --diff and --json, writes the widget report and keeps one note, updated on the next push", async () => {
        const gl = await fakeGitLab([]);
        try {
            const env = { FAKE_PULUMI_JSON: path.join(FIXTURES, "preview-changes.json"), ...mergeRequestEnv(gl.ref) };
            const [first, second] = [await previewJob("dev", env), await previewJob("dev", env)];
            assert.strictEqual(first.code, 0, first.stderr);
            assert.deepStrictEqual(first.pulumiCalls, [
                "stack ls --json --non-interactive",
                "preview --stack dev --non-interactive --diff --color never --suppress-progress",
                "preview --stack dev --non-interactive --json",
            ]);
            assert.deepStrictEqual(first.report, { create: 2, update: 1, delete: 2 });
            assert.ok(first.stdout.includes("+ kubernetes:apps/v1:Deployment: (create)"), "the diff goes to the job log");
            assert.ok(first.stdout.includes("Merge-request note 1000 created."));
            assert.strictEqual(second.code, 0, second.stderr);
            assert.ok(second.stdout.includes("Merge-request note 1000 updated."));
            assert.strictEqual(gl.notes.length, 1);
            assert.ok(gl.notes[0].body.startsWith(noteMarker("dev")));
            assert.ok(gl.notes[0].body.includes("commit `0a1b2c3d`"));
        } finally {
            await gl.close();
        }
    });

    it("a failed preview: the note says so, no partial counts for the widget, the job fails", async () => {
        const gl = await fakeGitLab([]);
        try {
            const run = await previewJob("prod", {
                FAKE_PULUMI_JSON: path.join(FIXTURES, "preview-failed.json"),
                FAKE_PULUMI_CODE: "255",
                ...mergeRequestEnv(gl.ref),
            });
            assert.strictEqual(run.code, 1);
            assert.strictEqual(run.report, undefined);
            assert.ok(gl.notes[0].body.includes("### Pulumi preview: `prod` (failed)"));
        } finally {
            await gl.close();
        }
    });

    it("passes without the note token, saying so, and still feeds the widget; refuses the local stack", async () => {
        const [noToken, local] = await Promise.all([
            previewJob("stg", { FAKE_PULUMI_JSON: path.join(FIXTURES, "preview-no-changes.json"), CI_MERGE_REQUEST_IID: "7" }),
            previewJob("local", {}),
        ]);
        assert.strictEqual(noToken.code, 0, noToken.stderr);
        assert.match(noToken.stdout, /No merge-request note: PREVIEW_NOTE_TOKEN is not set \(optional/);
        assert.deepStrictEqual(noToken.report, { create: 0, update: 0, delete: 0 }, "the widget still gets the counts");
        assert.strictEqual(local.code, 2);
        assert.deepStrictEqual(local.pulumiCalls, []);
        assert.match(local.stderr, /one of dev, stg, prod/);
    });

    it("passes, previewing nothing, for a stack the backend does not have yet; fails when the backend cannot be listed", async () => {
        const [missing, unlisted] = await Promise.all([
            previewJob("prod", { FAKE_PULUMI_STACKS: '[{"name":"dev"}]', FAKE_PULUMI_JSON: path.join(FIXTURES, "preview-changes.json") }),
            previewJob("dev", { FAKE_PULUMI_STACKS: "not json", FAKE_PULUMI_JSON: path.join(FIXTURES, "preview-changes.json") }),
        ]);
        assert.strictEqual(missing.code, 0, missing.stderr);
        assert.deepStrictEqual(missing.pulumiCalls, ["stack ls --json --non-interactive"]);
        assert.match(missing.stdout, /Stack prod is not in the backend yet: nothing to preview/);
        assert.strictEqual(missing.report, undefined);
        assert.notStrictEqual(unlisted.code, 0);
    });
});
