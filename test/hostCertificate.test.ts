import * as assert from "assert";
import { tlsSecretName } from "../lib/names";
import { HostCertificate } from "../components/platform/hostCertificate";
import { installMocks, ofType, Recorded, runInStack, valueOf } from "../harness/mocks";
import { schemaErrors } from "./helpers/schemas";

const CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate";

async function build(host = "api.the-project.dev.example.com"): Promise<{ resources: Recorded[]; cert: HostCertificate }> {
    const resources = await installMocks("dev");
    let cert!: HostCertificate;
    await runInStack(() => {
        cert = new HostCertificate(`the-project-${host}`, {
            host,
            namespace: "the-project",
            project: "the-project",
            client: "internal",
            environment: "dev",
            clusterIssuer: "letsencrypt-staging",
        });
        return {};
    });
    return { resources, cert };
}

describe("HostCertificate", () => {
    it("asks the environment's ClusterIssuer for a certificate of exactly its host, in the services' namespace", async () => {
        const { resources } = await build();
        const [c] = ofType(resources, CERTIFICATE);
        assert.strictEqual(c.inputs.metadata.namespace, "the-project");
        assert.deepStrictEqual(c.inputs.spec.dnsNames, ["api.the-project.dev.example.com"]);
        assert.deepStrictEqual(c.inputs.spec.issuerRef, { group: "cert-manager.io", kind: "ClusterIssuer", name: "letsencrypt-staging" });
    });

    it("is a valid cert-manager v1 Certificate (the CRD's schema)", async () => {
        const { resources } = await build();
        assert.strictEqual(schemaErrors(ofType(resources, CERTIFICATE)[0].inputs as { apiVersion: string; kind: string }), "");
    });

    it("writes the TLS Secret it exports, labelled app (the project), client and env like the Certificate", async () => {
        const { resources, cert } = await build();
        const [c] = ofType(resources, CERTIFICATE);
        const labels = { app: "the-project", client: "internal", env: "dev" };
        assert.deepStrictEqual(c.inputs.metadata.labels, labels);
        assert.deepStrictEqual(c.inputs.spec.secretTemplate.labels, labels);
        assert.strictEqual(c.inputs.spec.secretName, "api-the-project-dev-example-com-tls");
        assert.strictEqual(await valueOf(cert.secretName), c.inputs.spec.secretName);
    });

    it("names a host's Secret deterministically, and different hosts differently", () => {
        assert.strictEqual(tlsSecretName("api.a.dev.example.com"), tlsSecretName("api.a.dev.example.com"));
        assert.notStrictEqual(tlsSecretName("api.a.dev.example.com"), tlsSecretName("api.b.dev.example.com"));
    });

    it("refuses a host whose TLS Secret name would be longer than Kubernetes allows (253)", async () => {
        await installMocks("dev");
        const host = `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`;
        await assert.rejects(
            runInStack(() => {
                new HostCertificate("long", { host, namespace: "p", project: "p", client: "internal", environment: "dev", clusterIssuer: "x" });
                return {};
            }),
            /invalid arguments: host .* makes the TLS Secret name over 253 characters/,
        );
    });
});
