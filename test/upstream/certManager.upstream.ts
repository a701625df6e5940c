// cert-manager facts the program relies on, read from cert-manager's Go module at the pinned release.
import * as assert from "assert";
import * as YAML from "yaml";
import { API_CHECK_RULES, CERT_MANAGER_VERSION } from "../../components/platform/certManager";
import { goModuleFile } from "../helpers/upstream";

const MODULE = "github.com/cert-manager/cert-manager";

interface Rule {
    apiGroups: string[];
    resources: string[];
    verbs: string[];
}

/** The Role objects of a chart template: template actions dropped, values as placeholders. */
function rolesOfTemplate(template: string): { rules: Rule[] }[] {
    const yaml = template
        .split("\n")
        .filter((line) => !/^\s*\{\{-?.*-?\}\}\s*$/.test(line)) // if/end/with/include lines
        .join("\n")
        .replace(/\{\{.*?\}\}/g, "placeholder");
    return YAML.parseAllDocuments(yaml)
        .map((d) => d.toJS())
        .filter((o) => o?.kind === "Role");
}

const covers = (ours: Rule[], theirs: Rule) =>
    theirs.apiGroups.every((g) =>
        theirs.resources.every((r) =>
            theirs.verbs.every((v) => ours.some((o) => o.apiGroups.includes(g) && o.resources.includes(r) && o.verbs.includes(v))),
        ),
    );

describe(`cert-manager ${CERT_MANAGER_VERSION} (its Go module)`, function () {
    this.timeout(300_000);

    it("the API check's Role grants what the chart's own startupapicheck Role grants, and no more", () => {
        const template = goModuleFile(MODULE, CERT_MANAGER_VERSION, "deploy/charts/cert-manager/templates/startupapicheck-rbac.yaml");
        const roles = rolesOfTemplate(template);
        assert.strictEqual(roles.length, 1, template);
        for (const rule of roles[0].rules) assert.ok(covers(API_CHECK_RULES, rule), `chart rule ${JSON.stringify(rule)} not granted`);
        for (const rule of API_CHECK_RULES) assert.ok(covers(roles[0].rules, rule), `rule ${JSON.stringify(rule)} beyond the chart's`);
    });

    it("the API checker dry-run creates CertificateRequests, the resource the Role names", () => {
        const checker = goModuleFile(MODULE, CERT_MANAGER_VERSION, "pkg/util/cmapichecker/cmapichecker.go");
        // Its client is dry-run and namespaced; what it creates are its two test requests.
        assert.match(checker, /DryRun:\s+new\(true\)/);
        assert.match(checker, /client\.NewNamespacedClient\(cl, namespace\)/);
        assert.match(checker, /testValidCR\s+\*cmapi\.CertificateRequest/);
        assert.match(checker, /testInvalidCR\s+\*cmapi\.CertificateRequest/);
        const creates = [...checker.matchAll(/certReq := o\.(\w+)\.DeepCopy\(\)/g)].map((m) => m[1]);
        assert.deepStrictEqual(creates, ["testValidCR", "testInvalidCR"]);
        assert.strictEqual([...checker.matchAll(/o\.client\.Create\(ctx, (\w+)\)/g)].filter((m) => m[1] !== "certReq").length, 0);
    });
});
