// Keeps one merge-request note per marker: finds the note the token's user wrote earlier and
// updates it, or creates it. GitLab REST API v4 through Node's fetch (TLS verified).
import { isIP } from "net";

export interface MergeRequestRef {
    /** `CI_API_V4_URL`, e.g. `https://gitlab.example.com/api/v4`. */
    apiUrl: string;
    /** `CI_PROJECT_ID` (numeric id or URL-encoded path). */
    projectId: string;
    /** `CI_MERGE_REQUEST_IID`. */
    mergeRequestIid: string;
    /** Project access token (scope `api`, role Reporter): a job token cannot write notes. */
    token: string;
}

interface Note {
    id: number;
    body: string;
    system: boolean;
    author: { id: number };
}

function isLoopback(hostname: string): boolean {
    const host = hostname.replace(/^\[|\]$/g, "");
    if (host === "localhost") return true;
    if (isIP(host) === 4) return host.startsWith("127.");
    return host === "::1";
}

/**
 * Refuses to send the token where TLS is not verified: plain HTTP (except to this machine, which
 * the tests use) or a process that turned certificate checks off. `what` names the URL's setting.
 */
export function checkTransport(apiUrl: string, env: NodeJS.ProcessEnv = process.env, what = "CI_API_V4_URL"): URL {
    const url = new URL(apiUrl);
    if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopback(url.hostname))) {
        throw new Error(`${what} must be https:// (got ${url.protocol}//${url.host}); the token is never sent unencrypted`);
    }
    if (env.NODE_TLS_REJECT_UNAUTHORIZED === "0") {
        throw new Error("NODE_TLS_REJECT_UNAUTHORIZED=0 turns off certificate checks; unset it (add the GitLab CA with NODE_EXTRA_CA_CERTS instead)");
    }
    return url;
}

async function call(ref: MergeRequestRef, method: string, path: string, body?: unknown): Promise<Response> {
    const res = await fetch(`${ref.apiUrl.replace(/\/+$/, "")}${path}`, {
        method,
        headers: { "PRIVATE-TOKEN": ref.token, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) {
        // GitLab's error bodies are short JSON messages; the token is only ever in a header.
        const detail = (await res.text()).slice(0, 300);
        throw new Error(`GitLab API ${method} ${path.split("?")[0]}: HTTP ${res.status} ${detail}`);
    }
    return res;
}

/** Creates the note, or updates the one the same user left earlier with `marker` in it. */
export async function upsertNote(ref: MergeRequestRef, marker: string, body: string): Promise<{ action: "created" | "updated"; id: number }> {
    checkTransport(ref.apiUrl);
    if (!body.includes(marker)) throw new Error("the note body must contain its marker, or the next run cannot find it");
    const me = (await (await call(ref, "GET", "/user")).json()) as { id: number };
    const notesPath = `/projects/${encodeURIComponent(ref.projectId)}/merge_requests/${encodeURIComponent(ref.mergeRequestIid)}/notes`;

    let existing: Note | undefined;
    for (let page = "1"; page && !existing;) {
        const res = await call(ref, "GET", `${notesPath}?sort=asc&order_by=created_at&per_page=100&page=${page}`);
        const notes = (await res.json()) as Note[];
        // Only our own notes: another user's note that quotes the marker is theirs to keep.
        existing = notes.find((n) => !n.system && n.author.id === me.id && n.body.includes(marker));
        page = res.headers.get("x-next-page") ?? "";
    }
    if (existing) {
        await call(ref, "PUT", `${notesPath}/${existing.id}`, { body });
        return { action: "updated", id: existing.id };
    }
    const created = (await (await call(ref, "POST", notesPath, { body })).json()) as Note;
    return { action: "created", id: created.id };
}
