// The readiness gate against a real HTTPS server on the loopback interface, with certificates
// made the way the stack makes them: a server CA, a client CA and an admin client certificate.
import * as assert from "assert";
import { generateKeyPairSync } from "crypto";
import * as https from "https";
import { AddressInfo } from "net";
import { ClusterReadiness, ClusterReadinessInputs, readinessProvider, waitForCluster } from "../components/cluster/readiness";
import { certRequest, locallySignedCert, selfSignedCert } from "../harness/clusterMocks";
import { installMocks, runInStack, valueOf } from "../harness/mocks";

const ecKey = () => generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "sec1", format: "pem" }) as string;
const CA = { isCaCertificate: true, validityPeriodHours: 24, allowedUses: ["cert_signing", "digital_signature"] };

interface Pki {
    serverCa: string;
    server: { cert: string; key: string };
    clientCa: string;
    client: { cert: string; key: string };
}

async function signed(caCert: string, caKey: string, cn: string, uses: string[], ipAddresses?: string[]) {
    const key = ecKey();
    const cert = await locallySignedCert(await certRequest(key, { commonName: cn }), caCert, caKey, {
        validityPeriodHours: 24,
        allowedUses: uses,
        ipAddresses,
    });
    return { cert, key };
}

async function makePki(): Promise<Pki> {
    const [serverCaKey, clientCaKey] = [ecKey(), ecKey()];
    const serverCa = await selfSignedCert(serverCaKey, { ...CA, subject: { commonName: "server-ca" } });
    const clientCa = await selfSignedCert(clientCaKey, { ...CA, subject: { commonName: "client-ca" } });
    return {
        serverCa,
        server: await signed(serverCa, serverCaKey, "kube-apiserver", ["server_auth", "digital_signature"], ["127.0.0.1"]),
        clientCa,
        client: await signed(clientCa, clientCaKey, "hobby-platform-admin", ["client_auth", "digital_signature"]),
    };
}

type Node = { name: string; ready: boolean; unschedulable?: boolean };

/** A stand-in API server: /readyz and /api/v1/nodes, client certificates required. */
class FakeApiServer {
    readyz = 200;
    nodes: Node[] = [];
    requests = 0;
    /** Called with each request's path before it is answered: a test changes the answers by request, not by clock. */
    onRequest?: (url: string | undefined) => void;
    private server?: https.Server;

    async start(pki: Pki, serving = pki.server): Promise<string> {
        this.server = https.createServer(
            { cert: serving.cert, key: serving.key, ca: pki.clientCa, requestCert: true, rejectUnauthorized: true },
            (req, res) => {
                this.requests++;
                this.onRequest?.(req.url);
                if (req.url === "/readyz") {
                    res.writeHead(this.readyz).end(this.readyz === 200 ? "ok" : "[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed");
                } else if (req.url === "/api/v1/nodes") {
                    res.writeHead(200, { "content-type": "application/json" }).end(
                        JSON.stringify({
                            items: this.nodes.map((n) => ({
                                metadata: { name: n.name },
                                spec: n.unschedulable ? { unschedulable: true } : {},
                                status: { conditions: [{ type: "Ready", status: n.ready ? "True" : "False" }] },
                            })),
                        }),
                    );
                } else {
                    res.writeHead(404).end();
                }
            },
        );
        await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
        return `https://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
    }

    stop(): Promise<void> {
        return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
    }
}

describe("HobbyCluster readiness gate", function () {
    this.timeout(20_000);
    let pki: Pki;
    let api: FakeApiServer;
    let inputs: ClusterReadinessInputs;

    before(async () => {
        pki = await makePki();
    });
    beforeEach(async () => {
        api = new FakeApiServer();
        const server = await api.start(pki);
        inputs = {
            server,
            caCertificate: pki.serverCa,
            clientCertificate: pki.client.cert,
            clientKey: pki.client.key,
            nodeNames: ["hobby-dev-1", "hobby-dev-2", "hobby-dev-3"],
            agentNames: [],
            servers: ["id-1 vc2-1c-2gb", "id-2 vc2-1c-2gb", "id-3 vc2-1c-2gb"],
            timeoutSeconds: 0.2,
            pollSeconds: 0.05,
        };
    });
    afterEach(() => api.stop());

    it("opens once /readyz is ok over verified TLS and every expected node is Ready", async () => {
        api.nodes = inputs.nodeNames.map((name) => ({ name, ready: true }));
        const outs = await waitForCluster(inputs);
        assert.deepStrictEqual(outs.readyNodes, inputs.nodeNames);
        assert.strictEqual((outs as unknown as Record<string, unknown>).clientKey, undefined, "the key is not kept in the gate's state");
    });

    it("keeps waiting while the API server is not ready or a node is not Ready, then opens", async () => {
        api.readyz = 500;
        api.nodes = [{ name: "hobby-dev-1", ready: true }];
        // Two answers of a not-ready API server, then one node list with a node missing, then all
        // Ready: by request, so that a slow machine (a late first poll) cannot skip a state.
        const seen: Record<string, number> = {};
        api.onRequest = (url) => {
            const n = (seen[url ?? ""] = (seen[url ?? ""] ?? 0) + 1);
            if (url === "/readyz" && n === 3) api.readyz = 200;
            if (url === "/api/v1/nodes" && n === 2) api.nodes = inputs.nodeNames.map((name) => ({ name, ready: true }));
        };
        const started = Date.now();
        await waitForCluster({ ...inputs, timeoutSeconds: 5 });
        assert.ok(Date.now() - started >= 120, "it did not open before every node was Ready");
        assert.ok(api.requests >= 4);
    });

    it("fails after the bounded wait naming what is missing, and no credential", async () => {
        api.nodes = [
            { name: "hobby-dev-1", ready: true },
            { name: "hobby-dev-2", ready: false },
        ];
        const started = Date.now();
        await assert.rejects(waitForCluster(inputs), (e: Error) => {
            assert.match(
                e.message,
                new RegExp(`cluster at ${inputs.server} is not ready after 0.2 s: nodes not Ready yet: hobby-dev-2, hobby-dev-3`),
            );
            assert.match(e.message, /cluster\.adminCidrs/);
            assert.doesNotMatch(e.message, /BEGIN|PRIVATE/);
            return true;
        });
        assert.ok(Date.now() - started < 3000, "the wait is bounded");
    });

    it("reports an unready API server's failing checks", async () => {
        api.readyz = 500;
        await assert.rejects(waitForCluster(inputs), /\/readyz answered 500: \[-\]etcd failed/);
    });

    it("never trusts a server whose certificate is not from the cluster's CA", async () => {
        await api.stop();
        api = new FakeApiServer();
        const other = await makePki();
        inputs.server = await api.start(pki, other.server);
        api.nodes = inputs.nodeNames.map((name) => ({ name, ready: true }));
        await assert.rejects(waitForCluster(inputs), /not ready after 0.2 s: .*(certificate|self.signed|verify)/i);
        assert.strictEqual(api.requests, 0, "no request reached the impostor");
    });

    it("exposes the nodes it saw Ready as an output", async () => {
        await installMocks("dev");
        let gate!: ClusterReadiness;
        await runInStack(() => {
            gate = new ClusterReadiness("gate", { ...inputs, clientKey: inputs.clientKey });
            return {};
        });
        assert.deepStrictEqual(await valueOf(gate.readyNodes), inputs.nodeNames);
    });

    it("waits again when the server, CA, client certificate or node set changes, and only then", async () => {
        const outs = {
            server: inputs.server,
            caCertificate: inputs.caCertificate,
            clientCertificate: inputs.clientCertificate,
            nodeNames: inputs.nodeNames,
            agentNames: inputs.agentNames,
            servers: inputs.servers,
            readyNodes: inputs.nodeNames,
        };
        const diff = (news: Partial<ClusterReadinessInputs>) => readinessProvider.diff!("id", outs, { ...inputs, ...news });
        assert.deepStrictEqual(await diff({}), { changes: false, replaces: [] });
        assert.deepStrictEqual(await diff({ timeoutSeconds: 60 }), { changes: false, replaces: [] });
        assert.deepStrictEqual(await diff({ nodeNames: [...inputs.nodeNames, "hobby-dev-4", "hobby-dev-5"] }), { changes: true, replaces: [] });
        assert.deepStrictEqual(await diff({ clientCertificate: "renewed" }), { changes: true, replaces: [] });
        assert.deepStrictEqual(await diff({ server: "https://198.51.100.1:6443" }), { changes: true, replaces: ["server"] });
        // A replaced server (new instance id) or a resized one (new plan): wait for it again.
        assert.deepStrictEqual(await diff({ servers: ["id-1 vc2-1c-2gb", "id-9 vc2-1c-2gb", "id-3 vc2-1c-2gb"] }), { changes: true, replaces: [] });
        assert.deepStrictEqual(await diff({ servers: inputs.servers.map((s) => s.replace("vc2-1c-2gb", "vc2-2c-4gb")) }), {
            changes: true,
            replaces: [],
        });
    });

    describe("refuses at preview a scale-down that would leave etcd without a quorum", () => {
        const check = (nodeNames: string[]) => readinessProvider.check!(inputs, { ...inputs, nodeNames });
        beforeEach(() => {
            api.nodes = inputs.nodeNames.map((name) => ({ name, ready: true }));
        });

        it("3 -> 1 while the cluster still has the other two servers: refused, naming them and the procedure", async () => {
            const { failures } = await check(["hobby-dev-1"]);
            assert.strictEqual(failures?.length, 1);
            assert.match(failures![0].reason, /cluster\.nodeCount: 3 -> 1 at once would leave etcd without a quorum/);
            assert.match(failures![0].reason, /kubectl delete node hobby-dev-2 hobby-dev-3/);
        });

        it("3 -> 1 once the other two were removed from the cluster: accepted, whatever agents the cluster has", async () => {
            api.nodes = [{ name: "hobby-dev-1", ready: true }];
            assert.deepStrictEqual((await check(["hobby-dev-1"])).failures, []);
            api.nodes.push({ name: "hobby-dev-workers-1", ready: true });
            assert.deepStrictEqual((await check(["hobby-dev-1"])).failures, []);
        });

        it("keeps a majority (5 -> 3, 3 -> 3, 3 -> 5) without asking the cluster", async () => {
            const five = ["hobby-dev-1", "hobby-dev-2", "hobby-dev-3", "hobby-dev-4", "hobby-dev-5"];
            const before = api.requests;
            assert.deepStrictEqual(
                (await readinessProvider.check!({ ...inputs, nodeNames: five }, { ...inputs, nodeNames: five.slice(0, 3) })).failures,
                [],
            );
            assert.deepStrictEqual((await check(inputs.nodeNames)).failures, []);
            assert.deepStrictEqual((await check(five)).failures, []);
            assert.strictEqual(api.requests, before);
        });

        it("refuses when it cannot ask the cluster, saying why", async () => {
            api.nodes = [];
            await api.stop();
            const { failures } = await check(["hobby-dev-1"]);
            assert.match(failures![0].reason, /cannot tell whether the scale-down keeps etcd's quorum/);
        });
    });

    describe("refuses at preview to delete agents that were not drained", () => {
        const agents = ["hobby-dev-workers-1", "hobby-dev-workers-2", "hobby-dev-workers-3"];
        const check = (agentNames: string[]) => readinessProvider.check!({ ...inputs, agentNames: agents }, { ...inputs, agentNames });
        beforeEach(() => {
            api.nodes = [...inputs.nodeNames, ...agents].map((name) => ({ name, ready: true }));
        });

        it("a pool 3 -> 1 with both agents still schedulable: refused, naming them and the drain command", async () => {
            const { failures } = await check(agents.slice(0, 1));
            assert.strictEqual(failures?.length, 1);
            assert.strictEqual(failures![0].property, "agentNames");
            assert.match(failures![0].reason, /cluster\.workers: removing hobby-dev-workers-2, hobby-dev-workers-3 would stop their pods/);
            assert.match(failures![0].reason, /kubectl drain hobby-dev-workers-2 hobby-dev-workers-3 --ignore-daemonsets --delete-emptydir-data/);
        });

        it("names only the agent not yet drained, and accepts once every removed agent is cordoned or gone", async () => {
            api.nodes.find((n) => n.name === "hobby-dev-workers-3")!.unschedulable = true;
            assert.match((await check(agents.slice(0, 1))).failures![0].reason, /removing hobby-dev-workers-2 would/);
            api.nodes = api.nodes.filter((n) => n.name !== "hobby-dev-workers-2");
            assert.deepStrictEqual((await check(agents.slice(0, 1))).failures, []);
        });

        it("adds agents, or keeps them, without asking the cluster; a gate recorded before pools existed had none", async () => {
            const before = api.requests;
            assert.deepStrictEqual((await check([...agents, "hobby-dev-workers-4"])).failures, []);
            assert.deepStrictEqual((await check(agents)).failures, []);
            const { agentNames: _, ...older } = inputs;
            assert.deepStrictEqual((await readinessProvider.check!(older as ClusterReadinessInputs, { ...inputs, agentNames: agents })).failures, []);
            assert.strictEqual(api.requests, before);
        });

        it("waits for the agents as for the servers before it opens", async () => {
            api.nodes = [...inputs.nodeNames, ...agents].map((name) => ({ name, ready: name !== "hobby-dev-workers-2" }));
            await assert.rejects(waitForCluster({ ...inputs, agentNames: agents }), /nodes not Ready yet: hobby-dev-workers-2/);
        });
    });
});
