// A HobbyCluster under mocks and readers of its rendered user data, shared by the cluster tests.
import * as YAML from "yaml";
import { DEFAULT_K3S_VERSION } from "../../config";
import { HobbyCluster, HobbyClusterArgs } from "../../components/cluster/hobbyCluster";
import { installMocks, Recorded, runInStack } from "../../harness/mocks";

export const INSTANCE = "vultr:index/instance:Instance";
export const RULE = "vultr:index/firewallRule:FirewallRule";
export const READINESS = "pulumi-nodejs:dynamic/hobby-platform:ClusterReadiness";

/** A dev cluster's arguments, with `overrides` applied. */
export function clusterArgs(overrides: Partial<HobbyClusterArgs> = {}): HobbyClusterArgs {
    return {
        region: "ams",
        plan: "vc2-1c-2gb",
        nodeCount: 3,
        k3sVersion: DEFAULT_K3S_VERSION,
        osId: 2136,
        enableIpv6: false,
        sshPublicKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHobbyPlatformTestKey ops@example.com"],
        adminCidrs: ["203.0.113.0/24", "198.51.100.7/32"],
        vpcCidr: "10.99.0.0/24",
        hostnamePrefix: "hobby-dev",
        apiHost: "k8s.dev.example.com",
        dnsZone: "example.com",
        workers: [],
        planPrices: {},
        etcdSnapshots: { schedule: "0 */6 * * *", retention: 28 },
        environment: "dev",
        client: "internal",
        protect: false,
        ...overrides,
    };
}

export interface ClusterRun {
    resources: Recorded[];
    cluster: HobbyCluster;
}

/** Declares a HobbyCluster "cluster" under mocks and returns what it registered. */
export async function runCluster(overrides: Partial<HobbyClusterArgs> = {}, preview = false): Promise<ClusterRun> {
    const resources = await installMocks("dev", preview);
    let cluster!: HobbyCluster;
    await runInStack(() => {
        cluster = new HobbyCluster("cluster", clusterArgs(overrides));
        return {};
    });
    return { resources, cluster };
}

export interface CloudConfig {
    write_files: { path: string; content: string; permissions: string }[];
    runcmd: string[][];
    packages: string[];
}
export const cloudConfig = (r: Recorded): CloudConfig => YAML.parse(r.inputs.userData);
export const file = (cc: CloudConfig, p: string) => cc.write_files.find((f) => f.path === p);
export const k3sConfig = (r: Recorded) => YAML.parse(file(cloudConfig(r), "/etc/rancher/k3s/config.yaml")!.content);
export const installScript = (r: Recorded) => file(cloudConfig(r), "/usr/local/sbin/hobby-k3s-install")!.content;
