// The service hosts' A records in Vultr DNS (`dns.provider: vultr`): what a team otherwise adds by
// hand after the first `up`, kept in step with the servers that serve ingress.
import * as vultr from "@ediri/vultr";
import * as pulumi from "@pulumi/pulumi";
import { MIN_DNS_TTL_SECONDS } from "../../lib/clusterFacts";
import { assertArgs } from "../lib/invariants";
import { recordName } from "../../lib/net";

export interface HostRecordsArgs {
    /** The Vultr DNS zone (domain) the hosts are in, e.g. `example.com`. */
    zone: string;
    /** Public hosts of the services, each inside `zone`. */
    hosts: string[];
    /** The ingress addresses, one Output a server: each host gets an A record for each. */
    addresses: pulumi.Output<string>[];
    /** TTL of the records in seconds, at least MIN_DNS_TTL_SECONDS. */
    ttl: number;
}

/**
 * One A record per host and ingress address. A record follows its server: a replaced server's
 * new address is written on the `up` that replaces it; clients then see it within `ttl`.
 */
export class HostRecords extends pulumi.ComponentResource {
    /** The hosts that have records. */
    public readonly hosts: string[];

    constructor(name: string, args: HostRecordsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("hobby-platform:platform:HostRecords", name, {}, opts);
        assertArgs(this, [
            ...args.hosts.map((host) => recordName(host, args.zone) === undefined && `host "${host}" is not inside the zone "${args.zone}"`),
            args.ttl < MIN_DNS_TTL_SECONDS && `ttl must be at least ${MIN_DNS_TTL_SECONDS} s, got ${args.ttl}`,
            args.addresses.length === 0 && "addresses must list at least one ingress address",
        ]);
        for (const host of args.hosts) {
            args.addresses.forEach(
                (address, i) =>
                    new vultr.DnsRecord(
                        `${name}-${host}-${i + 1}`,
                        { domain: args.zone, name: recordName(host, args.zone) ?? "", type: "A", data: address, ttl: args.ttl },
                        { parent: this },
                    ),
            );
        }
        this.hosts = args.hosts;
        this.registerOutputs({ hosts: this.hosts });
    }
}
