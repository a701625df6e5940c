// The committed stack files are examples: their documentation addresses, example SSH key and
// example.com names pass every format check, and a stack that creates servers with them builds a
// cluster nobody can reach or certify. This rule refuses them, naming each key and what goes there.
import { documentationNetwork, isExampleSshKey, reservedDomain } from "../lib/placeholders";
import { isRecord, isString, Report } from "./rules";

const stringsOf = (v: unknown): string[] => (Array.isArray(v) ? v.filter(isString) : []);

/** The host of `host[:port]`, `scheme://host[:port]/path` or `user@host`. */
const hostOf = (value: string) =>
    value
        .replace(/^[a-z]+:\/\//, "")
        .replace(/^[^@]*@/, "")
        .split(/[/:]/)[0];

/** What to put under each key that names a host or domain, for the messages. */
const OWN_NAME: Record<string, string> = {
    domain: "a domain you own, whose zone Vultr serves (docs/quickstart.md), e.g. your-team.net",
    "dns.zone": "the Vultr DNS zone you created and delegated to ns1.vultr.com and ns2.vultr.com",
    "cluster.apiHost": "a name inside dns.zone, or remove it for the default k8s.<env>.<domain>",
    "gitlab.domain": "your GitLab's host, e.g. gitlab.com",
    "gitlab.registry": "your GitLab's container registry host, e.g. registry.gitlab.com",
    "gitlab.agent.kasAddress": "your GitLab's agent server, e.g. wss://kas.gitlab.com",
    "acme.email": "an address that reads Let's Encrypt's expiry notices (Let's Encrypt refuses example domains)",
    host: "a host inside your domain, or remove it for the default api.<project>.<env>.<domain>",
    image: "an image in your registry, or remove it for the default <registry>/<gitlabProject>:<env>-latest",
};

/**
 * Reports every example value of a stack that creates servers (`cluster.enabled`, the default):
 * documentation networks (RFC 5737, RFC 3849), the example SSH key, and names under the domains
 * RFC 2606 and RFC 6761 reserve. Values of the wrong type are the schema's to report.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the input as read: every use is guarded
export function placeholderRules(raw: Record<string, any>, report: Report): void {
    const cluster = isRecord(raw.cluster) ? raw.cluster : {};
    if (cluster.enabled === false) return;
    const name = (path: (string | number)[], value: unknown, what: string) => {
        if (!isString(value)) return;
        const why = reservedDomain(hostOf(value));
        if (why) report(path, `"${value}" ${why}, and a stack that creates servers needs a real one: put ${OWN_NAME[what]}`);
    };
    const section = (key: string) => (isRecord(raw[key]) ? (raw[key] as Record<string, unknown>) : {});
    const [dns, gitlab, acme] = [section("dns"), section("gitlab"), section("acme")];

    name(["domain"], raw.domain, "domain");
    name(["dns", "zone"], dns.zone, "dns.zone");
    name(["cluster", "apiHost"], cluster.apiHost, "cluster.apiHost");
    for (const cidr of stringsOf(cluster.adminCidrs)) {
        const network = documentationNetwork(cidr);
        if (network)
            report(
                ["cluster", "adminCidrs"],
                `"${cidr}" is in ${network.cidr}, a documentation network (${network.rfc}) that no machine has, so nothing could reach the API server: put the public IPv4 address of each machine that runs pulumi as /32 (yours: curl -4 https://ifconfig.me) and the CI runners' (docs/quickstart.md)`,
            );
    }
    stringsOf(cluster.sshPublicKeys).forEach((key, i) => {
        if (isExampleSshKey(key))
            report(
                ["cluster", "sshPublicKeys", i],
                `is the committed files' example key, which nobody holds, and a restore needs a root shell (docs/restore.md): put your own public key, the content of ~/.ssh/id_ed25519.pub`,
            );
    });
    if (gitlab.enabled !== false) {
        name(["gitlab", "domain"], gitlab.domain, "gitlab.domain");
        name(["gitlab", "registry"], gitlab.registry, "gitlab.registry");
        if (isRecord(gitlab.agent)) name(["gitlab", "agent", "kasAddress"], gitlab.agent.kasAddress, "gitlab.agent.kasAddress");
    }
    name(["acme", "email"], acme.email, "acme.email");
    if (!isRecord(raw.projects)) return;
    for (const [project, p] of Object.entries(raw.projects)) {
        if (!isRecord(p) || !isRecord(p.services)) continue;
        for (const [service, s] of Object.entries(p.services)) {
            if (!isRecord(s)) continue;
            name(["projects", project, "services", service, "host"], s.host, "host");
            name(["projects", project, "services", service, "image"], s.image, "image");
        }
    }
}
