import Ajv2020 from "ajv/dist/2020";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { ClusterIngress, ClusterIngressArgs, TRAEFIK_INGRESS_CLASS, traefikValues } from "../components/platform/ingress";
import { installMocks, Recorded, ROOT, runInStack, valueOf } from "../harness/mocks";

interface Built {
    resources: Recorded[];
    ingress: ClusterIngress;
}

async function build(overrides: Partial<ClusterIngressArgs> = {}, preview = false): Promise<Built> {
    const resources = await installMocks("dev", preview);
    let ingress!: ClusterIngress;
    await runInStack(() => {
        ingress = new ClusterIngress("ingress", {
            environment: "dev",
            client: "internal",
            publicAddresses: ["203.0.113.10", "203.0.113.11", "203.0.113.12"],
            ...overrides,
        });
        return {};
    });
    return { resources, ingress };
}

const traefikConfig = (rs: Recorded[]) => {
    const found = rs.filter((r) => r.type === "kubernetes:helm.cattle.io/v1:HelmChartConfig");
    assert.strictEqual(found.length, 1);
    return found[0];
};
const values = (rs: Recorded[]) => YAML.parse(traefikConfig(rs).inputs.spec.valuesContent);

describe("ClusterIngress (k3s's Traefik)", () => {
    let built: Built;
    before(async () => {
        built = await build();
    });

    it("configures k3s's bundled Traefik through the HelmChartConfig k3s merges into its chart", () => {
        const config = traefikConfig(built.resources);
        assert.strictEqual(config.inputs.apiVersion, "helm.cattle.io/v1");
        assert.deepStrictEqual([config.inputs.metadata.name, config.inputs.metadata.namespace], ["traefik", "kube-system"]);
        assert.deepStrictEqual(config.inputs.metadata.labels, { app: "traefik", client: "internal", env: "dev" });
    });

    it("renders and downloads nothing itself (no Helm chart or release resource), so preview is offline", () => {
        const types = built.resources.map((r) => r.type);
        assert.deepStrictEqual(
            types.filter((t) => t.startsWith("kubernetes:")),
            ["kubernetes:helm.cattle.io/v1:HelmChartConfig"],
        );
        assert.ok(!types.some((t) => t.includes("helm.sh")), types.join(", "));
    });

    it("redirects plain HTTP permanently to HTTPS on the Service's port 443, and writes access logs (Traefik's own flags)", () => {
        assert.deepStrictEqual(values(built.resources).additionalArguments, [
            "--entryPoints.web.http.redirections.entryPoint.to=:443",
            "--entryPoints.web.http.redirections.entryPoint.scheme=https",
            "--entryPoints.web.http.redirections.entryPoint.permanent=true",
            "--accesslog=true",
        ]);
    });

    it("runs on every node and keeps clients' source addresses (no proxy protocol, no host network)", () => {
        const v = values(built.resources);
        assert.strictEqual(v.deployment.kind, "DaemonSet");
        assert.strictEqual(v.service.spec.externalTrafficPolicy, "Local");
        assert.strictEqual(v.hostNetwork, undefined);
        assert.strictEqual(JSON.stringify(v).includes("proxyProtocol"), false);
    });

    it("pins the IngressClass name it exposes, as the default class", async () => {
        const v = values(built.resources);
        assert.deepStrictEqual(v.ingressClass, { enabled: true, isDefaultClass: true, name: TRAEFIK_INGRESS_CLASS });
        assert.strictEqual(await valueOf(built.ingress.ingressClassName), TRAEFIK_INGRESS_CLASS);
    });

    it("writes the published addresses into every Ingress's status, which Pulumi waits for", () => {
        assert.strictEqual(values(built.resources).providers.kubernetesIngress.publishedService.enabled, true);
    });

    it("exposes the nodes' public addresses as the targets for DNS", async () => {
        assert.deepStrictEqual(await valueOf(built.ingress.publicAddresses), ["203.0.113.10", "203.0.113.11", "203.0.113.12"]);
        assert.deepStrictEqual(await valueOf((await build({ publicAddresses: undefined })).ingress.publicAddresses), []);
    });

    it("knows the class name in a preview, before anything exists", async () => {
        const { ingress } = await build({}, true);
        assert.strictEqual(await valueOf(ingress.ingressClassName), TRAEFIK_INGRESS_CLASS);
    });

    it("can serve plain HTTP and skip access logs when asked", async () => {
        const v = values((await build({ redirectToHttps: false, accessLogs: false })).resources);
        assert.deepStrictEqual(v.additionalArguments, []);
    });
});

describe("Traefik values across the chart majors k3s bundles (a k3s upgrade must not fail Traefik's upgrade Job)", () => {
    const schemas = [
        ...fs
            .readdirSync(path.join(ROOT, "test", "fixtures", "traefik-chart-schemas"))
            .filter((f) => f.endsWith(".json"))
            .map((f) => ({ chart: f.replace(/\.json$/, ""), file: path.join(ROOT, "test", "fixtures", "traefik-chart-schemas", f) })),
        { chart: "v39.0.7 (the local cluster's)", file: path.join(ROOT, "scripts", "local-cluster", "charts", "traefik", "values.schema.json") },
    ];
    const variants = [traefikValues({}), traefikValues({ redirectToHttps: false, accessLogs: false })];

    /** Paths of the leaves of `value` that `schema` does not declare (an undeclared key is refused or ignored). */
    function undeclared(schema: any, value: unknown, at: string[] = []): string[] {
        if (value === null || typeof value !== "object" || Array.isArray(value)) return [];
        return Object.entries(value).flatMap(([k, v]) => {
            const key = [...at, k].join(".");
            const sub = schema?.properties?.[k];
            if (sub === undefined) return [key];
            // Copied whole into the Service's spec (templates/_service.tpl `with .service.spec`).
            return key === "service.spec" ? [] : undeclared(sub, v, [...at, k]);
        });
    }

    for (const { chart, file } of schemas) {
        it(`chart ${chart}: its schema accepts them, and declares every key they set`, () => {
            const schema = JSON.parse(fs.readFileSync(file, "utf8"));
            const validate = new Ajv2020({ strict: false, allErrors: true }).compile(schema);
            for (const v of variants) {
                assert.ok(validate(v), JSON.stringify(validate.errors, null, 1));
                assert.deepStrictEqual(undeclared(schema, v), []);
            }
        });
    }
});
