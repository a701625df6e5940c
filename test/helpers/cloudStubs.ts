// Stand-ins on 127.0.0.1 for what a new stack's checks ask the outside: a DNS resolver answering NS
// queries, and the Vultr API's account and domain endpoints with its access control by address.
// Used by the scaffold's tests and, run as a process, by .ci/run's walk through the quickstart.
import * as dgram from "dgram";
import * as dnsPacket from "dns-packet";
import * as http from "http";
import { AddressInfo } from "net";

/** A resolver that answers NS queries for the zones given (name servers), NXDOMAIN for the rest. */
export interface StubResolver {
    /** `127.0.0.1:<port>`, the form `--resolver` and dns.Resolver#setServers take. */
    address: string;
    close(): Promise<void>;
}

export function startStubResolver(zones: Record<string, string[]>): Promise<StubResolver> {
    const socket = dgram.createSocket("udp4");
    socket.on("message", (msg, peer) => {
        const query = dnsPacket.decode(msg);
        const question = query.questions?.[0];
        const servers = question ? zones[question.name.toLowerCase().replace(/\.$/, "")] : undefined;
        const answers: dnsPacket.Answer[] =
            question?.type === "NS" && servers ? servers.map((data) => ({ type: "NS", name: question.name, ttl: 300, class: "IN", data })) : [];
        const response = dnsPacket.encode({
            id: query.id,
            type: "response",
            flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (servers ? 0 : 3), // rcode 3: NXDOMAIN
            questions: query.questions,
            answers,
        });
        socket.send(response, peer.port, peer.address);
    });
    return new Promise((resolve) =>
        socket.bind(0, "127.0.0.1", () =>
            resolve({
                address: `127.0.0.1:${(socket.address() as AddressInfo).port}`,
                close: () => new Promise<void>((r) => socket.close(() => r())),
            }),
        ),
    );
}

export interface StubVultrOptions {
    /** The one key the account has. */
    key: string;
    /** The DNS zones the account holds. */
    zones: string[];
    /** When set, the key's access control lets only this address in; others get Vultr's 401. */
    allowedAddress?: string;
    /** The address the API sees the caller come from (Vultr sees the public one). */
    callerAddress?: string;
}

export interface StubVultr {
    url: string;
    /** Each request's method and path, and whether it carried the bearer key. */
    requests: { method: string; path: string; bearer: boolean }[];
    close(): Promise<void>;
}

/** The Vultr API's `GET /v2/account` and `GET /v2/domains/{zone}`, with Vultr's error bodies. */
export function startStubVultr(options: StubVultrOptions): Promise<StubVultr> {
    const requests: StubVultr["requests"] = [];
    const server = http.createServer((req, res) => {
        const bearer = req.headers.authorization === `Bearer ${options.key}`;
        requests.push({ method: req.method ?? "", path: req.url ?? "", bearer });
        const send = (status: number, body: unknown) => {
            res.writeHead(status, { "Content-Type": "application/json" });
            res.end(JSON.stringify(body));
        };
        const caller = options.callerAddress ?? "127.0.0.1";
        if (!bearer) return send(401, { error: "Invalid API token.", status: 401 });
        if (options.allowedAddress !== undefined && caller !== options.allowedAddress)
            return send(401, { error: `Unauthorized IP address: ${caller}`, status: 401 });
        if (req.method === "GET" && req.url === "/v2/account")
            return send(200, { account: { name: "Stub", email: "stub@hobby-team.net", acls: [] } });
        const domain = /^\/v2\/domains\/([^/]+)$/.exec(req.url ?? "");
        if (req.method === "GET" && domain) {
            const zone = decodeURIComponent(domain[1]);
            return options.zones.includes(zone)
                ? send(200, { domain: { domain: zone, date_created: "2026-12-01T00:00:00+00:00", dns_sec: "disabled" } })
                : send(404, { error: "Invalid domain.", status: 404 });
        }
        send(404, { error: "not in the stub", status: 404 });
    });
    return new Promise((resolve) =>
        server.listen(0, "127.0.0.1", () =>
            resolve({
                url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
                requests,
                close: () => new Promise<void>((r) => server.close(() => r())),
            }),
        ),
    );
}

// As a process (.ci/run): both stubs for one zone, their addresses on stdout, until killed.
// Arguments: <zone> <key> [name servers...] (default Vultr's).
if (require.main === module) {
    const [zone, key, ...servers] = process.argv.slice(2);
    void (async () => {
        const resolver = await startStubResolver({ [zone]: servers.length > 0 ? servers : ["ns1.vultr.com", "ns2.vultr.com"] });
        const vultr = await startStubVultr({ key, zones: [zone] });
        console.log(`STUB_RESOLVER=${resolver.address}`);
        console.log(`STUB_VULTR_API=${vultr.url}`);
    })();
}
