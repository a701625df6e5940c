// Day 2: what the cluster declares when its settings change after the first `up`, and which
// changes are refused before anything moves. The Vultr fields named here are the ForceNew ones
// of terraform-provider-vultr v2.21.0 (vultr/resource_vultr_instance.go, resource_vultr_vpc.go).
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { guardProvider, unsafeChanges } from "../components/cluster/guard";
import { KEPT_BY_RUNNING_NODES } from "../components/cluster/nodes";
import { INSTANCE, READINESS, runCluster } from "./helpers/cluster";
import { ofType, Recorded } from "../harness/mocks";

const GUARD = "pulumi-nodejs:dynamic/hobby-platform:ClusterGuard";
const VPC = "vultr:index/vpc:Vpc";
const names = (deps: unknown) => ((deps ?? []) as pulumi.Resource[]).map((d) => (d as unknown as { __name: string }).__name).sort();
const byName = (rs: Recorded[], name: string) => rs.find((r) => r.name === name)!;

describe("HobbyCluster on day 2", function () {
    this.timeout(60_000);

    it("keeps every running server when SSH keys, the hostname prefix or the OS image change: they apply to servers created later", async () => {
        const before = ofType((await runCluster()).resources, INSTANCE);
        const after = ofType(
            (
                await runCluster({
                    sshPublicKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIRotatedKey ops@example.com"],
                    hostnamePrefix: "k3s-ams",
                    osId: 2625,
                })
            ).resources,
            INSTANCE,
        );
        assert.deepStrictEqual(
            after.map((r) => r.name),
            before.map((r) => r.name),
            "same servers, no new URNs",
        );
        for (const field of ["sshKeyIds", "hostname", "osId", "userData"]) {
            assert.ok(KEPT_BY_RUNNING_NODES.includes(field), field);
        }
        for (const vm of after) assert.deepStrictEqual(vm.opts.ignoreChanges, KEPT_BY_RUNNING_NODES, vm.name);
        // What a new server would get: the new values.
        assert.deepStrictEqual([after[0].inputs.hostname, after[0].inputs.osId], ["k3s-ams-1", 2625]);
    });

    it("waits for each server by the hostname it really has, so a new prefix does not make the gate wait for nodes that never come", async () => {
        const { resources } = await runCluster({ hostnamePrefix: "k3s-ams" });
        // Under mocks an instance's hostname output is its input; in a real up it is the state's.
        const gate = byName(resources, "cluster-readiness");
        assert.deepStrictEqual(gate.inputs.nodeNames, ["k3s-ams-1", "k3s-ams-2", "k3s-ams-3"]);
    });

    it("creates and changes servers one at a time: server k waits for a gate that saw servers 1..k-1 Ready, and for k-1's address under the API's name", async () => {
        const { resources } = await runCluster({ nodeCount: 5 });
        const vms = ofType(resources, INSTANCE);
        assert.deepStrictEqual(names(vms[0].opts.dependsOn), ["cluster-guard"]);
        for (let k = 2; k <= 5; k++) {
            assert.deepStrictEqual(names(byName(resources, `cluster-${k}`).opts.dependsOn), [`cluster-${k - 1}-api`, `cluster-${k - 1}-ready`]);
            const gate = byName(resources, `cluster-${k - 1}-ready`);
            assert.deepStrictEqual(
                gate.inputs.nodeNames,
                Array.from({ length: k - 1 }, (_, i) => `hobby-dev-${i + 1}`),
            );
            assert.ok(names(gate.opts.dependsOn).includes(`cluster-${k - 1}`));
        }
        assert.strictEqual(ofType(resources, READINESS).length, 6, "a gate after each server, and the final one");
    });

    it("makes a gate wait again when its server is resized (plan) or replaced (instance id)", async () => {
        const small = byName((await runCluster()).resources, "cluster-1-ready");
        const large = byName((await runCluster({ plan: "vc2-2c-4gb" })).resources, "cluster-1-ready");
        assert.deepStrictEqual(small.inputs.servers, ["cluster-1-id vc2-1c-2gb 10.99.0.11"]);
        assert.deepStrictEqual(large.inputs.servers, ["cluster-1-id vc2-2c-4gb 10.99.0.11"]);
    });

    it("guards the VPC and every server behind the change guard, and protects the VPC in prod", async () => {
        const prod = await runCluster({ protect: true, environment: "prod" });
        const vpc = ofType(prod.resources, VPC)[0];
        assert.strictEqual(vpc.opts.protect, true);
        assert.deepStrictEqual(names(vpc.opts.dependsOn), ["cluster-guard"]);
        const { region, vpcCidr, k3sVersion } = ofType(prod.resources, GUARD)[0].inputs;
        assert.deepStrictEqual({ region, vpcCidr, k3sVersion }, { region: "ams", vpcCidr: "10.99.0.0/24", k3sVersion: "v1.33.5+k3s1" });
        const dev = await runCluster();
        assert.notStrictEqual(ofType(dev.resources, VPC)[0].opts.protect, true);
    });

    it("scales 3 -> 5 -> 3 by adding and removing the last servers only", async () => {
        const vmNames: string[][] = [];
        for (const nodeCount of [3, 5, 3]) vmNames.push(ofType((await runCluster({ nodeCount })).resources, INSTANCE).map((v) => v.name));
        assert.deepStrictEqual(vmNames[1].slice(0, 3), vmNames[0]);
        assert.deepStrictEqual(vmNames[2], vmNames[0]);
    });
});

describe("the change guard refuses at preview what would lose the cluster", () => {
    const old = { region: "ams", vpcCidr: "10.99.0.0/24", k3sVersion: "v1.33.5+k3s1" };

    for (const [what, change, message] of [
        ["a region change", { region: "fra" }, /cluster\.region: "ams" -> "fra" would build a new VPC .* new stack/],
        ["a VPC network change", { vpcCidr: "10.98.0.0/24" }, /cluster\.vpcCidr: .* would replace the VPC under running etcd members/],
        ["a k3s downgrade", { k3sVersion: "v1.33.4+k3s1" }, /is a downgrade/],
        ["a k3s build downgrade", { k3sVersion: "v1.33.5+k3s0" }, /is a downgrade/],
        ["a skip of a minor version", { k3sVersion: "v1.35.0+k3s1" }, /skips a minor version.*to v1\.34\.x first/],
    ] as const) {
        it(`refuses ${what}, naming the key and the safe procedure`, async () => {
            const { failures } = await guardProvider.check!(old, { ...old, ...change });
            assert.strictEqual(failures?.length, 1);
            assert.match(failures![0].reason, message);
        });
    }

    it("accepts a patch or one minor version up, and anything for a new cluster", async () => {
        assert.deepStrictEqual(unsafeChanges(old, { ...old, k3sVersion: "v1.33.6+k3s1" }), []);
        assert.deepStrictEqual(unsafeChanges(old, { ...old, k3sVersion: "v1.34.2+k3s1" }), []);
        assert.deepStrictEqual((await guardProvider.check!({} as never, { ...old, region: "fra" })).failures, []);
    });
});
