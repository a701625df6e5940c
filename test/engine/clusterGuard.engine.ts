// The change guard through the real engine: its provider's `check` runs at `pulumi preview`, so a
// change that would lose a running cluster is refused before anything is changed. The guard has
// no Vultr dependency, so a program of it alone shows this on this machine.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { PulumiWorkspace } from "../../harness/pulumiWorkspace";

const PROGRAM = `// The change guard alone (test/engine/clusterGuard.engine.ts).
import * as pulumi from "@pulumi/pulumi";
import { ClusterGuard } from "./components/cluster/guard";
const c = new pulumi.Config();
new ClusterGuard("cluster-guard", { region: c.require("region"), vpcCidr: c.require("vpcCidr"), k3sVersion: c.require("k3sVersion") });
`;

describe("the cluster's change guard in the real engine (pulumi up, then previews of changes)", function () {
    this.timeout(20 * 60 * 1000);
    let ws: PulumiWorkspace;
    const set = (key: string, value: string) => ws.ok("config", "set", key, value);

    before(() => {
        ws = new PulumiWorkspace("guard", process.env);
        fs.writeFileSync(path.join(ws.dir, "index.ts"), PROGRAM);
        set("domain", "example.com"); // required by Pulumi.yaml's config schema
        set("region", "ams");
        set("vpcCidr", "10.99.0.0/24");
        set("k3sVersion", "v1.33.5+k3s1");
        ws.ok("up", "--yes", "--skip-preview");
    });
    after(() => {
        ws?.run("destroy", "--yes", "--skip-preview");
        ws?.remove();
    });

    for (const [what, key, value, message] of [
        ["a k3s downgrade", "k3sVersion", "v1.32.9+k3s1", /cluster\.k3sVersion: v1\.33\.5\+k3s1 -> v1\.32\.9\+k3s1 is a downgrade/],
        ["a skip of a minor version", "k3sVersion", "v1.35.0+k3s1", /skips a minor version/],
        ["a region change", "region", "fra", /cluster\.region: "ams" -> "fra" would build a new VPC/],
        ["a VPC network change", "vpcCidr", "10.98.0.0/24", /would replace the VPC under running etcd members/],
    ] as const) {
        it(`refuses ${what} at preview, and the up too, changing nothing`, () => {
            const before = ws.ok("stack", "export").stdout;
            set(key, value);
            try {
                const preview = ws.run("preview");
                assert.notStrictEqual(preview.status, 0, preview.stdout);
                assert.match(preview.stdout + preview.stderr, message);
                const up = ws.run("up", "--yes", "--skip-preview");
                assert.notStrictEqual(up.status, 0, up.stdout);
                assert.strictEqual(
                    JSON.parse(ws.ok("stack", "export").stdout).deployment.resources.length,
                    JSON.parse(before).deployment.resources.length,
                );
            } finally {
                ws.ok(
                    "config",
                    "set",
                    key,
                    JSON.parse(before).deployment.resources.find((r: { type: string }) => r.type.endsWith("ClusterGuard")).inputs[key],
                );
            }
        });
    }

    it("accepts one minor version up, and records it", () => {
        set("k3sVersion", "v1.34.2+k3s1");
        ws.ok("up", "--yes", "--skip-preview");
        const guard = JSON.parse(ws.ok("stack", "export").stdout).deployment.resources.find((r: { type: string }) => r.type.endsWith("ClusterGuard"));
        assert.strictEqual(guard.inputs.k3sVersion, "v1.34.2+k3s1");
    });
});
