// The in-repo GitLab SDK against the official provider's published schema: the classes' public
// shapes are read from the SDK's TypeScript sources with the compiler API, and the built package is
// exercised under mocks, so any drift from @pulumi/gitlab (a renamed property, a lost `?`, a token
// output no longer secret, a wrong type token) fails here instead of at `pulumi up`.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { gunzipSync } from "zlib";
import * as gitlab from "@hobby-platform/gitlab";
import { installMocks, ROOT, runInStack } from "./helpers/mocks";

const SDK_DIR = path.join(ROOT, "sdks", "gitlab");
/** The official provider's published schema (v10.1.1), gzipped beside the SDK so the test runs in any clone. */
const SCHEMA_FILE = path.join(SDK_DIR, "gitlab-provider-v10.1.1.schema.json.gz");
/** The classes issue 5 asks the SDK to export (names only; their shapes come from the schema). */
const REQUIRED_CLASSES = ["Provider", "ProjectVariable", "ProjectDeployToken", "ProjectAccessToken", "ProjectEnvironment"];

interface SchemaProperty { type?: string; $ref?: string; items?: SchemaProperty; additionalProperties?: SchemaProperty; secret?: boolean }
interface SchemaObject {
    properties: Record<string, SchemaProperty>;
    required?: string[];
    inputProperties?: Record<string, SchemaProperty>;
    requiredInputs?: string[];
    stateInputs?: { properties: Record<string, SchemaProperty> };
}
interface Schema {
    name: string;
    provider: SchemaObject;
    resources: Record<string, SchemaObject>;
    types: Record<string, SchemaObject>;
}

const schema = JSON.parse(gunzipSync(fs.readFileSync(SCHEMA_FILE)).toString("utf8")) as Schema;

/** The TypeScript type the official nodejs code generator writes for a schema property. */
function tsType(p: SchemaProperty, io: "input" | "output"): string {
    if (p.$ref) return `${io === "input" ? "inputs" : "outputs"}.${p.$ref.split(":").pop()}`;
    const inner = (q: SchemaProperty) => (io === "input" ? `pulumi.Input<${tsType(q, io)}>` : tsType(q, io));
    switch (p.type) {
        case "string": return "string";
        case "boolean": return "boolean";
        case "integer":
        case "number": return "number";
        case "array": return `${inner(p.items!)}[]`;
        case "object": return `{[key: string]: ${inner(p.additionalProperties!)}}`;
        default: throw new Error(`schema type ${JSON.stringify(p)} not handled by the contract test`);
    }
}
const inputType = (p: SchemaProperty) => `pulumi.Input<${tsType(p, "input")}>`;
const norm = (typeText: string) => typeText.replace(/\s+/g, "");

/** Expected members of an Args/State interface: name -> [optional, type]. */
function expectedInputs(props: Record<string, SchemaProperty>, required: string[]): Record<string, [boolean, string]> {
    return Object.fromEntries(Object.entries(props).map(([k, p]) => [k, [!required.includes(k), norm(inputType(p))]]));
}

interface Member { optional: boolean; type: string }
interface ClassShape {
    node: ts.ClassDeclaration;
    base: string;
    token?: string;
    outputs: Record<string, string>;
    statics: Record<string, ts.MethodDeclaration>;
}

/** The SDK's public API as TypeScript sees it: what `import * as gitlab from ...` exports. */
function readSdk() {
    const config = ts.readConfigFile(path.join(SDK_DIR, "tsconfig.json"), ts.sys.readFile);
    const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, SDK_DIR);
    const program = ts.createProgram([path.join(SDK_DIR, "index.ts")], { ...parsed.options, noEmit: true });
    const checker = program.getTypeChecker();
    const index = checker.getSymbolAtLocation(program.getSourceFile(path.join(SDK_DIR, "index.ts"))!)!;
    const classes = new Map<string, ClassShape>();
    const interfaces = new Map<string, Record<string, Member>>();
    const namespaces = new Map<string, ts.Symbol>();
    const resolve = (s: ts.Symbol) => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
    const interfaceMembers = (decl: ts.InterfaceDeclaration) => Object.fromEntries(decl.members.filter(ts.isPropertySignature).map((m) => [
        m.name.getText(), { optional: m.questionToken !== undefined, type: norm(m.type!.getText()) },
    ]));
    for (const exported of checker.getExportsOfModule(index)) {
        const symbol = resolve(exported);
        const decl = symbol.declarations?.[0];
        if (decl && ts.isClassDeclaration(decl)) {
            const shape: ClassShape = { node: decl, base: decl.heritageClauses?.[0].types[0].expression.getText() ?? "", outputs: {}, statics: {} };
            for (const m of decl.members) {
                const isStatic = (ts.canHaveModifiers(m) ? ts.getModifiers(m) : undefined)?.some((mod) => mod.kind === ts.SyntaxKind.StaticKeyword) ?? false;
                if (ts.isPropertyDeclaration(m) && isStatic && m.name.getText() === "__pulumiType" && m.initializer && ts.isStringLiteral(m.initializer)) {
                    shape.token = m.initializer.text;
                } else if (ts.isPropertyDeclaration(m) && !isStatic) {
                    shape.outputs[m.name.getText()] = norm(m.type!.getText());
                } else if (ts.isMethodDeclaration(m) && isStatic) {
                    shape.statics[m.name.getText()] = m;
                }
            }
            classes.set(exported.name, shape);
        } else if (decl && ts.isInterfaceDeclaration(decl)) {
            interfaces.set(exported.name, interfaceMembers(decl));
        } else if (symbol.flags & ts.SymbolFlags.ValueModule || symbol.flags & ts.SymbolFlags.Alias) {
            namespaces.set(exported.name, symbol);
        }
    }
    /** Interfaces exported by `types.input` / `types.output`, as `gitlab.types.input.X`. */
    const typeInterfaces = (which: "input" | "output") => {
        const types = namespaces.get("types");
        const mod = types && checker.getExportsOfModule(types).find((s) => s.name === which);
        const out = new Map<string, Record<string, Member>>();
        for (const s of mod ? checker.getExportsOfModule(resolve(mod)) : []) {
            const d = resolve(s).declarations?.[0];
            if (d && ts.isInterfaceDeclaration(d)) out.set(s.name, interfaceMembers(d));
        }
        return out;
    };
    return { classes, interfaces, typeInterfaces };
}

function assertMembers(actual: Record<string, Member> | undefined, expected: Record<string, [boolean, string]>, what: string) {
    assert.ok(actual, `${what} is not exported`);
    assert.deepStrictEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), `${what}: property names differ from the schema`);
    for (const [k, [optional, type]] of Object.entries(expected)) {
        assert.strictEqual(actual[k].optional, optional, `${what}.${k}: ${optional ? "optional" : "required"} in the schema`);
        assert.strictEqual(actual[k].type, type, `${what}.${k}: type`);
    }
}

/** Placeholder value of a schema property, for constructing a resource with its required inputs. */
function sample(p: SchemaProperty): unknown {
    switch (p.type) {
        case "array": return [sample(p.items!)];
        case "boolean": return true;
        case "integer":
        case "number": return 1;
        default: return "sample";
    }
}

describe("sdks/gitlab mirrors the official GitLab provider schema (plugin gitlab 10.1.1)", () => {
    const sdk = readSdk();
    const resourceClasses = [...sdk.classes.entries()].filter(([n]) => n !== "Provider");

    it("declares the provider plugin in package.json the way generated SDKs do", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(SDK_DIR, "package.json"), "utf8"));
        assert.deepStrictEqual(pkg.pulumi, { resource: true, name: schema.name, version: "10.1.1" });
        assert.strictEqual(pkg.version, "10.1.1", "package version = plugin version, as with respectSchemaVersion");
    });

    it("exports exactly the classes the program needs", () => {
        assert.deepStrictEqual([...sdk.classes.keys()].sort(), [...REQUIRED_CLASSES].sort());
    });

    it("gives every resource class the official type token, named like its class", () => {
        for (const [name, shape] of resourceClasses) {
            assert.ok(shape.token && schema.resources[shape.token], `${name}: token ${shape.token} is not a resource of the schema`);
            assert.strictEqual(shape.token, `gitlab:index/${name[0].toLowerCase()}${name.slice(1)}:${name}`);
            assert.strictEqual(shape.base, "pulumi.CustomResource", name);
        }
    });

    it("has the schema's output properties on each resource class, optional where the schema does not require them", () => {
        for (const [name, shape] of resourceClasses) {
            const r = schema.resources[shape.token!];
            const expected = Object.fromEntries(Object.entries(r.properties).map(([k, p]) => [
                k, norm(`pulumi.Output<${tsType(p, "output")}${r.required?.includes(k) ? "" : " | undefined"}>`),
            ]));
            assert.deepStrictEqual(shape.outputs, expected, `${name} outputs`);
        }
    });

    it("has Args interfaces with the schema's inputs and exactly its required inputs", () => {
        for (const [name, shape] of resourceClasses) {
            const r = schema.resources[shape.token!];
            assertMembers(sdk.interfaces.get(`${name}Args`), expectedInputs(r.inputProperties!, r.requiredInputs ?? []), `${name}Args`);
        }
    });

    it("has State interfaces and static get(name, id, state, opts) and isInstance, as the official classes do", () => {
        for (const [name, shape] of resourceClasses) {
            const r = schema.resources[shape.token!];
            assertMembers(sdk.interfaces.get(`${name}State`), expectedInputs(r.stateInputs!.properties, []), `${name}State`);
            const get = shape.statics.get;
            assert.ok(get, `${name}.get`);
            assert.deepStrictEqual(get.parameters.map((p) => norm(p.type!.getText())),
                ["string", "pulumi.Input<pulumi.ID>", `${name}State`, "pulumi.CustomResourceOptions"], `${name}.get parameters`);
            assert.strictEqual(get.type?.getText(), name);
            assert.ok(shape.statics.isInstance, `${name}.isInstance`);
        }
    });

    it("has a Provider with every provider setting as an optional input and its string settings as outputs", () => {
        const provider = sdk.classes.get("Provider")!;
        assert.strictEqual(`pulumi:providers:${provider.token}`, `pulumi:providers:${schema.name}`);
        assert.strictEqual(provider.base, "pulumi.ProviderResource");
        assertMembers(sdk.interfaces.get("ProviderArgs"), expectedInputs(schema.provider.inputProperties!, []), "ProviderArgs");
        // The nodejs generator exposes only string-typed provider properties as outputs.
        const expected = Object.fromEntries(Object.entries(schema.provider.properties)
            .filter(([, p]) => p.type === "string").map(([k]) => [k, norm("pulumi.Output<string | undefined>")]));
        assert.deepStrictEqual(provider.outputs, expected);
    });

    it("exports the object types the resources reference, under types.input and types.output", () => {
        const refs = new Set(Object.values(schema.resources).length ? resourceClasses.flatMap(([, shape]) =>
            Object.values(schema.resources[shape.token!].inputProperties!).map((p) => p.$ref).filter((x): x is string => !!x)) : []);
        assert.ok(refs.size > 0, "the resources reference at least one object type");
        for (const ref of refs) {
            const t = schema.types[ref.replace("#/types/", "")];
            const name = ref.split(":").pop()!;
            assertMembers(sdk.typeInterfaces("input").get(name), expectedInputs(t.properties, t.required ?? []), `types.input.${name}`);
            const outputs = Object.fromEntries(Object.entries(t.properties).map(([k, p]) => [k, [!(t.required ?? []).includes(k), norm(tsType(p, "output"))]])) as Record<string, [boolean, string]>;
            assertMembers(sdk.typeInterfaces("output").get(name), outputs, `types.output.${name}`);
        }
    });

    describe("the built package at run time", () => {
        const classes: Record<string, new (name: string, args: any, opts?: any) => any> = {
            ProjectVariable: gitlab.ProjectVariable,
            ProjectDeployToken: gitlab.ProjectDeployToken,
            ProjectAccessToken: gitlab.ProjectAccessToken,
            ProjectEnvironment: gitlab.ProjectEnvironment,
        };

        it("registers each resource under its schema token, pinned to plugin version 10.1.1, with the schema's secret outputs marked secret", async () => {
            const recorded = await installMocks("dev");
            await runInStack(() => {
                for (const [name, Class] of Object.entries(classes)) {
                    const r = schema.resources[(Class as any).__pulumiType];
                    const args = Object.fromEntries((r.requiredInputs ?? []).map((k) => [k, sample(r.inputProperties![k])]));
                    const resource = new Class(`contract-${name}`, args);
                    assert.ok((gitlab as any)[name].isInstance(resource), `${name}.isInstance`);
                }
                return {};
            });
            for (const [name, Class] of Object.entries(classes)) {
                const token = (Class as any).__pulumiType as string;
                const r = schema.resources[token];
                const rec = recorded.find((x) => x.name === `contract-${name}`);
                assert.ok(rec, `${name} was registered`);
                assert.strictEqual(rec.type, token);
                assert.strictEqual(rec.opts.version, "10.1.1", `${name}: plugin version`);
                const secrets = Object.entries(r.properties).filter(([, p]) => p.secret).map(([k]) => k);
                assert.deepStrictEqual([...(rec.opts.additionalSecretOutputs ?? [])].sort(), secrets.sort(), `${name}: secret outputs`);
                for (const key of Object.keys(rec.inputs)) assert.ok(key in r.inputProperties!, `${name}: input ${key} is not in the schema`);
            }
        });

        it("refuses to construct a resource without one of its schema-required inputs, naming it", () => {
            for (const [name, Class] of Object.entries(classes)) {
                const r = schema.resources[(Class as any).__pulumiType];
                for (const missing of r.requiredInputs ?? []) {
                    const args = Object.fromEntries((r.requiredInputs ?? []).filter((k) => k !== missing).map((k) => [k, sample(r.inputProperties![k])]));
                    assert.throws(() => new Class(`missing-${missing}`, args), new RegExp(`Missing required property '${missing}'`), `${name} without ${missing}`);
                }
            }
        });

        it("sends the provider token as a secret and non-string settings JSON-encoded, as the engine expects", async () => {
            const recorded = await installMocks("dev");
            await runInStack(() => {
                new gitlab.Provider("contract-provider", { baseUrl: "https://gitlab.example.com/api/v4/", token: "glpat-0123456789abcdef", earlyAuthCheck: false, retries: 3 });
                return {};
            });
            const rec = recorded.find((x) => x.name === "contract-provider")!;
            assert.strictEqual(rec.type, "pulumi:providers:gitlab");
            assert.strictEqual(rec.inputs.earlyAuthCheck, "false");
            assert.strictEqual(rec.inputs.retries, "3");
            assert.deepStrictEqual(rec.opts.additionalSecretOutputs, ["token"]);
            assert.ok((await rec.secretInputs).includes("token"), "the token input is a secret");
        });
    });
});
