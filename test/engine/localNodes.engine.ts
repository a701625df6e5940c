// The `local` stack on a cluster whose pods run (scripts/local-cluster.sh start --with-nodes):
// the example service's image, built here and pushed to the cluster's registry, is pulled with
// the stack's pull Secret and runs under the restricted Pod Security level; its Service answers
// on the cluster IP and by its DNS name; k3s's Helm controller applies the stack's Traefik
// configuration and Traefik serves the service's Ingress over HTTPS; the service template's
// deploy job, run with the real kubectl as the deployer, rolls out the next build; the next
// `pulumi up` keeps it; and a pod deleted mid-traffic is replaced without a failed request,
// whether it goes to the Service or through Traefik.
import * as assert from "assert";
import { Resolver } from "dns/promises";
import * as fs from "fs";
import * as path from "path";
import { stackConfig } from "../../harness/mocks";
import { PulumiWorkspace } from "../../harness/pulumiWorkspace";
import { installCertManagerCrds, LocalNodeCluster, localStackOnNodes, runDeployJob, startLocalNodeCluster } from "../helpers/localCluster";
import { eventually, getJson, IngressAnswer, ingressGet, sleep, trafficLoop } from "../helpers/http";

const config = stackConfig("local");
const NS = Object.keys(JSON.parse(config["hobby-platform:projects"]))[0];
const project = JSON.parse(config["hobby-platform:projects"])[NS];
const SVC = Object.keys(project.services)[0];
const SERVICE = project.services[SVC];
const PIPELINE_ID = "4242";

interface Answer {
    status: number;
    body: { pod: string; version: string; path: string };
}

/** One GET with a deadline; a refused, reset or slow request rejects. */
const get = (url: string): Promise<Answer> => getJson<Answer["body"]>(url);

/**
 * Asks until `done` holds for an answer or `seconds` pass, returning the answers seen: kube-proxy
 * follows the EndpointSlices a moment after a rollout (a new pod's first, a terminating one's last).
 */
async function askUntil(url: string, done: (seen: Answer[]) => boolean, seconds: number): Promise<Answer[]> {
    const seen: Answer[] = [];
    const deadline = Date.now() + seconds * 1000;
    while (!done(seen) && Date.now() < deadline) {
        seen.push(await get(url));
        await sleep(100);
    }
    return seen;
}

describe("local stack with real pods (image pulled through the pull Secret, Service, DNS, Traefik over HTTPS, CI rollout, a lost pod)", function () {
    this.timeout(30 * 60 * 1000);
    // Each step builds on the last: the first failure is the one to read.
    this.bail(true);
    let cluster: LocalNodeCluster;
    let ws: PulumiWorkspace;
    let url: string;
    /** The service's answer through Traefik, over verified HTTPS (set once Traefik serves it). */
    let viaIngress: () => Promise<IngressAnswer>;
    const k = (...args: string[]) => cluster.kubectl(args);
    const json = (...args: string[]) => JSON.parse(k(...args, "-o", "json"));
    const image = (tag: string) => `${cluster.registry.host}/${SERVICE.gitlabProject}:${tag}`;
    const rollout = () => k("rollout", "status", `deployment/${SVC}`, "-n", NS, "--timeout=180s");

    before(() => {
        // One node (the single-node cluster keeps working; threeNodes.engine.ts has three), no
        // network policy enforcer: the test asks the service from the machine, which the
        // project's policies refuse (threeNodes.engine.ts shows them enforced).
        cluster = startLocalNodeCluster(1, { networkPolicy: false });
        installCertManagerCrds(cluster);
        // The image the stack's first Deployment names: <registry>/<gitlabProject>:local-latest.
        cluster.registry.push("example-microservice", image("local-latest"), { VERSION: "1" });
        ws = localStackOnNodes(cluster, NS, SVC, 2);
    });
    after(() => {
        ws?.remove();
        cluster?.stop();
    });

    it("pulumi up runs the service's pods Ready under the restricted level, pulled with the stack's pull Secret", () => {
        ws.ok("up", "--yes", "--skip-preview");
        rollout();
        assert.strictEqual(json("get", "namespace", NS).metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
        const pods = json("get", "pods", "-n", NS, "-l", `app=${SVC}`).items;
        assert.strictEqual(pods.length, 2);
        for (const pod of pods) {
            assert.ok(
                pod.status.conditions.some((c: any) => c.type === "Ready" && c.status === "True"),
                pod.metadata.name,
            );
            // Pulled, not found on the node: imagePullPolicy Always and the registry demands the password.
            assert.match(pod.status.containerStatuses[0].imageID, new RegExp(`^${cluster.registry.host}/${SERVICE.gitlabProject}@sha256:`));
            assert.deepStrictEqual(pod.spec.imagePullSecrets, [{ name: `${SVC}-regcred` }]);
        }
        const svc = json("get", "service", SVC, "-n", NS);
        url = `http://${svc.spec.clusterIP}:${svc.spec.ports[0].port}${SERVICE.basePath}/hello`;
    });

    it("the Service answers on its cluster IP from both replicas, and CoreDNS resolves its name to that IP", async () => {
        const seen = await askUntil(url, (s) => new Set(s.map((a) => a.body.pod)).size === 2, 30);
        for (const a of seen) assert.deepStrictEqual([a.status, a.body.version, a.body.path], [200, "1", `${SERVICE.basePath}/hello`]);
        const served = new Set(seen.map((a) => a.body.pod));
        const pods = json("get", "pods", "-n", NS, "-l", `app=${SVC}`).items.map((p: any) => p.metadata.name);
        assert.deepStrictEqual([...served].sort(), pods.sort(), "each replica served (AGENT is the pod's name)");

        const dns = new Resolver();
        dns.setServers([json("get", "service", "kube-dns", "-n", "kube-system").spec.clusterIP]);
        const clusterIP = json("get", "service", SVC, "-n", NS).spec.clusterIP;
        assert.deepStrictEqual(await dns.resolve4(`${SVC}.${NS}.svc.cluster.local`), [clusterIP]);
    });

    it("k3s's Helm controller applies the stack's Traefik values, and Traefik serves the Ingress over verified HTTPS and redirects HTTP", async () => {
        // The chart's default is a Deployment; the stack's HelmChartConfig makes it a DaemonSet.
        await eventually(120, () => k("get", "daemonset", "traefik", "-n", "kube-system"));
        k("rollout", "status", "daemonset/traefik", "-n", "kube-system", "--timeout=180s");
        await eventually(60, () =>
            assert.deepStrictEqual(json("get", "deployments", "-n", "kube-system", "-l", "app.kubernetes.io/name=traefik").items, []),
        );
        const traefik = json("get", "service", "traefik", "-n", "kube-system");
        assert.strictEqual(traefik.spec.externalTrafficPolicy, "Local");

        const ingress = json("get", "ingress", SVC, "-n", NS);
        const host: string = ingress.spec.rules[0].host;
        cluster.writeTlsSecret(NS, ingress.spec.tls[0].secretName, host);
        const ca = fs.readFileSync(path.join(cluster.dir, "pki", "ca.crt"));
        const hello = `${SERVICE.basePath}/hello`;
        // Until Traefik has read the Secret it serves its own default certificate, which fails verification.
        viaIngress = () => ingressGet("https", traefik.spec.clusterIP, host, hello, ca);
        const answer = await eventually(60, viaIngress);
        assert.deepStrictEqual(answer.cert, { subject: host, issuer: "hobby-platform-local-ca" });
        assert.strictEqual(answer.status, 200, answer.body);
        assert.strictEqual(JSON.parse(answer.body).path, hello);
        // A permanent redirect answers a GET with 301 (traefik v3.6.12 pkg/middlewares/redirect/redirect.go).
        const plain = await ingressGet("http", traefik.spec.clusterIP, host, hello);
        assert.deepStrictEqual([plain.status, plain.location], [301, `https://${host}${hello}`]);
        // The access log (common log format on stdout) has the request.
        await eventually(10, () => assert.match(k("logs", "-n", "kube-system", "daemonset/traefik"), new RegExp(`"GET ${hello} HTTP/1.1" 200 `)));
    });

    it("the template's deploy job, with the stack's server, CA and deployer token, rolls out the next build; pulumi up keeps it", async () => {
        cluster.registry.push("example-microservice", image(`dev-${PIPELINE_ID}`), { VERSION: "2" });
        const job = await runDeployJob(cluster, { service: SVC, gitlabProject: SERVICE.gitlabProject, namespace: NS, pipelineId: PIPELINE_ID });
        assert.match(job.stdout, /successfully rolled out/);
        // The old pods serve while they drain; then only the new build answers, ten times running.
        const seen = await askUntil(url, (s) => s.length >= 10 && s.slice(-10).every((a) => a.body.version === "2"), 30);
        assert.deepStrictEqual(
            seen.slice(-10).map((a) => a.body.version),
            Array(10).fill("2"),
        );

        ws.ok("up", "--yes", "--skip-preview");
        ws.ok("preview", "--expect-no-changes");
        const dep = json("get", "deployment", SVC, "-n", NS);
        assert.strictEqual(dep.spec.template.spec.containers[0].image, image(`dev-${PIPELINE_ID}`));
        assert.strictEqual((await get(url)).body.version, "2");
    });

    it("a pod deleted under traffic is replaced, and no request fails, to the Service or through Traefik (bounded loops)", async () => {
        const victim = json("get", "pods", "-n", NS, "-l", `app=${SVC}`).items[0].metadata.name;
        // Every 50 ms for at most 90 s, until stopped.
        const loops = { "the Service": trafficLoop(() => get(url), 90), "Traefik (HTTPS)": trafficLoop(viaIngress, 90) };
        k("delete", "pod", victim, "-n", NS, "--wait=false");
        const deadline = Date.now() + 80_000;
        let replaced = false;
        while (!replaced && Date.now() < deadline) {
            await sleep(500);
            const pods = json("get", "pods", "-n", NS, "-l", `app=${SVC}`).items;
            replaced =
                !pods.some((p: any) => p.metadata.name === victim) &&
                pods.filter((p: any) => p.status.conditions?.some((c: any) => c.type === "Ready" && c.status === "True")).length === 2;
        }
        // A few more seconds of traffic on the new pod set, then the loops end.
        await sleep(3000);
        await Promise.all(Object.values(loops).map((l) => l.stop()));
        assert.ok(replaced, "the Deployment replaced the deleted pod with a Ready one");
        for (const [to, loop] of Object.entries(loops)) {
            console.log(`      ${loop.requests} requests to ${to} while ${victim} was deleted and replaced, ${loop.failures.length} failed`);
            assert.ok(loop.requests > 50, `${loop.requests} requests to ${to}`);
            assert.deepStrictEqual(loop.failures, [], `${loop.failures.length} of ${loop.requests} requests to ${to} failed`);
        }
    });
});
