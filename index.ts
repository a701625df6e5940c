// Reads the validated configuration and composes the components; nothing else happens here.
import * as pulumi from "@pulumi/pulumi";
import { hostResourceName, loadConfig, serviceResourceName } from "./config";
import { CertManager } from "./components/platform/certManager";
import { clusterAccess } from "./components/cluster/access";
import { GitlabProject, gitlabProvider } from "./components/gitlab/project";
import { GitlabRegistryAccess } from "./components/gitlab/registryAccess";
import { HostCertificate } from "./components/platform/hostCertificate";
import { ClusterIngress } from "./components/platform/ingress";
import { Microservice, RegistryCredentials } from "./components/workload/microservice";
import { ProjectNamespace } from "./components/workload/projectNamespace";

const cfg = loadConfig();
const env = cfg.environment;

// Kubernetes access: the stack's own cluster, or (cluster.enabled false) the current kubeconfig.
const { provider, cluster } = clusterAccess(cfg);

// Ingress class and certificate issuer the services use: the stack's own controller and
// cert-manager when it installs them, else (e.g. `local`) the ones configured as present.
const ingress = cfg.ingress.install
    ? new ClusterIngress("ingress", {
        environment: env,
        client: cfg.client,
        publicAddresses: cluster?.nodes.apply((nodes) => nodes.map((n) => n.publicIp)),
    }, { provider })
    : undefined;
const ingressClassName: pulumi.Input<string> = ingress?.ingressClassName ?? cfg.ingress.className!;
const certManager = cfg.certManager.install
    ? new CertManager("cert-manager", {
        email: cfg.acme.email!,
        staging: cfg.acme.staging,
        ingressClassName,
        environment: env,
        client: cfg.client,
    }, { provider })
    : undefined;
const clusterIssuer: pulumi.Input<string> = certManager?.clusterIssuer ?? cfg.certManager.issuer!;

// GitLab (dev, stg, prod): a deploy token per service feeds its pull Secret, and the service's
// CI/CD variables carry the cluster and the deployer's token. Without it (`local`) the pull
// Secrets use the registry credentials from config.
const gitlab = cfg.gitlab.enabled
    ? gitlabProvider("gitlab", { domain: cfg.gitlab.domain!, token: cfg.secrets.gitlabApiToken! })
    : undefined;
const localRegistry: pulumi.Output<RegistryCredentials> | undefined = gitlab ? undefined : pulumi.secret(
    cfg.secrets.registryPassword!.apply((password) => ({
        server: cfg.gitlab.registry!,
        username: cfg.gitlab.registryUsername!,
        password,
    })),
);

const services: Record<string, { url: pulumi.Output<string> }> = {};
for (const [project, p] of Object.entries(cfg.projects)) {
    const namespace = new ProjectNamespace(project, { project, client: p.client, environment: env }, { provider });
    // One certificate per host of the project, named by every Ingress on that host.
    const tlsSecrets = new Map<string, pulumi.Output<string>>();
    for (const host of new Set(Object.values(p.services).map((s) => s.host))) {
        tlsSecrets.set(host, new HostCertificate(hostResourceName(project, host), {
            host,
            namespace: namespace.name,
            project,
            client: p.client,
            environment: env,
            clusterIssuer,
        }, { provider }).secretName);
    }
    for (const [service, s] of Object.entries(p.services)) {
        const name = serviceResourceName(project, service);
        const registryCredentials = gitlab
            ? new GitlabRegistryAccess(name, {
                gitlabProject: s.gitlabProject,
                environment: env,
                service,
                registry: cfg.gitlab.registry!,
                expiresAt: cfg.gitlab.deployTokenExpiresAt!,
            }, { provider: gitlab }).registryCredentials
            : localRegistry!;
        const ms = new Microservice(name, {
            service,
            namespace: namespace.name,
            environment: env,
            client: p.client,
            image: s.image ?? `${cfg.gitlab.registry}/${s.gitlabProject}:${env}-latest`,
            replicas: s.replicas,
            port: s.port,
            basePath: s.basePath,
            host: s.host,
            healthPath: s.healthPath,
            config: s.config,
            env: s.env,
            resources: s.resources,
            ingressClassName,
            tlsSecret: tlsSecrets.get(s.host)!,
            registryCredentials,
            skipAwait: cfg.cluster.skipAwait,
        }, { provider });
        if (gitlab && cluster) {
            new GitlabProject(name, {
                gitlabProject: s.gitlabProject,
                environment: env,
                service,
                clusterServer: cluster.apiServerUrl,
                clusterCaCertificate: cluster.caCertificate,
                namespace: ms.namespace,
                deployerToken: ms.deployerToken,
                gitlabDomain: cfg.gitlab.domain!,
                goModulesToken: cfg.secrets.goModulesToken!,
                externalUrl: ms.url,
            }, { provider: gitlab });
        }
        services[`${project}/${service}`] = { url: ms.url };
    }
}

const serviceUrls = Object.fromEntries(Object.entries(services).map(([k, v]) => [k, v.url]));

// Stack outputs. Only a stack with its own cluster has the cluster's: an exported `undefined`
// would make the engine warn on every run of the others (e.g. `local`).
export = {
    environment: env,
    /** The cluster's API server, its nodes' addresses, admin kubeconfig (secret) and monthly cost. */
    ...(cluster && {
        apiServerUrl: cluster.apiServerUrl,
        nodePublicIps: cluster.publicIps,
        nodePrivateIps: cluster.privateIps,
        kubeconfig: cluster.kubeconfig,
        estimatedMonthlyCostUsd: cluster.monthlyCostUsd,
    }),
    serviceUrls,
    /** Addresses every service host must resolve to (none known when the controller is not the stack's). */
    ingressAddresses: ingress?.publicAddresses ?? [],
    /** ClusterIssuer that signs this environment's certificates. */
    certificateIssuer: clusterIssuer,
};
