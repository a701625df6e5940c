// The k3s servers: Vultr instances whose user data installs k3s once, at first boot. The first
// initialises etcd with the seeded CAs; the others join it over the VPC.
import * as vultr from "@ediri/vultr";
import * as pulumi from "@pulumi/pulumi";
import { POD_CIDR, SERVICE_CIDR } from "../lib/clusterFacts";
import { renderServerUserData, SeedFile } from "./cloudConfig";
import { ClusterNetwork } from "./network";

export interface ServersArgs {
    region: string;
    plan: string;
    nodeCount: number;
    k3sVersion: string;
    osId: number;
    enableIpv6: boolean;
    vpcCidr: string;
    hostnamePrefix: string;
    environment: string;
    protect: boolean;
    /** The cluster's join token (secret). */
    token: pulumi.Output<string>;
    /** Files the first server needs before k3s first starts (the CAs). */
    seedFiles: pulumi.Output<SeedFile[]>;
}

export interface ClusterServers {
    instances: vultr.Instance[];
    /** Hostnames, which are also the Kubernetes node names, in order. */
    hostnames: string[];
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
            throw new pulumi.ResourceError(`Vultr reported no VPC address (internalIp) for ${hostname}, so no server can join it: ` +
                "check in the Vultr console that the instance is attached to the VPC, then run `pulumi refresh` and `pulumi up` again", vm);
        }
        return ip;
    });
}

/** Creates `nodeCount` servers on the network, as children of `parent`. */
export function createServers(name: string, args: ServersArgs, network: ClusterNetwork, parent: pulumi.Resource): ClusterServers {
    const userData = (role: pulumi.Input<Record<string, pulumi.Input<unknown>>>, seedFiles: pulumi.Input<SeedFile[]>) =>
        pulumi.secret(pulumi.all([args.token, pulumi.output(role), seedFiles]).apply(([t, r, files]) => renderServerUserData({
            k3sVersion: args.k3sVersion,
            vpcCidr: args.vpcCidr,
            podCidr: POD_CIDR,
            serviceCidr: SERVICE_CIDR,
            k3sConfig: { token: t, ...r, ...K3S_COMMON },
            seedFiles: files,
        })));

    const hostnames = Array.from({ length: args.nodeCount }, (_, i) => `${args.hostnamePrefix}-${i + 1}`);
    const instances: vultr.Instance[] = [];
    const privateIps: pulumi.Output<string>[] = [];
    for (const [i, hostname] of hostnames.entries()) {
        const vm = new vultr.Instance(`${name}-${i + 1}`, {
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
            userData: i === 0
                ? userData({ "cluster-init": true }, args.seedFiles)
                : userData({ server: pulumi.interpolate`https://${privateIps[0]}:6443` }, []),
        }, {
            parent,
            protect: args.protect,
            additionalSecretOutputs: ["userData"],
            // User data only runs at first boot; a change (e.g. k3sVersion) must not replace a
            // running etcd member. New nodes get the current template.
            ignoreChanges: ["userData"],
        });
        instances.push(vm);
        privateIps.push(privateIp(vm, hostname));
    }
    return { instances, hostnames, privateIps };
}
