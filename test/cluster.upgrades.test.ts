// k3s upgrades in place through system-upgrade-controller: what the cluster declares.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { agentUpgradePlan, serverUpgradePlan, SYSTEM_UPGRADE_CONTROLLER_VERSION } from "../components/cluster/upgrades";
import { ClusterRun, runCluster } from "./helpers/cluster";
import { Recorded } from "../harness/mocks";

const MANIFESTS = path.join(__dirname, "..", "components", "cluster", "manifests", "system-upgrade-controller");
const PLAN = "kubernetes:upgrade.cattle.io/v1:Plan";
const k8sObjects = (rs: Recorded[]) => rs.filter((r) => r.type.startsWith("kubernetes:") && r.type !== PLAN && !r.name.includes("etcd"));

describe("HobbyCluster k3s upgrades (system-upgrade-controller)", function () {
    this.timeout(60_000);
    let run: ClusterRun;
    before(async () => {
        run = await runCluster();
    });

    it("upgrades every server to cluster.k3sVersion one at a time, cordoned and drained first", () => {
        const plan = run.resources.find((r) => r.type === PLAN)!;
        assert.deepStrictEqual([plan.inputs.metadata.name, plan.inputs.metadata.namespace], ["k3s-server", "system-upgrade"]);
        const spec = plan.inputs.spec;
        assert.deepStrictEqual(
            [spec.version, spec.concurrency, spec.cordon, spec.serviceAccountName, spec.upgrade.image],
            ["v1.33.5+k3s1", 1, true, "system-upgrade", "rancher/k3s-upgrade"],
        );
        assert.deepStrictEqual(spec.nodeSelector.matchExpressions, [{ key: "node-role.kubernetes.io/control-plane", operator: "Exists" }]);
        assert.strictEqual(spec.drain.ignoreDaemonSets, true);
        assert.match(plan.provider ?? "", /cluster-k8s/);
    });

    it("follows a k3sVersion change in the Plan, which the running servers then apply", async () => {
        const next = await runCluster({ k3sVersion: "v1.34.2+k3s1" });
        assert.strictEqual(next.resources.find((r) => r.type === PLAN)!.inputs.spec.version, "v1.34.2+k3s1");
    });

    it("declares the controller as its release builds it: CRD, RBAC, namespace, Deployment at the release's image", () => {
        const objects = k8sObjects(run.resources).map((r) => r.inputs);
        const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
        assert.deepStrictEqual(kinds, [
            "ClusterRole/system-upgrade-controller",
            "ClusterRole/system-upgrade-controller-drainer",
            "ClusterRoleBinding/system-upgrade",
            "ClusterRoleBinding/system-upgrade-drainer",
            "ConfigMap/default-controller-env",
            "CustomResourceDefinition/plans.upgrade.cattle.io",
            "Deployment/system-upgrade-controller",
            "Namespace/system-upgrade",
            "Role/system-upgrade-controller",
            "RoleBinding/system-upgrade",
            "ServiceAccount/system-upgrade",
        ]);
        const deployment = objects.find((o) => o.kind === "Deployment")!;
        assert.strictEqual(
            deployment.spec.template.spec.containers[0].image,
            `rancher/system-upgrade-controller:${SYSTEM_UPGRADE_CONTROLLER_VERSION}`,
        );
        for (const o of objects) {
            assert.deepStrictEqual(
                [o.metadata.labels.app, o.metadata.labels.env],
                ["system-upgrade-controller", "dev"],
                `${o.kind} ${o.metadata.name}`,
            );
            if (!["CustomResourceDefinition", "Namespace", "ClusterRole", "ClusterRoleBinding"].includes(o.kind))
                assert.strictEqual(o.metadata.namespace, "system-upgrade");
            for (const s of o.subjects ?? []) assert.strictEqual(s.namespace, "system-upgrade");
        }
        const plan = run.resources.find((r) => r.type === PLAN)!;
        assert.strictEqual(((plan.opts.dependsOn ?? []) as unknown[]).length, objects.length, "the Plan waits for its CRD and the controller");
    });

    it("declares Plans that the release's own CRD schema knows field by field (prepare, tolerations, drain among them)", () => {
        type Schema = { type?: string; properties?: Record<string, Schema>; items?: Schema; additionalProperties?: unknown; required?: string[] };
        const crd = YAML.parseAllDocuments(fs.readFileSync(path.join(MANIFESTS, "upgrade.cattle.io_plans.yaml"), "utf8"))
            .map((d) => d.toJS())
            .find((d) => d?.kind === "CustomResourceDefinition");
        const version = crd.spec.versions.find((v: { name: string }) => v.name === "v1");
        const unknown = (value: unknown, schema: Schema, at: string): string[] => {
            if (Array.isArray(value)) return value.flatMap((v, i) => unknown(v, schema.items ?? {}, `${at}[${i}]`));
            if (value === null || typeof value !== "object" || schema.additionalProperties) return [];
            const missing = (schema.required ?? []).filter((k) => !(k in value)).map((k) => `${at}.${k} (required)`);
            return [
                ...missing,
                ...Object.entries(value).flatMap(([k, v]) =>
                    schema.properties?.[k] ? unknown(v, schema.properties[k], `${at}.${k}`) : [`${at}.${k}`],
                ),
            ];
        };
        for (const plan of [serverUpgradePlan("v1.33.5+k3s1", {}), agentUpgradePlan("v1.33.5+k3s1", {})]) {
            assert.deepStrictEqual(unknown(plan.spec, version.schema.openAPIV3Schema.properties.spec, "spec"), [], plan.metadata.name);
        }
    });

    it("keeps the release's files unchanged, each naming its source tag and commit", () => {
        for (const file of fs.readdirSync(MANIFESTS)) {
            const first = fs.readFileSync(path.join(MANIFESTS, file), "utf8").split("\n")[0];
            assert.match(
                first,
                new RegExp(
                    `^# From github\\.com/rancher/system-upgrade-controller, tag ${SYSTEM_UPGRADE_CONTROLLER_VERSION} \\(commit f1362a3fe1a8d55a0c65847f7c2779909dc7ec95\\)`,
                ),
                file,
            );
        }
    });
});
