import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { installMocks, isSecret, ofType, Recorded, runInStack, valueOf } from "../harness/mocks";
import {
    FIRST_BUILD_ANNOTATION,
    FIRST_BUILD_PATH,
    IMAGE_PATH,
    INGRESS_CONTROLLER_PEER,
    Microservice,
    MicroserviceArgs,
    PATCH_FORCE_ANNOTATION,
    PRE_STOP_SECONDS,
    SECRETS_VERSION_ANNOTATION,
    TERMINATION_GRACE_SECONDS,
    LOST_NODE_TOLERATION_SECONDS,
} from "../components/workload/microservice";
import { ProjectNamespace, ProjectNamespaceArgs } from "../components/workload/projectNamespace";

const base: Omit<MicroserviceArgs, "namespace"> = {
    service: "example-microservice",
    environment: "dev",
    client: "internal",
    image: "registry.example.com/the-project/example-microservice:dev-latest",
    replicas: 2,
    port: 8080,
    basePath: "/example/api/endpoint",
    host: "api.the-project.dev.example.com",
    config: { something: "x", cassandra: { hosts: ["c1"], keyspace: "k" } },
    env: { DEBUG: "true" },
    resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "128Mi" } },
    ingressClassName: "traefik",
    tlsSecret: "api-the-project-dev-example-com-tls",
    registryCredentials: pulumi.secret({ server: "registry.example.com", username: "gitlab+deploy-token-1", password: "s3cr3t-pass" }),
};

const NAMESPACE_ARGS: ProjectNamespaceArgs = {
    project: "the-project",
    client: "internal",
    environment: "dev",
    podSecurityVersion: "v1.33",
    quota: { requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "2", memory: "2Gi" }, pods: 20 },
    containerDefaults: base.resources,
};

interface Built {
    resources: Recorded[];
    ms: Microservice;
}

async function build(overrides: Partial<MicroserviceArgs> = {}, preview = false): Promise<Built> {
    const resources = await installMocks("dev", preview);
    let ms!: Microservice;
    await runInStack(() => {
        const ns = new ProjectNamespace("the-project", NAMESPACE_ARGS);
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
        // The project's own objects (its namespace, quota, defaults and policies) are the project's; the rest the service's.
        const projectObjects = k8sObjects.filter(
            (r) => r.name === "the-project" || /^the-project-(quota|limits|default-deny-ingress|allow-)/.test(r.name),
        );
        assert.strictEqual(projectObjects.length, 6);
        for (const r of projectObjects) assert.strictEqual(r.inputs.metadata.labels.app, "the-project", r.name);
        for (const r of k8sObjects.filter((x) => !projectObjects.includes(x)))
            assert.strictEqual(r.inputs.metadata.labels.app, "example-microservice");
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
        assert.ok(d.opts.ignoreChanges?.includes(IMAGE_PATH));
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

    it("first up before the first image: the new Deployment, Service and Ingress are not awaited, and the service says it waits for its build", async () => {
        for (const type of ["kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service", "kubernetes:networking.k8s.io/v1:Ingress"])
            assert.strictEqual(one(built.resources, type).inputs.metadata.annotations[FIRST_BUILD_ANNOTATION], "true", type);
        assert.strictEqual(FIRST_BUILD_ANNOTATION, "pulumi.com/skipAwait");
        assert.strictEqual(await valueOf(built.ms.awaitingFirstBuild), true);
    });

    it("changes to a running service are awaited: the Deployment's mark is the creation's only (ignored after, so CI's removal holds)", async () => {
        const d = one(built.resources, "kubernetes:apps/v1:Deployment");
        assert.deepStrictEqual(d.opts.ignoreChanges, [IMAGE_PATH, FIRST_BUILD_PATH]);
        assert.strictEqual(FIRST_BUILD_PATH, 'metadata.annotations["pulumi.com/skipAwait"]');
        // An API server without kubelets keeps the mark on every up, and nothing waits for a build there.
        const { resources, ms } = await build({ skipAwait: true });
        assert.ok(!one(resources, "kubernetes:apps/v1:Deployment").opts.ignoreChanges?.includes(FIRST_BUILD_PATH));
        assert.strictEqual(await valueOf(ms.awaitingFirstBuild), false);
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

    describe("service secrets", () => {
        const SECRET = "hunter2-short";
        const withSecrets = (secretsAs?: "env" | "files" | "both", value = SECRET) =>
            build({ secrets: { DB_PASSWORD: pulumi.secret(value), API_TOKEN: pulumi.secret("tok-123") }, secretsAs });

        it("become one Kubernetes Secret whose values go to the engine as secrets, never a ConfigMap", async () => {
            const { resources } = await withSecrets();
            const secret = one(resources, "kubernetes:core/v1:Secret", "example-microservice-secrets");
            assert.strictEqual(secret.inputs.type, "Opaque");
            assert.deepStrictEqual(Object.keys(secret.inputs.stringData).sort(), ["API_TOKEN", "DB_PASSWORD"]);
            assert.deepStrictEqual(await secret.secretInputs, ["stringData"]);
            const plain = JSON.stringify(resources.filter((r) => r !== secret).map((r) => r.inputs));
            assert.ok(!plain.includes(SECRET), "no other object carries the value");
        });

        it("reach the container as environment variables by default, by reference to the Secret", async () => {
            const { resources } = await withSecrets();
            const env = container(resources).env.filter((e: any) => e.valueFrom?.secretKeyRef);
            assert.deepStrictEqual(env, [
                { name: "API_TOKEN", valueFrom: { secretKeyRef: { name: "example-microservice-secrets", key: "API_TOKEN" } } },
                { name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: "example-microservice-secrets", key: "DB_PASSWORD" } } },
            ]);
            assert.ok(!container(resources).volumeMounts.some((m: any) => m.name === "secrets"));
        });

        it("reach it as files under /secrets (group-readable, the pod's fsGroup), or both, as the service chooses", async () => {
            for (const [as, asEnv] of [
                ["files", false],
                ["both", true],
            ] as const) {
                const { resources } = await withSecrets(as);
                const pod = one(resources, "kubernetes:apps/v1:Deployment").inputs.spec.template.spec;
                assert.deepStrictEqual(
                    pod.volumes.find((v: any) => v.name === "secrets"),
                    { name: "secrets", secret: { secretName: "example-microservice-secrets", defaultMode: 0o440 } },
                    as,
                );
                assert.deepStrictEqual(container(resources).volumeMounts[1], { name: "secrets", mountPath: "/secrets", readOnly: true });
                assert.strictEqual(pod.securityContext.fsGroup, 65532);
                assert.strictEqual(
                    container(resources).env.some((e: any) => e.valueFrom?.secretKeyRef),
                    asEnv,
                    as,
                );
            }
        });

        it("roll the pods when a value changes, by the Secret's version: nothing in the pod template is derived from a value", async () => {
            const a = await withSecrets("env", "value-one");
            const b = await withSecrets("env", "value-two");
            const annotation = (r: Recorded[]) => one(r, "kubernetes:apps/v1:Deployment").inputs.spec.template.metadata.annotations;
            const version = (r: Recorded[]) => one(r, "kubernetes:core/v1:Secret", "example-microservice-secrets");
            assert.notStrictEqual(annotation(a.resources)[SECRETS_VERSION_ANNOTATION], annotation(b.resources)[SECRETS_VERSION_ANNOTATION]);
            // The annotation is the Secret's resourceVersion as the API server reports it (the mocks number
            // each content), not a digest the program computes.
            for (const run of [a, b]) {
                const rv = (await import("../harness/mocks")).MOCK_STATES["kubernetes:core/v1:Secret"](version(run.resources).inputs, "").metadata
                    .resourceVersion;
                assert.strictEqual(annotation(run.resources)[SECRETS_VERSION_ANNOTATION], rv);
            }
            const template = JSON.stringify(one(a.resources, "kubernetes:apps/v1:Deployment").inputs);
            const { createHash } = await import("crypto");
            for (const digest of ["sha256", "sha1", "md5"])
                assert.ok(!template.includes(createHash(digest).update("value-one").digest("hex")), digest);
        });

        it("create no Secret and no annotation for a service without secrets", () => {
            assert.strictEqual(ofType(built.resources, "kubernetes:core/v1:Secret").filter((r) => r.name.endsWith("-secrets")).length, 0);
            const a = one(built.resources, "kubernetes:apps/v1:Deployment").inputs.spec.template.metadata.annotations;
            assert.ok(!(SECRETS_VERSION_ANNOTATION in a));
        });
    });

    describe("drains and lost nodes", () => {
        it("spreads two or more replicas over nodes, not counting nodes the pods cannot run on (cordoned, NotReady)", () => {
            const pod = one(built.resources, "kubernetes:apps/v1:Deployment").inputs.spec.template.spec;
            assert.deepStrictEqual(pod.topologySpreadConstraints, [
                {
                    maxSkew: 1,
                    topologyKey: "kubernetes.io/hostname",
                    whenUnsatisfiable: "DoNotSchedule",
                    labelSelector: { matchLabels: { app: "example-microservice" } },
                    matchLabelKeys: ["pod-template-hash"],
                    nodeAffinityPolicy: "Honor",
                    nodeTaintsPolicy: "Honor",
                },
            ]);
        });

        it("has nothing to spread with one replica, and spreads an autoscaled service that may grow", async () => {
            const single = await build({ replicas: 1 });
            assert.strictEqual(one(single.resources, "kubernetes:apps/v1:Deployment").inputs.spec.template.spec.topologySpreadConstraints, undefined);
            const scaled = await build({ replicas: 1, autoscaling: { min: 1, max: 3, cpu: 70 } });
            assert.strictEqual(one(scaled.resources, "kubernetes:apps/v1:Deployment").inputs.spec.template.spec.topologySpreadConstraints.length, 1);
        });

        it("lets a drain evict one pod at a time, and never hangs on one replica or a pod that is not ready", async () => {
            for (const replicas of [1, 2, 3, 5]) {
                const { resources } = await build({ replicas });
                const pdb = one(resources, "kubernetes:policy/v1:PodDisruptionBudget").inputs;
                assert.strictEqual(pdb.metadata.name, "example-microservice");
                assert.deepStrictEqual(pdb.spec, {
                    maxUnavailable: 1,
                    selector: { matchLabels: { app: "example-microservice" } },
                    unhealthyPodEvictionPolicy: "AlwaysAllow",
                });
            }
        });

        it("moves a lost node's pods to the other nodes after 60 s, not the API server's default 300 s, whatever the replica count", async () => {
            assert.strictEqual(LOST_NODE_TOLERATION_SECONDS, 60);
            for (const replicas of [1, 3]) {
                const { resources } = await build({ replicas });
                assert.deepStrictEqual(one(resources, "kubernetes:apps/v1:Deployment").inputs.spec.template.spec.tolerations, [
                    { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 60 },
                    { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 60 },
                ]);
            }
        });

        it("keeps serving while routing stops (preStop), gives the process its grace period, and lets a slow start pass (startup probe)", () => {
            const pod = one(built.resources, "kubernetes:apps/v1:Deployment").inputs.spec.template.spec;
            const c = container(built.resources);
            assert.deepStrictEqual(c.lifecycle, { preStop: { sleep: { seconds: PRE_STOP_SECONDS } } });
            assert.ok(pod.terminationGracePeriodSeconds >= PRE_STOP_SECONDS + 20);
            assert.strictEqual(pod.terminationGracePeriodSeconds, TERMINATION_GRACE_SECONDS);
            assert.deepStrictEqual(c.startupProbe, { tcpSocket: { port: "http" }, periodSeconds: 5, failureThreshold: 60 });
            assert.strictEqual(c.livenessProbe.initialDelaySeconds, undefined, "the startup probe holds liveness back");
        });
    });

    describe("autoscaling", () => {
        it("adds an autoscaling/v2 HPA on CPU, and the Deployment sets no replicas (the stack never fights the autoscaler)", async () => {
            const { resources } = await build({ autoscaling: { min: 2, max: 5, cpu: 60 } });
            const hpa = one(resources, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler").inputs;
            assert.deepStrictEqual(hpa.spec, {
                scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "example-microservice" },
                minReplicas: 2,
                maxReplicas: 5,
                metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 60 } } }],
            });
            const d = one(resources, "kubernetes:apps/v1:Deployment");
            assert.ok(!("replicas" in d.inputs.spec));
            // A service switched to autoscaling: its count stays what it is (ignored, so never reset to 1).
            assert.ok(d.opts.ignoreChanges?.includes("spec.replicas"));
            // Switched back, the stack takes the count back from the autoscaler (force, or the apply conflicts).
            assert.strictEqual(d.inputs.metadata.annotations[PATCH_FORCE_ANNOTATION], "true");
        });

        it("has no HPA and a fixed count without it", () => {
            assert.strictEqual(ofType(built.resources, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler").length, 0);
            assert.strictEqual(one(built.resources, "kubernetes:apps/v1:Deployment").inputs.spec.replicas, 2);
        });
    });

    describe("project isolation", () => {
        const policy = (name: string) => one(built.resources, "kubernetes:networking.k8s.io/v1:NetworkPolicy", name).inputs.spec;

        it("denies every ingress to the project's pods by default and admits the pods of the same namespace", () => {
            assert.deepStrictEqual(policy("default-deny-ingress"), { podSelector: {}, policyTypes: ["Ingress"] });
            assert.deepStrictEqual(policy("allow-same-namespace"), {
                podSelector: {},
                policyTypes: ["Ingress"],
                ingress: [{ from: [{ podSelector: {} }] }],
            });
        });

        it("admits Traefik (kube-system, as k3s runs it) to the service's port only, and to cert-manager's HTTP-01 solvers", () => {
            assert.deepStrictEqual(INGRESS_CONTROLLER_PEER, {
                namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
                podSelector: { matchLabels: { "app.kubernetes.io/name": "traefik" } },
            });
            assert.deepStrictEqual(policy("example-microservice"), {
                podSelector: { matchLabels: { app: "example-microservice" } },
                policyTypes: ["Ingress"],
                ingress: [{ from: [INGRESS_CONTROLLER_PEER], ports: [{ protocol: "TCP", port: 8080 }] }],
            });
            assert.deepStrictEqual(policy("allow-acme-http01-solver"), {
                podSelector: { matchLabels: { "acme.cert-manager.io/http01-solver": "true" } },
                policyTypes: ["Ingress"],
                ingress: [{ from: [INGRESS_CONTROLLER_PEER], ports: [{ protocol: "TCP", port: 8089 }] }],
            });
        });

        it("gives the namespace its quota and container defaults, so a pod without requests is not refused by the quota", () => {
            const quota = one(built.resources, "kubernetes:core/v1:ResourceQuota").inputs;
            assert.deepStrictEqual(quota.spec.hard, {
                "requests.cpu": "1",
                "requests.memory": "1Gi",
                "limits.cpu": "2",
                "limits.memory": "2Gi",
                pods: "20",
            });
            const limits = one(built.resources, "kubernetes:core/v1:LimitRange").inputs;
            assert.deepStrictEqual(limits.spec.limits, [
                { type: "Container", defaultRequest: base.resources.requests, default: base.resources.limits },
            ]);
        });

        it("enforces, warns and audits Pod Security restricted at the pinned version, not latest", () => {
            const l = one(built.resources, "kubernetes:core/v1:Namespace").inputs.metadata.labels;
            for (const mode of ["enforce", "warn", "audit"]) {
                assert.strictEqual(l[`pod-security.kubernetes.io/${mode}`], "restricted");
                assert.strictEqual(l[`pod-security.kubernetes.io/${mode}-version`], "v1.33");
            }
        });
    });
});
