import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { CERT_MANAGER_VERSION, CertManager, CertManagerArgs, LETSENCRYPT_ISSUERS } from "../components/platform/certManager";
import { installMocks, ofType, Recorded, runInStack, valueOf } from "../harness/mocks";

interface Built {
    resources: Recorded[];
    cm: CertManager;
}

const base: CertManagerArgs = { email: "ops@example.com", ingressClassName: "traefik", staging: true, environment: "dev", client: "internal" };

async function build(overrides: Partial<CertManagerArgs> = {}, preview = false): Promise<Built> {
    const resources = await installMocks("dev", preview);
    let cm!: CertManager;
    await runInStack(() => {
        cm = new CertManager("cert-manager", { ...base, ...overrides });
        return {};
    });
    return { resources, cm };
}

const one = (rs: Recorded[], type: string) => {
    const found = ofType(rs, type);
    assert.strictEqual(found.length, 1, `expected one ${type}, found ${found.length}`);
    return found[0];
};
const issuers = (rs: Recorded[]) => ofType(rs, "kubernetes:cert-manager.io/v1:ClusterIssuer");
const issuer = (rs: Recorded[], name: string) => issuers(rs).find((r) => r.inputs.metadata.name === name)!;
const chart = (rs: Recorded[]) => one(rs, "kubernetes:helm.cattle.io/v1:HelmChart");
const apiCheck = (rs: Recorded[]) => one(rs, "kubernetes:batch/v1:Job");
/** `type::name` of each resource a record's `dependsOn` names. */
async function dependsOn(r: Recorded): Promise<string[]> {
    const deps = [r.opts.dependsOn ?? []].flat() as pulumi.Resource[];
    const urns = await Promise.all(deps.map((d) => valueOf(d.urn)));
    return urns.map((urn) => urn.split("::").slice(-2).join("::").replace(/^.*\$/, ""));
}

describe("CertManager", () => {
    let built: Built;
    before(async () => {
        built = await build();
    });

    it("installs cert-manager with its CRDs through k3s's in-cluster Helm controller (nothing rendered at preview)", () => {
        const c = chart(built.resources);
        assert.strictEqual(c.inputs.apiVersion, "helm.cattle.io/v1");
        assert.deepStrictEqual([c.inputs.spec.repo, c.inputs.spec.chart], ["https://charts.jetstack.io", "cert-manager"]);
        assert.strictEqual(c.inputs.spec.targetNamespace, "cert-manager");
        assert.strictEqual(YAML.parse(c.inputs.spec.valuesContent).crds.enabled, true);
        assert.ok(!built.resources.some((r) => r.type.includes("helm.sh")), "no Pulumi-side Helm chart or release");
    });

    it("keeps the CRDs (and so every certificate) if the release is uninstalled", () => {
        assert.strictEqual(YAML.parse(chart(built.resources).inputs.spec.valuesContent).crds.keep, true);
    });

    it("pins one exact release for the chart and the API check image", () => {
        assert.match(CERT_MANAGER_VERSION, /^v\d+\.\d+\.\d+$/);
        assert.strictEqual(chart(built.resources).inputs.spec.version, CERT_MANAGER_VERSION);
        const image = apiCheck(built.resources).inputs.spec.template.spec.containers[0].image;
        assert.strictEqual(image, `quay.io/jetstack/cert-manager-startupapicheck:${CERT_MANAGER_VERSION}`);
    });

    it("upgrading the release re-runs the API check (a new Job a release)", async () => {
        const upgraded = await build({ version: "v1.99.0" });
        assert.strictEqual(chart(upgraded.resources).inputs.spec.version, "v1.99.0");
        const job = apiCheck(upgraded.resources).inputs;
        assert.strictEqual(job.metadata.name, "cert-manager-api-check-v1-99-0");
        assert.notStrictEqual(job.metadata.name, apiCheck(built.resources).inputs.metadata.name);
    });

    it("refuses a version that is not an exact release", async () => {
        await assert.rejects(build({ version: "latest" }), /version must be a cert-manager release such as "v\d+\.\d+\.\d+", got "latest"/);
    });

    it("creates both ClusterIssuers, each on its own Let's Encrypt directory and account key", () => {
        assert.deepStrictEqual(
            issuers(built.resources)
                .map((r) => r.inputs.metadata.name)
                .sort(),
            ["letsencrypt-prod", "letsencrypt-staging"],
        );
        const staging = issuer(built.resources, "letsencrypt-staging").inputs.spec.acme;
        const prod = issuer(built.resources, "letsencrypt-prod").inputs.spec.acme;
        assert.strictEqual(staging.server, "https://acme-staging-v02.api.letsencrypt.org/directory");
        assert.strictEqual(prod.server, "https://acme-v02.api.letsencrypt.org/directory");
        assert.notStrictEqual(staging.privateKeySecretRef.name, prod.privateKeySecretRef.name);
    });

    it("registers the configured e-mail and solves HTTP-01 through the ingress class, opening no NodePort", () => {
        for (const r of issuers(built.resources)) {
            assert.strictEqual(r.inputs.spec.acme.email, "ops@example.com");
            assert.deepStrictEqual(r.inputs.spec.acme.solvers, [{ http01: { ingress: { ingressClassName: "traefik", serviceType: "ClusterIP" } } }]);
        }
    });

    it("creates the issuers only after the API check Job, which waits for the CRDs and the webhook", async () => {
        const job = apiCheck(built.resources);
        for (const r of issuers(built.resources)) {
            assert.deepStrictEqual(await dependsOn(r), [`kubernetes:batch/v1:Job::${job.name}`], r.name);
        }
        // Pulumi waits for a Job to complete; nothing here asks it to skip that wait.
        assert.strictEqual(job.inputs.metadata.annotations?.["pulumi.com/skipAwait"], undefined);
        assert.ok(job.opts.customTimeouts?.create, "a create timeout long enough for a first install");
        const c = job.inputs.spec.template.spec.containers[0];
        assert.deepStrictEqual(c.args.slice(0, 2), ["check", "api"]);
        assert.match(c.args[2], /^--wait=\d+m$/);
        // The check starts once its chart is declared and its permission granted.
        const binding = one(built.resources, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding");
        assert.deepStrictEqual((await dependsOn(job)).sort(), [
            `kubernetes:helm.cattle.io/v1:HelmChart::${chart(built.resources).name}`,
            `kubernetes:rbac.authorization.k8s.io/v1:RoleBinding::${binding.name}`,
        ]);
    });

    it("lets the API check do nothing but create the CertificateRequests it dry-runs, in cert-manager's namespace", () => {
        // cmapichecker (v1.16 on) dry-run creates CertificateRequests; a Role for Certificates
        // alone made every check Forbidden, and so the first `up` never got to the issuers.
        // test/upstream compares this with the chart's own startupapicheck Role.
        const role = one(built.resources, "kubernetes:rbac.authorization.k8s.io/v1:Role").inputs;
        assert.strictEqual(role.metadata.namespace, "cert-manager");
        assert.deepStrictEqual(role.rules, [{ apiGroups: ["cert-manager.io"], resources: ["certificaterequests"], verbs: ["create"] }]);
        const binding = one(built.resources, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding").inputs;
        assert.deepStrictEqual(binding.subjects, [{ kind: "ServiceAccount", name: "cert-manager-api-check", namespace: "cert-manager" }]);
        const pod = apiCheck(built.resources).inputs.spec.template.spec;
        assert.strictEqual(pod.serviceAccountName, "cert-manager-api-check");
        assert.strictEqual(pod.securityContext.runAsNonRoot, true);
        assert.deepStrictEqual(pod.containers[0].securityContext, {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
        });
    });

    it("exposes the issuer this environment uses: staging when asked, prod otherwise", async () => {
        assert.strictEqual(await valueOf(built.cm.clusterIssuer), LETSENCRYPT_ISSUERS.staging.name);
        assert.strictEqual(await valueOf((await build({ staging: false })).cm.clusterIssuer), LETSENCRYPT_ISSUERS.prod.name);
    });

    it("knows the issuer name in a preview, before cert-manager exists", async () => {
        assert.strictEqual(await valueOf((await build({}, true)).cm.clusterIssuer), "letsencrypt-staging");
    });

    it("labels every object app, client and env", () => {
        for (const r of built.resources.filter((x) => x.type.startsWith("kubernetes:"))) {
            assert.deepStrictEqual(r.inputs.metadata.labels, { app: "cert-manager", client: "internal", env: "dev" }, `${r.type} ${r.name}`);
        }
    });
});
