// The runbooks a user follows on a bad day: one procedure for losing a server and one for a full
// restore, written once in docs/restore.md, linked (not repeated) from README, operations.md and
// the CHANGELOG, with the steps in the order k3s and the engine need them.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { API_DNS_TTL_SECONDS } from "../lib/clusterFacts";

const ROOT = path.resolve(__dirname, "..");
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");
const DOCS = ["README.md", "CHANGELOG.md", ...fs.readdirSync(path.join(ROOT, "docs")).map((f) => `docs/${f}`)].filter((f) => f.endsWith(".md"));
const RESTORE = read("docs/restore.md");

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to '-'. */
const slug = (heading: string) =>
    heading
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s-]/gu, "")
        .replace(/\s/g, "-");

/** The anchors of a Markdown file's headings (outside code blocks). */
function anchors(text: string): Set<string> {
    const found = new Set<string>();
    let code = false;
    for (const line of text.split("\n")) {
        if (line.startsWith("```")) code = !code;
        const m = !code && /^#{1,6} (.*)$/.exec(line);
        if (m) found.add(slug(m[1]));
    }
    return found;
}

/** The text of a `##`/`###` section, up to the next heading of the same or a higher level. */
function section(text: string, heading: string): string {
    const lines = text.split("\n");
    const start = lines.findIndex((l) => /^#{2,3} /.test(l) && l.replace(/^#+ /, "") === heading);
    assert.ok(start >= 0, `no section "${heading}"`);
    const level = lines[start].indexOf(" ");
    const end = lines.findIndex((l, i) => i > start && /^#+ /.test(l) && l.indexOf(" ") <= level);
    return lines.slice(start + 1, end < 0 ? undefined : end).join("\n");
}

/** The numbered steps of a section, in order (a step runs to the next number at the same indent). */
function steps(text: string): string[] {
    return text.split(/\n(?=\d+\. )/).filter((s) => /^\d+\. /.test(s));
}

/** Index of the first step that matches, failing the test when none does. */
function stepOf(list: string[], pattern: RegExp): number {
    const i = list.findIndex((s) => pattern.test(s));
    assert.ok(i >= 0, `no step matches ${pattern}`);
    return i;
}

describe("the runbooks (docs/restore.md)", () => {
    it("are linked from README, operations.md and the CHANGELOG, and every link to restore.md names one of its headings", () => {
        const targets = anchors(RESTORE);
        for (const file of ["README.md", "docs/operations.md", "CHANGELOG.md"]) {
            const text = read(file);
            for (const anchor of ["losing-a-server", "full-restore"]) {
                assert.ok(text.includes(`restore.md#${anchor}`), `${file} does not link restore.md#${anchor}`);
            }
        }
        for (const file of DOCS) {
            for (const [, anchor] of read(file).matchAll(/restore\.md#([\w-]+)/g)) {
                assert.ok(targets.has(anchor), `${file} links restore.md#${anchor}, which is no heading of restore.md`);
            }
        }
        for (const [, anchor] of RESTORE.matchAll(/\]\(operations\.md#([\w-]+)\)/g)) {
            assert.ok(anchors(read("docs/operations.md")).has(anchor), `restore.md links operations.md#${anchor}, which is no heading there`);
        }
    });

    it("are written once: operations.md's 'Losing a server' points to them and lists no steps of its own", () => {
        const own = section(read("docs/operations.md"), "Losing a server");
        assert.deepStrictEqual(steps(own), []);
        assert.match(own, /restore\.md#losing-a-server/);
        assert.match(own, /restore\.md#full-restore/);
    });

    it("never advise `pulumi up --replace` of a server, and restore.md says why not", () => {
        for (const file of DOCS) {
            const advice = /--(target-)?replace[ =]['"]?<?(urn of )?[^\s'">]*cluster-(\d+|N)(?![\w-])/.exec(read(file));
            assert.strictEqual(advice, null, `${file} replaces a server: ${advice?.[0]}`);
        }
        assert.match(RESTORE, /\*\*Never `pulumi up --replace` a server\*\*/);
        assert.match(RESTORE, /old values of every ignored input/);
    });

    it("nowhere call a server scale-down that keeps a majority acceptable as it is", () => {
        for (const file of DOCS) {
            assert.doesNotMatch(read(file), /accepted as it is|needs no question to the cluster/i, file);
        }
    });

    it("losing a server: the VM goes before `kubectl delete node`, and the node password Secret is checked before the `up`", () => {
        const list = steps(section(RESTORE, "Losing a server"));
        const vm = stepOf(list, /vultr-cli instance delete/);
        const node = stepOf(list, /^\d+\. \*\*`kubectl delete node <name>`/);
        const secret = stepOf(list, /get secret <name>\.node-password\.k3s/);
        const up = stepOf(list, /^\d+\. \*\*`pulumi up --stack <stack>`/);
        assert.ok(vm < node && node < secret && secret < up, `steps out of order: ${[vm, node, secret, up]}`);
    });

    it("full restore: records deleted before the rebuild, Kubernetes state kept, restore on server 1, other nodes' passwords deleted before they join", () => {
        const list = steps(section(RESTORE, "B. No server is left: restore a snapshot"));
        const records = stepOf(list, /vultr-cli dns record delete/);
        const rebuild = stepOf(list, /^\d+\. \*\*`PULUMI_K8S_SKIP_UPDATE_UNREACHABLE=true pulumi up/);
        const others = stepOf(list, /delete the servers other than server 1/i);
        const restore = stepOf(list, /k3s server --cluster-reset --cluster-reset-restore-path=/);
        const passwords = stepOf(list, /delete secret "\$n\.node-password\.k3s"/);
        const rejoin = stepOf(list, /^\d+\. \*\*`pulumi up --stack <stack>`\*\*/);
        assert.deepStrictEqual(
            [records, rebuild, others, restore, passwords, rejoin],
            [records, rebuild, others, restore, passwords, rejoin].slice().sort((a, b) => a - b),
            "steps out of order",
        );
        assert.strictEqual(new Set([records, rebuild, others, restore, passwords, rejoin]).size, 6);
        // Resolvers may hand out the deleted records until their TTL runs out, and server 1 would refuse.
        assert.match(list[records], new RegExp(`wait the records' TTL, ${API_DNS_TTL_SECONDS / 60} minutes`));
        // The variable that would drop every object the snapshot brings back is named only to forbid it.
        const runbook = section(RESTORE, "Full restore");
        assert.ok(runbook.includes("PULUMI_K8S_DELETE_UNREACHABLE"), "the restore does not warn against PULUMI_K8S_DELETE_UNREACHABLE");
        for (const paragraph of runbook.split(/\n(?=\d+\. )|\n\s*\n/).filter((p) => p.includes("PULUMI_K8S_DELETE_UNREACHABLE"))) {
            assert.match(paragraph, /Never `PULUMI_K8S_DELETE_UNREACHABLE=true`/);
        }
    });

    it("quote the console line server 1's install script prints when it refuses to initialise, which points to the full restore", () => {
        const template = read("components/cluster/templates/k3s-node.cloud-init.yaml");
        const printed = /echo "(hobby-k3s-install: refusing to initialise[^"]*)"/.exec(template)?.[1];
        assert.ok(printed, "the install script prints no refusal line");
        assert.match(printed, /full restore in docs\/restore\.md/);
        for (const file of ["docs/restore.md", "docs/operations.md"]) {
            const quoted = /`(hobby-k3s-install: refusing to initialise[^`]*)`/.exec(read(file))?.[1];
            assert.ok(quoted && printed.startsWith(quoted), `${file} quotes ${quoted}, which the script does not print`);
        }
    });

    it("full restore: the S3 settings given to k3s are the keys and region of the cluster's own S3 Secret", () => {
        const backups = read("components/cluster/backups.ts");
        const stringData = /stringData: \{([^}]*)\}/.exec(backups)?.[1] ?? "";
        const secretKeys = [...stringData.matchAll(/"(etcd-s3-[a-z-]+)": /g)].map((m) => m[1]).sort();
        const restoreKeys = [...RESTORE.matchAll(/^ *# {3}(etcd-s3-[a-z-]+): /gm)].map((m) => m[1]).sort();
        assert.ok(secretKeys.length > 0, "no etcd-s3 keys found in backups.ts");
        assert.deepStrictEqual(restoreKeys, secretKeys);
        const region = /const S3_REGION = "([^"]+)"/.exec(backups)?.[1];
        assert.match(RESTORE, new RegExp(`etcd-s3-region: ${region}\\b`));
    });
});
