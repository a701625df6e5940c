// The cluster through index.ts, with each stack file: which provider Kubernetes objects use,
// the stack outputs, and prod's protection.
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { isSecret, ofType, ProgramRun, valueOf } from "../harness/mocks";
import { OBJECT_STORAGE_PRICE_USD } from "../lib/clusterFacts";
import { stackRun } from "../harness/stacks";

const kubernetesObjects = (r: ProgramRun) => r.resources.filter((x) => x.type.startsWith("kubernetes:"));

describe("cluster through the program", function () {
    this.timeout(60_000);

    for (const [stack, plan, cost] of [
        ["dev", "vc2-1c-2gb", 30],
        ["prod", "vc2-2c-4gb", 60],
    ] as const) {
        describe(`stack ${stack}`, () => {
            let result: ProgramRun;
            before(async () => {
                result = await stackRun(stack);
            });

            it("creates three servers of the stack's plan and sends every Kubernetes object to them", () => {
                const vms = ofType(result.resources, "vultr:index/instance:Instance");
                assert.deepStrictEqual(
                    vms.map((v) => [v.inputs.hostname, v.inputs.plan]),
                    [1, 2, 3].map((i) => [`hobby-${stack}-${i}`, plan]),
                );
                const providers = ofType(result.resources, "pulumi:providers:kubernetes");
                assert.deepStrictEqual(
                    providers.map((p) => p.name),
                    ["cluster-k8s"],
                );
                assert.ok(providers[0].inputs.kubeconfig.includes(`server: https://k8s.${stack}.example.com:6443`));
                const objects = kubernetesObjects(result);
                assert.ok(objects.length > 0);
                for (const o of objects) assert.match(o.provider ?? "", /\$pulumi:providers:kubernetes::cluster-k8s::/, `${o.type} ${o.name}`);
            });

            it("exports the API server URL, node addresses, the kubeconfig as a secret and the monthly cost", async () => {
                const e = result.exports as Record<string, pulumi.Output<unknown>>;
                assert.strictEqual(await valueOf(e.apiServerUrl), `https://k8s.${stack}.example.com:6443`);
                assert.deepStrictEqual(await valueOf(e.nodePublicIps), ["203.0.113.11", "203.0.113.12", "203.0.113.13"]);
                assert.deepStrictEqual(await valueOf(e.nodePrivateIps), ["10.99.0.11", "10.99.0.12", "10.99.0.13"]);
                assert.ok(await isSecret(e.kubeconfig));
                assert.ok(await isSecret(e.agentJoinSecret));
                assert.strictEqual(
                    YAML.parse((await valueOf(e.kubeconfig)) as string).clusters[0].cluster.server,
                    `https://k8s.${stack}.example.com:6443`,
                );
                // The servers and the etcd snapshots' Object Storage.
                assert.strictEqual(result.outputs.estimatedMonthlyCostUsd, cost + OBJECT_STORAGE_PRICE_USD);
            });

            it(stack === "prod" ? "protects the instances" : "leaves the instances unprotected outside prod", () => {
                for (const vm of ofType(result.resources, "vultr:index/instance:Instance")) {
                    assert.strictEqual(vm.opts.protect === true, stack === "prod", vm.name);
                }
            });
        });
    }

    it("uses the current kubeconfig context and creates no VM for the local stack", async () => {
        const result = await stackRun("local");
        assert.deepStrictEqual(
            result.resources.filter((r) => r.type.startsWith("vultr:") || r.type.startsWith("tls:")),
            [],
        );
        const providers = ofType(result.resources, "pulumi:providers:kubernetes");
        assert.deepStrictEqual(
            providers.map((p) => [p.name, p.inputs.kubeconfig, p.inputs.enableConfigMapMutable, p.inputs.enableSecretMutable]),
            [["k8s", undefined, "true", "true"]],
        );
        for (const o of kubernetesObjects(result)) assert.match(o.provider ?? "", /\$pulumi:providers:kubernetes::k8s::/);
    });
});
