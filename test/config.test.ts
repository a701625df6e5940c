import * as assert from "assert";
import { ConfigError, parseConfig, requiredSecrets, SecretKey } from "../config";

/** A valid dev configuration; each case below breaks one thing. */
function valid(): Record<string, any> {
    return {
        environment: "dev",
        domain: "example.com",
        cluster: {
            region: "ams",
            plan: "vc2-1c-2gb",
            nodeCount: 3,
            adminCidrs: ["203.0.113.0/24"],
            sshPublicKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHobbyPlatformTestKey ops@example.com"],
        },
        gitlab: { domain: "gitlab.example.com", registry: "registry.example.com", deployTokenExpiresAt: "2027-06-30" },
        acme: { email: "ops@example.com" },
        projects: {
            "the-project": {
                services: {
                    "example-microservice": { basePath: "/example/api/endpoint", config: { something: "x" }, env: { DEBUG: "true" } },
                },
            },
        },
    };
}

/** Every secret set (to a placeholder), or all but some. */
const allSecrets = () => "placeholder";
const secretsExcept =
    (...missing: SecretKey[]) =>
    (k: SecretKey) =>
        missing.includes(k) ? undefined : "placeholder";
const onlySecrets =
    (...present: SecretKey[]) =>
    (k: SecretKey) =>
        present.includes(k) ? "placeholder" : undefined;
/** The day the expiry rules count from, fixed so the cases do not age. */
const TODAY = "2026-12-02";

function problemsOf(input: Record<string, any>, hasSecret: (k: SecretKey) => string | undefined = allSecrets): string[] {
    try {
        parseConfig(input, hasSecret, TODAY);
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
        return e.problems;
    }
    return [];
}

const svc = (c: Record<string, any>) => c.projects["the-project"].services["example-microservice"];

describe("config", () => {
    it("accepts the seed's example and fills in defaults", () => {
        const c = parseConfig(valid(), allSecrets, TODAY);
        const s = c.projects["the-project"].services["example-microservice"];
        assert.strictEqual(c.client, "internal");
        assert.ok(c.cluster.enabled);
        assert.strictEqual(c.cluster.nodeCount, 3);
        assert.strictEqual(c.cluster.protect, false, "only prod protects its servers");
        assert.strictEqual(s.replicas, 2);
        assert.strictEqual(s.port, 8080);
        assert.strictEqual(s.host, "api.the-project.dev.example.com");
        assert.strictEqual(s.gitlabProject, "the-project/example-microservice");
        assert.deepStrictEqual(s.resources, { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "128Mi" } });
        assert.strictEqual(s.image, "registry.example.com/the-project/example-microservice:dev-latest");
        assert.deepStrictEqual(c.projects["the-project"].hosts, ["api.the-project.dev.example.com"]);
        assert.ok(c.certManager.install);
        assert.strictEqual(c.certManager.staging, true, "non-prod environments default to the staging CA");
        assert.strictEqual(c.ingress.install, true);
        assert.strictEqual(c.certManager.install, true);
    });

    it("defaults prod to Let's Encrypt's production CA", () => {
        const c = parseConfig({ ...valid(), environment: "prod" }, allSecrets, TODAY);
        assert.ok(c.certManager.install);
        assert.strictEqual(c.certManager.staging, false);
        assert.ok(c.cluster.enabled && c.cluster.protect, "prod protects its servers and the cluster's identity");
    });

    it("lets a project override the client label", () => {
        const input = valid();
        input.projects["the-project"].client = "acme-corp";
        assert.strictEqual(parseConfig(input, allSecrets, TODAY).projects["the-project"].client, "acme-corp");
    });

    it("local stack: needs no GitLab API token, only the pull Secret's credentials", () => {
        const input = {
            ...valid(),
            environment: "local",
            cluster: { enabled: false },
            gitlab: { enabled: false, registry: "registry.example.com", registryUsername: "dev" },
            ingress: { className: "traefik" },
            certManager: { issuer: "letsencrypt-staging" },
            acme: {},
        };
        const c = parseConfig(input, onlySecrets("registryPassword"));
        assert.deepStrictEqual(requiredSecrets(c), ["registryPassword"]);
        assert.deepStrictEqual(c.gitlab, {
            enabled: false,
            registry: "registry.example.com",
            registryUsername: "dev",
            registryPassword: "placeholder",
        });
        assert.deepStrictEqual(
            [c.cluster.enabled, c.ingress, c.certManager],
            [
                false,
                {
                    install: false,
                    className: "traefik",
                    controller: { namespace: "kube-system", podLabels: { "app.kubernetes.io/name": "traefik" } },
                },
                { install: false, issuer: "letsencrypt-staging" },
            ],
        );
    });

    it("resolves the agent path: the agent named hobby-<env> unless configured, read from main, on TLS to KAS", () => {
        const input = valid();
        input.gitlab.clusterAccess = "agent";
        input.gitlab.agent = { project: "the-project/cluster-agents", kasAddress: "grpcs://kas.gitlab.example.com:8150" };
        const c = parseConfig(input, allSecrets, TODAY);
        assert.ok(c.gitlab.enabled);
        assert.deepStrictEqual(c.gitlab.clusterAccess, {
            mode: "agent",
            project: "the-project/cluster-agents",
            name: "hobby-dev",
            branch: "main",
            kasAddress: "grpcs://kas.gitlab.example.com:8150",
        });
        const byDefault = parseConfig(valid(), allSecrets, TODAY).gitlab;
        assert.deepStrictEqual(byDefault.enabled && byDefault.clusterAccess, { mode: "token" }, "the token path unless configured");
    });

    it("refuses the agent path without its project and KAS address in one report", () => {
        const input = valid();
        input.gitlab.clusterAccess = "agent";
        assert.deepStrictEqual(
            problemsOf(input).map((p) => p.split(":")[1]),
            ["gitlab.agent.project", "gitlab.agent.kasAddress"],
        );
    });

    it("reports every problem at once, one line each", () => {
        const input = valid();
        input.domain = "Example.com";
        svc(input).replicas = 0;
        svc(input).port = 80;
        assert.strictEqual(problemsOf(input).length, 3);
    });

    it("says what is wrong with a value of the wrong type, in its own words, never the validator's", () => {
        const input = valid();
        svc(input).replicas = "two";
        Object.assign(input.cluster, { region: 7, kubeContext: 1, planPrices: { x: "ten" }, sshPublicKeys: "ssh-ed25519 AAAA", enableIpv6: "no" });
        Object.assign(input.gitlab, { registryUsername: 5, domain: ["gitlab.example.com"] });
        input.acme = "ops@example.com";
        const problems = problemsOf(input);
        assert.ok(problems.length >= 8, JSON.stringify(problems));
        for (const p of problems) {
            assert.doesNotMatch(p, /Invalid input|expected [a-z]+, received/, p);
            assert.doesNotMatch(p, /is required/, `a present value of the wrong type is not missing: ${p}`);
        }
        assert.ok(
            problems.includes("hobby-platform:projects.the-project.services.example-microservice.replicas: must be an integer, e.g. 2"),
            JSON.stringify(problems),
        );
    });

    it("names the API k8s.<env>.<domain> in the zone of the domain, and keeps no service host records unless asked", () => {
        const c = parseConfig(valid(), allSecrets, TODAY);
        assert.ok(c.cluster.enabled);
        if (!c.cluster.enabled) return;
        assert.deepStrictEqual([c.cluster.apiHost, c.cluster.dnsZone, c.cluster.workers], ["k8s.dev.example.com", "example.com", []]);
        assert.deepStrictEqual(c.dns, { provider: "none" });
        const managed = parseConfig({ ...valid(), dns: { provider: "vultr", zone: "example.com" } }, allSecrets, TODAY);
        assert.deepStrictEqual(managed.dns, { provider: "vultr", zone: "example.com", ttl: 300 });
    });

    it("fills in a worker pool's defaults: one node of the smallest plan, no labels or taints", () => {
        const input = valid();
        input.cluster.workers = [{ name: "workers" }];
        const c = parseConfig(input, allSecrets, TODAY);
        assert.deepStrictEqual(c.cluster.enabled && c.cluster.workers, [{ name: "workers", plan: "vc2-1c-2gb", count: 1, labels: {}, taints: [] }]);
    });

    it("reports schema problems and rules across fields in the same report", () => {
        const input = valid();
        svc(input).replicas = "two";
        delete input.gitlab.domain;
        input.projects["kube-system"] = { services: { "2fa": { basePath: "/a//b" } } };
        const problems = problemsOf(input);
        for (const key of [
            "hobby-platform:projects.the-project.services.example-microservice.replicas:",
            "hobby-platform:gitlab.domain:",
            "hobby-platform:projects:",
            "hobby-platform:projects.kube-system.services.2fa:",
            "hobby-platform:projects.kube-system.services.2fa.basePath:",
        ])
            assert.ok(
                problems.some((p) => p.startsWith(key)),
                `${key} in ${JSON.stringify(problems)}`,
            );
    });

    // Each case: what is broken, the key the message must name, and a phrase of the message.
    const pool = (c: Record<string, any>, p: Record<string, unknown>) => (c.cluster.workers = [{ name: "workers", ...p }]);
    const cases: Array<[string, (c: Record<string, any>) => void, string, RegExp]> = [
        [
            "an API name outside the DNS zone",
            (c) => {
                c.cluster.apiHost = "k8s.example.org";
            },
            "hobby-platform:cluster.apiHost",
            /not inside the Vultr DNS zone "example\.com" \(dns\.zone\)/,
        ],
        [
            "a DNS zone the default API name is not in",
            (c) => {
                c.dns = { zone: "other.example" };
            },
            "hobby-platform:cluster.apiHost",
            /"k8s\.dev\.example\.com" is not inside the Vultr DNS zone "other\.example"/,
        ],
        [
            "an unknown DNS provider",
            (c) => {
                c.dns = { provider: "cloudflare" };
            },
            "hobby-platform:dns.provider",
            /must be "none" or "vultr"/,
        ],
        [
            "a TTL under a minute",
            (c) => {
                c.dns = { provider: "vultr", ttl: 5 };
            },
            "hobby-platform:dns.ttl",
            /at least 60 s/,
        ],
        [
            "managed DNS without the stack's own cluster",
            (c) => {
                c.environment = "local";
                c.cluster = { enabled: false };
                c.gitlab = { enabled: false, registry: "registry.example.com", registryUsername: "u" };
                c.dns = { provider: "vultr" };
            },
            "hobby-platform:dns.provider",
            /needs cluster\.enabled true/,
        ],
        [
            "a service host outside the zone whose records the stack keeps",
            (c) => {
                c.dns = { provider: "vultr" };
                svc(c).host = "api.example.net";
            },
            "hobby-platform:projects.the-project.services.example-microservice.host",
            /"api\.example\.net" is not inside the Vultr DNS zone "example\.com"/,
        ],
        [
            "two worker pools of one name",
            (c) => {
                c.cluster.workers = [{ name: "workers" }, { name: "workers" }];
            },
            "hobby-platform:cluster.workers.1.name",
            /names another pool too/,
        ],
        [
            "a worker pool named by a number, like the servers",
            (c) => pool(c, { name: "4" }),
            "hobby-platform:cluster.workers.0.name",
            /would name agents like the servers/,
        ],
        [
            "a worker pool whose node names exceed a DNS label",
            (c) => pool(c, { name: "a".repeat(60) }),
            "hobby-platform:cluster.workers.0.name",
            /over 63 characters/,
        ],
        [
            "a worker pool label the kubelet may not set",
            (c) => pool(c, { labels: { "node-role.kubernetes.io/worker": "true" } }),
            "hobby-platform:cluster.workers.0.labels",
            /kubelet may not set on its own node/,
        ],
        [
            "a worker pool label key that is no label key",
            (c) => pool(c, { labels: { "bad key": "x" } }),
            "hobby-platform:cluster.workers.0.labels",
            /must be a label key/,
        ],
        [
            "a worker pool taint without an effect",
            (c) => pool(c, { taints: ["dedicated=batch"] }),
            "hobby-platform:cluster.workers.0.taints.0",
            /NoSchedule, PreferNoSchedule or NoExecute/,
        ],
        [
            "a worker pool of an unpriced plan",
            (c) => pool(c, { plan: "vc2-9c-99gb" }),
            "hobby-platform:cluster.workers.0.plan",
            /no known monthly price/,
        ],
        ["a worker pool over 20 nodes", (c) => pool(c, { count: 21 }), "hobby-platform:cluster.workers.0.count", /at most 20/],
        [
            "worker pools without the stack's own cluster",
            (c) => {
                c.environment = "local";
                c.cluster = { enabled: false, workers: [{ name: "workers" }] };
                c.gitlab = { enabled: false, registry: "registry.example.com", registryUsername: "u" };
            },
            "hobby-platform:cluster.workers",
            /needs cluster\.enabled true/,
        ],
        [
            "unknown environment",
            (c) => {
                c.environment = "qa";
            },
            "hobby-platform:environment",
            /one of dev, stg, prod, local/,
        ],
        [
            "domain missing",
            (c) => {
                delete c.domain;
            },
            "hobby-platform:domain",
            /required/,
        ],
        [
            "domain not lower-case DNS",
            (c) => {
                c.domain = "Example.COM";
            },
            "hobby-platform:domain",
            /DNS name/,
        ],
        [
            "client label not DNS-1123",
            (c) => {
                c.client = "Acme Corp";
            },
            "hobby-platform:client",
            /DNS-1123/,
        ],
        [
            "project name not DNS-1123",
            (c) => {
                c.projects["The_Project"] = c.projects["the-project"];
            },
            "hobby-platform:projects",
            /DNS-1123/,
        ],
        [
            "service name not DNS-1035",
            (c) => {
                c.projects["the-project"].services["Example.Svc"] = { basePath: "/x" };
            },
            "hobby-platform:projects.the-project.services",
            /DNS-1035/,
        ],
        [
            "service name starting with a digit (a Service name is a DNS-1035 label)",
            (c) => {
                c.projects["the-project"].services["2fa"] = { basePath: "/x" };
            },
            "hobby-platform:projects.the-project.services.2fa",
            /DNS-1035 label.*starting with a letter/,
        ],
        [
            "project named default",
            (c) => {
                c.projects["default"] = c.projects["the-project"];
                delete c.projects["the-project"];
            },
            "hobby-platform:projects",
            /"default" would be the namespace default, which Kubernetes reserves/,
        ],
        [
            "project named kube-system",
            (c) => {
                c.projects["kube-system"] = c.projects["the-project"];
                delete c.projects["the-project"];
            },
            "hobby-platform:projects",
            /Kubernetes reserves/,
        ],
        [
            "project named with the kube- prefix",
            (c) => {
                c.projects["kube-tools"] = c.projects["the-project"];
                delete c.projects["the-project"];
            },
            "hobby-platform:projects",
            /Kubernetes reserves/,
        ],
        [
            "project named after cert-manager's namespace",
            (c) => {
                c.projects["cert-manager"] = c.projects["the-project"];
                delete c.projects["the-project"];
            },
            "hobby-platform:projects",
            /the stack creates \(for cert-manager or k3s upgrades\)/,
        ],
        [
            "project named after the upgrade controller's namespace",
            (c) => {
                c.projects["system-upgrade"] = c.projects["the-project"];
                delete c.projects["the-project"];
            },
            "hobby-platform:projects",
            /the stack creates/,
        ],
        [
            "project and service names that join to another pair's (one URN)",
            (c) => {
                c.projects["a-b"] = { services: { c: { basePath: "/one" } } };
                c.projects["a"] = { services: { "b-c": { basePath: "/two" } } };
            },
            "hobby-platform:projects.a.services.b-c",
            /join to "a-b-c", as hobby-platform:projects\.a-b\.services\.c does/,
        ],
        [
            "project and host names that join to another pair's (one certificate URN)",
            (c) => {
                c.projects["a-b"] = { services: { s: { basePath: "/one", host: "c.example.com" } } };
                c.projects["a"] = { services: { s: { basePath: "/two", host: "b-c.example.com" } } };
            },
            "hobby-platform:projects.a.services.s.host",
            /join to "a-b-c\.example\.com"/,
        ],
        [
            "basePath with an empty segment",
            (c) => {
                svc(c).basePath = "/example//api";
            },
            "hobby-platform:projects.the-project.services.example-microservice.basePath",
            /contains "\/\/", which Kubernetes refuses/,
        ],
        [
            "basePath with a dot segment",
            (c) => {
                svc(c).basePath = "/example/./api";
            },
            "hobby-platform:projects.the-project.services.example-microservice.basePath",
            /contains "\/\.\/"/,
        ],
        [
            "basePath ending in a dot segment",
            (c) => {
                svc(c).basePath = "/example/..";
            },
            "hobby-platform:projects.the-project.services.example-microservice.basePath",
            /contains "\/\.\."/,
        ],
        [
            "a request above its limit",
            (c) => {
                svc(c).resources = { requests: { memory: "256Mi" } };
            },
            "hobby-platform:projects.the-project.services.example-microservice.resources.requests.memory",
            /"256Mi" is more than the limit "128Mi"/,
        ],
        [
            "a CPU request above its limit in other units",
            (c) => {
                svc(c).resources = { requests: { cpu: "1" }, limits: { cpu: "900m" } };
            },
            "hobby-platform:projects.the-project.services.example-microservice.resources.requests.cpu",
            /more than the limit/,
        ],
        [
            "env AGENT, which the platform sets",
            (c) => {
                svc(c).env = { AGENT: "x" };
            },
            "hobby-platform:projects.the-project.services.example-microservice.env.AGENT",
            /set by the platform/,
        ],
        [
            "a config over a ConfigMap's 1 MiB",
            (c) => {
                svc(c).config = { blob: "x".repeat(1024 * 1024) };
            },
            "hobby-platform:projects.the-project.services.example-microservice.config",
            /more than 1 MiB/,
        ],
        [
            "gitlabProject ending in .git",
            (c) => {
                svc(c).gitlabProject = "the-project/example.git";
            },
            "hobby-platform:projects.the-project.services.example-microservice.gitlabProject",
            /GitLab refuses a path ending in ".git"/,
        ],
        [
            "gitlabProject that is no image path",
            (c) => {
                svc(c).gitlabProject = "the-project/example..svc";
            },
            "hobby-platform:projects.the-project.services.example-microservice.gitlabProject",
            /segment "example\.\.svc"/,
        ],
        [
            "deploy token expiry not a calendar day",
            (c) => {
                c.gitlab.deployTokenExpiresAt = "2027-02-30";
            },
            "hobby-platform:gitlab.deployTokenExpiresAt",
            /not a day of the calendar/,
        ],
        [
            "deploy token expiry in the past",
            (c) => {
                c.gitlab.deployTokenExpiresAt = "2026-01-31";
            },
            "hobby-platform:gitlab.deployTokenExpiresAt",
            /not after today \(2026-12-02\)/,
        ],
        [
            "GitLab wiring for the local environment (no deployment tier)",
            (c) => {
                c.environment = "local";
            },
            "hobby-platform:gitlab.enabled",
            /environment "local" has no GitLab deployment tier/,
        ],
        [
            "an IPv6 admin network (the cluster is IPv4-only)",
            (c) => {
                c.cluster.adminCidrs = ["2001:db8::/32"];
            },
            "hobby-platform:cluster.adminCidrs.0",
            /IPv4 CIDR/,
        ],
        [
            "no SSH key on a stack that creates servers (a restore needs a root shell; keys reach new servers only)",
            (c) => {
                c.cluster.sshPublicKeys = [];
            },
            "hobby-platform:cluster.sshPublicKeys",
            /must list at least one key: restoring the cluster \(docs\/restore\.md\) needs a root shell.*e\.g\. \["ssh-ed25519 /,
        ],
        [
            "an admin network with host bits",
            (c) => {
                c.cluster.adminCidrs = ["203.0.113.7/24"];
            },
            "hobby-platform:cluster.adminCidrs",
            /host bits set/,
        ],
        [
            "service name too long",
            (c) => {
                c.projects["the-project"].services["s".repeat(64)] = { basePath: "/x" };
            },
            "hobby-platform:projects.the-project.services",
            /63 characters/,
        ],
        [
            "no projects",
            (c) => {
                c.projects = {};
            },
            "hobby-platform:projects",
            /at least one project/,
        ],
        [
            "project without services",
            (c) => {
                c.projects["the-project"].services = {};
            },
            "hobby-platform:projects.the-project.services",
            /at least one service/,
        ],
        [
            "replicas below 1",
            (c) => {
                svc(c).replicas = 0;
            },
            "hobby-platform:projects.the-project.services.example-microservice.replicas",
            /at least 1/,
        ],
        [
            "replicas not an integer",
            (c) => {
                svc(c).replicas = 1.5;
            },
            "hobby-platform:projects.the-project.services.example-microservice.replicas",
            /integer/,
        ],
        [
            "replicas a string",
            (c) => {
                svc(c).replicas = "two";
            },
            "hobby-platform:projects.the-project.services.example-microservice.replicas",
            /integer/,
        ],
        [
            "port out of range",
            (c) => {
                svc(c).port = 70000;
            },
            "hobby-platform:projects.the-project.services.example-microservice.port",
            /65535/,
        ],
        [
            "privileged port",
            (c) => {
                svc(c).port = 80;
            },
            "hobby-platform:projects.the-project.services.example-microservice.port",
            /non-root/,
        ],
        [
            "basePath missing",
            (c) => {
                delete svc(c).basePath;
            },
            "hobby-platform:projects.the-project.services.example-microservice.basePath",
            /required/,
        ],
        [
            "basePath relative",
            (c) => {
                svc(c).basePath = "example/api";
            },
            "hobby-platform:projects.the-project.services.example-microservice.basePath",
            /absolute URL path/,
        ],
        [
            "host not a DNS name",
            (c) => {
                svc(c).host = "api_example";
            },
            "hobby-platform:projects.the-project.services.example-microservice.host",
            /DNS name/,
        ],
        [
            "config not an object",
            (c) => {
                svc(c).config = "something: x";
            },
            "hobby-platform:projects.the-project.services.example-microservice.config",
            /must be an object/,
        ],
        [
            "env name invalid",
            (c) => {
                svc(c).env = { "LOG-LEVEL": "debug" };
            },
            "hobby-platform:projects.the-project.services.example-microservice.env",
            /environment variable name/,
        ],
        [
            "env value an object",
            (c) => {
                svc(c).env = { DEBUG: { on: true } };
            },
            "hobby-platform:projects.the-project.services.example-microservice.env.DEBUG",
            /string, number or boolean/,
        ],
        [
            "resource quantity invalid",
            (c) => {
                svc(c).resources = { limits: { memory: "lots" } };
            },
            "hobby-platform:projects.the-project.services.example-microservice.resources.limits.memory",
            /quantity/,
        ],
        [
            "image reference invalid",
            (c) => {
                svc(c).image = "Not An Image";
            },
            "hobby-platform:projects.the-project.services.example-microservice.image",
            /image reference/,
        ],
        [
            "gitlabProject not a path",
            (c) => {
                svc(c).gitlabProject = "just-a-name";
            },
            "hobby-platform:projects.the-project.services.example-microservice.gitlabProject",
            /group\/project/,
        ],
        [
            "unknown service key (typo)",
            (c) => {
                svc(c).replica = 2;
            },
            "hobby-platform:projects.the-project.services.example-microservice",
            /unknown key.*"replica"/,
        ],
        [
            "duplicate host and path",
            (c) => {
                c.projects["the-project"].services["second"] = { basePath: "/example/api/endpoint" };
            },
            "hobby-platform:projects.the-project.services.second.host",
            /already used/,
        ],
        [
            "duplicate explicit host across projects",
            (c) => {
                svc(c).host = "api.example.com";
                c.projects["other"] = { services: { svc: { basePath: "/example/api/endpoint", host: "api.example.com" } } };
            },
            "hobby-platform:projects.other.services.svc.host",
            /already used/,
        ],
        [
            "an etcd snapshot schedule that is no cron schedule",
            (c) => {
                c.cluster.etcdSnapshots = { schedule: "every 6 hours" };
            },
            "hobby-platform:cluster.etcdSnapshots.schedule",
            /cron schedule of five fields/,
        ],
        [
            "an etcd snapshot retention of 0",
            (c) => {
                c.cluster.etcdSnapshots = { retention: 0 };
            },
            "hobby-platform:cluster.etcdSnapshots.retention",
            /at least 1/,
        ],
        [
            "nodeCount even",
            (c) => {
                c.cluster.nodeCount = 2;
            },
            "hobby-platform:cluster.nodeCount",
            /must be odd/,
        ],
        [
            "nodeCount zero",
            (c) => {
                c.cluster.nodeCount = 0;
            },
            "hobby-platform:cluster.nodeCount",
            /must be 1/,
        ],
        [
            "plan unknown shape",
            (c) => {
                c.cluster.plan = "large";
            },
            "hobby-platform:cluster.plan",
            /Vultr plan id/,
        ],
        [
            "region invalid",
            (c) => {
                c.cluster.region = "Amsterdam";
            },
            "hobby-platform:cluster.region",
            /Vultr region id/,
        ],
        [
            "k3sVersion unpinned",
            (c) => {
                c.cluster.k3sVersion = "latest";
            },
            "hobby-platform:cluster.k3sVersion",
            /k3s release/,
        ],
        [
            "admin CIDR invalid",
            (c) => {
                c.cluster.adminCidrs = ["203.0.113.300/24"];
            },
            "hobby-platform:cluster.adminCidrs.0",
            /CIDR/,
        ],
        [
            "SSH key invalid",
            (c) => {
                c.cluster.sshPublicKeys = ["not a key"];
            },
            "hobby-platform:cluster.sshPublicKeys.0",
            /OpenSSH public key/,
        ],
        [
            "cluster.enabled not boolean",
            (c) => {
                c.cluster.enabled = "yes";
            },
            "hobby-platform:cluster.enabled",
            /true or false/,
        ],
        [
            "gitlab domain missing",
            (c) => {
                delete c.gitlab.domain;
            },
            "hobby-platform:gitlab.domain",
            /required when gitlab.enabled/,
        ],
        [
            "gitlab registry missing",
            (c) => {
                delete c.gitlab.registry;
            },
            "hobby-platform:gitlab.registry",
            /required/,
        ],
        [
            "deploy token expiry missing",
            (c) => {
                delete c.gitlab.deployTokenExpiresAt;
            },
            "hobby-platform:gitlab.deployTokenExpiresAt",
            /required when gitlab.enabled/,
        ],
        [
            "two services in one GitLab project",
            (c) => {
                c.projects["the-project"].services["second"] = { basePath: "/second", gitlabProject: "the-project/example-microservice" };
            },
            "hobby-platform:projects.the-project.services.second.gitlabProject",
            /already the GitLab project of .*example-microservice/,
        ],
        [
            "deploy token expiry not a date",
            (c) => {
                c.gitlab.deployTokenExpiresAt = "next year";
            },
            "hobby-platform:gitlab.deployTokenExpiresAt",
            /YYYY-MM-DD/,
        ],
        [
            "gitlab without a cluster",
            (c) => {
                c.cluster.enabled = false;
                c.ingress = { className: "traefik" };
                c.certManager = { issuer: "x" };
            },
            "hobby-platform:gitlab.enabled",
            /needs cluster.enabled/,
        ],
        [
            "acme email invalid",
            (c) => {
                c.acme.email = "ops-at-example";
            },
            "hobby-platform:acme.email",
            /e-mail/,
        ],
        [
            "acme email missing with cert-manager",
            (c) => {
                delete c.acme.email;
            },
            "hobby-platform:acme.email",
            /required when cert-manager/,
        ],
        [
            "ingress class missing without controller",
            (c) => {
                c.ingress = { install: false };
            },
            "hobby-platform:ingress.className",
            /required when ingress.install is false/,
        ],
        [
            "issuer missing without cert-manager",
            (c) => {
                c.certManager = { install: false };
            },
            "hobby-platform:certManager.issuer",
            /required when certManager.install is false/,
        ],
        [
            "an unknown cluster access mode",
            (c) => {
                c.gitlab.clusterAccess = "kubeconfig";
            },
            "hobby-platform:gitlab.clusterAccess",
            /"token" or "agent"/,
        ],
        [
            "the agent path without the agent's configuration project",
            (c) => {
                c.gitlab.clusterAccess = "agent";
                c.gitlab.agent = { kasAddress: "wss://kas.gitlab.example.com" };
            },
            "hobby-platform:gitlab.agent.project",
            /required when gitlab.clusterAccess is "agent"/,
        ],
        [
            "the agent path without a KAS address",
            (c) => {
                c.gitlab.clusterAccess = "agent";
                c.gitlab.agent = { project: "the-project/cluster-agents" };
            },
            "hobby-platform:gitlab.agent.kasAddress",
            /required when gitlab.clusterAccess is "agent"/,
        ],
        [
            "a KAS address over plain WebSocket",
            (c) => {
                c.gitlab.clusterAccess = "agent";
                c.gitlab.agent = { project: "the-project/cluster-agents", kasAddress: "ws://kas.gitlab.example.com" };
            },
            "hobby-platform:gitlab.agent.kasAddress",
            /wss:\/\/ or grpcs:\/\/ \(TLS\)/,
        ],
        [
            "a KAS address that is an https URL",
            (c) => {
                c.gitlab.clusterAccess = "agent";
                c.gitlab.agent = { project: "the-project/cluster-agents", kasAddress: "https://gitlab.example.com/-/kubernetes-agent/" };
            },
            "hobby-platform:gitlab.agent.kasAddress",
            /wss:\/\/ or grpcs:\/\//,
        ],
        [
            "an agent name that is not a DNS label",
            (c) => {
                c.gitlab.clusterAccess = "agent";
                c.gitlab.agent = { project: "the-project/cluster-agents", kasAddress: "wss://kas.gitlab.example.com", name: "Hobby_Dev" };
            },
            "hobby-platform:gitlab.agent.name",
            /DNS-1123 label/,
        ],
        [
            "on the agent path, a service project outside the agent project's top-level group",
            (c) => {
                c.gitlab.clusterAccess = "agent";
                c.gitlab.agent = { project: "platform-team/cluster-agents", kasAddress: "wss://kas.gitlab.example.com" };
            },
            "hobby-platform:projects.the-project.services.example-microservice.gitlabProject",
            /outside "platform-team", the top-level group of gitlab.agent.project/,
        ],
        [
            "unknown top-level section key",
            (c) => {
                c.gitlab.token = "plain-text-token";
            },
            "hobby-platform:gitlab",
            /unknown key.*"token"/,
        ],
    ];

    for (const [what, breakIt, key, phrase] of cases) {
        it(`refuses ${what}, naming ${key}`, () => {
            const input = valid();
            breakIt(input);
            const problems = problemsOf(input);
            const hit = problems.find((p) => p.startsWith(`${key}:`) || p.startsWith(`${key}.`) || p.startsWith(`${key} `));
            assert.ok(hit, `no problem names ${key}: ${JSON.stringify(problems)}`);
            assert.match(hit!, phrase);
            assert.match(hit!, /e\.g\.|check the spelling|set it with/, `no example in: ${hit}`);
        });
    }

    it("refuses a missing secret, saying how to set it", () => {
        const problems = problemsOf(valid(), secretsExcept("goModulesToken"));
        assert.deepStrictEqual(problems, [
            "hobby-platform:goModulesToken: secret is missing; set it with `pulumi config set --secret goModulesToken` (it prompts for the value, or reads it from standard input)",
        ]);
    });

    it("never puts a secret value into a message", () => {
        const input = valid();
        input.gitlab.token = "glpat-SUPERSECRET";
        for (const p of problemsOf(input)) assert.ok(!p.includes("glpat-SUPERSECRET"), p);
    });

    it("stops the run with a message that names the stack and says nothing was created", () => {
        const input = valid();
        input.environment = "qa";
        assert.throws(
            () => parseConfig(input, allSecrets, TODAY),
            (e: Error) => /Invalid configuration of stack .*nothing was created/.test(e.message),
        );
    });

    describe("service secrets", () => {
        const key = "hobby-platform:projects.the-project.services.example-microservice";
        const command = (name: string) =>
            `\`pulumi config set --secret --path 'projects.the-project.services.example-microservice.secrets.${name}'\` (it prompts for the value, or reads it from standard input)`;

        it("refuses a plain config or env value under a key that names a secret, with the command that sets it as one", () => {
            const input = valid();
            svc(input).config = {
                something: "x",
                token: "replace-me",
                db: { password: "p4ss", keyspace: "k" },
                tokenTtl: 3600,
                replicas: [{ host: "r1", secret: "s3cr3t" }],
            };
            svc(input).env = { API_KEY: "k3y", encKey: "e", PUBLIC_KEY: "ssh-ed25519 AAAA", KEYSPACE: "ks" };
            const problems = problemsOf(input);
            assert.deepStrictEqual(
                problems.map((p) => p.split(":")[1].split(" ")[0]),
                [
                    "projects.the-project.services.example-microservice.config.token",
                    "projects.the-project.services.example-microservice.config.db.password",
                    "projects.the-project.services.example-microservice.config.replicas.0.secret",
                    "projects.the-project.services.example-microservice.env.API_KEY",
                    "projects.the-project.services.example-microservice.env.encKey",
                ],
            );
            assert.ok(problems[0].includes(command("TOKEN")), problems[0]);
            assert.ok(problems[4].includes(command("ENC_KEY")), problems[4]);
            for (const p of problems) for (const v of ["replace-me", "p4ss", "k3y", "s3cr3t"]) assert.ok(!p.includes(v), p);
        });

        it("accepts secrets set with --secret and hands each out wrapped as a secret", () => {
            const input = valid();
            svc(input).secrets = { DB_PASSWORD: "p4ss" };
            svc(input).secretsAs = "both";
            const c = parseConfig(input, allSecrets, TODAY, { serviceSecrets: { marked: true, wrap: (v) => `wrapped(${v})` } });
            const s = c.projects["the-project"].services["example-microservice"];
            assert.deepStrictEqual(s.secrets, { DB_PASSWORD: "wrapped(p4ss)" });
            assert.strictEqual(s.secretsAs, "both");
            assert.strictEqual(parseConfig(valid(), allSecrets, TODAY).projects["the-project"].services["example-microservice"].secretsAs, "env");
        });

        it("refuses secrets set without --secret (plain in the stack file), never showing a value", () => {
            const input = valid();
            svc(input).secrets = { DB_PASSWORD: "p4ss" };
            let problems: string[] = [];
            try {
                parseConfig(input, allSecrets, TODAY, { serviceSecrets: { marked: false, wrap: (v) => v } });
            } catch (e) {
                problems = (e as ConfigError).problems;
            }
            assert.deepStrictEqual(problems, [
                `${key}.secrets: was set without --secret, so its values are in plain text in the stack file; set each again with ${command("DB_PASSWORD")}`,
            ]);
        });

        it("refuses a secret that the container would also get from env or the platform", () => {
            const input = valid();
            svc(input).secrets = { LOG_LEVEL: "x", PORT: "1" };
            svc(input).env = { LOG_LEVEL: "debug" };
            const problems = problemsOf(input);
            assert.ok(
                problems.some((p) => p.startsWith(`${key}.secrets.LOG_LEVEL: is also in env`)),
                problems.join("\n"),
            );
            assert.ok(
                problems.some((p) => p.startsWith(`${key}.secrets.PORT: is also set by the platform`)),
                problems.join("\n"),
            );
            svc(input).secretsAs = "files";
            assert.deepStrictEqual(problemsOf(input), []);
        });

        it("refuses a secret name that is no environment variable name, and an empty value", () => {
            const input = valid();
            svc(input).secrets = { "db-password": "x", EMPTY: "" };
            const problems = problemsOf(input);
            assert.ok(
                problems.some((p) => p.startsWith(`${key}.secrets.db-password: name must be an environment variable name`)),
                problems.join("\n"),
            );
            assert.ok(
                problems.some((p) => p.startsWith(`${key}.secrets.EMPTY: must not be empty`)),
                problems.join("\n"),
            );
        });
    });

    describe("autoscaling, quotas and the cluster's room", () => {
        const key = "hobby-platform:projects.the-project";

        it("refuses replicas beside autoscaling (the autoscaler owns the count) and min above max", () => {
            const input = valid();
            svc(input).replicas = 3;
            svc(input).autoscaling = { min: 4, max: 3 };
            const problems = problemsOf(input);
            assert.ok(problems.some((p) => p.startsWith(`${key}.services.example-microservice.replicas: is the autoscaler's to set`)));
            assert.ok(problems.some((p) => p.startsWith(`${key}.services.example-microservice.autoscaling.max: 3 is less than autoscaling.min 4`)));
        });

        it("sizes each project's quota to its services' need scaled to what the nodes leave after k3s with etcd and the platform", () => {
            const one = parseConfig(valid(), allSecrets, TODAY);
            // 3 x vc2-1c-2gb: 3 x (2 GiB - 1606 MB - 100 MiB) - 256 MiB, 3 x (1 - 0.06) - 0.2 CPU.
            assert.strictEqual(one.projects["the-project"].quota.requests.memory, "993Mi");
            assert.strictEqual(one.projects["the-project"].quota.requests.cpu, "2620m");
            const input = valid();
            input.projects.second = { services: { api: { basePath: "/api", replicas: 5 } } };
            const two = parseConfig(input, allSecrets, TODAY);
            // Needs 2 and 5 pods of 64Mi, each project one more for a rollout (the stack 7 + 1): each
            // gets its need scaled by 993Mi / 512Mi.
            assert.strictEqual(two.projects["the-project"].quota.requests.memory, "372Mi");
            assert.strictEqual(two.projects.second.quota.requests.memory, "744Mi");
            assert.strictEqual(two.projects.second.quota.limits.memory, "1489Mi");
            assert.strictEqual(two.projects.second.quota.pods, 50);
            assert.strictEqual(two.podSecurityVersion, "v1.33");
        });

        it("refuses at preview a project whose services need more than its quota, replicas plus one rollout's surge pod", () => {
            const input = valid();
            input.projects["the-project"].quota = { requests: { memory: "128Mi" }, pods: 2 };
            assert.deepStrictEqual(problemsOf(valid()), [], "the default quotas of a stack that fits never refuse it");
            const problems = problemsOf(input);
            assert.ok(
                problems.some(
                    (p) =>
                        p.startsWith(`${key}.quota.requests.memory: the project's quota allows 128Mi of requests.memory, but`) &&
                        p.includes("need 192Mi"),
                ),
                problems.join("\n"),
            );
            assert.ok(
                problems.some((p) => p.startsWith(`${key}.quota.pods: the quota allows 2 pods`)),
                problems.join("\n"),
            );
        });

        it("refuses services that do not fit on the nodes next to k3s, etcd and the platform, and a pod no node can take", () => {
            const input = valid();
            svc(input).replicas = 5;
            svc(input).resources = { requests: { memory: "300Mi" }, limits: { memory: "300Mi" } };
            const problems = problemsOf(input);
            assert.ok(
                problems.some((p) => p.startsWith("hobby-platform:projects: the services request") && p.includes("but the nodes leave")),
                problems.join("\n"),
            );
            svc(input).replicas = 1;
            svc(input).resources = { requests: { memory: "600Mi" }, limits: { memory: "600Mi" } };
            assert.ok(problemsOf(input).some((p) => p.startsWith(`${key}.services.example-microservice.resources.requests: one pod requests`)));
            // A larger plan takes both.
            input.cluster.plan = "vc2-2c-4gb";
            assert.deepStrictEqual(problemsOf(input), []);
        });
    });

    describe("the ingress controller the projects admit", () => {
        it("is k3s's Traefik by default, another controller's pods when the stack installs none, and refused beside the stack's own", () => {
            assert.deepStrictEqual(parseConfig(valid(), allSecrets, TODAY).ingress.controller, {
                namespace: "kube-system",
                podLabels: { "app.kubernetes.io/name": "traefik" },
            });
            const nginx = { namespace: "ingress-nginx", podLabels: { "app.kubernetes.io/name": "ingress-nginx" } };
            const input = valid();
            input.ingress = { install: false, className: "nginx", controller: nginx };
            assert.deepStrictEqual(parseConfig(input, allSecrets, TODAY).ingress.controller, nginx);
            input.ingress = { controller: nginx };
            assert.ok(problemsOf(input).some((p) => p.startsWith("hobby-platform:ingress.controller: is the stack's own Traefik")));
            input.ingress = { install: false, className: "nginx", controller: { namespace: "ingress-nginx", podLabels: {} } };
            assert.ok(problemsOf(input).some((p) => p.startsWith("hobby-platform:ingress.controller.podLabels: must name at least one label")));
        });
    });

    describe("names that never collide", () => {
        it("refuses two hosts of a project that name one certificate (differing only in '.' and '-')", () => {
            const input = valid();
            svc(input).host = "a-b.example.com";
            input.projects["the-project"].services.other = { basePath: "/other", host: "a.b.example.com" };
            const problems = problemsOf(input);
            assert.ok(
                problems.some(
                    (p) =>
                        p.startsWith("hobby-platform:projects.the-project.services.other.host:") &&
                        p.includes('name their certificate "a-b-example-com-tls"'),
                ),
                problems.join("\n"),
            );
        });

        it("refuses a service named like one of its project's NetworkPolicies", () => {
            const input = valid();
            input.projects["the-project"].services["default-deny-ingress"] = { basePath: "/x" };
            assert.ok(problemsOf(input).some((p) => p.startsWith("hobby-platform:projects.the-project.services.default-deny-ingress: ")));
        });
    });
});
