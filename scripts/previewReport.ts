// What a merge request shows for one stack's `pulumi preview`: the counts for GitLab's
// merge-request widget and the body of the one note the pipeline keeps per stack.
import { z } from "zod";

/**
 * The fields of `pulumi preview --json` (Pulumi's `display.PreviewDigest`) that the report reads.
 * Unknown fields (config, newState/oldState, detailedDiff, duration, ...) are ignored.
 */
const digestSchema = z.object({
    steps: z
        .array(
            z.object({
                op: z.string(),
                urn: z.string(),
                diffReasons: z.array(z.string()).nullish(),
                replaceReasons: z.array(z.string()).nullish(),
            }),
        )
        .nullish()
        .transform((s) => s ?? []),
    diagnostics: z
        .array(
            z.object({
                urn: z.string().nullish(),
                message: z.string().nullish(),
                severity: z.string().nullish(),
            }),
        )
        .nullish()
        .transform((d) => d ?? []),
    /** Count per logical step op (`create`, `update`, `replace`, `delete`, `same`, ...). */
    changeSummary: z
        .record(z.string(), z.number().int().nonnegative())
        .nullish()
        .transform((c) => c ?? {}),
});

export type PreviewDigest = z.infer<typeof digestSchema>;
export type PreviewStep = PreviewDigest["steps"][number];

/** Parses the output of `pulumi preview --json`; throws a message that says what was wrong. */
export function parsePreview(text: string): PreviewDigest {
    let json: unknown;
    try {
        json = JSON.parse(text);
    } catch (e) {
        throw new Error(`pulumi preview --json: output is not JSON (${(e as Error).message}); first bytes: ${JSON.stringify(text.slice(0, 80))}`, {
            cause: e,
        });
    }
    const parsed = digestSchema.safeParse(json);
    if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
        throw new Error(`pulumi preview --json: unexpected shape: ${issues}`);
    }
    return parsed.data;
}

/** The document GitLab's `artifacts:reports:terraform` widget reads. */
export interface WidgetCounts {
    create: number;
    update: number;
    delete: number;
}

/**
 * Widget counts from the preview's change summary. A replacement creates one resource and deletes
 * another, so it counts in both, as a Terraform plan's `["delete","create"]` actions do; reads,
 * imports, refreshes and discards change no infrastructure and are not counted.
 */
export function widgetCounts(digest: PreviewDigest): WidgetCounts {
    const n = (op: string) => digest.changeSummary[op] ?? 0;
    return {
        create: n("create") + n("replace"),
        update: n("update"),
        delete: n("delete") + n("replace"),
    };
}

/** A resource's type and name, read from its URN `urn:pulumi:<stack>::<project>::<parent$type>::<name>`. */
export function describeUrn(urn: string): { type: string; name: string } {
    const parts = urn.split("::");
    if (parts.length < 4 || !parts[0].startsWith("urn:pulumi:")) return { type: "", name: urn };
    const qualifiedType = parts[2];
    return { type: qualifiedType.slice(qualifiedType.lastIndexOf("$") + 1), name: parts.slice(3).join("::") };
}

/** Symbols as `pulumi preview` prints them, for the ops a reviewer needs to see. */
const OP_SYMBOL: Record<string, string> = {
    create: "+",
    update: "~",
    replace: "+-",
    delete: "-",
    import: "=",
    read: ">",
    discard: "<",
};

/**
 * The steps worth listing: everything but unchanged resources and the two halves of a replacement
 * (`create-replacement`, `delete-replaced`), which the `replace` step already stands for.
 */
export function changedSteps(digest: PreviewDigest): PreviewStep[] {
    return digest.steps.filter((s) => s.op !== "same" && s.op !== "create-replacement" && s.op !== "delete-replaced");
}

/** Hidden marker that identifies the pipeline's note for one stack, so later runs update it. */
export function noteMarker(stack: string): string {
    return `<!-- hobby-platform:pulumi-preview stack=${stack} -->`;
}

/** A fenced code block whose fence is longer than any backtick run in `text`. */
export function codeBlock(text: string, lang = ""): string {
    const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
    const fence = "`".repeat(Math.max(3, longest + 1));
    return `${fence}${lang}\n${text.replace(/\n+$/, "")}\n${fence}`;
}

/** GitLab rejects notes over 1,000,000 characters; the diff gets this much, the job log has all. */
export const MAX_DIFF_CHARS = 60_000;

export interface NoteInput {
    stack: string;
    /** Parsed `pulumi preview --json`, or undefined when it produced nothing usable. */
    digest?: PreviewDigest;
    /** Whether both preview commands exited 0. */
    succeeded: boolean;
    /** Text of `pulumi preview --diff` (stdout and stderr). */
    diffText: string;
    /** Short commit SHA the preview ran on. */
    commit?: string;
    /** Link to the job, for the full log. */
    jobUrl?: string;
}

function escapeCell(text: string): string {
    return text.replace(/[|`]/g, (c) => `\\${c}`);
}

/** Markdown body of the merge-request note for one stack. */
export function renderNote(input: NoteInput): string {
    const { stack, digest } = input;
    const lines: string[] = [noteMarker(stack)];
    lines.push(`### Pulumi preview: \`${stack}\` ${input.succeeded ? "" : "(failed)"}`.trimEnd());
    const where = [input.commit && `commit \`${input.commit}\``, input.jobUrl && `[job log](${input.jobUrl})`].filter(Boolean).join(" · ");
    if (where) lines.push("", where);

    if (digest) {
        const c = digest.changeSummary;
        const counts: [string, number][] = [
            ["create", c.create ?? 0],
            ["update", c.update ?? 0],
            ["replace", c.replace ?? 0],
            ["delete", c.delete ?? 0],
            ["unchanged", c.same ?? 0],
        ];
        lines.push(
            "",
            `| ${counts.map(([k]) => k).join(" | ")} |`,
            `|${counts.map(() => " ---: |").join("")}`,
            `| ${counts.map(([, v]) => v).join(" | ")} |`,
        );
        const steps = changedSteps(digest);
        if (steps.length === 0) {
            lines.push("", "No resource changes.");
        } else {
            lines.push(
                "",
                `<details><summary>${steps.length} resource${steps.length === 1 ? "" : "s"} to change</summary>`,
                "",
                "| op | type | name | properties |",
                "| --- | --- | --- | --- |",
            );
            for (const s of steps) {
                const { type, name } = describeUrn(s.urn);
                const why =
                    s.op === "replace" && s.replaceReasons?.length
                        ? `replaced for: ${s.replaceReasons.join(", ")}`
                        : (s.diffReasons ?? []).join(", ");
                lines.push(`| \`${OP_SYMBOL[s.op] ?? ""} ${s.op}\` | \`${escapeCell(type)}\` | ${escapeCell(name)} | ${escapeCell(why)} |`);
            }
            lines.push("", "</details>");
        }
        const errors = digest.diagnostics.filter((d) => d.severity === "error" && d.message);
        if (errors.length > 0) {
            lines.push("", "**Errors**", "", codeBlock(errors.map((d) => d.message!.trim()).join("\n\n")));
        }
    } else {
        lines.push("", "The preview produced no JSON summary; see the diff below and the job log.");
    }

    const diff =
        input.diffText.length > MAX_DIFF_CHARS
            ? `${input.diffText.slice(0, MAX_DIFF_CHARS)}\n... (truncated: ${input.diffText.length - MAX_DIFF_CHARS} more characters in the job log)`
            : input.diffText;
    lines.push("", "<details><summary><code>pulumi preview --diff</code></summary>", "", codeBlock(diff, "diff"), "", "</details>");
    return `${lines.join("\n")}\n`;
}
