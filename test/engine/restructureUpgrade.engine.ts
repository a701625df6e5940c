// An upgrade of the program across the restructure, through the real engine on a real Kubernetes
// API server: the `local` stack is made by the program as it was before it (commit 9fe2954, its
// components at other type tokens and the deployer's objects directly under the Microservice),
// then previewed and upped with today's program. The aliases must let the engine find every
// object in the state: no Kubernetes object is created, deleted or replaced, and the deployer's
// token (which CI holds) stays the same Secret.
import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { deployerName, serviceResourceName } from "../../lib/names";
import { ROOT, stackConfig } from "../../harness/mocks";
import { PulumiWorkspace } from "../../harness/pulumiWorkspace";
import { installCertManagerCrds, LocalCluster, startLocalCluster } from "../helpers/localCluster";

/** The last commit before the restructure: its record is test/fixtures/before-restructure. */
const BEFORE_RESTRUCTURE = "9fe2954";
const REGISTRY_PASSWORD = "engine-test-registry-password";
// The example service of the `local` stack file (the same before and after the restructure).
const PROJECTS = JSON.parse(stackConfig("local")["hobby-platform:projects"]);
const NS = Object.keys(PROJECTS)[0];
const SVC = Object.keys(PROJECTS[NS].services)[0];

interface PreviewStep {
    op: string;
    urn: string;
    type?: string;
    newState?: { type: string };
    oldState?: { type: string };
}

describe("an upgrade across the restructure on a real Kubernetes API (old program up, today's preview and up)", function () {
    this.timeout(60 * 60 * 1000);
    let cluster: LocalCluster;
    let ws: PulumiWorkspace;
    let oldTree: string;
    const configure = () => {
        ws.setSecret("registryPassword", REGISTRY_PASSWORD);
        // No kubelet runs pods here: do not await rollouts.
        ws.ok("config", "set", "--path", "cluster.skipAwait", "true");
    };
    const token = () => cluster.kubectl(["get", "secret", `${deployerName(SVC)}-token`, "-n", NS, "-o", "jsonpath={.metadata.uid}"]);

    before(() => {
        oldTree = fs.mkdtempSync(path.join(os.tmpdir(), "hp-before-restructure-"));
        // The tree from the repository's history (a clone of main has it; a shallow one does not).
        const has = spawnSync("git", ["-C", ROOT, "cat-file", "-e", `${BEFORE_RESTRUCTURE}^{commit}`]);
        if (has.status !== 0) throw new Error(`commit ${BEFORE_RESTRUCTURE} is not in this clone's history (shallow? run git fetch --unshallow)`);
        execFileSync("sh", ["-c", 'git -C "$1" archive "$2" | tar -x -C "$3"', "sh", ROOT, BEFORE_RESTRUCTURE, oldTree], { stdio: "inherit" });
        cluster = startLocalCluster();
        installCertManagerCrds(cluster);
        ws = new PulumiWorkspace("local", cluster.env, oldTree);
        configure();
        ws.ok("up", "--yes", "--skip-preview");
    });
    after(() => {
        ws?.run("destroy", "--yes", "--skip-preview");
        ws?.remove();
        cluster?.stop();
        if (oldTree) fs.rmSync(oldTree, { recursive: true, force: true });
    });

    it("previews today's program with no Kubernetes object deleted or replaced; only the new CiDeployer component and objects added since are created", () => {
        const uidBefore = token();
        ws.useProgram(ROOT);
        configure();
        const preview = ws.ok("preview", "--json");
        const steps: PreviewStep[] = JSON.parse(preview.stdout).steps;
        const typeOf = (s: PreviewStep) => s.newState?.type ?? s.oldState?.type ?? s.type ?? "";
        // `refresh` steps read the state first (Pulumi.yaml: `refresh: always`), by the old URNs.
        const changed = steps.filter((s) => !["same", "update", "refresh"].includes(s.op));
        const service = serviceResourceName(NS, SVC);
        assert.deepStrictEqual(
            changed.map((s) => `${s.op} ${typeOf(s)} ${s.urn.split("::").pop()}`).sort(),
            [
                `create hobby-platform:workload:CiDeployer ${deployerName(service)}`,
                // What came after the restructure (issue 34): each project's isolation and quota, each
                // service's disruption budget and ingress policy. New objects; nothing replaced.
                `create kubernetes:core/v1:LimitRange ${NS}-limits`,
                `create kubernetes:core/v1:ResourceQuota ${NS}-quota`,
                `create kubernetes:networking.k8s.io/v1:NetworkPolicy ${NS}-allow-acme-http01-solver`,
                `create kubernetes:networking.k8s.io/v1:NetworkPolicy ${NS}-allow-same-namespace`,
                `create kubernetes:networking.k8s.io/v1:NetworkPolicy ${NS}-default-deny-ingress`,
                `create kubernetes:networking.k8s.io/v1:NetworkPolicy ${service}-ingress-policy`,
                `create kubernetes:policy/v1:PodDisruptionBudget ${service}-pdb`,
            ].sort(),
            "only the component that now groups the deployer's objects, and objects added since, are created",
        );
        ws.ok("up", "--yes", "--skip-preview");
        assert.strictEqual(token(), uidBefore, "the deployer's token Secret is the same object (CI's token still works)");
        const rerun = JSON.parse(ws.ok("preview", "--json").stdout).steps as PreviewStep[];
        assert.deepStrictEqual(
            rerun.filter((s) => s.op !== "same" && s.op !== "refresh").map((s) => `${s.op} ${s.urn}`),
            [],
            "after the up, a rerun shows no changes",
        );
    });
});
