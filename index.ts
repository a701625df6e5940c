// Reads the validated configuration and composes the components; nothing else happens here.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { loadConfig } from "./config";
import { Microservice, RegistryCredentials } from "./components/microservice";
import { ProjectNamespace } from "./components/projectNamespace";

const cfg = loadConfig();
const env = cfg.environment;

// Kubernetes access: the stack's own cluster, or (cluster.enabled false) the current kubeconfig.
const provider = new k8s.Provider("k8s", {
    context: cfg.cluster.kubeContext,
    enableServerSideApply: true,
});

// Ingress class and certificate issuer the services use.
const ingressClassName: pulumi.Input<string> = cfg.ingress.className!;
const clusterIssuer: pulumi.Input<string> = cfg.certManager.issuer!;

const localRegistry: pulumi.Output<RegistryCredentials> = pulumi.secret(
    cfg.secrets.registryPassword!.apply((password) => ({
        server: cfg.gitlab.registry!,
        username: cfg.gitlab.registryUsername!,
        password,
    })),
);

const services: Record<string, { url: pulumi.Output<string> }> = {};
for (const [project, p] of Object.entries(cfg.projects)) {
    const namespace = new ProjectNamespace(project, { project, client: p.client, environment: env }, { provider });
    for (const [service, s] of Object.entries(p.services)) {
        const ms = new Microservice(`${project}-${service}`, {
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
            clusterIssuer,
            registryCredentials: localRegistry,
        }, { provider });
        services[`${project}/${service}`] = { url: ms.url };
    }
}

export const environment = env;
export const serviceUrls = Object.fromEntries(Object.entries(services).map(([k, v]) => [k, v.url]));
