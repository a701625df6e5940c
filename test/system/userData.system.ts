// The rendered user data checked by the tools of the systems that run it: cloud-init's own
// schema, shellcheck, and nft. They come from Debian (`npm run test:system` installs them where
// it can); `.ci/run` runs this suite after `npm test`.
import * as assert from "assert";
import { execFile, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { CREATE_BUCKET_SCRIPT } from "../../components/cluster/backups";
import { POD_CIDR, SERVICE_CIDR } from "../../lib/clusterFacts";
import { cloudConfig, file, INSTANCE, installScript, runCluster } from "../helpers/cluster";
import { ofType, Recorded } from "../../harness/mocks";

/** A tool from the Debian packages `npm run test:system` installs; a clear failure when it is missing. */
function requireTool(tool: string, pkg: string): void {
    const found = spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
    assert.ok(found, `${tool} is not installed: run \`apt-get install -y ${pkg}\` (as scripts/system-tools.sh does)`);
}

describe("HobbyCluster user data, checked by cloud-init, shellcheck and nft", function () {
    this.timeout(120_000);
    let instances: Recorded[];

    before(async () => {
        // Servers 1..3, then one agent of a pool: the three kinds of user data.
        instances = ofType(
            (await runCluster({ workers: [{ name: "workers", plan: "vc2-1c-2gb", count: 1, labels: {}, taints: [] }] })).resources,
            INSTANCE,
        );
    });

    it("renders user data that cloud-init's own schema accepts", async () => {
        requireTool("cloud-init", "cloud-init");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hobby-cloud-init-"));
        try {
            // The first server (with the CAs) and a joining one differ: validate both, in parallel,
            // with a broken copy that must fail (an octal mode as a number), proving the check bites.
            const broken = cloudConfig(instances[1]);
            (broken.write_files[0] as Record<string, unknown>).permissions = 644;
            const agent = instances[instances.length - 1];
            const docs = [
                instances[0].inputs.userData,
                instances[1].inputs.userData,
                agent.inputs.userData,
                `#cloud-config\n${YAML.stringify(broken)}`,
            ];
            const [first, joiner, agentDoc, bad] = await Promise.all(
                docs.map((doc, i) => {
                    const f = path.join(dir, `user-data-${i}.yaml`);
                    fs.writeFileSync(f, doc, { mode: 0o600 });
                    return new Promise<{ code: number; out: string }>((resolve) =>
                        execFile("cloud-init", ["schema", "--config-file", f], (err, stdout, stderr) =>
                            resolve({ code: err ? 1 : 0, out: `${stdout}${stderr}` }),
                        ),
                    );
                }),
            );
            for (const r of [first, joiner, agentDoc]) {
                assert.strictEqual(r.code, 0, r.out);
                assert.match(r.out, /Valid cloud-config/);
            }
            assert.strictEqual(bad.code, 1);
            assert.match(bad.out, /write_files\.0\.permissions: 644 is not of type 'string'/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("renders an install script that shellcheck finds clean", () => {
        requireTool("shellcheck", "shellcheck");
        for (const vm of [instances[0], instances[1], instances[instances.length - 1]]) {
            const script = installScript(vm);
            assert.ok(script.startsWith("#!/bin/sh\n"));
            const check = spawnSync("shellcheck", ["--shell=sh", "--severity=style", "-"], { input: script, encoding: "utf8" });
            assert.strictEqual(check.status, 0, check.stdout + check.stderr);
        }
    });

    it("creates the etcd snapshot bucket with a script that shellcheck finds clean", () => {
        requireTool("shellcheck", "shellcheck");
        const check = spawnSync("shellcheck", ["--shell=sh", "--severity=style", "-"], { input: CREATE_BUCKET_SCRIPT, encoding: "utf8" });
        assert.strictEqual(check.status, 0, check.stdout + check.stderr);
    });

    it("renders a metadata-service block that nft accepts", () => {
        requireTool("nft", "nftables");
        for (const vm of instances) {
            const cc = cloudConfig(vm);
            const rules = file(cc, "/etc/hobby-platform/metadata-block.nft")!.content;
            assert.ok(rules.includes(`ip saddr { ${POD_CIDR}, ${SERVICE_CIDR} } ip daddr 169.254.169.254 drop`), rules);
            // nft parses and checks the ruleset without applying it (-c).
            const check = spawnSync("nft", ["--check", "--file", "-"], { input: rules, encoding: "utf8" });
            assert.strictEqual(check.status, 0, check.stderr);
        }
    });
});
