// etcd snapshots off the VMs: what the cluster declares for them.
import * as assert from "assert";
import { CREATE_BUCKET_SCRIPT, ETCD_S3_SECRET } from "../components/cluster/backups";
import { OBJECT_STORAGE_PRICE_USD, planPrice } from "../lib/clusterFacts";
import { ClusterRun, INSTANCE, k3sConfig, runCluster } from "./helpers/cluster";
import { ofType, valueOf } from "../harness/mocks";

const STORAGE = "vultr:index/objectStorage:ObjectStorage";
const SECRET = "kubernetes:core/v1:Secret";
const JOB = "kubernetes:batch/v1:Job";

describe("HobbyCluster etcd snapshots on Vultr Object Storage", function () {
    this.timeout(60_000);
    let run: ClusterRun;
    before(async () => {
        run = await runCluster();
    });

    it("has every server take scheduled snapshots and upload them through the S3 Secret, with no credential in user data", () => {
        for (const vm of ofType(run.resources, INSTANCE)) {
            const c = k3sConfig(vm);
            assert.deepStrictEqual(
                [c["etcd-snapshot-schedule-cron"], c["etcd-snapshot-retention"], c["etcd-s3"], c["etcd-s3-config-secret"]],
                ["0 */6 * * *", 28, true, ETCD_S3_SECRET],
            );
            assert.ok(!vm.inputs.userData.includes("mock-s3-secret-key"), "the S3 keys are not in user data");
            assert.strictEqual(c["etcd-s3-access-key"], undefined);
        }
    });

    it("subscribes to the region's Object Storage (looked up by region, or the configured cluster id), protected in prod", async () => {
        assert.deepStrictEqual(
            ofType(run.resources, STORAGE).map((r) => [r.inputs.clusterId, r.inputs.label]),
            [[4, "hobby-dev-etcd-snapshots"]],
        );
        const prod = await runCluster({
            protect: true,
            environment: "prod",
            etcdSnapshots: { schedule: "0 * * * *", retention: 48, objectStorageClusterId: 9 },
        });
        const storage = ofType(prod.resources, STORAGE)[0];
        assert.deepStrictEqual([storage.inputs.clusterId, storage.opts.protect], [9, true]);
        assert.strictEqual(k3sConfig(ofType(prod.resources, INSTANCE)[0])["etcd-snapshot-retention"], 48);
    });

    it("hands k3s the bucket and the subscription's keys in a Secret in kube-system, as a secret, through the cluster's provider", async () => {
        const secret = ofType(run.resources, SECRET).find((r) => r.inputs.metadata.name === ETCD_S3_SECRET)!;
        assert.strictEqual(secret.inputs.metadata.namespace, "kube-system");
        assert.deepStrictEqual(Object.keys(secret.inputs.stringData).sort(), [
            "etcd-s3-access-key",
            "etcd-s3-bucket",
            "etcd-s3-endpoint",
            "etcd-s3-folder",
            "etcd-s3-region",
            "etcd-s3-secret-key",
        ]);
        assert.deepStrictEqual(
            [secret.inputs.stringData["etcd-s3-endpoint"], secret.inputs.stringData["etcd-s3-folder"]],
            ["ams1.vultrobjects.com", "dev"],
        );
        assert.match(secret.inputs.stringData["etcd-s3-bucket"], /^etcd-[0-9a-z]{1,32}$/);
        assert.strictEqual(secret.inputs.stringData["etcd-s3-bucket"], await valueOf(run.cluster.etcdSnapshotBucket));
        assert.ok(
            secret.opts.additionalSecretOutputs?.includes("stringData") ?? (await secret.secretInputs).some((p) => p.startsWith("stringData")),
            "the S3 keys are secret in state",
        );
        assert.match(secret.provider ?? "", /pulumi:providers:kubernetes::cluster-k8s/);
    });

    it("creates the bucket before the first snapshot with a Job that signs an S3 PUT Bucket with those keys", () => {
        const job = ofType(run.resources, JOB)[0];
        const pod = job.inputs.spec.template.spec;
        assert.deepStrictEqual(pod.containers[0].command, ["sh", "-c", CREATE_BUCKET_SCRIPT]);
        assert.match(CREATE_BUCKET_SCRIPT, /--aws-sigv4 "aws:amz:us-east-1:s3"/);
        assert.match(CREATE_BUCKET_SCRIPT, /409\)\n\s+if ! grep -q BucketAlreadyOwnedByYou/);
        assert.deepStrictEqual(
            pod.containers[0].env.map((e: any) => [e.name, e.valueFrom.secretKeyRef.name]),
            [
                ["ENDPOINT", ETCD_S3_SECRET],
                ["BUCKET", ETCD_S3_SECRET],
                ["ACCESS_KEY", ETCD_S3_SECRET],
                ["SECRET_KEY", ETCD_S3_SECRET],
            ],
        );
        assert.strictEqual(pod.containers[0].securityContext.readOnlyRootFilesystem, true);
        assert.ok(((job.opts.dependsOn ?? []) as any[]).some((d) => d.__name === "cluster-etcd-s3"));
    });

    it("counts the Object Storage subscription in the monthly cost", () => {
        assert.strictEqual(run.cluster.monthlyCostUsd, 3 * planPrice("vc2-1c-2gb")! + OBJECT_STORAGE_PRICE_USD);
    });
});
