// What a new stack needs from the outside before anything is created, checked from this machine:
// the DNS zone is delegated to Vultr's name servers, and the Vultr API key answers from this
// address and holds the zone. Each failure says what to do; a key is never printed.
import { promises as dns } from "dns";
import { checkTransport } from "./gitlabNotes";

/**
 * Vultr's name servers, the NS records a zone Vultr serves must have at its parent. Vultr's DNS
 * documentation (docs.vultr.com, "How to Manage DNS Zones on Vultr DNS") names ns1.vultr.com as a
 * zone's primary; neither govultr v3.8.1 nor terraform-provider-vultr v2.21.0 lists them.
 */
export const VULTR_NAME_SERVERS = ["ns1.vultr.com", "ns2.vultr.com"] as const;

/** govultr v3.8.1 `govultr.go` `defaultBase`: the API every Vultr client calls. */
export const VULTR_API = "https://api.vultr.com";

export interface CheckResult {
    ok: boolean;
    /** One line: what was seen, and on failure what to do. */
    message: string;
}

/**
 * Whether `zone` is delegated to Vultr: its NS records, as the resolver (the system's, or
 * `resolver` as host:port) answers, are Vultr's name servers.
 */
export async function checkDelegation(zone: string, resolver?: string): Promise<CheckResult> {
    const r = new dns.Resolver({ timeout: 3000, tries: 2 });
    if (resolver) r.setServers([resolver]);
    const todo = `at the registrar of the domain (or in the parent zone's DNS, for a sub-zone), set the name servers of ${zone} to ${VULTR_NAME_SERVERS.join(" and ")}; a change can take up to the parent's NS TTL (often 1 to 48 h) to be seen`;
    let servers: string[];
    try {
        servers = (await r.resolveNs(zone)).map((s) => s.toLowerCase().replace(/\.$/, ""));
    } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOTFOUND" || code === "ENODATA")
            return { ok: false, message: `DNS: ${zone} has no NS records of its own (${code}): it is not delegated; ${todo}` };
        return {
            ok: false,
            message: `DNS: could not ask for the NS records of ${zone} (${code ?? (e as Error).message}); check this machine's resolver`,
        };
    }
    const missing = VULTR_NAME_SERVERS.filter((ns) => !servers.includes(ns));
    if (missing.length > 0)
        return { ok: false, message: `DNS: ${zone} is delegated to ${servers.join(", ")}, not to Vultr (${missing.join(", ")} missing); ${todo}` };
    return { ok: true, message: `DNS: ${zone} is delegated to ${servers.join(", ")}` };
}

/** One authenticated GET of the Vultr API (terraform-provider-vultr v2.21.0 `vultr/config.go`: an OAuth2 bearer token). */
async function vultrGet(api: string, key: string, path: string): Promise<{ status: number; error: string }> {
    checkTransport(api, process.env, "--vultr-api");
    const res = await fetch(`${api.replace(/\/+$/, "")}${path}`, {
        headers: { Authorization: `Bearer ${key}` },
        signal: AbortSignal.timeout(15_000),
    });
    const body = await res.text();
    let error = body.slice(0, 200);
    try {
        // Vultr's error body: {"error": "...", "status": 401} (govultr returns it as the error text).
        error = String((JSON.parse(body) as { error?: unknown }).error ?? "");
    } catch {
        // not JSON: keep the text
    }
    return { status: res.status, error };
}

/**
 * Whether the Vultr API key answers from this address (`GET /v2/account`, govultr v3.8.1
 * `account.go`) and holds the DNS zone (`GET /v2/domains/{zone}`, `domains.go`).
 */
export async function checkVultr(key: string, zone: string, api: string = VULTR_API): Promise<CheckResult[]> {
    let account: { status: number; error: string };
    try {
        account = await vultrGet(api, key, "/v2/account");
    } catch (e) {
        return [{ ok: false, message: `Vultr API: no answer from ${api} (${(e as Error).message})` }];
    }
    if (account.status === 401 && /unauthorized ip address/i.test(account.error)) {
        const address = account.error.split(":").pop()?.trim();
        return [
            {
                ok: false,
                message: `Vultr API: the key does not accept requests from this address (${address}): add ${address}/32 to the key's Access Control (Vultr console: Account, API), and the addresses of the CI runners that run pulumi`,
            },
        ];
    }
    if (account.status !== 200)
        return [
            {
                ok: false,
                message: `Vultr API: the key was refused (HTTP ${account.status}: ${account.error}); check that it is the current key, with API access enabled`,
            },
        ];
    const results: CheckResult[] = [{ ok: true, message: "Vultr API: the key answers from this address" }];
    const domain = await vultrGet(api, key, `/v2/domains/${encodeURIComponent(zone)}`);
    if (domain.status === 404)
        results.push({
            ok: false,
            message: `Vultr DNS: the account has no zone ${zone}: create it (Vultr console: Network, DNS, Add Domain; or vultr-cli dns domain create -d ${zone}) before the first up`,
        });
    else if (domain.status !== 200)
        results.push({ ok: false, message: `Vultr DNS: could not read the zone ${zone} (HTTP ${domain.status}: ${domain.error})` });
    else results.push({ ok: true, message: `Vultr DNS: the account holds the zone ${zone}` });
    return results;
}
