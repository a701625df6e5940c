import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { installMocks, isSecret, ofType, Recorded, runInStack, valueOf } from "../harness/mocks";
import { IMAGE_PATH, Microservice, MicroserviceArgs } from "../components/workload/microservice";
import { ProjectNamespace } from "../components/workload/projectNamespace";

const base: Omit<MicroserviceArgs, "namespace"> = {
    service: "example-microservice",
    environment: "dev",
    client: "internal",
    image: "registry.example.com/the-project/example-microservice:dev-latest",
    replicas: 2,
    port: 8080,
    basePath: "/example/api/endpoint",
    host: "api.the-project.dev.example.com",
    config: { something: "x", token: "t", cassandra: { hosts: ["c1"], keyspace: "k" } },
    env: { DEBUG: "true" },
    resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "128Mi" } },
    ingressClassName: "traefik",
    tlsSecret: "api-the-project-dev-example-com-tls",
    registryCredentials: pulumi.secret({ server: "registry.example.com", username: "gitlab+deploy-token-1", password: "s3cr3t-pass" }),
};

interface Built {
    resources: Recorded[];
    ms: Microservice;
}

async function build(overrides: Partial<MicroserviceArgs> = {}, preview = false): Promise<Built> {
    const resources = await installMocks("dev", preview);
    let ms!: Microservice;
    await runInStack(() => {
        const ns = new ProjectNamespace("the-project", { project: "the-project", client: "internal", environment: "dev" });
        ms = new Microservice("the-project-example-microservice", { ...base, namespace: ns.name, ...overrides });
        return {};
    });
    return { resources, ms };
}

const one = (rs: Recorded[], type: string, name?: string) => {
    const found = ofType(rs, type).filter((r) => name === undefined || r.inputs.metadata?.name === name);
    assert.strictEqual(found.length, 1, `expected one ${type} ${name ?? ""}, found ${found.length}`);
    return found[0];
};
const container = (rs: Recorded[]) => one(rs, "kubernetes:apps/v1:Deployment").inputs.spec.template.spec.containers[0];

describe("Microservice", () => {
    let built: Built;
    before(async () => {
        built = await build();
    });

    it("creates the seed's objects, each named after the service, in the project's namespace", () => {
        for (const type of [
            "kubernetes:core/v1:Service",
            "kubernetes:core/v1:ConfigMap",
            "kubernetes:apps/v1:Deployment",
            "kubernetes:networking.k8s.io/v1:Ingress",
        ]) {
            const r = one(built.resources, type);
            assert.strictEqual(r.inputs.metadata.name, "example-microservice", type);
            assert.strictEqual(r.inputs.metadata.namespace, "the-project", type);
        }
        assert.strictEqual(one(built.resources, "kubernetes:core/v1:Namespace").inputs.metadata.name, "the-project");
    });

    it("labels every object app, client and env", () => {
        const k8sObjects = built.resources.filter((r) => r.type.startsWith("kubernetes:"));
        assert.ok(k8sObjects.length >= 10);
        for (const r of k8sObjects) {
            const l = r.inputs.metadata.labels;
            assert.ok(l.app && l.client === "internal" && l.env === "dev", `${r.type} ${r.name}: ${JSON.stringify(l)}`);
        }
        const svcObjects = k8sObjects.filter((r) => r.type !== "kubernetes:core/v1:Namespace");
        for (const r of svcObjects) assert.strictEqual(r.inputs.metadata.labels.app, "example-microservice");
    });

    it("uses one namespace value for all objects (the seed's Deployment said `fuse`)", () => {
        const namespaces = new Set(built.resources.filter((r) => r.inputs.metadata?.namespace).map((r) => r.inputs.metadata.namespace));
        assert.deepStrictEqual([...namespaces], ["the-project"]);
    });

    it("exposes the service as a ClusterIP Service on the container port", () => {
        const s = one(built.resources, "kubernetes:core/v1:Service").inputs.spec;
        assert.strictEqual(s.type, "ClusterIP");
        assert.deepStrictEqual(s.selector, { app: "example-microservice" });
        assert.strictEqual(s.ports[0].port, 8080);
        assert.strictEqual(s.ports[0].targetPort, "http");
    });

    it("renders the service config to <env>_config.yml", () => {
        const cm = one(built.resources, "kubernetes:core/v1:ConfigMap").inputs;
        assert.deepStrictEqual(Object.keys(cm.data), ["dev_config.yml"]);
        assert.deepStrictEqual(YAML.parse(cm.data["dev_config.yml"]), base.config);
    });

    it("names the container after the service, so `kubectl set image deployment/S S=...` works", () => {
        assert.strictEqual(container(built.resources).name, "example-microservice");
        assert.strictEqual(one(built.resources, "kubernetes:apps/v1:Deployment").inputs.metadata.name, "example-microservice");
    });

    it("runs the image always pulled, with the pull Secret and the config mounted at /configs", () => {
        const d = one(built.resources, "kubernetes:apps/v1:Deployment").inputs.spec;
        const c = container(built.resources);
        assert.strictEqual(d.replicas, 2);
        assert.strictEqual(c.image, base.image);
        assert.strictEqual(c.imagePullPolicy, "Always");
        assert.deepStrictEqual(d.template.spec.imagePullSecrets, [{ name: "example-microservice-regcred" }]);
        assert.deepStrictEqual(c.volumeMounts, [{ name: "configs", mountPath: "/configs", readOnly: true }]);
        assert.strictEqual(d.template.spec.volumes[0].configMap.name, "example-microservice");
        // By name, known at preview (an unknown one would make the provider replace the Deployment),
        // and created after the ConfigMap.
        assert.ok(
            ((one(built.resources, "kubernetes:apps/v1:Deployment").opts.dependsOn ?? []) as any[]).some(
                (r) => r.__name === "the-project-example-microservice-config",
            ),
        );
    });

    it("sets BASE_PATH, CONFIG, DEBUG, PORT and AGENT (the pod name) as in the seed", () => {
        const env = Object.fromEntries(container(built.resources).env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
        assert.strictEqual(env.BASE_PATH, "/example/api/endpoint");
        assert.strictEqual(env.CONFIG, "/configs/dev_config.yml");
        assert.strictEqual(env.DEBUG, "true");
        assert.strictEqual(env.PORT, "8080");
        assert.deepStrictEqual(env.AGENT, { fieldRef: { fieldPath: "metadata.name" } });
    });

    it("rolls out with no unavailable pod and probes readiness and liveness", () => {
        const d = one(built.resources, "kubernetes:apps/v1:Deployment").inputs.spec;
        assert.deepStrictEqual(d.strategy, { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
        const c = container(built.resources);
        assert.deepStrictEqual(c.readinessProbe.tcpSocket, { port: "http" });
        assert.deepStrictEqual(c.livenessProbe.tcpSocket, { port: "http" });
    });

    it("probes over HTTP when a health path is configured", async () => {
        const { resources } = await build({ healthPath: "/healthz" });
        assert.deepStrictEqual(container(resources).readinessProbe.httpGet, { path: "/healthz", port: "http" });
    });

    it("runs as non-root with no privileges, requests and limits (pod security `restricted`)", () => {
        const pod = one(built.resources, "kubernetes:apps/v1:Deployment").inputs.spec.template.spec;
        const c = container(built.resources);
        assert.strictEqual(pod.securityContext.runAsNonRoot, true);
        assert.ok(pod.securityContext.runAsUser > 0);
        assert.strictEqual(pod.securityContext.seccompProfile.type, "RuntimeDefault");
        assert.strictEqual(pod.automountServiceAccountToken, false);
        assert.strictEqual(c.securityContext.allowPrivilegeEscalation, false);
        assert.deepStrictEqual(c.securityContext.capabilities.drop, ["ALL"]);
        assert.deepStrictEqual(c.resources, base.resources);
        const ns = one(built.resources, "kubernetes:core/v1:Namespace").inputs.metadata.labels;
        assert.strictEqual(ns["pod-security.kubernetes.io/enforce"], "restricted");
    });

    it("rolls the pods when the config changes (checksum annotation)", async () => {
        const a = one(built.resources, "kubernetes:apps/v1:Deployment").inputs.spec.template.metadata.annotations;
        const other = await build({ config: { something: "changed" } });
        const b = one(other.resources, "kubernetes:apps/v1:Deployment").inputs.spec.template.metadata.annotations;
        assert.notStrictEqual(a["hobby-platform/config-sha256"], b["hobby-platform/config-sha256"]);
    });

    it("keeps the image CI rolled out: the stack ignores later changes of the container image", () => {
        const d = one(built.resources, "kubernetes:apps/v1:Deployment");
        assert.deepStrictEqual(d.opts.ignoreChanges, [IMAGE_PATH]);
        assert.strictEqual(IMAGE_PATH, "spec.template.spec.containers[0].image");
    });

    it("routes the base path of the host through networking.k8s.io/v1 with the given class", () => {
        const ing = one(built.resources, "kubernetes:networking.k8s.io/v1:Ingress").inputs;
        assert.strictEqual(ing.apiVersion, "networking.k8s.io/v1");
        assert.strictEqual(ing.spec.ingressClassName, "traefik");
        const rule = ing.spec.rules[0];
        assert.strictEqual(rule.host, "api.the-project.dev.example.com");
        assert.strictEqual(rule.http.paths[0].path, "/example/api/endpoint");
        assert.strictEqual(rule.http.paths[0].pathType, "Prefix");
        assert.deepStrictEqual(rule.http.paths[0].backend.service, { name: "example-microservice", port: { name: "http" } });
    });

    it("serves TLS for exactly its host from the host's Secret, and claims no certificate of its own", () => {
        const ing = one(built.resources, "kubernetes:networking.k8s.io/v1:Ingress").inputs;
        assert.deepStrictEqual(ing.spec.tls, [{ hosts: [ing.spec.rules[0].host], secretName: "api-the-project-dev-example-com-tls" }]);
        // The host's HostCertificate owns the certificate; an ingress-shim annotation would make
        // this Ingress claim it too.
        assert.ok(!Object.keys(ing.metadata.annotations ?? {}).some((k) => k.startsWith("cert-manager.io/")));
    });

    it("builds a dockerconfigjson pull Secret from the registry credentials", () => {
        const s = one(built.resources, "kubernetes:core/v1:Secret", "example-microservice-regcred").inputs;
        assert.strictEqual(s.type, "kubernetes.io/dockerconfigjson");
        const cfg = JSON.parse(s.stringData[".dockerconfigjson"]);
        const entry = cfg.auths["registry.example.com"];
        assert.strictEqual(entry.username, "gitlab+deploy-token-1");
        assert.strictEqual(Buffer.from(entry.auth, "base64").toString(), "gitlab+deploy-token-1:s3cr3t-pass");
    });

    it("pull secret is never a plain output: its content goes to the engine as a secret", async () => {
        const s = one(built.resources, "kubernetes:core/v1:Secret", "example-microservice-regcred");
        assert.deepStrictEqual(await s.secretInputs, ["stringData"]);
    });

    it("deployer Role cannot read secrets: only get/list/watch/patch on its own Deployment", () => {
        const role = one(built.resources, "kubernetes:rbac.authorization.k8s.io/v1:Role").inputs;
        assert.strictEqual(role.apiVersion, "rbac.authorization.k8s.io/v1");
        assert.deepStrictEqual(role.rules, [
            {
                apiGroups: ["apps"],
                resources: ["deployments"],
                resourceNames: ["example-microservice"],
                verbs: ["get", "list", "watch", "patch"],
            },
        ]);
        const verbs = role.rules.flatMap((r: any) => r.verbs);
        for (const forbidden of ["create", "delete", "update", "*"]) assert.ok(!verbs.includes(forbidden), forbidden);
        const resources = role.rules.flatMap((r: any) => r.resources);
        for (const forbidden of ["secrets", "pods", "pods/exec", "*"]) assert.ok(!resources.includes(forbidden), forbidden);
    });

    it("binds the Role to the deployer ServiceAccount only", () => {
        const rb = one(built.resources, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding").inputs;
        assert.deepStrictEqual(rb.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "example-microservice-deployer" });
        assert.deepStrictEqual(rb.subjects, [{ kind: "ServiceAccount", name: "example-microservice-deployer", namespace: "the-project" }]);
    });

    it("asks for the deployer's token Secret explicitly (none is auto-created since k8s 1.24)", () => {
        const s = one(built.resources, "kubernetes:core/v1:Secret", "example-microservice-deployer-token");
        assert.strictEqual(s.inputs.type, "kubernetes.io/service-account-token");
        assert.strictEqual(s.inputs.metadata.annotations["kubernetes.io/service-account.name"], "example-microservice-deployer");
    });

    it("exposes the deployer token decoded and as a secret", async () => {
        assert.strictEqual(await valueOf(built.ms.deployerToken!), "mock-sa-token-for-example-microservice-deployer-token");
        assert.strictEqual(await isSecret(built.ms.deployerToken!), true);
    });

    it("reports its public URL", async () => {
        assert.strictEqual(await valueOf(built.ms.url), "https://api.the-project.dev.example.com/example/api/endpoint");
    });

    it("in a preview (unknown token), still declares every object and keeps the token secret", async () => {
        const { resources, ms } = await build({}, true);
        assert.strictEqual(ofType(resources, "kubernetes:core/v1:Secret").length, 2);
        assert.strictEqual(await isSecret(ms.deployerToken!), true);
    });

    it("skips await annotations only when asked (for API servers with no controllers)", async () => {
        assert.strictEqual(one(built.resources, "kubernetes:apps/v1:Deployment").inputs.metadata.annotations, undefined);
        const { resources } = await build({ skipAwait: true });
        assert.strictEqual(one(resources, "kubernetes:apps/v1:Deployment").inputs.metadata.annotations["pulumi.com/skipAwait"], "true");
    });

    it("refuses impossible args before creating anything", async () => {
        for (const [overrides, message] of [
            [{ replicas: 0 }, /replicas must be an integer of at least 1/],
            [{ port: 70000 }, /port must be 1024\.\.65535/],
            [{ port: 80 }, /port must be 1024\.\.65535 \(the container is not root\), got 80/],
            [{ basePath: "api" }, /basePath must start with "\/"/],
        ] as const) {
            await installMocks("dev");
            await assert.rejects(
                runInStack(() => {
                    new Microservice("bad", { ...base, namespace: "the-project", ...overrides });
                    return {};
                }),
                message,
            );
        }
    });
});
