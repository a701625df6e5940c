// The merge-request preview job for one stack (`npm run ci:preview -- <stack>`):
// 1. `pulumi preview --diff` for the job log and the note,
// 2. `pulumi preview --json` for the counts, written as GitLab's terraform report (MR widget),
// 3. the stack's one MR note created or updated in place.
// Exits non-zero when a preview failed, after the note says so.
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { upsertNote } from "./gitlabNotes";
import { noteMarker, parsePreview, PreviewDigest, renderNote, widgetCounts } from "./previewReport";

/** The stacks a pipeline previews and deploys (`local` is a developer's own). */
export const PIPELINE_STACKS = ["dev", "stg", "prod"] as const;

/** Directory of the widget reports; `.gitlab-ci.yml` names the same files in `artifacts:reports:terraform`. */
export const REPORT_DIR = "pulumi-preview";

export function reportPath(stack: string): string {
    return path.join(REPORT_DIR, `${stack}.json`);
}

interface Run {
    code: number;
    stdout: string;
    /** stdout and stderr interleaved as they arrived. */
    combined: string;
}

/** Runs a command, capturing its output; `echo` also streams it to the job log. */
function run(cmd: string, args: string[], echo: boolean): Promise<Run> {
    return new Promise((resolve, reject) => {
        const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let combined = "";
        child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
            stdout += chunk;
            combined += chunk;
            if (echo) process.stdout.write(chunk);
        });
        child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
            combined += chunk;
            process.stderr.write(chunk);
        });
        child.on("error", reject);
        child.on("close", (code) => resolve({ code: code ?? 1, stdout, combined }));
    });
}

async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
    const stack = argv[0];
    if (!(PIPELINE_STACKS as readonly string[]).includes(stack ?? "")) {
        console.error(`usage: npm run ci:preview -- <stack>, with stack one of ${PIPELINE_STACKS.join(", ")} (got ${JSON.stringify(stack)})`);
        return 2;
    }
    // A new team creates its stacks one at a time: a stack not in the backend yet has nothing to
    // preview, and its job passes saying so instead of failing every merge request until then.
    const listed = await run("pulumi", ["stack", "ls", "--json", "--non-interactive"], false);
    if (listed.code !== 0) {
        console.error(`Could not list the backend's stacks (is PULUMI_BACKEND_URL set, with its credentials?):\n${listed.combined}`);
        return 1;
    }
    let names: (string | undefined)[];
    try {
        names = (JSON.parse(listed.stdout) as { name: string }[]).map((s) => s.name.split("/").pop());
    } catch {
        console.error(`\`pulumi stack ls --json\` printed no list of stacks:\n${listed.combined.slice(0, 2000)}`);
        return 1;
    }
    if (!names.includes(stack)) {
        console.log(
            `Stack ${stack} is not in the backend yet: nothing to preview. It is previewed once it exists (\`npm run new-stack -- ${stack}\`, docs/quickstart.md).`,
        );
        return 0;
    }
    const common = ["preview", "--stack", stack, "--non-interactive"];

    const diff = await run("pulumi", [...common, "--diff", "--color", "never", "--suppress-progress"], true);
    const json = await run("pulumi", [...common, "--json"], false);
    let digest: PreviewDigest | undefined;
    try {
        digest = parsePreview(json.stdout);
    } catch (e) {
        console.error((e as Error).message);
    }

    const succeeded = diff.code === 0 && json.code === 0 && digest !== undefined;
    // Counts of a failed preview would be partial: the widget then shows no report for the stack.
    if (succeeded && digest) {
        const counts = widgetCounts(digest);
        fs.mkdirSync(REPORT_DIR, { recursive: true });
        fs.writeFileSync(reportPath(stack), `${JSON.stringify(counts)}\n`);
        console.log(`${stack}: ${counts.create} to create, ${counts.update} to update, ${counts.delete} to delete (${reportPath(stack)})`);
    }

    let noteFailed = false;
    if (!env.CI_MERGE_REQUEST_IID) {
        console.log("Not a merge-request pipeline: no note to post.");
    } else if (!env.PREVIEW_NOTE_TOKEN) {
        // Optional: a project access token needs GitLab Premium on GitLab.com (docs/quickstart.md).
        console.log(
            "No merge-request note: PREVIEW_NOTE_TOKEN is not set (optional: a project access token, role Reporter, scope api; docs/pipeline.md). The preview is in this job's log and its counts in the merge request's widget.",
        );
    } else {
        const body = renderNote({ stack, digest, succeeded, diffText: diff.combined, commit: env.CI_COMMIT_SHORT_SHA, jobUrl: env.CI_JOB_URL });
        try {
            const note = await upsertNote(
                {
                    apiUrl: env.CI_API_V4_URL ?? "",
                    projectId: env.CI_PROJECT_ID ?? "",
                    mergeRequestIid: env.CI_MERGE_REQUEST_IID,
                    token: env.PREVIEW_NOTE_TOKEN,
                },
                noteMarker(stack),
                body,
            );
            console.log(`Merge-request note ${note.id} ${note.action}.`);
        } catch (e) {
            console.error(`Could not post the preview note: ${(e as Error).message}`);
            noteFailed = true;
        }
    }
    return succeeded && !noteFailed ? 0 : 1;
}

if (require.main === module) {
    main(process.argv.slice(2), process.env).then(
        (code) => {
            process.exitCode = code;
        },
        (e: Error) => {
            console.error(e.message);
            process.exitCode = 1;
        },
    );
}
