// Program evaluation under Pulumi's mocks: the whole program (config validation, components)
// for N services, against the same Kubernetes objects declared raw, in the same mocks.
// Run with `npm run bench`; numbers depend on the machine, the ratio is what to watch.
import * as k8s from "@pulumi/kubernetes";
import { SECRET_KEYS } from "../config";
import { installMocks, placeholderSecrets, runInStack, runProgram, stackConfig } from "../test/helpers/mocks";

const SIZES = (process.env.BENCH_SIZES ?? "1,10,100,500").split(",").map(Number);
const SERVICES_PER_PROJECT = 10;

function serviceNames(n: number): Array<[string, string]> {
    return Array.from({ length: n }, (_, i) => [`project-${Math.floor(i / SERVICES_PER_PROJECT)}`, `service-${i}`]);
}

function localConfigWith(n: number): Record<string, string> {
    const projects: Record<string, { services: Record<string, unknown> }> = {};
    for (const [project, service] of serviceNames(n)) {
        (projects[project] ??= { services: {} }).services[service] = {
            basePath: `/${service}/api`, config: { something: service }, env: { DEBUG: "false" },
        };
    }
    return { ...stackConfig("local"), "hobby-platform:projects": JSON.stringify(projects) };
}

/** The same objects a Microservice makes, declared directly: the baseline. */
function declareRaw(n: number): void {
    const namespaces = new Set<string>();
    for (const [project, svc] of serviceNames(n)) {
        const labels = { app: svc, client: "internal", env: "local" };
        const metadata = { name: svc, namespace: project, labels };
        if (!namespaces.has(project)) {
            namespaces.add(project);
            new k8s.core.v1.Namespace(project, { metadata: { name: project, labels: { ...labels, app: project } } });
        }
        new k8s.core.v1.ConfigMap(`${project}-${svc}-config`, { metadata, data: { "local_config.yml": `something: ${svc}\n` } });
        new k8s.core.v1.Secret(`${project}-${svc}-regcred`, { metadata: { ...metadata, name: `${svc}-regcred` }, type: "kubernetes.io/dockerconfigjson", stringData: { ".dockerconfigjson": "{}" } });
        new k8s.core.v1.Service(`${project}-${svc}-service`, { metadata, spec: { selector: { app: svc }, ports: [{ name: "http", port: 8080, targetPort: "http" }] } });
        new k8s.apps.v1.Deployment(`${project}-${svc}-deployment`, {
            metadata,
            spec: {
                replicas: 1, selector: { matchLabels: { app: svc } },
                template: { metadata: { labels }, spec: { containers: [{ name: svc, image: `registry.example.com/${project}/${svc}:local-latest`, ports: [{ name: "http", containerPort: 8080 }] }] } },
            },
        });
        new k8s.networking.v1.Ingress(`${project}-${svc}-ingress`, {
            metadata,
            spec: { ingressClassName: "traefik", rules: [{ host: `api.${project}.local.localtest.me`, http: { paths: [{ path: `/${svc}/api`, pathType: "Prefix", backend: { service: { name: svc, port: { name: "http" } } } }] } }] },
        });
        const deployer = { ...metadata, name: `${svc}-deployer` };
        new k8s.core.v1.ServiceAccount(`${project}-${svc}-deployer`, { metadata: deployer });
        new k8s.rbac.v1.Role(`${project}-${svc}-deployer`, { metadata: deployer, rules: [{ apiGroups: ["apps"], resources: ["deployments"], resourceNames: [svc], verbs: ["get", "list", "watch", "patch"] }] });
        new k8s.rbac.v1.RoleBinding(`${project}-${svc}-deployer`, { metadata: deployer, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: deployer.name }, subjects: [{ kind: "ServiceAccount", name: deployer.name, namespace: project }] });
        new k8s.core.v1.Secret(`${project}-${svc}-deployer-token`, { metadata: { ...deployer, name: `${svc}-deployer-token`, annotations: { "kubernetes.io/service-account.name": deployer.name } }, type: "kubernetes.io/service-account-token" });
    }
}

interface Measure { ms: number; mib: number; resources: number }

async function measure(run: () => Promise<number>): Promise<Measure> {
    global.gc?.();
    const heap = process.memoryUsage().heapUsed;
    const start = process.hrtime.bigint();
    const resources = await run();
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const mib = (process.memoryUsage().heapUsed - heap) / 2 ** 20;
    return { ms, mib, resources };
}

async function main(): Promise<void> {
    if (!global.gc) console.warn("(run with --expose-gc for steadier memory figures: npm run bench does)");
    const secrets = placeholderSecrets(Object.values(SECRET_KEYS));
    // Warm up module loading and the mocks once, so the first row is not all start-up.
    await runProgram("local", { ...localConfigWith(1), ...secrets }, Object.keys(secrets));

    const rows: string[][] = [];
    for (const n of SIZES) {
        const program = await measure(async () => (await runProgram("local", { ...localConfigWith(n), ...secrets }, Object.keys(secrets))).resources.length);
        const raw = await measure(async () => {
            const resources = await installMocks("local");
            await runInStack(() => { declareRaw(n); return {}; });
            return resources.length;
        });
        rows.push([
            String(n), String(program.resources), program.ms.toFixed(0), (program.ms / n).toFixed(2), (program.mib * 1024 / n).toFixed(0),
            String(raw.resources), raw.ms.toFixed(0), (raw.ms / n).toFixed(2), (raw.mib * 1024 / n).toFixed(0), (program.ms / raw.ms).toFixed(2),
        ]);
    }
    const header = ["services", "resources", "program ms", "ms/svc", "KiB/svc", "raw resources", "raw ms", "raw ms/svc", "raw KiB/svc", "time ratio"];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) => "| " + cells.map((c, i) => c.padStart(widths[i])).join(" | ") + " |";
    console.log(line(header));
    console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|");
    for (const r of rows) console.log(line(r));
}

main().catch((e) => { console.error(e); process.exit(1); });
