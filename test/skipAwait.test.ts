// `cluster.skipAwait`: the one switch the engine tests' loopback API server (no kubelet, so no
// pod ever becomes ready) needs, reaching every awaited object through index.ts, and refused
// where pods do run.
import * as assert from "assert";
import { ConfigError, parseConfig, SECRET_KEYS } from "../config";
import { FIRST_BUILD_PATH } from "../components/workload/microservice";
import { ofType, placeholderSecrets, Recorded, runProgram, stackConfig, withObjects } from "../harness/mocks";

const SECRETS = placeholderSecrets(Object.values(SECRET_KEYS));
const AWAITED = ["kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service", "kubernetes:networking.k8s.io/v1:Ingress"];

async function local(cluster: Record<string, unknown>): Promise<Recorded[]> {
    const config = withObjects({ ...stackConfig("local"), ...SECRETS }, { cluster: { enabled: false, ...cluster } });
    return (await runProgram("local", config, Object.keys(SECRETS))).resources;
}

const skipAwait = (r: Recorded) => r.inputs.metadata?.annotations?.["pulumi.com/skipAwait"];

describe("cluster.skipAwait (API servers with no kubelets)", () => {
    it("marks the Deployment, Service and Ingress of every service skipAwait when set", async () => {
        const resources = await local({ skipAwait: true });
        for (const type of AWAITED) {
            const found = ofType(resources, type);
            assert.ok(found.length > 0, type);
            for (const r of found) assert.strictEqual(skipAwait(r), "true", `${type} ${r.name}`);
        }
    });

    it("keeps the Deployment's mark on every up when set (nothing removes it), where by default it is the creation's only", async () => {
        const marked = (resources: Recorded[]) => ofType(resources, "kubernetes:apps/v1:Deployment")[0].opts.ignoreChanges ?? [];
        assert.ok(!marked(await local({ skipAwait: true })).includes(FIRST_BUILD_PATH));
        assert.ok(marked(await local({})).includes(FIRST_BUILD_PATH));
    });

    it("marks nothing else skipAwait by default: only the three objects whose readiness is the pods'", async () => {
        const resources = await local({});
        for (const r of resources.filter((x) => x.type.startsWith("kubernetes:") && !AWAITED.includes(x.type))) {
            assert.strictEqual(skipAwait(r), undefined, `${r.type} ${r.name}`);
        }
    });

    it("is refused for the stack's own cluster, naming the key", () => {
        const input = {
            environment: "dev",
            domain: "example.com",
            cluster: { region: "ams", adminCidrs: ["203.0.113.0/24"], skipAwait: true },
            gitlab: { domain: "gitlab.example.com", registry: "registry.example.com", deployTokenExpiresAt: "2027-06-30" },
            acme: { email: "ops@example.com" },
            projects: { "the-project": { services: { svc: { basePath: "/svc", config: {}, env: {} } } } },
        };
        assert.throws(
            () => parseConfig(input, () => "placeholder", "2026-12-02"),
            (e: unknown) =>
                e instanceof ConfigError &&
                e.problems.some((p) => p.startsWith("hobby-platform:cluster.skipAwait: only for an API server with no kubelets")),
        );
    });
});
