// IPv4 network arithmetic for the VPC and firewall settings. Pure functions.
import { BlockList } from "net";

/** An IPv4 CIDR split into its address and prefix length; undefined if it is not one. */
export function parseIpv4Cidr(cidr: string): { address: string; prefix: number } | undefined {
    const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(cidr);
    if (!m || !m[1].split(".").every((o) => Number(o) <= 255) || Number(m[2]) > 32) return undefined;
    return { address: m[1], prefix: Number(m[2]) };
}

/** Whether the CIDR's address is its network address (no host bits set), as Vultr requires. */
export function isNetworkAddress(cidr: string): boolean {
    const c = parseIpv4Cidr(cidr);
    if (!c) return false;
    const value = c.address.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
    return value % 2 ** (32 - c.prefix) === 0;
}

/** Whether two IPv4 networks share an address: one's network address lies in the other. */
export function ipv4Overlaps(a: string, b: string): boolean {
    const [ca, cb] = [parseIpv4Cidr(a), parseIpv4Cidr(b)];
    if (!ca || !cb) return false;
    const inA = new BlockList();
    inA.addSubnet(ca.address, ca.prefix, "ipv4");
    const inB = new BlockList();
    inB.addSubnet(cb.address, cb.prefix, "ipv4");
    return inA.check(cb.address, "ipv4") || inB.check(ca.address, "ipv4");
}

/** RFC 1918 private networks, the only ones a VPC may use. */
export const PRIVATE_NETWORKS = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

/** Whether `cidr` lies wholly inside one RFC 1918 network. */
export function isPrivateIpv4(cidr: string): boolean {
    const c = parseIpv4Cidr(cidr);
    if (!c) return false;
    return PRIVATE_NETWORKS.some((net) => c.prefix >= parseIpv4Cidr(net)!.prefix && ipv4Overlaps(cidr, net));
}

/** The record name of `host` in DNS zone `zone` ("" at the apex, "k8s.dev" for k8s.dev.<zone>), or undefined outside it. */
export function recordName(host: string, zone: string): string | undefined {
    if (host === zone) return "";
    return host.endsWith(`.${zone}`) ? host.slice(0, -(zone.length + 1)) : undefined;
}
