// The `local` stack through the real Pulumi engine against a real Kubernetes API server:
// `pulumi up` creates the seed's example service, a rerun changes nothing, the image CI rolls
// out survives the next `pulumi up`, the CI deployer can do its job and nothing more, and
// `pulumi destroy` leaves nothing behind.
import * as assert from "assert";
import * as YAML from "yaml";
import { deployerName, tlsSecretName } from "../../lib/names";
import { installCertManagerCrds, LocalCluster, startLocalCluster } from "../helpers/localCluster";
import { stackConfig } from "../../harness/mocks";
import { PulumiWorkspace } from "../../harness/pulumiWorkspace";

const config = stackConfig("local");
const NS = Object.keys(JSON.parse(config["hobby-platform:projects"]))[0];
const project = JSON.parse(config["hobby-platform:projects"])[NS];
const SVC = Object.keys(project.services)[0];
const CLIENT: string = project.client ?? config["hobby-platform:client"] ?? "internal";
const DEPLOYER = deployerName(SVC);
const REGISTRY_PASSWORD = "engine-test-registry-password";

/** Seconds each engine step took, printed at the end (cold vs warm runs). */
const timings: [string, number][] = [];

describe("local stack on a real Kubernetes API (pulumi up, rerun, CI image, RBAC, destroy)", function () {
    this.timeout(60 * 60 * 1000);
    let cluster: LocalCluster;
    let ws: PulumiWorkspace;
    const k = (...args: string[]) => cluster.kubectl(args);
    const json = (...args: string[]) => JSON.parse(k(...args, "-o", "json"));
    const step = (what: string, ...args: string[]) => {
        const r = ws.ok(...args);
        timings.push([what, r.seconds]);
        return r;
    };

    before(() => {
        cluster = startLocalCluster();
        // The stack assumes cert-manager present (certManager.install: false): its CRDs are.
        installCertManagerCrds(cluster);
        ws = new PulumiWorkspace("local", cluster.env);
        ws.setSecret("registryPassword", REGISTRY_PASSWORD);
        // No kubelet runs pods here: the Microservice is told not to await rollouts (README).
        ws.ok("config", "set", "--path", "cluster.skipAwait", "true");
    });
    after(() => {
        console.log("\n    engine step timings (s):");
        for (const [what, s] of timings) console.log(`      ${what.padEnd(48)} ${s.toFixed(1).padStart(5)}`);
        ws?.remove();
        cluster?.stop();
    });

    it("pulumi up creates every object of the example service, labelled app/client/env", () => {
        step("pulumi up (create)", "up", "--yes", "--skip-preview");
        const labels = { app: SVC, client: CLIENT, env: "local" };
        const objects: [string, string][] = [
            ["service", SVC],
            ["configmap", SVC],
            ["deployment", SVC],
            ["ingress", SVC],
            ["secret", `${SVC}-regcred`],
            ["serviceaccount", DEPLOYER],
            ["role", DEPLOYER],
            ["rolebinding", DEPLOYER],
            ["secret", `${DEPLOYER}-token`],
        ];
        for (const [kind, name] of objects) {
            const o = json("get", kind, name, "-n", NS);
            assert.deepStrictEqual(
                { app: o.metadata.labels.app, client: o.metadata.labels.client, env: o.metadata.labels.env },
                labels,
                `${kind}/${name}`,
            );
        }
        const ns = json("get", "namespace", NS);
        assert.deepStrictEqual([ns.metadata.labels.app, ns.metadata.labels.client, ns.metadata.labels.env], [NS, CLIENT, "local"]);

        const dep = json("get", "deployment", SVC, "-n", NS);
        const c = dep.spec.template.spec.containers[0];
        assert.strictEqual(c.name, SVC);
        assert.strictEqual(
            c.image,
            `${config["hobby-platform:gitlab"] && JSON.parse(config["hobby-platform:gitlab"]).registry}/${project.services[SVC].gitlabProject}:local-latest`,
        );
        assert.deepStrictEqual(dep.spec.template.spec.imagePullSecrets, [{ name: `${SVC}-regcred` }]);

        const pull = json("get", "secret", `${SVC}-regcred`, "-n", NS);
        assert.strictEqual(pull.type, "kubernetes.io/dockerconfigjson");
        const auths = JSON.parse(Buffer.from(pull.data[".dockerconfigjson"], "base64").toString()).auths;
        assert.strictEqual(Object.values<any>(auths)[0].password, REGISTRY_PASSWORD);

        const token = json("get", "secret", `${DEPLOYER}-token`, "-n", NS);
        assert.strictEqual(token.type, "kubernetes.io/service-account-token");
        assert.ok(token.data?.token, "the token controller filled in the deployer's token");

        const cm = json("get", "configmap", SVC, "-n", NS);
        assert.deepStrictEqual(YAML.parse(cm.data["local_config.yml"]), project.services[SVC].config);
        const ing = json("get", "ingress", SVC, "-n", NS);
        assert.deepStrictEqual(ing.spec.tls[0].hosts, [ing.spec.rules[0].host]);
    });

    it("the host's Certificate asks the configured issuer for exactly that host, and the Ingress is created after it", () => {
        const ing = json("get", "ingress", SVC, "-n", NS);
        const host = ing.spec.rules[0].host;
        const cert = json("get", "certificate", tlsSecretName(host), "-n", NS);
        assert.deepStrictEqual(cert.spec.dnsNames, [host]);
        assert.strictEqual(cert.spec.secretName, ing.spec.tls[0].secretName);
        assert.strictEqual(cert.spec.issuerRef.name, JSON.parse(config["hobby-platform:certManager"]).issuer);
        assert.deepStrictEqual([cert.metadata.labels.app, cert.metadata.labels.client, cert.metadata.labels.env], [NS, CLIENT, "local"]);
        const state = JSON.parse(ws.ok("stack", "export").stdout).deployment.resources as { urn: string; type: string; dependencies?: string[] }[];
        const ingress = state.find((r) => r.type === "kubernetes:networking.k8s.io/v1:Ingress")!;
        const certificate = state.find((r) => r.type === "kubernetes:cert-manager.io/v1:Certificate")!;
        assert.ok(ingress.dependencies?.includes(certificate.urn), "the Ingress depends on the Certificate");
    });

    it("the pod template passes the namespace's restricted Pod Security admission (pods are created, pending)", async () => {
        // The Deployment and ReplicaSet controllers create the pods; admission would refuse them.
        const deadline = Date.now() + 60_000;
        let pods: any[] = [];
        while (Date.now() < deadline) {
            pods = json("get", "pods", "-n", NS, "-l", `app=${SVC}`).items;
            if (pods.length > 0) break;
            await new Promise((r) => setTimeout(r, 500));
        }
        const rs = json("get", "replicasets", "-n", NS, "-l", `app=${SVC}`).items;
        const refused = rs.flatMap((r: any) => r.status.conditions ?? []).filter((c: any) => c.type === "ReplicaFailure");
        assert.deepStrictEqual(refused, [], "no ReplicaFailure (pod creation refused)");
        assert.ok(pods.length > 0, "a pod was admitted");
    });

    it("a second preview shows no changes", () => {
        step("pulumi preview --expect-no-changes", "preview", "--expect-no-changes");
    });

    it("keeps the image CI rolled out with kubectl set image, across pulumi up and a refresh", () => {
        const image = `registry.example.com/${project.services[SVC].gitlabProject}:local-4242`;
        k("set", "image", `deployment/${SVC}`, `${SVC}=${image}`, "-n", NS);
        step("pulumi up (after kubectl set image)", "up", "--yes", "--skip-preview");
        assert.strictEqual(json("get", "deployment", SVC, "-n", NS).spec.template.spec.containers[0].image, image);
        step("pulumi up --refresh", "up", "--yes", "--skip-preview", "--refresh");
        assert.strictEqual(json("get", "deployment", SVC, "-n", NS).spec.template.spec.containers[0].image, image);
        step("pulumi preview --expect-no-changes (CI image)", "preview", "--expect-no-changes");
        // The real case: a later change to the same Deployment is applied, and the image stays.
        ws.ok("config", "set", "--path", `projects["${NS}"].services["${SVC}"].replicas`, "2");
        step("pulumi up (replicas 1 -> 2)", "up", "--yes", "--skip-preview");
        const dep = json("get", "deployment", SVC, "-n", NS);
        assert.strictEqual(dep.spec.replicas, 2);
        assert.strictEqual(dep.spec.template.spec.containers[0].image, image);
    });

    it("keeps CI's image when a pulumi up changes the pod template (an env and a config change)", () => {
        // CI rolls out again, and the next `pulumi up` (a plain one, as a person runs it) changes the template.
        const image = `registry.example.com/${project.services[SVC].gitlabProject}:local-4343`;
        k("set", "image", `deployment/${SVC}`, `${SVC}=${image}`, "-n", NS);
        const before = json("get", "deployment", SVC, "-n", NS).spec.template;
        ws.ok("config", "set", "--path", `projects["${NS}"].services["${SVC}"].env.LOG_LEVEL`, "debug");
        ws.ok("config", "set", "--path", `projects["${NS}"].services["${SVC}"].config.something`, "something-changed");
        const up = step("pulumi up (env and config change)", "up", "--yes", "--skip-preview");
        // Updated in place: a replacement would ignore ignoreChanges and put the stack's image back.
        assert.doesNotMatch(up.stdout, /replaced/, up.stdout);
        const after = json("get", "deployment", SVC, "-n", NS).spec.template;
        const container = after.spec.containers[0];
        // The template did change (a new ReplicaSet rolls), and the image is still CI's.
        assert.ok(
            container.env.some((e: { name: string; value?: string }) => e.name === "LOG_LEVEL" && e.value === "debug"),
            JSON.stringify(container.env),
        );
        assert.notStrictEqual(
            after.metadata.annotations["hobby-platform/config-sha256"],
            before.metadata.annotations["hobby-platform/config-sha256"],
        );
        assert.strictEqual(container.image, image);
        step("pulumi preview --expect-no-changes (after the template change)", "preview", "--expect-no-changes");
    });

    it("the deployer may roll out its own Deployment and nothing else (RBAC matrix)", () => {
        k("create", "deployment", "other", "--image=example/other:1", "-n", NS);
        const as = `--as=system:serviceaccount:${NS}:${DEPLOYER}`;
        const can = (...args: string[]) => {
            try {
                return k("auth", "can-i", ...args, as).trim();
            } catch (e: any) {
                return String(e.stdout).trim(); // exit status 1 means "no"
            }
        };
        const matrix: [string, string[], "yes" | "no"][] = [
            ["get own Deployment", ["get", `deployment/${SVC}`, "-n", NS], "yes"],
            ["patch own Deployment (set image)", ["patch", `deployment/${SVC}`, "-n", NS], "yes"],
            ["list own Deployment (rollout status)", ["list", `deployment/${SVC}`, "-n", NS], "yes"],
            ["watch own Deployment (rollout status)", ["watch", `deployment/${SVC}`, "-n", NS], "yes"],
            ["update own Deployment", ["update", `deployment/${SVC}`, "-n", NS], "no"],
            ["delete own Deployment", ["delete", `deployment/${SVC}`, "-n", NS], "no"],
            ["create Deployments", ["create", "deployments", "-n", NS], "no"],
            ["get another Deployment", ["get", "deployment/other", "-n", NS], "no"],
            ["patch another Deployment", ["patch", "deployment/other", "-n", NS], "no"],
            ["list all Deployments", ["list", "deployments", "-n", NS], "no"],
            ["get Secrets", ["get", "secrets", "-n", NS], "no"],
            ["get own token Secret", ["get", `secret/${DEPLOYER}-token`, "-n", NS], "no"],
            ["list Secrets", ["list", "secrets", "-n", NS], "no"],
            ["exec into pods", ["create", "pods", "--subresource=exec", "-n", NS], "no"],
            ["get pods", ["get", "pods", "-n", NS], "no"],
            ["patch own Role (escalate)", ["patch", `role/${DEPLOYER}`, "-n", NS], "no"],
            ["get Deployments in default", ["get", `deployment/${SVC}`, "-n", "default"], "no"],
            ["patch Deployments in kube-system", ["patch", "deployments", "-n", "kube-system"], "no"],
            ["list namespaces", ["list", "namespaces"], "no"],
        ];
        const rows = matrix.map(([what, args, want]) => ({ what, args, want, got: can(...args) }));
        console.log(`\n    RBAC matrix for system:serviceaccount:${NS}:${DEPLOYER}:`);
        for (const r of rows) console.log(`      ${r.got.padEnd(4)} ${r.what.padEnd(40)} kubectl auth can-i ${r.args.join(" ")}`);
        assert.deepStrictEqual(
            rows.map((r) => `${r.what}: ${r.got}`),
            rows.map((r) => `${r.what}: ${r.want}`),
        );
        k("delete", "deployment", "other", "-n", NS);
    });

    it("the deployer's token Secret works for CI's own commands: set image and rollout status, not secrets", () => {
        const b64 = k("get", "secret", `${DEPLOYER}-token`, "-n", NS, "-o", "jsonpath={.data.token}");
        const server = k("config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}");
        const ci = (...args: string[]) =>
            cluster.kubectl([
                "--kubeconfig=/dev/null",
                `--server=${server}`,
                `--certificate-authority=${cluster.dir}/pki/ca.crt`,
                `--token=${Buffer.from(b64, "base64").toString()}`,
                "-n",
                NS,
                ...args,
            ]);
        const image = `registry.example.com/${project.services[SVC].gitlabProject}:local-4343`;
        ci("set", "image", `deployment/${SVC}`, `${SVC}=${image}`);
        assert.strictEqual(json("get", "deployment", SVC, "-n", NS).spec.template.spec.containers[0].image, image);
        // No kubelet, so the rollout never completes: a timeout (not Forbidden) shows it may watch.
        assert.throws(
            () => ci("rollout", "status", `deployment/${SVC}`, "--timeout=3s"),
            (e: any) =>
                /timed out waiting for the condition|Waiting for deployment/.test(`${e.stdout}${e.stderr}`) && !/forbidden/i.test(`${e.stderr}`),
        );
        assert.throws(() => ci("get", "secrets"), /forbidden/i);
    });

    it("pulumi destroy leaves nothing of ours behind", () => {
        step("pulumi destroy", "destroy", "--yes", "--skip-preview");
        assert.throws(() => k("get", "namespace", NS), /NotFound/);
        const leftovers = k(
            "get",
            "all,configmaps,secrets,serviceaccounts,roles,rolebindings,ingresses,certificates",
            "-A",
            "-l",
            `client=${CLIENT},env=local`,
            "-o",
            "name",
        );
        assert.strictEqual(leftovers.trim(), "");
        const state = JSON.parse(ws.ok("stack", "export").stdout);
        assert.deepStrictEqual(state.deployment.resources ?? [], []);
    });
});
