// The readiness gate against a real HTTPS server on the loopback interface, with certificates
// made the way the stack makes them: a server CA, a client CA and an admin client certificate.
import * as assert from "assert";
import { generateKeyPairSync } from "crypto";
import * as https from "https";
import * as net from "net";
import { AddressInfo } from "net";
import { ClusterReadiness, ClusterReadinessInputs, readinessProvider, Resolver, waitForCluster } from "../components/cluster/readiness";
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

/** The API's fixed name in the tests: in the serving certificate, resolved by the test's own resolver. */
const API_HOST = "k8s.dev.example.com";

async function signed(caCert: string, caKey: string, cn: string, uses: string[], ipAddresses?: string[], dnsNames?: string[]) {
    const key = ecKey();
    const cert = await locallySignedCert(await certRequest(key, { commonName: cn }), caCert, caKey, {
        validityPeriodHours: 24,
        allowedUses: uses,
        ipAddresses,
        dnsNames,
    });
    return { cert, key };
}

async function makePki(): Promise<Pki> {
    const [serverCaKey, clientCaKey] = [ecKey(), ecKey()];
    const serverCa = await selfSignedCert(serverCaKey, { ...CA, subject: { commonName: "server-ca" } });
    const clientCa = await selfSignedCert(clientCaKey, { ...CA, subject: { commonName: "client-ca" } });
    return {
        serverCa,
        server: await signed(serverCa, serverCaKey, "kube-apiserver", ["server_auth", "digital_signature"], ["127.0.0.1"], [API_HOST]),
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

    async start(pki: Pki, serving = pki.server, port = 0): Promise<string> {
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
        await new Promise<void>((r) => this.server!.listen(port, "127.0.0.1", r));
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
            assert.match(e.message, /answers but is not ready yet/);
            assert.doesNotMatch(e.message, /BEGIN|PRIVATE/);
            return true;
        });
        assert.ok(Date.now() - started < 3000, "the wait is bounded");
    });

    describe("its timeout names the cause it can tell apart, and what to do", () => {
        const reject = (i: ClusterReadinessInputs, resolve?: Resolver) =>
            assert.rejects(waitForCluster(i, resolve), (e: Error) => {
                assert.doesNotMatch(e.message, /BEGIN|PRIVATE/);
                throw e;
            });

        it("the name has no address: DNS, and the zone's delegation to Vultr's name servers", async () => {
            const notFound: Resolver = async (host) => {
                throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
            };
            await assert.rejects(
                reject({ ...inputs, server: `https://${API_HOST}:6443` }, notFound),
                /getaddrinfo ENOTFOUND k8s\.dev\.example\.com\. k8s\.dev\.example\.com has no address: .*dig NS <zone>/,
            );
        });

        it("connection refused: k3s is not listening, and where the install script says why", async () => {
            await api.stop();
            await assert.rejects(
                reject(inputs),
                /connection refused\. the VM is up but nothing listens on 6443: .*hobby-k3s-install:.*refusing to initialise a new cluster/,
            );
        });

        it("no answer: the firewall, whose cluster.adminCidrs must hold this machine's address", async () => {
            const silent = net.createServer(() => undefined);
            await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
            try {
                const server = `https://127.0.0.1:${(silent.address() as AddressInfo).port}`;
                await assert.rejects(reject({ ...inputs, server }), /no answer within 0\.2 s\. packets go unanswered: .*cluster\.adminCidrs/);
            } finally {
                silent.close();
            }
        });
    });

    describe("reaches a live server whichever of the name's addresses are dead", () => {
        let port: number;
        let asked: string[];
        const resolver =
            (...addresses: string[]): Resolver =>
            async (host) => {
                asked.push(host);
                return addresses;
            };
        beforeEach(() => {
            asked = [];
            port = Number(new URL(inputs.server).port);
            api.nodes = inputs.nodeNames.map((name) => ({ name, ready: true }));
        });

        it("Node itself gives each address but the last 250 ms to connect, too little from far away, so the gate tries each in turn", () => {
            assert.strictEqual(net.getDefaultAutoSelectFamily(), true);
            assert.strictEqual(net.getDefaultAutoSelectFamilyAttemptTimeout(), 250);
        });

        it("a refused and a silent address before the live one: every address gets its own full attempt", async () => {
            const silent = net.createServer(() => undefined);
            await new Promise<void>((r) => silent.listen(port, "127.0.0.3", r));
            try {
                const outs = await waitForCluster(
                    { ...inputs, server: `https://${API_HOST}:${port}`, timeoutSeconds: 0.3 },
                    resolver("127.0.0.2", "127.0.0.3", "127.0.0.1"),
                );
                assert.deepStrictEqual(outs.readyNodes, inputs.nodeNames);
                assert.deepStrictEqual(asked, [API_HOST]);
            } finally {
                silent.close();
            }
        });

        it("verifies the name, not the address, in the server's certificate", async () => {
            await assert.rejects(
                waitForCluster({ ...inputs, server: `https://k8s.other.example.com:${port}` }, resolver("127.0.0.1")),
                /not one of this stack's CA for k8s\.other\.example\.com/,
            );
        });

        it("a server's own gate asks only its address, as the API's name, before any A record exists", async () => {
            const outs = await waitForCluster({ ...inputs, server: `https://${API_HOST}:${port}`, address: "127.0.0.1" }, resolver());
            assert.deepStrictEqual(asked, [], "no lookup: the name has no record yet");
            assert.strictEqual(outs.address, "127.0.0.1");
            await assert.rejects(
                waitForCluster({ ...inputs, server: `https://${API_HOST}:${port}`, address: "127.0.0.2" }, resolver("127.0.0.1")),
                /cluster at https:\/\/k8s\.dev\.example\.com:\d+ \(at 127\.0\.0\.2\) is not ready after 0\.2 s: connection refused/,
            );
        });
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
        await assert.rejects(waitForCluster(inputs), /not ready after 0.2 s: .*(certificate|self.signed|verify).*not one of this stack's CA/i);
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

    describe("refuses at preview to delete a server that is still in the cluster (its etcd member would stay)", () => {
        const five = ["hobby-dev-1", "hobby-dev-2", "hobby-dev-3", "hobby-dev-4", "hobby-dev-5"];
        const check = (from: string[], to: string[]) => readinessProvider.check!({ ...inputs, nodeNames: from }, { ...inputs, nodeNames: to });
        beforeEach(() => {
            api.nodes = five.map((name) => ({ name, ready: true }));
        });

        it("5 -> 3 while servers 4 and 5 are registered Nodes: refused, naming them and the kubectl delete node step", async () => {
            const { failures } = await check(five, five.slice(0, 3));
            assert.strictEqual(failures?.length, 1);
            assert.strictEqual(failures![0].property, "nodeNames");
            assert.match(failures![0].reason, /cluster\.nodeCount: 5 -> 3 deletes hobby-dev-4, hobby-dev-5, still in the cluster/);
            assert.match(failures![0].reason, /kubectl delete node hobby-dev-4 hobby-dev-5/);
            assert.match(failures![0].reason, /kubectl drain <name> --ignore-daemonsets --delete-emptydir-data`, delete its VM at Vultr/);
        });

        it("3 -> 1 likewise, naming only the servers still registered", async () => {
            api.nodes = api.nodes.filter((n) => n.name !== "hobby-dev-2");
            const { failures } = await check(five.slice(0, 3), ["hobby-dev-1"]);
            assert.match(failures![0].reason, /3 -> 1 deletes hobby-dev-3, still in the cluster/);
        });

        it("accepted once every removed server's Node is deleted, whatever agents the cluster has", async () => {
            api.nodes = [
                { name: "hobby-dev-1", ready: true },
                { name: "hobby-dev-2", ready: true },
                { name: "hobby-dev-3", ready: true },
            ];
            assert.deepStrictEqual((await check(five, five.slice(0, 3))).failures, []);
            api.nodes = [
                { name: "hobby-dev-1", ready: true },
                { name: "hobby-dev-workers-1", ready: true },
            ];
            assert.deepStrictEqual((await check(five.slice(0, 3), ["hobby-dev-1"])).failures, []);
        });

        it("keeps or adds servers (3 -> 3, 3 -> 5) without asking the cluster", async () => {
            const before = api.requests;
            assert.deepStrictEqual((await check(five.slice(0, 3), five.slice(0, 3))).failures, []);
            assert.deepStrictEqual((await check(five.slice(0, 3), five)).failures, []);
            assert.strictEqual(api.requests, before);
        });

        it("refuses when it cannot ask the cluster, saying why", async () => {
            await api.stop();
            const { failures } = await check(five.slice(0, 3), ["hobby-dev-1"]);
            assert.match(failures![0].reason, /cannot tell whether the servers to delete are still in the cluster .*ECONNREFUSED/);
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
