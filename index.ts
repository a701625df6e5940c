// Reads the validated configuration and composes the components, in the order of the seed's
// workflow: cluster, ingress and TLS, then per project its namespace and certificates, and per
// service its registry access and workload; last, the GitLab wiring of the services' pipelines.
import { clusterAccess } from "./components/cluster/access";
import { DeployedService, gitlabWiring } from "./components/gitlab/wiring";
import { serviceResourceName } from "./lib/names";
import { hostCertificates } from "./components/platform/hostCertificate";
import { HostRecords } from "./components/platform/hostRecords";
import { clusterPlatform } from "./components/platform/platform";
import { Microservice } from "./components/workload/microservice";
import { ProjectNamespace } from "./components/workload/projectNamespace";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_CONTAINER_RESOURCES, loadConfig } from "./config";
import { describe } from "./lib/capacity";

const cfg = loadConfig();
const env = cfg.environment;
const labels = { environment: env, client: cfg.client };

const { provider, cluster } = clusterAccess(cfg.cluster, labels);
const platform = clusterPlatform(cfg, labels, cluster?.publicIps, provider);
// GitLab (dev, stg, prod): deploy tokens, CI/CD variables, the agent. Without it (`local`), the
// pull Secrets use fixed credentials.
const gitlab = gitlabWiring(cfg.gitlab, env);

const services: DeployedService[] = [];
for (const [project, p] of Object.entries(cfg.projects)) {
    const projectLabels = { ...labels, client: p.client };
    const namespace = new ProjectNamespace(
        project,
        {
            ...projectLabels,
            project,
            podSecurityVersion: cfg.podSecurityVersion,
            quota: p.quota,
            containerDefaults: DEFAULT_CONTAINER_RESOURCES,
            ingressController: cfg.ingress.controller,
        },
        { provider },
    );
    // One certificate per host of the project, named by every Ingress on that host.
    const certificate = { ...projectLabels, project, namespace: namespace.name, clusterIssuer: platform.clusterIssuer };
    const tlsSecrets = hostCertificates(p.hosts, certificate, { provider });
    for (const [service, s] of Object.entries(p.services)) {
        const name = serviceResourceName(project, service);
        const microservice = new Microservice(
            name,
            {
                ...projectLabels,
                ...s,
                service,
                namespace: namespace.name,
                ingressClassName: platform.ingressClassName,
                ingressController: cfg.ingress.controller,
                tlsSecret: tlsSecrets[s.host],
                registryCredentials: gitlab.registryCredentials(name, service, s.gitlabProject),
                skipAwait: !cfg.cluster.enabled && cfg.cluster.skipAwait,
                preferWorkers: cluster?.hasAgents,
                issueDeployerToken: !gitlab.viaAgent,
            },
            { provider },
        );
        services.push({ name, project, service, gitlabProject: s.gitlabProject, microservice });
    }
}
gitlab.wirePipelines(services, cluster, provider, labels);
// With managed DNS, the service hosts point at the servers, which serve ingress.
if (cluster && cfg.dns.provider === "vultr") {
    const hosts = [...new Set(Object.values(cfg.projects).flatMap((p) => p.hosts))];
    new HostRecords("service-hosts", { zone: cfg.dns.zone, hosts, addresses: cluster.serverPublicIps, ttl: cfg.dns.ttl });
}

// Only a stack with its own cluster has the cluster's outputs: an exported `undefined` would
// make the engine warn on every run of the others (e.g. `local`).
export = {
    environment: env,
    ...(cluster && {
        apiServerUrl: cluster.apiServerUrl,
        nodes: cluster.nodes,
        nodePublicIps: cluster.publicIps,
        nodePrivateIps: cluster.privateIps,
        kubeconfig: cluster.kubeconfig,
        agentJoinSecret: cluster.agentSecret,
        estimatedMonthlyCostUsd: cluster.monthlyCostUsd,
        etcdSnapshotBucket: cluster.etcdSnapshotBucket,
    }),
    ...(cfg.capacity && {
        /** What the nodes leave for services after k3s, etcd and the platform (config/capacity.ts). */
        workloadCapacity: describe(cfg.capacity.total),
    }),
    serviceUrls: Object.fromEntries(services.map((s) => [`${s.project}/${s.service}`, s.microservice.url])),
    /** Services whose pipeline has not deployed them yet: they run once its first deploy job has. */
    servicesAwaitingFirstBuild: pulumi
        .all(services.map((s) => s.microservice.awaitingFirstBuild.apply((waiting) => (waiting ? [`${s.project}/${s.service}`] : []))))
        .apply((lists) => lists.flat()),
    /** Addresses every service host must resolve to (none known when the controller is not the stack's). */
    ingressAddresses: platform.publicAddresses,
    /** ClusterIssuer that signs this environment's certificates. */
    certificateIssuer: platform.clusterIssuer,
};
