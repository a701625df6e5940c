// The k3s servers: Vultr instances whose user data installs k3s once, at first boot. The first
// initialises etcd with the seeded CAs; the others join it over the VPC.
import * as vultr from "@ediri/vultr";
import * as pulumi from "@pulumi/pulumi";
import { POD_CIDR, SERVICE_CIDR } from "../lib/clusterFacts";
import { renderServerUserData, SeedFile } from "./cloudConfig";
import type { HobbyClusterArgs } from "./hobbyCluster";
import { ClusterNetwork } from "./network";
import { ClusterReadiness } from "./readiness";

/** The cluster's settings a server is made from (documented on HobbyClusterArgs), and what the PKI made. */
export interface ServersArgs extends Pick<
    HobbyClusterArgs,
    | "region"
    | "plan"
    | "nodeCount"
    | "k3sVersion"
    | "osId"
    | "enableIpv6"
    | "vpcCidr"
    | "hostnamePrefix"
    | "environment"
    | "protect"
    | "readinessTimeoutSeconds"
> {
    /** The cluster's join token (secret). */
    token: pulumi.Output<string>;
    /** Files the first server needs before k3s first starts (the CAs). */
    seedFiles: pulumi.Output<SeedFile[]>;
    /** More k3s settings of every server (e.g. etcd snapshots). */
    k3sSettings: Record<string, unknown>;
    /** What the per-server readiness gates reach the API with. */
    caCertificate: pulumi.Output<string>;
    adminCertificate: pulumi.Output<string>;
    adminKey: pulumi.Output<string>;
}

export interface ClusterServers {
    instances: vultr.Instance[];
    /** `https://<first server's public IP>:6443`. */
    apiServerUrl: pulumi.Output<string>;
    /** Hostnames, which are also the Kubernetes node names, in order: a running server keeps its own. */
    hostnames: pulumi.Output<string>[];
    /** `<instance id> <plan>` of each server, for the gates to wait again after a replacement or resize. */
    generations: pulumi.Output<string>[];
    /** VPC addresses, in order; an empty one fails the `up`, naming the server. */
    privateIps: pulumi.Output<string>[];
}

/** k3s settings every server shares. */
const K3S_COMMON = {
    "cluster-cidr": POD_CIDR,
    "service-cidr": SERVICE_CIDR,
    "secrets-encryption": true,
    "write-kubeconfig-mode": "0600",
};

/** The VPC address of a server; empty, it stops the `up`: a server told to join "https://:6443" never would. */
function privateIp(vm: vultr.Instance, hostname: string): pulumi.Output<string> {
    // The provider copies the API's internal_ip, which can be empty (terraform-provider-vultr #173, #373).
    return vm.internalIp.apply((ip) => {
        if (!ip) {
            throw new pulumi.ResourceError(
                `Vultr reported no VPC address (internalIp) for ${hostname}, so no server can join it: ` +
                    "check in the Vultr console that the instance is attached to the VPC, then run `pulumi refresh` and `pulumi up` again",
                vm,
            );
        }
        return ip;
    });
}

/**
 * Fields of `vultr_instance` that are ForceNew in terraform-provider-vultr v2.21.0
 * (vultr/resource_vultr_instance.go): a change would replace a running etcd member, so it
 * applies to servers created later. `label` follows the hostname. (`region` is ForceNew too:
 * the ClusterGuard refuses its change.)
 */
export const KEPT_BY_RUNNING_SERVERS = ["userData", "sshKeyIds", "hostname", "label", "osId"];

/**
 * Creates `nodeCount` servers on the network, as children of `parent`, one at a time: server k
 * is created (and resized) only once a gate has seen servers 1..k-1 Ready, as k3s recommends for
 * joining etcd members, and so that a resize never reboots two servers at once. Every server
 * waits for `guard`.
 */
export function createServers(
    name: string,
    args: ServersArgs,
    network: ClusterNetwork,
    guard: pulumi.Resource,
    parent: pulumi.Resource,
): ClusterServers {
    const userData = (role: pulumi.Input<Record<string, pulumi.Input<unknown>>>, seedFiles: pulumi.Input<SeedFile[]>) =>
        pulumi.secret(
            pulumi.all([args.token, pulumi.output(role), seedFiles]).apply(([t, r, files]) =>
                renderServerUserData({
                    k3sVersion: args.k3sVersion,
                    vpcCidr: args.vpcCidr,
                    podCidr: POD_CIDR,
                    serviceCidr: SERVICE_CIDR,
                    k3sConfig: { token: t, ...r, ...K3S_COMMON, ...args.k3sSettings },
                    seedFiles: files,
                }),
            ),
        );

    const instances: vultr.Instance[] = [];
    const hostnames: pulumi.Output<string>[] = [];
    const generations: pulumi.Output<string>[] = [];
    const privateIps: pulumi.Output<string>[] = [];
    let apiServerUrl: pulumi.Output<string> | undefined;
    let previousReady: pulumi.Resource = guard;
    for (let i = 0; i < args.nodeCount; i++) {
        const hostname = `${args.hostnamePrefix}-${i + 1}`;
        const vm = new vultr.Instance(
            `${name}-${i + 1}`,
            {
                region: args.region,
                plan: args.plan,
                osId: args.osId,
                hostname,
                label: hostname,
                enableIpv6: args.enableIpv6,
                vpcIds: [network.vpc.id],
                firewallGroupId: network.firewall.id,
                sshKeyIds: network.sshKeys.map((k) => k.id),
                backups: "disabled",
                activationEmail: false,
                tags: ["hobby-platform", `env-${args.environment}`],
                // The first server initialises etcd with the seeded CAs; the others join it over
                // the VPC by its private address, and get the CAs from the cluster, not user data.
                userData:
                    i === 0
                        ? userData({ "cluster-init": true }, args.seedFiles)
                        : userData({ server: pulumi.interpolate`https://${privateIps[0]}:6443` }, []),
            },
            {
                parent,
                protect: args.protect,
                additionalSecretOutputs: ["userData"],
                ignoreChanges: KEPT_BY_RUNNING_SERVERS,
                dependsOn: [previousReady],
            },
        );
        instances.push(vm);
        hostnames.push(vm.hostname);
        generations.push(pulumi.interpolate`${vm.id} ${vm.plan}`);
        privateIps.push(privateIp(vm, hostname));
        apiServerUrl ??= pulumi.interpolate`https://${vm.mainIp}:6443`;
        if (i < args.nodeCount - 1) {
            // The next server waits for this one (and those before it) to be Ready again.
            previousReady = new ClusterReadiness(
                `${name}-${i + 1}-ready`,
                {
                    server: apiServerUrl,
                    caCertificate: args.caCertificate,
                    clientCertificate: args.adminCertificate,
                    clientKey: args.adminKey,
                    nodeNames: [...hostnames],
                    servers: [...generations],
                    timeoutSeconds: args.readinessTimeoutSeconds,
                },
                { parent, dependsOn: [vm, ...network.rules] },
            );
        }
    }
    return { instances, apiServerUrl: apiServerUrl ?? pulumi.output(""), hostnames, generations, privateIps };
}
