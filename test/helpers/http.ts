// What the engine tests on real pods ask the cluster's services with, and how they wait for it.
import * as http from "http";

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
            await new Promise((r) => setTimeout(r, 1000));
        }
    }
}
