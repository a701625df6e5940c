// The readiness gate: a Pulumi dynamic resource that is created only once the new cluster's API
// server answers /readyz over TLS verified against the stack's own server CA, and every expected
// node is Ready. Kubernetes resources depend on it, so one `pulumi up` goes from nothing to a
// working cluster. Its code runs only in create and update, which `pulumi preview` never calls.
import * as dns from "dns";
import * as https from "https";
import * as net from "net";
import * as pulumi from "@pulumi/pulumi";

/** What the gate waits for. */
export interface ClusterReadinessInputs {
    /** API server URL, e.g. `https://k8s.dev.example.com:6443`; its host is the name TLS verifies. */
    server: string;
    /**
     * Ask only this address, as the server's name (a server's own gate, before its A record
     * exists); without it, every address the name has is tried in turn.
     */
    address?: string;
    /** PEM of the CA the API server's certificate must chain to. */
    caCertificate: string;
    /** PEM of a client certificate allowed to read nodes. */
    clientCertificate: string;
    /** PEM of that certificate's key. */
    clientKey: string;
    /** Names of the servers (etcd members) that must all be Ready. */
    nodeNames: string[];
    /** Names of the agents that must all be Ready. */
    agentNames: string[];
    /** `<instance id> <plan>` of each of those nodes: a replaced or resized one makes the gate wait again. */
    servers: string[];
    /** Give up after this many seconds. */
    timeoutSeconds: number;
    /** Seconds between two checks. */
    pollSeconds: number;
}

/** What the gate records: the inputs that decide whether it must wait again, and what it saw. */
export interface ClusterReadinessOutputs {
    server: string;
    address?: string;
    caCertificate: string;
    clientCertificate: string;
    nodeNames: string[];
    agentNames: string[];
    servers: string[];
    /** Nodes that were Ready when the gate opened. */
    readyNodes: string[];
}

interface Answer {
    status: number;
    body: string;
}

/** How long one address has to answer: a TCP connect, TLS and a small GET across a real network. */
export const ATTEMPT_TIMEOUT_MS = 10_000;

/** A `lookup` that answers every name with `address`, in either of the forms Node asks for. */
function pinned(address: string): net.LookupFunction {
    const family = net.isIPv6(address) ? 6 : 4;
    return (_host, options, callback) =>
        options.all ? (callback as (e: null, a: dns.LookupAddress[]) => void)(null, [{ address, family }]) : callback(null, address, family);
}

type Connection = Pick<ClusterReadinessInputs, "server" | "caCertificate" | "clientCertificate" | "clientKey">;

/**
 * One GET of the API at one address, with TLS verified against the server CA for the URL's host
 * (so the name, not the address, must be in the server's certificate) and client-certificate
 * authentication. Pinning the address keeps Node from its own walk over a name's addresses,
 * which gives each address but the last 250 ms to connect (`net.getDefaultAutoSelectFamilyAttemptTimeout()`).
 */
function get(inputs: Connection, path: string, address: string, timeoutMs: number): Promise<Answer> {
    return new Promise((resolve, reject) => {
        const req = https.get(
            new URL(path, inputs.server),
            {
                ca: inputs.caCertificate,
                cert: inputs.clientCertificate,
                key: inputs.clientKey,
                rejectUnauthorized: true,
                timeout: timeoutMs,
                lookup: pinned(address),
                // No pooled connection: the pool is keyed by name, so it would reuse another address's.
                agent: false,
            },
            (res) => {
                let body = "";
                res.setEncoding("utf8");
                res.on("data", (chunk: string) => {
                    body += chunk;
                });
                res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
            },
        );
        req.on("timeout", () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs / 1000} s`), { code: "ETIMEDOUT" })));
        req.on("error", reject);
    });
}

/** The addresses to ask: the pinned one, an address URL's own, or every IPv4 address of the name. */
export type Resolver = (host: string) => Promise<string[]>;
const resolveAll: Resolver = async (host) => (await dns.promises.lookup(host, { all: true, family: 4 })).map((a) => a.address);

async function addressesOf(inputs: ClusterReadinessInputs, resolve: Resolver): Promise<string[]> {
    if (inputs.address) return [inputs.address];
    const host = new URL(inputs.server).hostname;
    return net.isIP(host) ? [host] : resolve(host);
}

/** One attempt never outlasts the gate. */
const attemptMs = (inputs: Pick<ClusterReadinessInputs, "timeoutSeconds">) => Math.min(ATTEMPT_TIMEOUT_MS, inputs.timeoutSeconds * 1000);

/** Why one address is not ready yet, or undefined when it is. */
async function notReadyAt(inputs: ClusterReadinessInputs, address: string): Promise<string | undefined> {
    const readyz = await get(inputs, "/readyz", address, attemptMs(inputs));
    if (readyz.status !== 200)
        return `/readyz answered ${readyz.status}: ${
            readyz.body
                .trim()
                .split("\n")
                .filter((l) => l.includes("failed"))
                .join("; ") || readyz.body.trim().slice(0, 200)
        }`;
    const nodes = await get(inputs, "/api/v1/nodes", address, attemptMs(inputs));
    if (nodes.status !== 200) return `GET /api/v1/nodes answered ${nodes.status}`;
    const items =
        (JSON.parse(nodes.body) as { items?: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[] })
            .items ?? [];
    const ready = new Set(
        items.filter((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")).map((n) => n.metadata.name),
    );
    const missing = [...inputs.nodeNames, ...inputs.agentNames].filter((n) => !ready.has(n));
    return missing.length > 0 ? `nodes not Ready yet: ${missing.join(", ")}` : undefined;
}

/** What went wrong, in the terms a user can act on; the causes the gate tells apart. */
export type Cause = "no-address" | "refused" | "timeout" | "tls" | "other" | "not-ready";

export interface Attempt {
    /** The address asked, or the name when it had none. */
    address: string;
    cause: Cause;
    detail: string;
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS|ERR_SSL|HOSTNAME|ALTNAME/;

/** A failed request as an attempt with its cause. */
export function classify(address: string, e: Error & { code?: string }): Attempt {
    const code = e.code ?? "";
    if (code === "ENOTFOUND" || code === "ENODATA" || code === "EAI_AGAIN") return { address, cause: "no-address", detail: e.message };
    if (code === "ECONNREFUSED") return { address, cause: "refused", detail: "connection refused" };
    if (code === "ETIMEDOUT" || code === "EHOSTUNREACH" || code === "ENETUNREACH") return { address, cause: "timeout", detail: e.message };
    if (TLS_CODES.test(code) || /certificate|self.signed|altname/i.test(e.message)) return { address, cause: "tls", detail: e.message };
    return { address, cause: "other", detail: e.message };
}

/** What to do about each cause, for the timeout's message. */
const ADVICE: Record<Cause, (host: string) => string> = {
    "no-address": (host) =>
        `${host} has no address: its A records appear only once a server is Ready on its own address; if none ever resolves, ` +
        "the dns.zone is not delegated to Vultr's name servers (`dig NS <zone>` must name ns1.vultr.com and ns2.vultr.com)",
    refused: () =>
        "the VM is up but nothing listens on 6443: k3s is still installing or its install stopped; read the lines that start " +
        "with `hobby-k3s-install:` in the node's console log (/var/log/cloud-init-output.log, or the Vultr web console): a server 1 " +
        "that found neither its cluster nor proof that there is none says `refusing to initialise a new cluster` there",
    timeout: () =>
        "packets go unanswered: the servers' firewall answers only cluster.adminCidrs, so this machine's address (the CI runner's, " +
        "for a pipeline) must be in it; or the VM is still booting",
    tls: (host) =>
        `the server's certificate is not one of this stack's CA for ${host}: another cluster answers there, or the name points ` +
        "at other machines (check its A records)",
    other: () => "the connection broke off before an answer (something between this machine and the server?)",
    "not-ready": () => "the API server answers but is not ready yet (etcd joining, nodes registering): a first boot takes minutes",
};

/** Advice for the causes seen, most telling first. */
export function advice(attempts: Attempt[], host: string): string {
    const order: Cause[] = ["tls", "no-address", "timeout", "refused", "other", "not-ready"];
    return order
        .filter((c) => attempts.some((a) => a.cause === c))
        .map((c) => ADVICE[c](host))
        .join("; ");
}

/**
 * Why the cluster is not ready yet, as one attempt per address asked, or [] when an address
 * answers ready. Every address gets a full attempt: a dead first address costs one timeout, not
 * the gate's chance to see a live one.
 */
async function notReady(inputs: ClusterReadinessInputs, resolve: Resolver): Promise<Attempt[]> {
    const host = new URL(inputs.server).hostname;
    let addresses: string[];
    try {
        addresses = await addressesOf(inputs, resolve);
    } catch (e) {
        return [classify(host, e as Error)];
    }
    const attempts: Attempt[] = [];
    for (const address of addresses) {
        try {
            const reason = await notReadyAt(inputs, address);
            if (reason === undefined) return [];
            attempts.push({ address, cause: "not-ready", detail: reason });
        } catch (e) {
            attempts.push(classify(address, e as Error));
        }
    }
    return attempts.length > 0 ? attempts : [{ address: host, cause: "no-address", detail: "no address" }];
}

/**
 * Waits until the cluster is ready, checking every `pollSeconds`; fails with the last reasons it
 * saw, per address, and what to do about them after `timeoutSeconds`. Messages name the server,
 * addresses and nodes, never a credential.
 */
export async function waitForCluster(inputs: ClusterReadinessInputs, resolve: Resolver = resolveAll): Promise<ClusterReadinessOutputs> {
    const deadline = Date.now() + inputs.timeoutSeconds * 1000;
    const host = new URL(inputs.server).hostname;
    for (;;) {
        const attempts = await notReady(inputs, resolve);
        if (attempts.length === 0) break;
        if (Date.now() + inputs.pollSeconds * 1000 > deadline) {
            const where = inputs.address ? `${inputs.server} (at ${inputs.address})` : inputs.server;
            const seen = attempts.map((a) => (a.address === host || a.address === inputs.address ? a.detail : `${a.address}: ${a.detail}`));
            throw new Error(
                `cluster at ${where} is not ready after ${inputs.timeoutSeconds} s: ${seen.join("; ")}. ` +
                    `${advice(attempts, host)}. \`pulumi up\` again resumes waiting.`,
            );
        }
        await new Promise((r) => setTimeout(r, inputs.pollSeconds * 1000));
    }
    return {
        server: inputs.server,
        ...(inputs.address && { address: inputs.address }),
        caCertificate: inputs.caCertificate,
        clientCertificate: inputs.clientCertificate,
        nodeNames: inputs.nodeNames,
        agentNames: inputs.agentNames,
        servers: inputs.servers,
        readyNodes: [...inputs.nodeNames, ...inputs.agentNames],
    };
}

/** The fields whose change means the gate must wait again (a new API server or address, CA, node set, cert, server, plan). */
const WAIT_AGAIN_ON = ["server", "address", "caCertificate", "clientCertificate", "nodeNames", "agentNames", "servers"] as const;

/**
 * Why deleting the servers in `olds` but not in `news` would weaken etcd, or undefined. k3s
 * removes a server's etcd member only when its Node is deleted (its etcd member controller's
 * `onRemove`); deleting the VM does not. Every removed server still registered would stay a
 * member that never answers: 5 -> 3 leaves five members with three alive, one failure from losing
 * the quorum, and 3 -> 1 loses it at once. So each must be gone from the cluster first.
 */
export async function serverScaleDownProblem(olds: string[], news: string[], registered: () => Promise<string[]>): Promise<string | undefined> {
    const kept = new Set(news);
    const removed = olds.filter((n) => !kept.has(n));
    if (removed.length === 0) return undefined;
    const running = new Set(await registered());
    const members = removed.filter((n) => running.has(n));
    if (members.length === 0) return undefined;
    return (
        `cluster.nodeCount: ${olds.length} -> ${news.length} deletes ${members.join(", ")}, still in the cluster: etcd keeps a server's ` +
        "member until its Node is deleted, so the cluster would be left with members that never answer. First, one server at a time " +
        "(docs/restore.md, Losing a server): `kubectl drain <name> --ignore-daemonsets --delete-emptydir-data`, delete its VM at Vultr " +
        "(a server removed from etcd while k3s runs may rejoin), then `kubectl delete node <name>` (k3s removes its etcd member), " +
        `for ${members.join(", ")} (\`kubectl delete node ${members.join(" ")}\`); then \`pulumi up\``
    );
}

/** A node as the scale-down checks read it from the running cluster. */
export interface RegisteredNode {
    name: string;
    /** Cordoned (`spec.unschedulable`), as `kubectl drain` leaves it. */
    unschedulable: boolean;
}

/**
 * Why deleting the agents in `olds` but not in `news` would stop pods without notice, or
 * undefined: each must be drained first (or gone from the cluster). `kubectl drain` evicts its
 * pods with their PodDisruptionBudgets and leaves it cordoned, which is what is checked.
 */
export async function agentScaleDownProblem(
    olds: string[],
    news: string[],
    registered: () => Promise<RegisteredNode[]>,
): Promise<string | undefined> {
    const kept = new Set(news);
    const removed = olds.filter((n) => !kept.has(n));
    if (removed.length === 0) return undefined;
    const running = new Map((await registered()).map((n) => [n.name, n]));
    const undrained = removed.filter((n) => running.get(n)?.unschedulable === false);
    if (undrained.length === 0) return undefined;
    return (
        `cluster.workers: removing ${undrained.join(", ")} would stop their pods without moving them; drain them first ` +
        `(\`kubectl drain ${undrained.join(" ")} --ignore-daemonsets --delete-emptydir-data\`; for one that is already dead, ` +
        `\`kubectl cordon\` is enough), then \`pulumi up\` deletes the VMs; ` +
        `afterwards \`kubectl delete node ${undrained.join(" ")}\``
    );
}

/** The first answer of any of the addresses the gate asks. */
async function getFromAny(inputs: ClusterReadinessInputs, path: string, resolve: Resolver): Promise<Answer> {
    let last: Error | undefined;
    for (const address of await addressesOf(inputs, resolve)) {
        try {
            return await get(inputs, path, address, attemptMs(inputs));
        } catch (e) {
            last = e as Error;
        }
    }
    throw last ?? new Error(`${new URL(inputs.server).hostname} has no address`);
}

/** The nodes the running cluster has, read with the gate's last credentials. */
async function registeredNodes(olds: ClusterReadinessInputs, resolve: Resolver): Promise<RegisteredNode[]> {
    const answer = await getFromAny(olds, "/api/v1/nodes", resolve);
    if (answer.status !== 200) throw new Error(`GET /api/v1/nodes answered ${answer.status}`);
    return (JSON.parse(answer.body) as { items: { metadata: { name: string }; spec?: { unschedulable?: boolean } }[] }).items.map((n) => ({
        name: n.metadata.name,
        unschedulable: n.spec?.unschedulable === true,
    }));
}

export const readinessProvider: pulumi.dynamic.ResourceProvider<ClusterReadinessInputs, ClusterReadinessOutputs> = {
    // Runs at preview too: deleting servers still in the cluster, or agents not yet drained, is
    // refused before any node is deleted.
    async check(olds, news) {
        if (!olds.nodeNames) return { inputs: news };
        const failures: pulumi.dynamic.CheckFailure[] = [];
        let nodes: Promise<RegisteredNode[]> | undefined;
        const registered = () => (nodes ??= registeredNodes(olds, resolveAll));
        try {
            const problem = await serverScaleDownProblem(olds.nodeNames, news.nodeNames, async () => (await registered()).map((n) => n.name));
            if (problem) failures.push({ property: "nodeNames", reason: problem });
        } catch (e) {
            failures.push({
                property: "nodeNames",
                reason: `cluster.nodeCount: cannot tell whether the servers to delete are still in the cluster (${olds.server}: ${(e as Error).message})`,
            });
        }
        try {
            // Gates recorded before worker pools existed have no agents.
            const problem = await agentScaleDownProblem(olds.agentNames ?? [], news.agentNames, registered);
            if (problem) failures.push({ property: "agentNames", reason: problem });
        } catch (e) {
            failures.push({
                property: "agentNames",
                reason: `cluster.workers: cannot tell whether the agents to remove are drained (${olds.server}: ${(e as Error).message})`,
            });
        }
        return { inputs: news, failures };
    },
    async create(inputs) {
        const outs = await waitForCluster(inputs);
        return { id: `${new URL(inputs.server).host}-ready`, outs };
    },
    async diff(_id, olds, news) {
        // A gate recorded before worker pools existed waited for no agent.
        const was = { ...olds, agentNames: olds.agentNames ?? [] };
        const changed = WAIT_AGAIN_ON.filter((k) => JSON.stringify(was[k]) !== JSON.stringify(news[k]));
        return { changes: changed.length > 0, replaces: changed.includes("server") ? ["server"] : [] };
    },
    async update(_id, _olds, news) {
        return { outs: await waitForCluster(news) };
    },
};

export interface ClusterReadinessArgs {
    /** API server URL; its host is the name the server's certificate must have. */
    server: pulumi.Input<string>;
    /** Ask only this address (a server's own, before its A record exists); default: every address of the name. */
    address?: pulumi.Input<string>;
    /** PEM of the server CA. */
    caCertificate: pulumi.Input<string>;
    /** PEM of an admin client certificate. */
    clientCertificate: pulumi.Input<string>;
    /** PEM of its key (kept secret; not stored in the gate's outputs). */
    clientKey: pulumi.Input<string>;
    /** Server names that must be Ready. */
    nodeNames: pulumi.Input<pulumi.Input<string>[]>;
    /** Agent names that must be Ready. */
    agentNames: pulumi.Input<pulumi.Input<string>[]>;
    /** `<instance id> <plan>` of those nodes' servers: a replaced or resized server makes the gate wait again. */
    servers: pulumi.Input<pulumi.Input<string>[]>;
    /** Bounded wait; default 15 minutes (VM boot, package install, k3s start, HA join). */
    timeoutSeconds?: number;
    /** Seconds between checks; default 10. */
    pollSeconds?: number;
}

/** A resource that exists once the cluster is ready; depend on it before using the cluster. */
export class ClusterReadiness extends pulumi.dynamic.Resource {
    // `declare`: a class field would overwrite, after super(), the Output the engine set.
    declare public readonly readyNodes: pulumi.Output<string[]>;

    constructor(name: string, args: ClusterReadinessArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            readinessProvider,
            name,
            {
                server: args.server,
                address: args.address,
                caCertificate: args.caCertificate,
                clientCertificate: args.clientCertificate,
                clientKey: pulumi.secret(args.clientKey),
                nodeNames: args.nodeNames,
                agentNames: args.agentNames,
                servers: args.servers,
                timeoutSeconds: args.timeoutSeconds ?? 900,
                pollSeconds: args.pollSeconds ?? 10,
                readyNodes: undefined,
            },
            pulumi.mergeOptions(opts, { additionalSecretOutputs: ["clientKey"] }),
            "hobby-platform",
            "ClusterReadiness",
        );
    }
}
