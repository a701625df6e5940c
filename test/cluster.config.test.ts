import * as assert from "assert";
import { ConfigError, parseConfig } from "../config";
import { PLAN_PRICES_USD, PRICES_READ_ON } from "../lib/clusterFacts";

/** A valid dev configuration with a cluster; each case below breaks one cluster setting. */
function valid(cluster: Record<string, unknown> = {}): Record<string, any> {
    return {
        environment: "dev",
        domain: "example.com",
        cluster: {
            adminCidrs: ["203.0.113.0/24"],
            sshPublicKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHobbyPlatformTestKey ops@example.com"],
            ...cluster,
        },
        gitlab: { domain: "gitlab.example.com", registry: "registry.example.com", deployTokenExpiresAt: "2027-06-30" },
        acme: { email: "ops@example.com" },
        projects: { "the-project": { services: { "example-microservice": { basePath: "/example/api/endpoint" } } } },
    };
}

/** The day the expiry rules count from, fixed so the cases do not age. */
const TODAY = "2026-12-02";

function problemsOf(input: Record<string, any>): string[] {
    try {
        parseConfig(input, () => "placeholder", TODAY);
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
        return e.problems;
    }
    return [];
}

describe("cluster config", () => {
    it("names nodes after the environment unless a hostname prefix is given", () => {
        const prefix = (input: Record<string, any>) => {
            const { cluster } = parseConfig(input, () => "placeholder", TODAY);
            return cluster.enabled ? cluster.hostnamePrefix : undefined;
        };
        assert.strictEqual(prefix(valid()), "hobby-dev");
        assert.strictEqual(prefix(valid({ hostnamePrefix: "k3s-ams" })), "k3s-ams");
    });

    it("dates the built-in price table and prices the default plan", () => {
        assert.match(PRICES_READ_ON, /^\d{4}-\d{2}-\d{2}$/);
        assert.strictEqual(typeof PLAN_PRICES_USD["vc2-1c-2gb"], "number");
    });

    it("accepts a plan outside the price table once its price is configured", () => {
        assert.deepStrictEqual(problemsOf(valid({ plan: "vc2-16c-64gb", planPrices: { "vc2-16c-64gb": 320 } })), []);
    });

    for (const [what, cluster, expected] of [
        [
            "a plan with no known price",
            { plan: "vc2-16c-64gb" },
            `hobby-platform:cluster.plan: "vc2-16c-64gb" has no known monthly price for the cost estimate; use a plan of the built-in table (e.g. "vc2-2c-4gb") or give its price in cluster.planPrices, e.g. { "vc2-16c-64gb": 40 }`,
        ],
        [
            "a VPC inside the pod network",
            { vpcCidr: "10.42.5.0/24" },
            `hobby-platform:cluster.vpcCidr: "10.42.5.0/24" overlaps the k3s pod network 10.42.0.0/16; pick a network outside 10.42.0.0/15, e.g. "10.99.0.0/24"`,
        ],
        [
            "a VPC inside the service network",
            { vpcCidr: "10.43.0.0/24" },
            `hobby-platform:cluster.vpcCidr: "10.43.0.0/24" overlaps the k3s service network 10.43.0.0/16; pick a network outside 10.42.0.0/15, e.g. "10.99.0.0/24"`,
        ],
        [
            "a public VPC network",
            { vpcCidr: "203.0.113.0/24" },
            `hobby-platform:cluster.vpcCidr: "203.0.113.0/24" is not a private (RFC 1918) network; use one inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, e.g. "10.99.0.0/24"`,
        ],
        [
            "a VPC address with host bits",
            { vpcCidr: "10.99.0.5/24" },
            `hobby-platform:cluster.vpcCidr: "10.99.0.5/24" has host bits set; give the network address, e.g. "10.99.0.0/24"`,
        ],
        ["an IPv6 VPC network", { vpcCidr: "fd00::/64" }, `hobby-platform:cluster.vpcCidr: must be an IPv4 CIDR, e.g. "10.99.0.0/24"`],
        [
            "no admin network",
            { adminCidrs: [] },
            'hobby-platform:cluster.adminCidrs: must list at least one network (the API server and SSH answer only these, and `pulumi up` must reach the API server), e.g. ["203.0.113.7/32"]',
        ],
        [
            "a hostname prefix that is no DNS label",
            { hostnamePrefix: "Hobby_Dev" },
            `hobby-platform:cluster.hostnamePrefix: must be a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters), e.g. "hobby-dev"`,
        ],
    ] as const) {
        it(`refuses ${what} with a message naming the key and an example`, () => {
            assert.deepStrictEqual(problemsOf(valid(cluster)), [expected]);
        });
    }

    it("checks none of this when the stack makes no cluster", () => {
        const input = valid({ enabled: false, adminCidrs: [], sshPublicKeys: [], plan: "vc2-16c-64gb" });
        input.gitlab = { enabled: false, registry: "registry.example.com", registryUsername: "deploy" };
        input.ingress = { className: "traefik" };
        input.certManager = { issuer: "letsencrypt-staging" };
        assert.deepStrictEqual(problemsOf(input), []);
    });
});
