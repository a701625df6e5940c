// Every Kubernetes object each stack renders (the mocks' graph, as in program.test.ts) whose kind
// the loopback API server serves is accepted by it: a server-side-apply dry run, the way the provider applies.
// cert-manager's kinds are checked against its real CRDs at the pinned version, the upgrade Plan
// against system-upgrade-controller's release CRD; k3s's
// HelmChart and HelmChartConfig, whose CRDs k3s builds in code, are listed, not checked.
import * as assert from "assert";
import { SECRET_KEYS } from "../../config";
import { installCertManagerCrds, installSystemUpgradeCrd, LocalCluster, startLocalCluster } from "../helpers/localCluster";
import { placeholderSecrets, Recorded, runProgram, stackConfig } from "../../harness/mocks";

const STACKS = ["dev", "stg", "prod", "local"] as const;
const SECRETS = placeholderSecrets([...Object.values(SECRET_KEYS), "vultr:apiKey"]);

/** Rendered Kubernetes objects of a stack (provider resources excluded). */
async function rendered(stack: string): Promise<Recorded[]> {
    const run = await runProgram(stack, { ...stackConfig(stack), ...SECRETS }, Object.keys(SECRETS));
    return run.resources.filter((r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("pulumi:"));
}

describe("server-side validation of every stack's rendered manifests on a real API server", function () {
    this.timeout(60 * 60 * 1000);
    let cluster: LocalCluster;
    let served: Set<string>;

    before(() => {
        cluster = startLocalCluster();
        installCertManagerCrds(cluster);
        installSystemUpgradeCrd(cluster);
        // group/version:Kind of every kind the server knows (built in, cert-manager's, the upgrade Plan).
        served = new Set(
            cluster
                .kubectl(["api-resources", "-o", "wide", "--no-headers"])
                .trim()
                .split("\n")
                .map((line) => {
                    const cols = line.trim().split(/\s+/);
                    // NAME [SHORTNAMES] APIVERSION NAMESPACED KIND VERBS [CATEGORIES]
                    const i = cols.findIndex((c) => c === "true" || c === "false");
                    return `${cols[i - 1]}:${cols[i + 1]}`;
                }),
        );
    });
    after(() => cluster?.stop());

    for (const stack of STACKS) {
        it(`stack ${stack}: the API server accepts every object but k3s's HelmChart kinds`, async () => {
            const objects = (await rendered(stack)).map((r) => r.inputs);
            const known = objects.filter((o) => served.has(`${o.apiVersion}:${o.kind}`));
            const crdKinds = [...new Set(objects.filter((o) => !known.includes(o)).map((o) => `${o.apiVersion}/${o.kind}`))];
            assert.deepStrictEqual(
                crdKinds.filter((k) => !/^helm\.cattle\.io\//.test(k)),
                [],
                "only the known CRD kinds are skipped",
            );
            // Namespaced objects need their namespace to exist, even in a dry run.
            const namespaces = known.filter((o) => o.kind === "Namespace");
            const rest = known.filter((o) => o.kind !== "Namespace");
            const list = (items: unknown[]) => JSON.stringify({ apiVersion: "v1", kind: "List", items });
            cluster.kubectl(["apply", "--server-side", "--field-manager=validation", "-f", "-"], list(namespaces));
            try {
                const out = cluster.kubectl(["apply", "--server-side", "--dry-run=server", "--field-manager=validation", "-f", "-"], list(rest));
                const accepted = out
                    .trim()
                    .split("\n")
                    .filter((l) => /serverside-applied \(server dry run\)$/.test(l));
                assert.strictEqual(accepted.length, rest.length, out);
                console.log(
                    `      ${stack}: ${known.length} objects accepted (${[...new Set(known.map((o) => o.kind))].join(", ")}); ` +
                        `not checked (CRDs absent): ${crdKinds.join(", ") || "none"}`,
                );
            } finally {
                for (const ns of namespaces) cluster.kubectl(["delete", "namespace", ns.metadata.name, "--timeout=60s"]);
            }
        });
    }
});
