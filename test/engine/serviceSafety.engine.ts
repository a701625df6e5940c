// Issue 34 on a cluster whose pods run (scripts/local-cluster.sh start --with-nodes): the first
// `pulumi up` of a service whose image was never pushed finishes at once; the image pushed and
// the template's deploy job bring it up (and end its first-build state); a secret set with
// `pulumi config set --secret --path` reaches the pod as a variable and as a file, and changing
// it rolls the pods, awaited by `up`; the PodDisruptionBudget refuses a second eviction while the
// first pod's replacement is not ready. The project's NetworkPolicies are accepted by the API
// server and match the live Traefik (their enforcement is threeNodes.engine.ts's).
import * as assert from "assert";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { FIRST_BUILD_ANNOTATION, INGRESS_CONTROLLER_PEER } from "../../components/workload/microservice";
import { stackConfig } from "../../harness/mocks";
import { PulumiWorkspace } from "../../harness/pulumiWorkspace";
import { installCertManagerCrds, LocalNodeCluster, runDeployJob, startLocalNodeCluster } from "../helpers/localCluster";
import { eventually, getJson } from "../helpers/http";

const config = stackConfig("local");
const NS = Object.keys(JSON.parse(config["hobby-platform:projects"]))[0];
const SVC = Object.keys(JSON.parse(config["hobby-platform:projects"])[NS].services)[0];
const SERVICE = JSON.parse(config["hobby-platform:projects"])[NS].services[SVC];
const PIPELINE_ID = "3434";
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

interface Answer {
    pod: string;
    version: string;
    tokenEnvSha256?: string;
    tokenFileSha256?: string;
}

const get = async (url: string): Promise<Answer> => (await getJson<Answer>(url)).body;

describe("services as safe as the cluster (issue 34), with real pods", function () {
    this.timeout(30 * 60 * 1000);
    this.bail(true);
    let cluster: LocalNodeCluster;
    let ws: PulumiWorkspace;
    const k = (...args: string[]) => cluster.kubectl(args);
    const json = (...args: string[]) => JSON.parse(k(...args, "-o", "json"));
    const image = (tag: string) => `${cluster.registry.host}/${SERVICE.gitlabProject}:${tag}`;
    const readyPods = () =>
        json("get", "pods", "-n", NS, "-l", `app=${SVC}`).items.filter(
            (p: any) => !p.metadata.deletionTimestamp && p.status.conditions?.some((c: any) => c.type === "Ready" && c.status === "True"),
        );
    let url: string;
    const secretKey = `projects.${NS}.services.${SVC}.secrets.TOKEN`;

    before(() => {
        // One node (the single-node cluster keeps working; threeNodes.engine.ts has three), no
        // network policy enforcer: the test asks the service from the machine, which the
        // project's policies refuse (threeNodes.engine.ts shows them enforced).
        cluster = startLocalNodeCluster(1, { networkPolicy: false });
        installCertManagerCrds(cluster);
        ws = new PulumiWorkspace("local", cluster.env);
        ws.ok("config", "set", "--path", "gitlab.registry", cluster.registry.host);
        ws.ok("config", "set", "--path", "gitlab.registryUsername", cluster.registry.username);
        ws.setSecret("registryPassword", cluster.registry.password);
        ws.ok("config", "set", "--path", `projects.${NS}.services.${SVC}.replicas`, "2");
        ws.ok("config", "set", "--path", `projects.${NS}.services.${SVC}.secretsAs`, "both");
        // As the stack files' comments say: the value from standard input, never a command line.
        ws.setSecret(secretKey, "first-token-value", { path: true });
        // No cluster.skipAwait: the first up must finish on its own with pods that cannot start.
    });
    after(() => {
        ws?.remove();
        cluster?.stop();
    });

    it("the first up of a service whose image was never pushed finishes at once, says the service waits for its build, and writes no secret in plain text", () => {
        const up = ws.ok("up", "--yes", "--skip-preview");
        console.log(`      first up: ${up.seconds.toFixed(1)} s`);
        assert.ok(up.seconds < 180, `the first up took ${up.seconds} s`);
        const outputs = JSON.parse(ws.ok("stack", "output", "--json").stdout);
        assert.deepStrictEqual(outputs.servicesAwaitingFirstBuild, [`${NS}/${SVC}`]);
        assert.match(up.stdout, new RegExp(`${SVC} waits for its first build`));
        assert.ok(!up.stdout.includes("first-token-value") && !up.stderr.includes("first-token-value"));
        const stackFile = fs.readFileSync(path.join(ws.dir, "Pulumi.local.yaml"), "utf8");
        assert.ok(!stackFile.includes("first-token-value"), "the stack file holds the secret encrypted");
        assert.match(stackFile, /TOKEN:\s+secure: /);
        const dep = json("get", "deployment", SVC, "-n", NS);
        assert.strictEqual(dep.metadata.annotations[FIRST_BUILD_ANNOTATION], "true");
        // Its pods exist and wait for the image.
        const waiting = json("get", "pods", "-n", NS, "-l", `app=${SVC}`).items;
        assert.ok(waiting.length >= 1);
        assert.strictEqual(readyPods().length, 0);
        assert.strictEqual(json("get", "configmap", SVC, "-n", NS).data[`local_config.yml`].includes("first-token-value"), false);
    });

    it("the image pushed, the template's deploy job brings the service up and ends its first-build state", async () => {
        cluster.registry.push("example-microservice", image(`dev-${PIPELINE_ID}`), { VERSION: "1" });
        const job = await runDeployJob(cluster, { service: SVC, gitlabProject: SERVICE.gitlabProject, namespace: NS, pipelineId: PIPELINE_ID });
        assert.match(job.stdout, /successfully rolled out/);
        assert.strictEqual(readyPods().length, 2);
        const dep = json("get", "deployment", SVC, "-n", NS);
        assert.strictEqual(dep.metadata.annotations?.[FIRST_BUILD_ANNOTATION], undefined, "the deploy job removed the mark");
        const svc = json("get", "service", SVC, "-n", NS);
        url = `http://${svc.spec.clusterIP}:${svc.spec.ports[0].port}${SERVICE.basePath}/hello`;
        assert.strictEqual((await eventually(30, () => get(url))).version, "1");
        // The next up (refreshed) neither puts the mark back nor changes anything else.
        ws.ok("up", "--yes", "--skip-preview");
        ws.ok("preview", "--expect-no-changes");
        assert.strictEqual(json("get", "deployment", SVC, "-n", NS).metadata.annotations?.[FIRST_BUILD_ANNOTATION], undefined);
        assert.deepStrictEqual(JSON.parse(ws.ok("stack", "output", "--json").stdout).servicesAwaitingFirstBuild, []);
    });

    it("the secret reaches the pod as the variable TOKEN and the file /secrets/TOKEN, and the pod template carries nothing derived from it", async () => {
        const answer = await get(url);
        assert.strictEqual(answer.tokenEnvSha256, sha256("first-token-value"));
        assert.strictEqual(answer.tokenFileSha256, sha256("first-token-value"));
        const template = JSON.stringify(json("get", "deployment", SVC, "-n", NS).spec.template);
        for (const derived of ["first-token-value", sha256("first-token-value"), Buffer.from("first-token-value").toString("base64")])
            assert.ok(!template.includes(derived), derived);
        // The policies' peer selects Traefik as the cluster runs it (k3s's HelmChart, the chart's own labels).
        const { namespaceSelector, podSelector } = INGRESS_CONTROLLER_PEER;
        const selector = (labels: Record<string, string>) =>
            Object.entries(labels)
                .map(([key, v]) => `${key}=${v}`)
                .join(",");
        await eventually(300, () => {
            assert.deepStrictEqual(
                json("get", "namespaces", "-l", selector(namespaceSelector.matchLabels)).items.map((n: any) => n.metadata.name),
                ["kube-system"],
            );
            assert.ok(
                json("get", "pods", "-n", "kube-system", "-l", selector(podSelector.matchLabels)).items.length > 0,
                "Traefik's pods match the peer",
            );
        });
        const policies = json("get", "networkpolicies", "-n", NS)
            .items.map((p: any) => p.metadata.name)
            .sort();
        assert.deepStrictEqual(policies, ["allow-acme-http01-solver", "allow-same-namespace", "default-deny-ingress", SVC].sort());
    });

    it("changing the secret rolls the pods, and up awaits the rollout of the running service; CI's image stays", async () => {
        const before = readyPods().map((p: any) => p.metadata.name);
        ws.setSecret(secretKey, "second-token-value", { path: true });
        const up = ws.ok("up", "--yes", "--skip-preview", "--diff");
        console.log(`      up with a changed secret: ${up.seconds.toFixed(1)} s`);
        // Awaited: when up returns, the rollout is done (new pods ready, the old ones gone or going).
        const after = readyPods().map((p: any) => p.metadata.name);
        const state = () => `${up.stdout}\n${k("get", "deployments,replicasets,pods", "-n", NS, "-o", "wide")}`;
        assert.strictEqual(after.length, 2, state());
        assert.deepStrictEqual(
            after.filter((n: string) => before.includes(n)),
            [],
        );
        const dep = json("get", "deployment", SVC, "-n", NS);
        assert.strictEqual(dep.status.updatedReplicas, 2);
        assert.strictEqual(dep.spec.template.spec.containers[0].image, image(`dev-${PIPELINE_ID}`));
        const answer = await eventually(30, async () => {
            const a = await get(url);
            assert.strictEqual(a.tokenEnvSha256, sha256("second-token-value"));
            return a;
        });
        assert.strictEqual(answer.tokenFileSha256, sha256("second-token-value"));
    });

    it("the PodDisruptionBudget lets one pod be evicted and refuses a second while the first is not back", async () => {
        const evict = (pod: string) => {
            const body = JSON.stringify({ apiVersion: "policy/v1", kind: "Eviction", metadata: { name: pod, namespace: NS } });
            try {
                cluster.kubectl(["create", "--raw", `/api/v1/namespaces/${NS}/pods/${pod}/eviction`, "-f", "-"], body);
                return "evicted";
            } catch (e) {
                return String((e as { stderr?: string }).stderr ?? e);
            }
        };
        await eventually(60, () => assert.strictEqual(json("get", "pdb", SVC, "-n", NS).status.disruptionsAllowed, 1));
        const [first, second] = readyPods().map((p: any) => p.metadata.name);
        assert.strictEqual(evict(first), "evicted");
        const refused = evict(second);
        console.log(`      second eviction: ${refused.trim()}`);
        assert.match(refused, /Cannot evict pod as it would violate the pod's disruption budget|TooManyRequests|429/);
        // Once the replacement is ready, the next eviction goes through.
        await eventually(120, () => {
            assert.strictEqual(readyPods().length, 2);
            assert.strictEqual(json("get", "pdb", SVC, "-n", NS).status.disruptionsAllowed, 1);
        });
        assert.strictEqual(evict(second), "evicted");
    });
});
