// Who owns a Deployment's `spec.replicas` once a service is autoscaled, under server-side apply on
// a real API server (the loopback cluster: no kubelet, so the stack skips awaiting rollouts): turning
// `autoscaling` on keeps the running count (no reset to the default 1); a count the autoscaler
// writes (here `kubectl scale`, through the same scale subresource the HPA controller uses) survives
// the stack's next `up` that changes the pod template; turning it off gives the count back to the stack.
import * as assert from "assert";
import { stackConfig } from "../../harness/mocks";
import { PulumiWorkspace } from "../../harness/pulumiWorkspace";
import { installCertManagerCrds, LocalCluster, startLocalCluster } from "../helpers/localCluster";

const PROJECTS = JSON.parse(stackConfig("local")["hobby-platform:projects"]);
const NS = Object.keys(PROJECTS)[0];
const SVC = Object.keys(PROJECTS[NS].services)[0];
const at = `projects.${NS}.services.${SVC}`;

describe("autoscaling and server-side apply on a real API server: the stack never fights the autoscaler", function () {
    this.timeout(20 * 60 * 1000);
    this.bail(true);
    let cluster: LocalCluster;
    let ws: PulumiWorkspace;
    const replicas = () => Number(cluster.kubectl(["get", "deployment", SVC, "-n", NS, "-o", "jsonpath={.spec.replicas}"]));
    const up = () => ws.ok("up", "--yes", "--skip-preview");

    before(() => {
        cluster = startLocalCluster();
        installCertManagerCrds(cluster);
        ws = new PulumiWorkspace("local", cluster.env);
        ws.setSecret("registryPassword", "engine-test-registry-password");
        ws.ok("config", "set", "--path", "cluster.skipAwait", "true");
        ws.ok("config", "set", "--path", `${at}.replicas`, "3");
        up();
    });
    after(() => {
        ws?.run("destroy", "--yes", "--skip-preview");
        ws?.remove();
        cluster?.stop();
    });

    it("turning autoscaling on keeps the running count and adds the HPA", () => {
        assert.strictEqual(replicas(), 3);
        ws.ok("config", "rm", "--path", `${at}.replicas`);
        ws.ok("config", "set", "--path", `${at}.autoscaling.min`, "2");
        ws.ok("config", "set", "--path", `${at}.autoscaling.max`, "5");
        up();
        assert.strictEqual(replicas(), 3, "not reset to 1 by the apply that leaves replicas out");
        const hpa = JSON.parse(cluster.kubectl(["get", "hpa", SVC, "-n", NS, "-o", "json"]));
        assert.deepStrictEqual([hpa.apiVersion, hpa.spec.minReplicas, hpa.spec.maxReplicas], ["autoscaling/v2", 2, 5]);
        ws.ok("preview", "--expect-no-changes");
    });

    it("a count written through the scale subresource (as the HPA controller writes it) survives an up that changes the pod template", () => {
        cluster.kubectl(["scale", "deployment", SVC, "-n", NS, "--replicas=4"]);
        ws.ok("config", "set", "--path", `${at}.env.LOG_LEVEL`, "debug");
        up();
        const dep = JSON.parse(cluster.kubectl(["get", "deployment", SVC, "-n", NS, "-o", "json"]));
        assert.ok(
            dep.spec.template.spec.containers[0].env.some((e: { name: string; value?: string }) => e.name === "LOG_LEVEL" && e.value === "debug"),
            "the up changed the pod template",
        );
        assert.strictEqual(dep.spec.replicas, 4, "the stack left the autoscaler's count alone");
        ws.ok("preview", "--expect-no-changes");
    });

    it("turning autoscaling off gives the count back to the stack", () => {
        ws.ok("config", "rm", "--path", `${at}.autoscaling`);
        ws.ok("config", "set", "--path", `${at}.replicas`, "2");
        up();
        assert.strictEqual(replicas(), 2);
        ws.ok("preview", "--expect-no-changes");
        assert.strictEqual(cluster.kubectl(["get", "hpa", "-n", NS, "-o", "name"]).trim(), "");
    });
});
