// etcd snapshots off the VMs: k3s takes them on a schedule on every server and uploads them to a
// bucket on Vultr Object Storage, which the stack subscribes to. The S3 settings and credentials
// reach k3s through a Secret in kube-system (k3s's `etcd-s3-config-secret`), not user data, so
// they are Pulumi secrets end to end and rotate with a `pulumi up`.
import * as vultr from "@ediri/vultr";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { HARDENED_CONTAINER, RESTRICTED_POD } from "../lib/kubernetes";

/** The Secret k3s reads its S3 settings from (named by `etcd-s3-config-secret`). */
export const ETCD_S3_SECRET = "hobby-etcd-snapshot-s3";

/** k3s settings of every server: scheduled snapshots, kept on the node and uploaded through the Secret. */
export function etcdSnapshotSettings(schedule: string, retention: number): Record<string, unknown> {
    return {
        "etcd-snapshot-schedule-cron": schedule,
        "etcd-snapshot-retention": retention,
        "etcd-snapshot-compress": true,
        "etcd-s3": true,
        "etcd-s3-config-secret": ETCD_S3_SECRET,
    };
}

/** The S3 signing region; Vultr Object Storage accepts any, and k3s defaults to this one. */
const S3_REGION = "us-east-1";

/**
 * Creates the bucket if it is not there (S3 PUT Bucket, signed with the subscription's keys):
 * 200 made it, 409 BucketAlreadyOwnedByYou means an earlier run did. Anything else fails the Job.
 */
export const CREATE_BUCKET_SCRIPT = `set -eu
code=$(curl -sS -o /tmp/answer -w '%{http_code}' --aws-sigv4 "aws:amz:${S3_REGION}:s3" \\
  --user "$ACCESS_KEY:$SECRET_KEY" -X PUT "https://$ENDPOINT/$BUCKET")
case "$code" in
  200) echo "bucket $BUCKET created" ;;
  409)
    if ! grep -q BucketAlreadyOwnedByYou /tmp/answer; then cat /tmp/answer; exit 1; fi
    echo "bucket $BUCKET exists" ;;
  *) echo "PUT bucket $BUCKET answered $code"; cat /tmp/answer; exit 1 ;;
esac
`;

export interface EtcdBackupsArgs {
    /** Vultr region of the cluster; the Object Storage location in it is used. */
    region: string;
    /** Object Storage cluster id; default: the one Vultr lists for `region` (looked up at preview). */
    objectStorageClusterId?: number;
    /** Label prefix of the subscription, e.g. `hobby-dev`. */
    prefix: string;
    /** Folder in the bucket (one per environment). */
    folder: string;
    /** Protect the subscription (prod): deleting it deletes every snapshot. */
    protect: boolean;
    labels: Record<string, string>;
}

/** The subscription, the bucket and the Secret; children of `parent`, the Secret through `provider`. */
export function createEtcdBackups(name: string, args: EtcdBackupsArgs, provider: k8s.Provider, parent: pulumi.Resource) {
    const clusterId =
        args.objectStorageClusterId ?? vultr.getObjectStorageClusterOutput({ filters: [{ name: "region", values: [args.region] }] }, { parent }).id;
    const storage = new vultr.ObjectStorage(
        `${name}-etcd-snapshots`,
        {
            clusterId,
            label: `${args.prefix}-etcd-snapshots`,
        },
        { parent, protect: args.protect },
    );
    // Bucket names are global to the location: the subscription's id makes this one ours.
    const bucket = storage.id.apply((id) => `etcd-${id.replace(/-/g, "").slice(0, 32)}`);
    const metadata = { name: ETCD_S3_SECRET, namespace: "kube-system", labels: args.labels };
    const secret = new k8s.core.v1.Secret(
        `${name}-etcd-s3`,
        {
            metadata,
            stringData: {
                "etcd-s3-endpoint": storage.s3Hostname,
                "etcd-s3-region": S3_REGION,
                "etcd-s3-bucket": bucket,
                "etcd-s3-folder": args.folder,
                "etcd-s3-access-key": storage.s3AccessKey,
                "etcd-s3-secret-key": storage.s3SecretKey,
            },
        },
        { parent, provider },
    );
    const fromSecret = (key: string) => ({ secretKeyRef: { name: ETCD_S3_SECRET, key } });
    new k8s.batch.v1.Job(
        `${name}-etcd-bucket`,
        {
            metadata: { name: "hobby-etcd-snapshot-bucket", namespace: "kube-system", labels: args.labels },
            spec: {
                backoffLimit: 6,
                template: {
                    metadata: { labels: args.labels },
                    spec: {
                        restartPolicy: "Never",
                        automountServiceAccountToken: false,
                        securityContext: { ...RESTRICTED_POD, runAsUser: 100, runAsGroup: 101 },
                        containers: [
                            {
                                name: "create-bucket",
                                image: "curlimages/curl:8.11.1",
                                command: ["sh", "-c", CREATE_BUCKET_SCRIPT],
                                env: [
                                    { name: "ENDPOINT", valueFrom: fromSecret("etcd-s3-endpoint") },
                                    { name: "BUCKET", valueFrom: fromSecret("etcd-s3-bucket") },
                                    { name: "ACCESS_KEY", valueFrom: fromSecret("etcd-s3-access-key") },
                                    { name: "SECRET_KEY", valueFrom: fromSecret("etcd-s3-secret-key") },
                                ],
                                resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "32Mi" } },
                                // curl writes its answer to /tmp: a memory volume, the image stays read-only.
                                volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
                                securityContext: HARDENED_CONTAINER,
                            },
                        ],
                        volumes: [{ name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } }],
                    },
                },
            },
        },
        { parent, provider, dependsOn: [secret] },
    );
    return { storage, bucket };
}
