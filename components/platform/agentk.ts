import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { KAS_ADDRESS } from "../../lib/formats";
import { assertArgs } from "../lib/invariants";
import { boundServiceAccount, grantedRole, k3sHelmChart } from "../lib/kubernetes";
import { LabelArgs, labels as labelsFor } from "../lib/labels";
import { AGENTK_NAMESPACE } from "../../lib/names";

/**
 * GitLab's `gitlab-agent` chart (agentk v17.7.0); upgrade by changing it here and running
 * `pulumi up`. Keep agentk within the GitLab instance's supported agent versions.
 */
export const AGENTK_CHART_VERSION = "2.10.0";
/** GitLab's chart repository, which k3s's Helm controller reads from inside the cluster. */
export const AGENTK_CHART_REPO = "https://charts.gitlab.io";
/** The key of the token Secret the chart mounts as agentk's `--token-file` (templates/deployment.yaml). */
export const AGENTK_TOKEN_KEY = "token";
/** agentk's own ServiceAccount, made here so that its RBAC is the stack's, not the chart's cluster-admin. */
export const AGENTK_SERVICE_ACCOUNT = "gitlab-agent";

export interface AgentkArgs extends LabelArgs {
    /** GitLab's agent server (KAS), `wss://` or `grpcs://`. */
    kasAddress: string;
    /** The agent's token (a secret Output, `GitlabAgent.token`). */
    token: pulumi.Input<string>;
    /** Id of that token: it names the token's Secret, so a new token rolls agentk's pods. */
    tokenId: pulumi.Input<number>;
    /**
     * The ServiceAccounts agentk may impersonate, and nothing else: the services' CI deployers
     * (their namespaces must exist first: make the component depend on them).
     */
    impersonates: { namespace: string; serviceAccount: string }[];
    /** `gitlab-agent` chart version; default `AGENTK_CHART_VERSION`. */
    chartVersion?: string;
}

/**
 * What agentk needs in its own namespace: its leader-election Lease (client-go's LeaseLock gets,
 * creates and updates it) and the Events it records.
 */
export const AGENTK_OWN_RULES = [
    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"] },
    { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
];

/** What agentk may do as a CI job's proxy: impersonate one ServiceAccount (by name, in its namespace). */
export const impersonationRules = (serviceAccount: string) => [
    { apiGroups: [""], resources: ["serviceaccounts"], resourceNames: [serviceAccount], verbs: ["impersonate"] },
];

/**
 * GitLab's agent for Kubernetes in the cluster: agentk, installed by k3s's Helm controller from
 * GitLab's chart (nothing fetched at preview), dialling out to KAS with the agent's token. The
 * chart's own RBAC (cluster-admin) is off: agentk's ServiceAccount may only impersonate the
 * services' deployers, one Role and RoleBinding in each deployer's namespace, so a CI job
 * through the agent can do exactly what that deployer can.
 */
export class Agentk extends pulumi.ComponentResource {
    /** Namespace agentk runs in. */
    public readonly namespace: pulumi.Output<string>;

    constructor(name: string, args: AgentkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("hobby-platform:platform:Agentk", name, {}, opts);
        const version = args.chartVersion ?? AGENTK_CHART_VERSION;
        assertArgs(this, [
            !KAS_ADDRESS.test(args.kasAddress) &&
                `kasAddress must be wss:// or grpcs:// (TLS), e.g. "wss://kas.gitlab.example.com", got "${args.kasAddress}"`,
            !/^\d+\.\d+\.\d+$/.test(version) && `chartVersion must be a chart release such as "${AGENTK_CHART_VERSION}", got "${version}"`,
        ]);
        const child = { parent: this };
        const labels = labelsFor("gitlab-agent", args);

        const namespace = new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: { name: AGENTK_NAMESPACE, labels } }, child);
        const metadata = { namespace: namespace.metadata.name, labels };
        const token = new k8s.core.v1.Secret(
            `${name}-token`,
            {
                metadata: { ...metadata, name: pulumi.interpolate`gitlab-agent-token-${args.tokenId}` },
                type: "Opaque",
                stringData: { [AGENTK_TOKEN_KEY]: pulumi.secret(args.token) },
            },
            child,
        );
        const { serviceAccount } = boundServiceAccount(
            `${name}-agentk`,
            { metadata: { ...metadata, name: AGENTK_SERVICE_ACCOUNT }, rules: AGENTK_OWN_RULES },
            child,
        );
        const grants = args.impersonates.map((d) =>
            grantedRole(
                `${name}-impersonate-${d.namespace}-${d.serviceAccount}`,
                {
                    metadata: { name: `gitlab-agent-impersonate-${d.serviceAccount}`, namespace: d.namespace, labels },
                    rules: impersonationRules(d.serviceAccount),
                    subjects: [{ kind: "ServiceAccount", name: serviceAccount.metadata.name, namespace: namespace.metadata.name }],
                },
                child,
            ),
        );

        k3sHelmChart(
            `${name}-chart`,
            {
                release: "gitlab-agent",
                labels,
                repo: AGENTK_CHART_REPO,
                chart: "gitlab-agent",
                version,
                targetNamespace: namespace.metadata.name,
                valuesContent: token.metadata.name.apply((secretName) => YAML.stringify(agentkValues(args.kasAddress, secretName))),
            },
            { ...child, dependsOn: [token, serviceAccount, ...grants.map((g) => g.binding)] },
        );

        this.namespace = namespace.metadata.name;
        this.registerOutputs({ namespace: this.namespace });
    }
}

/**
 * The chart's values (values.yaml): the KAS address, the token Secret and the ServiceAccount made
 * here, none of the chart's RBAC (cluster-admin by default), and no operational container
 * scanning, which would need cluster-wide reads the agent is not given.
 */
export function agentkValues(kasAddress: string, secretName: string) {
    return {
        config: { kasAddress, secretName, operational_container_scanning: { enabled: false } },
        rbac: { create: false },
        serviceAccount: { create: false, name: AGENTK_SERVICE_ACCOUNT },
    };
}
