// Reads the validated configuration and composes the components, in the order of the seed's
// workflow: cluster, ingress and TLS, then per project its namespace and certificates, and per
// service its registry access, workload and GitLab wiring. Nothing else happens here.
import * as pulumi from "@pulumi/pulumi";
import { clusterAccess } from "./components/cluster/access";
import { GitlabProject } from "./components/gitlab/project";
import { gitlabProvider } from "./components/gitlab/provider";
import { GitlabRegistryAccess } from "./components/gitlab/registryAccess";
import { hostResourceName, serviceResourceName } from "./components/lib/names";
import { CertManager } from "./components/platform/certManager";
import { HostCertificate } from "./components/platform/hostCertificate";
import { ClusterIngress } from "./components/platform/ingress";
import { Microservice } from "./components/workload/microservice";
import { ProjectNamespace } from "./components/workload/projectNamespace";
import { loadConfig } from "./config";

const cfg = loadConfig();
const env = cfg.environment;
const labels = { environment: env, client: cfg.client };

const { provider, cluster } = clusterAccess(cfg.cluster, labels);

// The stack's own ingress controller and cert-manager, or (e.g. `local`) the ones present.
const ingress = cfg.ingress.install
    ? new ClusterIngress("ingress", { ...labels, publicAddresses: cluster?.publicIps }, { provider })
    : { ingressClassName: pulumi.output(cfg.ingress.className), publicAddresses: pulumi.output<string[]>([]) };
const clusterIssuer = cfg.certManager.install
    ? new CertManager(
          "cert-manager",
          {
              ...labels,
              email: cfg.certManager.email,
              staging: cfg.certManager.staging,
              ingressClassName: ingress.ingressClassName,
          },
          { provider },
      ).clusterIssuer
    : cfg.certManager.issuer;

// GitLab (dev, stg, prod): deploy tokens feed the pull Secrets, CI/CD variables carry the
// cluster and the deployer's token. Without it (`local`) the pull Secrets use fixed credentials.
const gitlab = cfg.gitlab.enabled
    ? { ...cfg.gitlab, provider: gitlabProvider("gitlab", { domain: cfg.gitlab.domain, token: cfg.gitlab.apiToken }) }
    : {
          ...cfg.gitlab,
          credentials: pulumi.secret(
              pulumi
                  .all([cfg.gitlab.registry, cfg.gitlab.registryUsername, cfg.gitlab.registryPassword])
                  .apply(([server, username, password]) => ({ server, username, password })),
          ),
      };

const serviceUrls: Record<string, pulumi.Output<string>> = {};
for (const [project, p] of Object.entries(cfg.projects)) {
    const projectLabels = { ...labels, client: p.client };
    const namespace = new ProjectNamespace(project, { ...projectLabels, project }, { provider });
    // One certificate per host of the project, named by every Ingress on that host.
    const tlsSecrets = Object.fromEntries(
        p.hosts.map((host) => [
            host,
            new HostCertificate(
                hostResourceName(project, host),
                {
                    ...projectLabels,
                    host,
                    project,
                    namespace: namespace.name,
                    clusterIssuer,
                },
                { provider },
            ).secretName,
        ]),
    );
    for (const [service, s] of Object.entries(p.services)) {
        const name = serviceResourceName(project, service);
        const registryCredentials = gitlab.enabled
            ? new GitlabRegistryAccess(
                  name,
                  {
                      gitlabProject: s.gitlabProject,
                      environment: env,
                      service,
                      registry: gitlab.registry,
                      expiresAt: gitlab.deployTokenExpiresAt,
                  },
                  { provider: gitlab.provider },
              ).registryCredentials
            : gitlab.credentials;
        const ms = new Microservice(
            name,
            {
                ...projectLabels,
                ...s,
                service,
                namespace: namespace.name,
                ingressClassName: ingress.ingressClassName,
                tlsSecret: tlsSecrets[s.host],
                registryCredentials,
                skipAwait: !cfg.cluster.enabled && cfg.cluster.skipAwait,
            },
            { provider },
        );
        if (gitlab.enabled && cluster) {
            new GitlabProject(
                name,
                {
                    gitlabProject: s.gitlabProject,
                    environment: env,
                    service,
                    clusterServer: cluster.apiServerUrl,
                    clusterCaCertificate: cluster.caCertificate,
                    namespace: ms.namespace,
                    deployerToken: ms.deployerToken,
                    gitlabDomain: gitlab.domain,
                    goModulesToken: gitlab.goModulesToken,
                    externalUrl: ms.url,
                },
                { provider: gitlab.provider },
            );
        }
        serviceUrls[`${project}/${service}`] = ms.url;
    }
}

// Only a stack with its own cluster has the cluster's outputs: an exported `undefined` would
// make the engine warn on every run of the others (e.g. `local`).
export = {
    environment: env,
    ...(cluster && {
        apiServerUrl: cluster.apiServerUrl,
        nodePublicIps: cluster.publicIps,
        nodePrivateIps: cluster.privateIps,
        kubeconfig: cluster.kubeconfig,
        estimatedMonthlyCostUsd: cluster.monthlyCostUsd,
        etcdSnapshotBucket: cluster.etcdSnapshotBucket,
    }),
    serviceUrls,
    /** Addresses every service host must resolve to (none known when the controller is not the stack's). */
    ingressAddresses: ingress.publicAddresses,
    /** ClusterIssuer that signs this environment's certificates. */
    certificateIssuer: clusterIssuer,
};
