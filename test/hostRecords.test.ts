// Managed DNS (`dns.provider: vultr`): the service hosts' A records point at the servers that
// serve ingress, and follow a replaced server.
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { HostRecords } from "../components/platform/hostRecords";
import { installMocks, ofType, runInStack, withObjects } from "../harness/mocks";
import { runStack } from "../harness/stacks";

const RECORD = "vultr:index/dnsRecord:DnsRecord";
const managed = (c: Record<string, string>) => Object.assign(c, withObjects({}, { dns: { provider: "vultr" } }));

describe("HostRecords", function () {
    this.timeout(60_000);

    it("gives each host an A record per ingress address, by its name in the zone, at the zone's apex too", async () => {
        const resources = await installMocks("dev");
        await runInStack(() => {
            new HostRecords("service-hosts", {
                zone: "example.com",
                hosts: ["api.the-project.dev.example.com", "example.com"],
                addresses: [pulumi.output("203.0.113.11"), pulumi.output("203.0.113.12")],
                ttl: 300,
            });
            return {};
        });
        assert.deepStrictEqual(
            ofType(resources, RECORD)
                .map((r) => [r.name, r.inputs.name, r.inputs.type, r.inputs.data, r.inputs.ttl])
                .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
            [
                ["service-hosts-api.the-project.dev.example.com-1", "api.the-project.dev", "A", "203.0.113.11", 300],
                ["service-hosts-api.the-project.dev.example.com-2", "api.the-project.dev", "A", "203.0.113.12", 300],
                ["service-hosts-example.com-1", "", "A", "203.0.113.11", 300],
                ["service-hosts-example.com-2", "", "A", "203.0.113.12", 300],
            ],
        );
    });

    it("refuses a host outside the zone, a TTL under a minute and no address, before creating anything", async () => {
        const resources = await installMocks("dev");
        await assert.rejects(
            runInStack(() => {
                new HostRecords("service-hosts", { zone: "example.com", hosts: ["api.example.net"], addresses: [], ttl: 5 });
                return {};
            }),
            /host "api\.example\.net" is not inside the zone "example\.com"; ttl must be at least 60 s, got 5; addresses must list at least one/,
        );
        assert.deepStrictEqual(ofType(resources, RECORD), []);
    });

    it("through the program: with dns.provider vultr the stack keeps its hosts' records on every server; without, none", async () => {
        const run = await runStack("dev", managed);
        const records = ofType(run.resources, RECORD).filter((r) => r.name.startsWith("service-hosts-"));
        assert.deepStrictEqual(
            records.map((r) => [r.inputs.domain, r.inputs.name, r.inputs.data]).sort(),
            [1, 2, 3].map((i) => ["example.com", "api.the-project.dev", `203.0.113.${10 + i}`]),
        );
        const plain = await runStack("dev");
        assert.deepStrictEqual(
            ofType(plain.resources, RECORD)
                .map((r) => r.name)
                .sort(),
            ["cluster-1-api", "cluster-2-api", "cluster-3-api"],
        );
    });
});
