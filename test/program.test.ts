import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { isSecret, ofType, ProgramRun, Recorded, valueOf } from "../harness/mocks";
import { hasSchema, schemaErrors } from "./helpers/schemas";
import { PLACEHOLDER_SECRETS, runStack, SERVICE_SECRET_PLACEHOLDER, stackRun, STACKS } from "../harness/stacks";
import { FIRST_BUILD_ANNOTATION } from "../components/workload/microservice";
import { DEFAULT_K3S_VERSION } from "../config";

const k8sObjects = (rs: Recorded[]) => rs.filter((r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("pulumi:providers"));

/** Walks exported Outputs and returns the names of those holding a secret value unmarked. */
async function plainSecrets(exports: Record<string, unknown>): Promise<string[]> {
    const secretValues = [...Object.values(PLACEHOLDER_SECRETS), SERVICE_SECRET_PLACEHOLDER];
    const leaks: string[] = [];
    for (const [name, value] of Object.entries(exports)) {
        const o = pulumi.output(value as pulumi.Input<unknown>);
        if (await isSecret(o)) continue;
        const text = JSON.stringify(await valueOf(o)) ?? "";
        if (secretValues.some((s) => text.includes(s)) || /BEGIN [A-Z ]*PRIVATE KEY|mock-sa-token/.test(text)) leaks.push(name);
    }
    return leaks;
}

for (const stack of STACKS) {
    describe(`program, stack ${stack}`, () => {
        let result: ProgramRun;
        const file = YAML.parse(require("fs").readFileSync(`${__dirname}/../Pulumi.${stack}.yaml`, "utf8")).config;
        const projects = file["hobby-platform:projects"] as Record<string, { services: Record<string, any> }>;

        before(async () => {
            result = await stackRun(stack);
        });

        it("deploys every configured service with its seed objects", () => {
            for (const [project, p] of Object.entries(projects)) {
                for (const service of Object.keys(p.services)) {
                    for (const type of [
                        "kubernetes:core/v1:Service",
                        "kubernetes:core/v1:ConfigMap",
                        "kubernetes:apps/v1:Deployment",
                        "kubernetes:networking.k8s.io/v1:Ingress",
                        "kubernetes:core/v1:ServiceAccount",
                        "kubernetes:rbac.authorization.k8s.io/v1:Role",
                        "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
                    ]) {
                        const found = ofType(result.resources, type).filter(
                            (r) => r.inputs.metadata.namespace === project && r.inputs.metadata.labels.app === service,
                        );
                        assert.strictEqual(found.length, 1, `${stack}: ${type} of ${project}/${service}`);
                    }
                }
                assert.strictEqual(
                    ofType(result.resources, "kubernetes:core/v1:Namespace").filter((r) => r.inputs.metadata.name === project).length,
                    1,
                );
            }
        });

        it("labels every Kubernetes object with this environment", () => {
            for (const r of k8sObjects(result.resources)) {
                assert.strictEqual(r.inputs.metadata?.labels?.env, stack, `${r.type} ${r.name}`);
            }
        });

        it("renders every Kubernetes object valid against its API schema (kubernetes-models)", () => {
            const objects = k8sObjects(result.resources).map((r) => r.inputs as { apiVersion: string; kind: string; metadata?: { name?: string } });
            // k3s's helm.cattle.io kinds and the upgrade Plan are the only ones without a typed model
            // (the Plan is checked against its CRD by the engine suite's server-side dry run).
            const unchecked = objects.filter((o) => !hasSchema(o.apiVersion, o.kind));
            assert.deepStrictEqual(
                unchecked.filter((o) => !["helm.cattle.io/v1", "upgrade.cattle.io/v1"].includes(o.apiVersion)),
                [],
            );
            const invalid = objects
                .filter((o) => !unchecked.includes(o))
                .map((o) => [`${o.kind} ${o.metadata?.name}`, schemaErrors(o)])
                .filter(([, e]) => e);
            assert.deepStrictEqual(invalid, []);
        });

        it("sends every Kubernetes object through an explicit provider, never the ambient default", () => {
            for (const r of k8sObjects(result.resources)) {
                assert.ok(r.provider && !r.provider.includes("::default"), `${r.type} ${r.name} uses ${r.provider}`);
            }
        });

        it("exports the cluster's outputs only where the stack has its own cluster, and no undefined output", () => {
            const clusterOutputs = [
                "apiServerUrl",
                "nodes",
                "nodePublicIps",
                "nodePrivateIps",
                "kubeconfig",
                "agentJoinSecret",
                "estimatedMonthlyCostUsd",
                "etcdSnapshotBucket",
            ];
            const expected = [
                "environment",
                "serviceUrls",
                "servicesAwaitingFirstBuild",
                "ingressAddresses",
                "certificateIssuer",
                ...(file["hobby-platform:cluster"]?.enabled === false ? [] : [...clusterOutputs, "workloadCapacity"]),
            ];
            assert.deepStrictEqual(Object.keys(result.exports).sort(), expected.sort());
            for (const [name, value] of Object.entries(result.exports)) assert.notStrictEqual(value, undefined, name);
        });

        it("keeps every credential out of plain stack outputs", async () => {
            assert.deepStrictEqual(await plainSecrets(result.exports), []);
        });

        it("puts each service's secret (set with --secret --path) in its Secret only, as a secret, never in a ConfigMap or another object", async () => {
            for (const [project, p] of Object.entries(projects)) {
                for (const service of Object.keys(p.services)) {
                    const secret = ofType(result.resources, "kubernetes:core/v1:Secret").find(
                        (r) => r.inputs.metadata.namespace === project && r.inputs.metadata.name === `${service}-secrets`,
                    );
                    assert.ok(secret, `${stack}: ${project}/${service}`);
                    assert.strictEqual(secret.inputs.stringData.TOKEN, SERVICE_SECRET_PLACEHOLDER);
                    assert.deepStrictEqual(await secret.secretInputs, ["stringData"]);
                }
            }
            const elsewhere = result.resources.filter(
                (r) => !r.name.endsWith("-secrets") && JSON.stringify(r.inputs).includes(SERVICE_SECRET_PLACEHOLDER),
            );
            assert.deepStrictEqual(
                elsewhere.map((r) => r.name),
                [],
            );
        });

        it("says which services wait for their first build (all, on a stack's first up), awaiting none of their pods", async () => {
            const all = Object.entries(projects).flatMap(([project, p]) => Object.keys(p.services).map((s) => `${project}/${s}`));
            assert.deepStrictEqual(result.outputs.servicesAwaitingFirstBuild, all);
            for (const d of ofType(result.resources, "kubernetes:apps/v1:Deployment").filter((r) => r.inputs.metadata.namespace in projects))
                assert.strictEqual(d.inputs.metadata.annotations[FIRST_BUILD_ANNOTATION], "true");
        });

        it("gives every service a PodDisruptionBudget and an ingress policy, every project a default deny, a quota and Pod Security at the cluster's version", () => {
            const named = (type: string, ns: string, name: string) =>
                ofType(result.resources, type).filter((r) => r.inputs.metadata.namespace === ns && r.inputs.metadata.name === name).length;
            const k3s = file["hobby-platform:cluster"]?.k3sVersion ?? DEFAULT_K3S_VERSION;
            for (const [project, p] of Object.entries(projects)) {
                for (const service of Object.keys(p.services)) {
                    assert.strictEqual(named("kubernetes:policy/v1:PodDisruptionBudget", project, service), 1);
                    assert.strictEqual(named("kubernetes:networking.k8s.io/v1:NetworkPolicy", project, service), 1);
                }
                for (const policy of ["default-deny-ingress", "allow-same-namespace", "allow-acme-http01-solver"])
                    assert.strictEqual(named("kubernetes:networking.k8s.io/v1:NetworkPolicy", project, policy), 1, policy);
                assert.strictEqual(named("kubernetes:core/v1:ResourceQuota", project, project), 1);
                assert.strictEqual(named("kubernetes:core/v1:LimitRange", project, project), 1);
                const ns = ofType(result.resources, "kubernetes:core/v1:Namespace").find((r) => r.inputs.metadata.name === project)!;
                assert.strictEqual(ns.inputs.metadata.labels["pod-security.kubernetes.io/enforce-version"], k3s.split(".").slice(0, 2).join("."));
            }
        });

        it("names every Kubernetes object uniquely (kind, namespace, name)", () => {
            const keys = k8sObjects(result.resources).map((r) => `${r.type} ${r.inputs.metadata?.namespace ?? ""}/${r.inputs.metadata?.name}`);
            assert.deepStrictEqual(
                keys.filter((k, i) => keys.indexOf(k) !== i),
                [],
            );
        });

        it("declares the same graph in a preview, where computed values are unknown", async () => {
            const previewed = await stackRun(stack, true);
            assert.deepStrictEqual(
                previewed.resources.map((r) => `${r.type}::${r.name}`).sort(),
                result.resources.map((r) => `${r.type}::${r.name}`).sort(),
            );
        });

        it("names and labels objects deterministically (a second run declares the same inputs)", async () => {
            // A fresh run, not the shared one.
            const again = await runStack(stack);
            const key = (rs: Recorded[]) =>
                rs
                    .filter((r) => r.type.startsWith("kubernetes:"))
                    .map((r) => JSON.stringify([r.type, r.name, r.inputs]))
                    .sort();
            assert.deepStrictEqual(key(again.resources), key(result.resources));
        });
    });
}

describe("program: stack files", () => {
    it("dev reproduces the seed's example service", async () => {
        const { resources } = await stackRun("dev");
        const d = ofType(resources, "kubernetes:apps/v1:Deployment").find((r) => r.inputs.metadata.name === "example-microservice")!;
        assert.strictEqual(d.inputs.metadata.namespace, "the-project");
        const c = d.inputs.spec.template.spec.containers[0];
        const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value]));
        assert.strictEqual(env.BASE_PATH, "/example/api/endpoint");
        assert.strictEqual(env.DEBUG, "true");
        assert.strictEqual(c.image, "registry.example.com/the-project/example-microservice:dev-latest");
        const cm = ofType(resources, "kubernetes:core/v1:ConfigMap").find((r) => r.inputs.metadata.name === "example-microservice")!;
        assert.deepStrictEqual(Object.keys(YAML.parse(cm.inputs.data["dev_config.yml"])).sort(), ["cassandra", "something"]);
        const ing = ofType(resources, "kubernetes:networking.k8s.io/v1:Ingress").find((r) => r.inputs.metadata.name === "example-microservice")!;
        assert.strictEqual(ing.inputs.spec.rules[0].host, "api.the-project.dev.example.com");
    });

    it("stg and prod turn DEBUG off, prod runs three replicas", async () => {
        for (const [stack, replicas] of [
            ["stg", 2],
            ["prod", 3],
        ] as const) {
            const { resources } = await stackRun(stack);
            const d = ofType(resources, "kubernetes:apps/v1:Deployment").find((r) => r.inputs.metadata.namespace === "the-project")!;
            const env = Object.fromEntries(d.inputs.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));
            assert.strictEqual(env.DEBUG, "false", stack);
            assert.strictEqual(d.inputs.spec.replicas, replicas, stack);
            assert.strictEqual(
                d.inputs.spec.template.spec.containers[0].image,
                `registry.example.com/the-project/example-microservice:${stack}-latest`,
            );
        }
    });

    it("creates a project's namespace once, however many services it has", async () => {
        const { resources } = await runStack("local", (c) => {
            const projects = JSON.parse(c["hobby-platform:projects"]);
            projects["the-project"].services["second-service"] = { basePath: "/second" };
            c["hobby-platform:projects"] = JSON.stringify(projects);
        });
        assert.strictEqual(ofType(resources, "kubernetes:core/v1:Namespace").length, 1);
        assert.strictEqual(ofType(resources, "kubernetes:apps/v1:Deployment").length, 2);
    });

    it("a bad configuration stops the run before any resource is declared", async () => {
        let resources: Recorded[] = [];
        await assert.rejects(
            async () => {
                const r = await runStack("dev", (c) => {
                    const projects = JSON.parse(c["hobby-platform:projects"]);
                    projects["the-project"].services["example-microservice"].replicas = 0;
                    c["hobby-platform:projects"] = JSON.stringify(projects);
                });
                resources = r.resources;
            },
            (e: Error) =>
                e.name === "ConfigError" && /projects\.the-project\.services\.example-microservice\.replicas: must be at least 1/.test(e.message),
        );
        assert.strictEqual(resources.length, 0);
    });

    it("several projects and services, 1 to 5 replicas, secrets set with --secret --path: each gets its own safe objects", async () => {
        const { resources, outputs } = await runStack("dev", (c) => {
            c["hobby-platform:projects"] = JSON.stringify({
                shop: {
                    services: {
                        cart: { basePath: "/cart", replicas: 1, secrets: { DB_PASSWORD: "pw-cart" }, secretsAs: "files" },
                        checkout: { basePath: "/checkout", replicas: 3, secrets: { API_KEY: "k-checkout" }, secretsAs: "both" },
                    },
                },
                blog: { services: { posts: { basePath: "/posts", replicas: 5 }, search: { basePath: "/search", autoscaling: { min: 2, max: 4 } } } },
            });
        });
        const of = (type: string, ns: string) => ofType(resources, type).filter((r) => r.inputs.metadata.namespace === ns);
        const deployment = (ns: string, name: string) => of("kubernetes:apps/v1:Deployment", ns).find((r) => r.inputs.metadata.name === name)!;
        for (const [ns, services] of [
            ["shop", ["cart", "checkout"]],
            ["blog", ["posts", "search"]],
        ] as const) {
            assert.deepStrictEqual(
                of("kubernetes:policy/v1:PodDisruptionBudget", ns)
                    .map((r) => r.inputs.metadata.name)
                    .sort(),
                [...services],
            );
            assert.strictEqual(of("kubernetes:core/v1:ResourceQuota", ns).length, 1);
            assert.strictEqual(of("kubernetes:networking.k8s.io/v1:NetworkPolicy", ns).length, 3 + services.length);
        }
        assert.strictEqual(deployment("shop", "cart").inputs.spec.template.spec.topologySpreadConstraints, undefined);
        assert.strictEqual(deployment("blog", "posts").inputs.spec.replicas, 5);
        assert.ok(!("replicas" in deployment("blog", "search").inputs.spec));
        assert.strictEqual(of("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "blog").length, 1);
        assert.deepStrictEqual(
            of("kubernetes:core/v1:Secret", "shop")
                .filter((r) => r.name.endsWith("-secrets"))
                .map((r) => r.inputs.metadata.name)
                .sort(),
            ["cart-secrets", "checkout-secrets"],
        );
        assert.ok(!JSON.stringify(of("kubernetes:core/v1:ConfigMap", "shop").map((r) => r.inputs)).includes("pw-cart"));
        assert.deepStrictEqual([...outputs.servicesAwaitingFirstBuild].sort(), ["blog/posts", "blog/search", "shop/cart", "shop/checkout"]);
    });

    it("a cluster's own ingress controller (ingress.controller) is what every project's policies admit", async () => {
        const controller = { namespace: "ingress-nginx", podLabels: { "app.kubernetes.io/name": "ingress-nginx" } };
        const { resources } = await runStack("local", (c) => {
            c["hobby-platform:ingress"] = JSON.stringify({ install: false, className: "nginx", controller });
        });
        const policies = ofType(resources, "kubernetes:networking.k8s.io/v1:NetworkPolicy").filter((r) => r.inputs.spec.ingress?.[0]?.ports);
        assert.strictEqual(policies.length, 2);
        for (const p of policies)
            assert.deepStrictEqual(p.inputs.spec.ingress[0].from, [
                {
                    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } },
                    podSelector: { matchLabels: controller.podLabels },
                },
            ]);
    });

    it("a missing secret stops the run, naming the key", async () => {
        await assert.rejects(
            runStack("local", (c) => {
                delete c["hobby-platform:registryPassword"];
            }),
            (e: Error) => /hobby-platform:registryPassword: secret is missing/.test(e.message),
        );
    });
});
