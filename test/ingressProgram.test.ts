// The program's wiring of the ingress controller and cert-manager into every service's Ingress.
import * as assert from "assert";
import { LETSENCRYPT_ISSUERS } from "../components/platform/certManager";
import { TRAEFIK_INGRESS_CLASS } from "../components/platform/ingress";
import { ofType, placeholderSecrets, ProgramRun, Recorded, runProgram, stackConfig, withObjects } from "../harness/mocks";
import { stackRun } from "../harness/stacks";

/** The only secret the `local` stack reads. */
const SECRETS = placeholderSecrets(["registryPassword"]);

/** The `local` stack (no VMs, no GitLab API) with some structured keys replaced. */
function runLocal(objects: Record<string, unknown>, preview = false): Promise<ProgramRun> {
    return runProgram("local", withObjects({ ...stackConfig("local"), ...SECRETS }, objects), Object.keys(SECRETS), preview);
}

/** Three services on two hosts: two share their project's default host, one has its own. */
const PROJECTS = {
    "the-project": {
        services: {
            "example-microservice": { basePath: "/example/api/endpoint" },
            "second-service": { basePath: "/second" },
        },
    },
    "other-project": { services: { billing: { basePath: "/billing" } } },
};
const INSTALL = {
    projects: PROJECTS,
    ingress: { install: true },
    certManager: { install: true },
    acme: { email: "ops@example.com" },
};

const ingresses = (rs: Recorded[]) => ofType(rs, "kubernetes:networking.k8s.io/v1:Ingress");
const certificates = (rs: Recorded[]) => ofType(rs, "kubernetes:cert-manager.io/v1:Certificate");
/** The ClusterIssuer of the Certificate whose Secret an Ingress serves. */
function issuerOf(rs: Recorded[], ing: Recorded): string {
    const [tls] = ing.inputs.spec.tls;
    const cert = certificates(rs).filter(
        (c) => c.inputs.metadata.namespace === ing.inputs.metadata.namespace && c.inputs.spec.secretName === tls.secretName,
    );
    assert.strictEqual(cert.length, 1, `one Certificate writes the Secret of ${ing.name}`);
    assert.deepStrictEqual(cert[0].inputs.spec.dnsNames, tls.hosts, `the Certificate of ${ing.name} is for exactly its host`);
    return cert[0].inputs.spec.issuerRef.name;
}
const PLATFORM_TYPES = [
    "kubernetes:helm.cattle.io/v1:HelmChartConfig",
    "kubernetes:helm.cattle.io/v1:HelmChart",
    "kubernetes:cert-manager.io/v1:ClusterIssuer",
    "kubernetes:batch/v1:Job",
];

describe("program: ingress controller and cert-manager", () => {
    let installed: ProgramRun;
    before(async () => {
        installed = await runLocal(INSTALL);
    });

    it("when it installs them, every service's Ingress uses the controller's class and the environment's issuer", () => {
        const all = ingresses(installed.resources);
        assert.strictEqual(all.length, 3);
        for (const ing of all) {
            assert.strictEqual(ing.inputs.spec.ingressClassName, TRAEFIK_INGRESS_CLASS, ing.name);
            assert.strictEqual(issuerOf(installed.resources, ing), LETSENCRYPT_ISSUERS.staging.name, ing.name);
        }
    });

    it("the issuers answer HTTP-01 through the same class the services use", () => {
        const issuers = ofType(installed.resources, "kubernetes:cert-manager.io/v1:ClusterIssuer");
        assert.strictEqual(issuers.length, 2);
        for (const i of issuers) {
            assert.strictEqual(i.inputs.spec.acme.solvers[0].http01.ingress.ingressClassName, TRAEFIK_INGRESS_CLASS);
            assert.strictEqual(i.inputs.spec.acme.email, "ops@example.com");
        }
    });

    it("certificates cover exactly each Ingress's hosts, one TLS Secret a host", () => {
        const secretOfHost = new Map<string, string>();
        for (const ing of ingresses(installed.resources)) {
            const hosts = ing.inputs.spec.rules.map((r: any) => r.host);
            assert.deepStrictEqual(
                ing.inputs.spec.tls.flatMap((t: any) => t.hosts),
                hosts,
                ing.name,
            );
            for (const t of ing.inputs.spec.tls) {
                for (const host of t.hosts) {
                    assert.strictEqual(secretOfHost.get(host) ?? t.secretName, t.secretName, `${host} has one Secret`);
                    secretOfHost.set(host, t.secretName);
                }
            }
        }
        assert.deepStrictEqual([...secretOfHost.keys()].sort(), ["api.other-project.local.localtest.me", "api.the-project.local.localtest.me"]);
        assert.strictEqual(new Set(secretOfHost.values()).size, secretOfHost.size, "no two hosts share a Secret");
    });

    it("one Certificate a host of a project, owned by no service: removing a service leaves its host's certificate", async () => {
        const byHost = (rs: Recorded[]) =>
            certificates(rs)
                .map((c) => `${c.inputs.metadata.namespace}/${c.inputs.spec.dnsNames.join(",")}`)
                .sort();
        assert.deepStrictEqual(byHost(installed.resources), [
            "other-project/api.other-project.local.localtest.me",
            "the-project/api.the-project.local.localtest.me",
        ]);
        for (const ing of ingresses(installed.resources)) {
            assert.ok(
                !Object.keys(ing.inputs.metadata.annotations ?? {}).some((k) => k.startsWith("cert-manager.io/")),
                `${ing.name} claims no certificate`,
            );
        }
        const fewer = await runLocal({
            ...INSTALL,
            projects: { ...PROJECTS, "the-project": { services: { "second-service": { basePath: "/second" } } } },
        });
        const kept = certificates(installed.resources).find((c) => c.inputs.metadata.namespace === "the-project")!;
        assert.deepStrictEqual(certificates(fewer.resources).find((c) => c.inputs.metadata.namespace === "the-project")!.inputs, kept.inputs);
    });

    it("exports the issuer the environment's certificates come from", () => {
        assert.strictEqual(installed.outputs.certificateIssuer, LETSENCRYPT_ISSUERS.staging.name);
    });

    it("production certificates when acme.staging is false", async () => {
        const { resources } = await runLocal({ ...INSTALL, acme: { email: "ops@example.com", staging: false } });
        for (const ing of ingresses(resources)) {
            assert.strictEqual(issuerOf(resources, ing), LETSENCRYPT_ISSUERS.prod.name);
        }
    });

    it("manages the controller and cert-manager through the services' own Kubernetes provider", () => {
        const serviceProvider = ingresses(installed.resources)[0].provider;
        for (const type of PLATFORM_TYPES) {
            const found = ofType(installed.resources, type);
            assert.ok(found.length > 0, type);
            for (const r of found) assert.strictEqual(r.provider, serviceProvider, `${type} ${r.name}`);
        }
    });

    it("the same wiring holds in a preview, where nothing exists yet", async () => {
        const { resources } = await runLocal(INSTALL, true);
        for (const ing of ingresses(resources)) {
            assert.strictEqual(ing.inputs.spec.ingressClassName, TRAEFIK_INGRESS_CLASS);
            assert.strictEqual(issuerOf(resources, ing), LETSENCRYPT_ISSUERS.staging.name);
        }
    });

    it("the local path creates neither and uses the class and issuer configured as present", async () => {
        const { resources } = await runLocal({
            projects: PROJECTS,
            ingress: { install: false, className: "contour" },
            certManager: { install: false, issuer: "my-own-issuer" },
        });
        for (const type of PLATFORM_TYPES) assert.deepStrictEqual(ofType(resources, type), [], type);
        assert.ok(!ofType(resources, "kubernetes:core/v1:Namespace").some((n) => n.inputs.metadata.name === "cert-manager"));
        assert.strictEqual(ingresses(resources).length, 3);
        for (const ing of ingresses(resources)) {
            assert.strictEqual(ing.inputs.spec.ingressClassName, "contour");
            assert.strictEqual(issuerOf(resources, ing), "my-own-issuer");
        }
    });

    it("dev: the controller publishes the cluster's node addresses, and both go through the cluster's provider", async () => {
        const { resources, outputs } = await stackRun("dev");
        assert.deepStrictEqual(outputs.ingressAddresses, outputs.nodePublicIps);
        assert.strictEqual(outputs.ingressAddresses.length, 3);
        const clusterProvider = ingresses(resources)[0].provider;
        assert.match(clusterProvider ?? "", /HobbyCluster/);
        for (const type of PLATFORM_TYPES) {
            for (const r of ofType(resources, type)) assert.strictEqual(r.provider, clusterProvider, `${type} ${r.name}`);
        }
        assert.strictEqual(outputs.certificateIssuer, LETSENCRYPT_ISSUERS.staging.name);
    });

    it("the local stack file, as committed, creates neither", async () => {
        const { resources } = await stackRun("local");
        for (const type of PLATFORM_TYPES) assert.deepStrictEqual(ofType(resources, type), [], type);
        assert.ok(ingresses(resources).length > 0);
    });
});
