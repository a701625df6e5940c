// What the engine tests on real pods ask the cluster's services with, and how they wait for it:
// one request with a deadline, polling, and bounded request loops that record every failure with
// its time.
import * as http from "http";
import * as https from "https";
import { TLSSocket } from "tls";

/** One GET of a JSON answer with a 2 s deadline; a refused, reset, slow or non-JSON answer rejects. */
export function getJson<T>(url: string): Promise<{ status: number; body: T }> {
    return new Promise((resolve, reject) => {
        const req = http.get(url, { timeout: 2000, agent: false }, (res) => {
            let data = "";
            res.on("data", (d) => (data += d));
            res.on("end", () => {
                try {
                    resolve({ status: res.statusCode ?? 0, body: JSON.parse(data) as T });
                } catch {
                    reject(new Error(`${res.statusCode}: ${data}`));
                }
            });
        });
        req.on("timeout", () => req.destroy(new Error("timed out after 2s")));
        req.on("error", reject);
    });
}

/** Polls `check` (which throws until it holds) for up to `seconds`; the last error is the failure. */
export async function eventually<T>(seconds: number, check: () => T | Promise<T>): Promise<T> {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
        try {
            return await check();
        } catch (e) {
            if (Date.now() > deadline) throw e;
            await sleep(1000);
        }
    }
}

export interface IngressAnswer {
    status: number;
    location?: string;
    body: string;
    /** Subject and issuer CN of the certificate served (https only). */
    cert?: { subject: unknown; issuer: unknown };
}

/**
 * One request to an ingress controller at `ip` (and `port`, default the scheme's) for `host` (SNI
 * and Host header), TLS verified against `ca`.
 */
export function ingressGet(scheme: "http" | "https", ip: string, host: string, urlPath: string, ca?: Buffer, port?: number): Promise<IngressAnswer> {
    return new Promise((resolve, reject) => {
        const options = { host: ip, port, path: urlPath, headers: { host }, timeout: 2000, agent: false as const };
        const done = (res: http.IncomingMessage) => {
            let body = "";
            res.on("data", (d) => (body += d));
            res.on("end", () => {
                const peer = res.socket instanceof TLSSocket ? res.socket.getPeerCertificate() : undefined;
                resolve({
                    status: res.statusCode ?? 0,
                    location: res.headers.location,
                    body,
                    cert: peer && { subject: peer.subject.CN, issuer: peer.issuer.CN },
                });
            });
        };
        const req = scheme === "https" ? https.get({ ...options, servername: host, ca }, done) : http.get(options, done);
        req.on("timeout", () => req.destroy(new Error("timed out after 2s")));
        req.on("error", reject);
    });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Failure {
    /** Milliseconds since the epoch, when the request was sent. */
    at: number;
    message: string;
}

export interface TrafficLoop {
    requests: number;
    failures: Failure[];
    /** Requests answered 200 since `t` (epoch ms). */
    okSince(t: number): number;
    /** Ends the loop and waits for its last request. */
    stop(): Promise<void>;
}

/**
 * Sends `ask()` every `intervalMs` until stopped, or at most `maxSeconds` (a bounded loop: a test
 * that forgets to stop it still ends). A request that throws or answers other than 200 is a
 * failure. `ask` gets the request's number, to spread requests over several targets.
 */
export function trafficLoop(ask: (n: number) => Promise<{ status: number }>, maxSeconds: number, intervalMs = 50): TrafficLoop {
    let stopped = false;
    const oks: number[] = [];
    const loop: TrafficLoop = {
        requests: 0,
        failures: [],
        okSince: (t) => oks.filter((at) => at >= t).length,
        stop: async () => {
            stopped = true;
            await done;
        },
    };
    const done = (async () => {
        const deadline = Date.now() + maxSeconds * 1000;
        while (!stopped && Date.now() < deadline) {
            const at = Date.now();
            await ask(loop.requests++).then(
                (a) => (a.status === 200 ? oks.push(at) : loop.failures.push({ at, message: `status ${a.status}` })),
                (e: Error) => loop.failures.push({ at, message: e.message }),
            );
            await sleep(intervalMs);
        }
    })();
    return loop;
}
