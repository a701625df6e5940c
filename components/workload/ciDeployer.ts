import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { boundServiceAccount } from "../lib/kubernetes";
import { LabelArgs, labels } from "../lib/labels";
import { deployerName } from "../../lib/names";

export interface CiDeployerArgs extends LabelArgs {
    /** Service (and Deployment) name: the deployer's `app` label and the one object it may touch. */
    service: string;
    /** Namespace of the Deployment. */
    namespace: pulumi.Input<string>;
    /**
     * Issue a long-lived token for the pipeline (default true): the token path's credential. The
     * agent path impersonates the ServiceAccount instead, and a token nobody uses is not made.
     */
    issueToken?: boolean;
}

/**
 * The identity a service's pipeline deploys as: a ServiceAccount that may read and patch its
 * own Deployment and nothing else (`kubectl set image`, `kubectl rollout status`), and (token
 * path) a long-lived token for it, which the stack writes to the service's CI/CD variables.
 */
export class CiDeployer extends pulumi.ComponentResource {
    /** ServiceAccount name, `<service>-deployer`. */
    public readonly serviceAccountName: pulumi.Output<string>;
    /** Bearer token of the ServiceAccount (secret), when one is issued. */
    public readonly token?: pulumi.Output<string>;

    constructor(name: string, args: CiDeployerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("hobby-platform:workload:CiDeployer", name, {}, opts);
        // These objects were the Microservice's own children before this component existed:
        // the alias keeps them, and the token CI holds, across that move.
        const child = { parent: this, aliases: opts?.parent ? [{ parent: opts.parent }] : [] };
        const metadata = { name: deployerName(args.service), namespace: args.namespace, labels: labels(args.service, args) };
        const { serviceAccount } = boundServiceAccount(
            name,
            {
                metadata,
                rules: [
                    {
                        apiGroups: ["apps"],
                        resources: ["deployments"],
                        resourceNames: [args.service],
                        // get + patch: `kubectl set image`; get, list, watch (by name): `kubectl rollout status`.
                        verbs: ["get", "list", "watch", "patch"],
                    },
                ],
                // CI uses the token from outside; no pod runs as the deployer.
                automountToken: false,
            },
            child,
        );
        this.serviceAccountName = serviceAccount.metadata.name;
        if (args.issueToken ?? true) {
            // Since Kubernetes 1.24 no token Secret is made for a ServiceAccount: ask for one.
            const tokenSecret = new k8s.core.v1.Secret(
                `${name}-token`,
                {
                    metadata: {
                        ...metadata,
                        name: `${metadata.name}-token`,
                        annotations: { "kubernetes.io/service-account.name": serviceAccount.metadata.name },
                    },
                    type: "kubernetes.io/service-account-token",
                },
                child,
            );
            this.token = pulumi.secret(tokenSecret.data.apply((d) => Buffer.from(d?.token ?? "", "base64").toString("utf8")));
        }
        this.registerOutputs({ serviceAccountName: this.serviceAccountName, token: this.token });
    }
}
