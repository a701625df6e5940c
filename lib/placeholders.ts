// Values reserved for documentation and examples, which no real network, host or key has: a stack
// that creates servers with one of them would build a cluster nobody can reach (a forgotten
// `adminCidrs` only shows as a readiness gate's timeout fifteen minutes later).
import { BlockList } from "net";

/** RFC 5737 (IPv4 TEST-NET-1, -2, -3) and RFC 3849 (IPv6) documentation networks. */
export const DOCUMENTATION_NETWORKS = [
    { cidr: "192.0.2.0/24", rfc: "RFC 5737" },
    { cidr: "198.51.100.0/24", rfc: "RFC 5737" },
    { cidr: "203.0.113.0/24", rfc: "RFC 5737" },
    { cidr: "2001:db8::/32", rfc: "RFC 3849" },
] as const;

/**
 * Second-level names RFC 2606 section 3 reserves for examples, and the top-level names RFC 2606
 * section 2 and RFC 6761 section 6 reserve (`test`, `example`, `invalid`, `localhost`).
 */
export const RESERVED_EXAMPLE_DOMAINS = ["example.com", "example.net", "example.org"] as const;
export const RESERVED_TOP_LEVEL_DOMAINS = ["test", "example", "invalid", "localhost"] as const;

/** The SSH key the committed stack files carry as an example: its key material names itself. */
export const EXAMPLE_SSH_KEY_MATERIAL = "AAAAC3NzaC1lZDI1NTE5AAAAIHobbyPlatformExampleKeyReplaceMe000000";

const familyOf = (address: string) => (address.includes(":") ? "ipv6" : "ipv4");

/** A BlockList holding one network. */
function networkOf(cidr: string): BlockList {
    const [address, prefix] = cidr.split("/");
    const family = familyOf(address);
    const list = new BlockList();
    list.addSubnet(address, prefix === undefined ? (family === "ipv6" ? 128 : 32) : Number(prefix), family);
    return list;
}

/**
 * The documentation network a CIDR or address lies in or overlaps, with its RFC, or undefined.
 * A network that holds one (e.g. 203.0.0.0/16) counts too: its real part is not what was meant.
 */
export function documentationNetwork(cidrOrAddress: string): { cidr: string; rfc: string } | undefined {
    const address = cidrOrAddress.split("/")[0];
    const given = networkOf(cidrOrAddress);
    return DOCUMENTATION_NETWORKS.find((n) => {
        const start = n.cidr.split("/")[0];
        return familyOf(start) === familyOf(address) && (networkOf(n.cidr).check(address, familyOf(address)) || given.check(start, familyOf(start)));
    });
}

/** Why a DNS name is reserved for examples (RFC 2606, RFC 6761), or undefined. */
export function reservedDomain(name: string): string | undefined {
    const host = name.toLowerCase().replace(/\.$/, "");
    const sld = RESERVED_EXAMPLE_DOMAINS.find((d) => host === d || host.endsWith(`.${d}`));
    if (sld) return `is under ${sld}, which RFC 2606 reserves for examples`;
    const tld = RESERVED_TOP_LEVEL_DOMAINS.find((t) => host === t || host.endsWith(`.${t}`));
    if (tld) return `is under the top-level name .${tld}, which RFC 2606 and RFC 6761 reserve`;
    return undefined;
}

/** Whether an OpenSSH public key is the committed files' example key. */
export const isExampleSshKey = (key: string) => key.split(/\s+/)[1] === EXAMPLE_SSH_KEY_MATERIAL;
