import * as assert from "assert";
import { ConfigError, parseConfig } from "../config";
import { documentationNetwork, reservedDomain } from "../lib/placeholders";
import { programKeys, stackFileConfig } from "../scripts/stackConfig";

/** A stack file's config as the program reads it: structured keys parsed, the prefix dropped. */
const committed = (stack: string): Record<string, unknown> => programKeys(stackFileConfig(stack));

/** What a real run (preview, up) reports for a configuration, with every secret set. */
function problems(input: Record<string, unknown>): string[] {
    try {
        parseConfig({ environment: "dev", ...input }, () => "secret-value", "2026-12-02", { refusePlaceholders: true });
    } catch (e) {
        assert.ok(e instanceof ConfigError, String(e));
        return e.problems;
    }
    return [];
}

/** The committed dev file with a team's own values: what the scaffold writes. */
function own(): Record<string, any> {
    const c = committed("dev") as Record<string, any>;
    return {
        ...c,
        domain: "hobby-team.net",
        cluster: {
            ...c.cluster,
            adminCidrs: ["84.17.32.9/32"],
            sshPublicKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ0d6Xl3H2vD5nYwq8f0b9Zc7p8mKq1rT2sV4uW6yX8z ops@hobby-team.net"],
        },
        gitlab: { ...c.gitlab, domain: "gitlab.com", registry: "registry.gitlab.com" },
        acme: { ...c.acme, email: "ops@hobby-team.net" },
    };
}

describe("example values are refused on a stack that creates servers", () => {
    it("refuses the committed dev, stg and prod files, naming each key and what to put there", () => {
        for (const stack of ["dev", "stg", "prod"]) {
            const found = problems(committed(stack));
            const line = (key: string) =>
                found.find((p) => p.startsWith(`hobby-platform:${key}: `)) ?? assert.fail(`${stack}: no line for ${key}:\n${found.join("\n")}`);
            assert.match(
                line("cluster.adminCidrs"),
                /"203\.0\.113\.0\/24" is in 203\.0\.113\.0\/24, a documentation network \(RFC 5737\).*public IPv4 address .* as \/32/,
            );
            assert.match(line("cluster.sshPublicKeys.0"), /example key.*a restore needs a root shell.*~\/\.ssh\/id_ed25519\.pub/);
            assert.match(line("domain"), /"example\.com" is under example\.com, which RFC 2606 reserves.*a domain you own/);
            assert.match(line("gitlab.domain"), /"gitlab\.example\.com".*your GitLab's host/);
            assert.match(line("gitlab.registry"), /"registry\.example\.com".*container registry host/);
            assert.match(line("acme.email"), /"ops@example\.com".*Let's Encrypt/);
            assert.strictEqual(found.length, 6, found.join("\n"));
        }
    });

    it("accepts the same files with a team's own values", () => {
        assert.deepStrictEqual(problems(own()), []);
    });

    it("refuses every documentation network and a network that holds one, and names hosts under reserved names wherever they are set", () => {
        const c = own();
        c.cluster.adminCidrs = ["84.17.32.9/32", "192.0.2.10/32", "198.51.100.0/25", "203.0.0.0/16"];
        c.dns = { zone: "dev.example.org" };
        c.cluster.apiHost = "k8s.dev.example.org";
        c.gitlab.clusterAccess = "agent";
        c.gitlab.agent = { project: "the-project/agents", kasAddress: "wss://kas.gitlab.test" };
        const svc = c.projects["the-project"].services["example-microservice"];
        svc.host = "api.hobby.invalid";
        svc.image = "registry.example.net/the-project/example-microservice:dev-latest";
        const found = problems(c);
        for (const cidr of ["192.0.2.10/32", "198.51.100.0/25", "203.0.0.0/16"])
            assert.ok(
                found.some((p) => p.startsWith("hobby-platform:cluster.adminCidrs: ") && p.includes(`"${cidr}"`)),
                cidr,
            );
        for (const [key, why] of [
            ["dns.zone", /RFC 2606 reserves/],
            ["cluster.apiHost", /example\.org/],
            ["gitlab.agent.kasAddress", /\.test, which RFC 2606 and RFC 6761 reserve/],
            ["projects.the-project.services.example-microservice.host", /\.invalid/],
            ["projects.the-project.services.example-microservice.image", /example\.net/],
        ] as const)
            assert.ok(
                found.some((p) => p.startsWith(`hobby-platform:${key}: `) && why.test(p)),
                `${key}:\n${found.join("\n")}`,
            );
        assert.ok(!found.some((p) => p.includes("84.17.32.9")));
    });

    it("leaves a stack without servers alone (local: a developer's cluster, reserved names welcome)", () => {
        assert.deepStrictEqual(problems({ ...committed("local"), environment: "local" }), []);
    });

    it("knows the reserved networks and names (RFC 5737, RFC 3849, RFC 2606, RFC 6761) and nothing more", () => {
        assert.deepStrictEqual(documentationNetwork("2001:db8:1::/48"), { cidr: "2001:db8::/32", rfc: "RFC 3849" });
        assert.deepStrictEqual(documentationNetwork("198.51.100.7"), { cidr: "198.51.100.0/24", rfc: "RFC 5737" });
        assert.strictEqual(documentationNetwork("203.0.114.0/24"), undefined);
        assert.strictEqual(documentationNetwork("2001:db9::/32"), undefined);
        assert.ok(reservedDomain("Example.COM."));
        assert.ok(reservedDomain("k8s.localhost"));
        assert.strictEqual(reservedDomain("notexample.com"), undefined);
        assert.strictEqual(reservedDomain("example.co"), undefined);
        assert.strictEqual(reservedDomain("localtest.me"), undefined);
    });
});
