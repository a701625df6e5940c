// How a k3s upgrade takes the program's nodes: the steps system-upgrade-controller v0.20.1 runs for
// the program's Plans (test/helpers/upgradeJob.ts, which threeNodes.engine.ts runs on real nodes).
import * as assert from "assert";
import { agentUpgradePlan, serverUpgradePlan } from "../components/cluster/upgrades";
import { DEFAULT_K3S_VERSION } from "../config";
import { uncordonsAfter, upgradeJobKubectl, upgradeOrder } from "./helpers/upgradeJob";

describe("k3s upgrade of a node, as system-upgrade-controller runs the program's Plans", () => {
    for (const [role, plan] of [
        ["server", serverUpgradePlan(DEFAULT_K3S_VERSION, {})],
        ["agent", agentUpgradePlan(DEFAULT_K3S_VERSION, {})],
    ] as const) {
        it(`drains each ${role} by eviction (PodDisruptionBudgets honoured), never forcing out bare pods, waiting as long as evictions are refused, then uncordons it`, () => {
            assert.deepStrictEqual(upgradeJobKubectl(plan, "node-1"), [
                "drain",
                "node-1",
                "--pod-selector",
                "!upgrade.cattle.io/controller",
                "--ignore-daemonsets",
                "--delete-emptydir-data",
                "--skip-wait-for-delete-timeout",
                "60",
            ]);
            assert.strictEqual(uncordonsAfter(plan), true);
        });
    }

    it("takes nodes in the controller's order: by the hash of node, Plan and version, not by name", () => {
        const plan = { ...serverUpgradePlan("v1.33.5+k3s1", {}), metadata: { uid: "2f1e6a4c-0000-4000-8000-000000000001" } };
        const nodes = ["a", "b", "c", "d"].map((n) => ({ name: n, uid: `uid-${n}` }));
        const order = upgradeOrder(plan, nodes).map((n) => n.name);
        assert.deepStrictEqual([...order].sort(), ["a", "b", "c", "d"]);
        // Another version is another latest hash, so (here) another order: the same every time for one version.
        const next = upgradeOrder({ ...plan, spec: { ...plan.spec, version: "v1.34.2+k3s1" } }, nodes).map((n) => n.name);
        assert.deepStrictEqual(
            upgradeOrder(plan, nodes).map((n) => n.name),
            order,
        );
        assert.notDeepStrictEqual(next, order);
        assert.throws(() => upgradeOrder(serverUpgradePlan("v1.33.5+k3s1", {}), nodes), /UID/);
    });
});
