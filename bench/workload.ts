// The workload both benchmarks declare: N services spread over projects of ten, as the
// program's stack config (the `local` stack: no VMs, no GitLab) and as the same Kubernetes
// objects declared raw with @pulumi/kubernetes, the baseline.
import * as k8s from "@pulumi/kubernetes";
import { tlsSecretName } from "../components/lib/names";
import { stackConfig } from "../test/helpers/mocks";

const SERVICES_PER_PROJECT = 10;

export function serviceNames(n: number): Array<[string, string]> {
    return Array.from({ length: n }, (_, i) => [`project-${Math.floor(i / SERVICES_PER_PROJECT)}`, `service-${i}`]);
}

export function localConfigWith(n: number): Record<string, string> {
    const projects: Record<string, { services: Record<string, unknown> }> = {};
    for (const [project, service] of serviceNames(n)) {
        (projects[project] ??= { services: {} }).services[service] = {
            basePath: `/${service}/api`,
            config: { something: service },
            env: { DEBUG: "false" },
        };
    }
    return { ...stackConfig("local"), "hobby-platform:projects": JSON.stringify(projects) };
}

/** The same objects a Microservice makes, declared directly: the baseline. */
export function declareRaw(n: number): void {
    const namespaces = new Set<string>();
    for (const [project, svc] of serviceNames(n)) {
        const labels = { app: svc, client: "internal", env: "local" };
        const metadata = { name: svc, namespace: project, labels };
        const host = `api.${project}.local.localtest.me`;
        const tlsSecret = tlsSecretName(host);
        if (!namespaces.has(project)) {
            namespaces.add(project);
            const projectLabels = { ...labels, app: project };
            new k8s.core.v1.Namespace(project, { metadata: { name: project, labels: projectLabels } });
            new k8s.apiextensions.CustomResource(`${project}-${host}`, {
                apiVersion: "cert-manager.io/v1",
                kind: "Certificate",
                metadata: { name: tlsSecret, namespace: project, labels: projectLabels },
                spec: {
                    secretName: tlsSecret,
                    dnsNames: [host],
                    issuerRef: { group: "cert-manager.io", kind: "ClusterIssuer", name: "letsencrypt-staging" },
                },
            });
        }
        new k8s.core.v1.ConfigMap(`${project}-${svc}-config`, { metadata, data: { "local_config.yml": `something: ${svc}\n` } });
        new k8s.core.v1.Secret(`${project}-${svc}-regcred`, {
            metadata: { ...metadata, name: `${svc}-regcred` },
            type: "kubernetes.io/dockerconfigjson",
            stringData: { ".dockerconfigjson": "{}" },
        });
        new k8s.core.v1.Service(`${project}-${svc}-service`, {
            metadata,
            spec: { selector: { app: svc }, ports: [{ name: "http", port: 8080, targetPort: "http" }] },
        });
        new k8s.apps.v1.Deployment(`${project}-${svc}-deployment`, {
            metadata,
            spec: {
                replicas: 1,
                selector: { matchLabels: { app: svc } },
                template: {
                    metadata: { labels },
                    spec: {
                        containers: [
                            {
                                name: svc,
                                image: `registry.example.com/${project}/${svc}:local-latest`,
                                ports: [{ name: "http", containerPort: 8080 }],
                            },
                        ],
                    },
                },
            },
        });
        new k8s.networking.v1.Ingress(`${project}-${svc}-ingress`, {
            metadata,
            spec: {
                ingressClassName: "traefik",
                tls: [{ hosts: [host], secretName: tlsSecret }],
                rules: [
                    {
                        host,
                        http: { paths: [{ path: `/${svc}/api`, pathType: "Prefix", backend: { service: { name: svc, port: { name: "http" } } } }] },
                    },
                ],
            },
        });
        const deployer = { ...metadata, name: `${svc}-deployer` };
        new k8s.core.v1.ServiceAccount(`${project}-${svc}-deployer`, { metadata: deployer });
        new k8s.rbac.v1.Role(`${project}-${svc}-deployer`, {
            metadata: deployer,
            rules: [{ apiGroups: ["apps"], resources: ["deployments"], resourceNames: [svc], verbs: ["get", "list", "watch", "patch"] }],
        });
        new k8s.rbac.v1.RoleBinding(`${project}-${svc}-deployer`, {
            metadata: deployer,
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: deployer.name },
            subjects: [{ kind: "ServiceAccount", name: deployer.name, namespace: project }],
        });
        new k8s.core.v1.Secret(`${project}-${svc}-deployer-token`, {
            metadata: { ...deployer, name: `${svc}-deployer-token`, annotations: { "kubernetes.io/service-account.name": deployer.name } },
            type: "kubernetes.io/service-account-token",
        });
    }
}
