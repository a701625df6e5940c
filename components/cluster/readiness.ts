// The readiness gate: a Pulumi dynamic resource that is created only once the new cluster's API
// server answers /readyz over TLS verified against the stack's own server CA, and every expected
// node is Ready. Kubernetes resources depend on it, so one `pulumi up` goes from nothing to a
// working cluster. Its code runs only in create and update, which `pulumi preview` never calls.
import * as https from "https";
import * as pulumi from "@pulumi/pulumi";

/** What the gate waits for. */
export interface ClusterReadinessInputs {
    /** API server URL, e.g. `https://203.0.113.10:6443`. */
    server: string;
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

/** One GET of the API with TLS verified against the server CA and client-certificate authentication. */
export function get(
    inputs: Pick<ClusterReadinessInputs, "server" | "caCertificate" | "clientCertificate" | "clientKey">,
    path: string,
): Promise<Answer> {
    return new Promise((resolve, reject) => {
        const req = https.get(
            new URL(path, inputs.server),
            {
                ca: inputs.caCertificate,
                cert: inputs.clientCertificate,
                key: inputs.clientKey,
                rejectUnauthorized: true,
                timeout: 10_000,
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
        req.on("timeout", () => req.destroy(new Error("no answer within 10 s")));
        req.on("error", reject);
    });
}

/** Why the cluster is not ready yet, or undefined when it is. */
async function notReadyReason(inputs: ClusterReadinessInputs): Promise<string | undefined> {
    const readyz = await get(inputs, "/readyz");
    if (readyz.status !== 200)
        return `/readyz answered ${readyz.status}: ${
            readyz.body
                .trim()
                .split("\n")
                .filter((l) => l.includes("failed"))
                .join("; ") || readyz.body.trim().slice(0, 200)
        }`;
    const nodes = await get(inputs, "/api/v1/nodes");
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

/**
 * Waits until the cluster is ready, checking every `pollSeconds`; fails with the last reason it
 * saw after `timeoutSeconds`. Messages name the server and nodes, never a credential.
 */
export async function waitForCluster(inputs: ClusterReadinessInputs): Promise<ClusterReadinessOutputs> {
    const deadline = Date.now() + inputs.timeoutSeconds * 1000;
    let reason: string;
    for (;;) {
        try {
            reason = (await notReadyReason(inputs)) ?? "";
        } catch (e) {
            reason = (e as Error).message;
        }
        if (reason === "") break;
        if (Date.now() + inputs.pollSeconds * 1000 > deadline) {
            throw new Error(
                `cluster at ${inputs.server} is not ready after ${inputs.timeoutSeconds} s: ${reason}. ` +
                    "Check that this machine's address is in cluster.adminCidrs and the nodes' cloud-init log " +
                    "(/var/log/cloud-init-output.log); `pulumi up` again resumes waiting.",
            );
        }
        await new Promise((r) => setTimeout(r, inputs.pollSeconds * 1000));
    }
    return {
        server: inputs.server,
        caCertificate: inputs.caCertificate,
        clientCertificate: inputs.clientCertificate,
        nodeNames: inputs.nodeNames,
        agentNames: inputs.agentNames,
        servers: inputs.servers,
        readyNodes: [...inputs.nodeNames, ...inputs.agentNames],
    };
}

/** The fields whose change means the gate must wait again (a new API server, CA, node set, cert, server, plan). */
const WAIT_AGAIN_ON = ["server", "caCertificate", "clientCertificate", "nodeNames", "agentNames", "servers"] as const;

/**
 * Why dropping from `olds` to `news` nodes would lose etcd's quorum, or undefined. etcd keeps a
 * server's membership after its VM is gone, so deleting more than a minority of the members at
 * once leaves the rest without a majority, unless they were removed from the cluster first:
 * `registered` lists the nodes the running cluster still has.
 */
export async function quorumProblem(olds: string[], news: string[], registered: () => Promise<string[]>): Promise<string | undefined> {
    if (news.length >= Math.floor(olds.length / 2) + 1) return undefined;
    const kept = new Set(news);
    // Only servers count: the cluster's agents are no etcd members.
    const extra = (await registered()).filter((n) => olds.includes(n) && !kept.has(n));
    if (extra.length === 0) return undefined;
    return (
        `cluster.nodeCount: ${olds.length} -> ${news.length} at once would leave etcd without a quorum; first remove the servers from ` +
        `the cluster one at a time (\`kubectl delete node ${extra.join(" ")}\`: k3s removes each one's etcd member), ` +
        "or scale down in steps that keep a majority (7 -> 5 -> 3)"
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

/** The nodes the running cluster has, read with the gate's last credentials. */
async function registeredNodes(olds: ClusterReadinessInputs): Promise<RegisteredNode[]> {
    const answer = await get(olds, "/api/v1/nodes");
    if (answer.status !== 200) throw new Error(`GET /api/v1/nodes answered ${answer.status}`);
    return (JSON.parse(answer.body) as { items: { metadata: { name: string }; spec?: { unschedulable?: boolean } }[] }).items.map((n) => ({
        name: n.metadata.name,
        unschedulable: n.spec?.unschedulable === true,
    }));
}

export const readinessProvider: pulumi.dynamic.ResourceProvider<ClusterReadinessInputs, ClusterReadinessOutputs> = {
    // Runs at preview too: a scale-down that loses quorum, or deletes agents not yet drained, is
    // refused before any node is deleted.
    async check(olds, news) {
        if (!olds.nodeNames) return { inputs: news };
        const failures: pulumi.dynamic.CheckFailure[] = [];
        let nodes: Promise<RegisteredNode[]> | undefined;
        const registered = () => (nodes ??= registeredNodes(olds));
        try {
            const problem = await quorumProblem(olds.nodeNames, news.nodeNames, async () => (await registered()).map((n) => n.name));
            if (problem) failures.push({ property: "nodeNames", reason: problem });
        } catch (e) {
            failures.push({
                property: "nodeNames",
                reason: `cluster.nodeCount: cannot tell whether the scale-down keeps etcd's quorum (${olds.server}: ${(e as Error).message})`,
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
    /** API server URL. */
    server: pulumi.Input<string>;
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
