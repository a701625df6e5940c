// A stack made before the restructure (components in area folders, the deployer its own
// component) keeps every resource: the engine finds each one's old state by its URN or by an
// alias. The old URNs are those the record held before (test/fixtures/before-restructure, from
// the record of commit 9fe2954); the aliases are resolved as the engine does (pulumi
// pkg/v3@v3.274.1 resource/deploy/step_generator.go: collapseAliasToUrn, inheritedChildAlias,
// generateAliases), in the record's URN form (`type$type$...::name`, no stack or project).
import * as pulumi from "@pulumi/pulumi";
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { Recorded } from "../harness/mocks";
import { joinUrn, resourceUrn, urnOf } from "../harness/record";
import { stackRun, STACKS } from "../harness/stacks";

const BEFORE = path.join(__dirname, "fixtures", "before-restructure");

type AliasSpec = { name?: string; type?: string; parent?: pulumi.Resource };

const typeChainOf = (urn: string) => urn.slice(0, urn.lastIndexOf("::"));
const nameOf = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);
const typeOf = (urn: string) => typeChainOf(urn).split("$").pop()!;

/**
 * Which old URN each of the run's resources takes over: its own URN if the old state has it, else
 * the first of its aliases that the old state has (the engine's order: URN first, then aliases).
 */
function takeOver(resources: readonly Recorded[], olds: Set<string>): Map<string, string> {
    const byUrn = new Map(resources.map((r) => [urnOf(r.type, r.name, r.opts.parent), r]));
    /** The old URN a resource was found by, when that was an alias (the engine's `sg.aliases`). */
    const foundByAlias = new Map<string, string>();
    const found = new Map<string, string>();
    const resolve = (urn: string): string | undefined => {
        if (found.has(urn)) return found.get(urn);
        const r = byUrn.get(urn)!;
        const parent = r.opts.parent && resourceUrn(r.opts.parent);
        if (parent) resolve(parent);
        const parentAlias = parent && foundByAlias.get(parent);
        const collapse = (a: string | AliasSpec): string => {
            if (typeof a === "string") return a;
            // An alias naming no parent is sent with the resource's own (runtime/resource.js,
            // mapAliasesForRequest); either way a parent found by its alias stands in with its old URN.
            let aliasParent = "parent" in a ? a.parent && resourceUrn(a.parent) : parent;
            if (aliasParent) {
                if (byUrn.has(aliasParent)) resolve(aliasParent);
                aliasParent = foundByAlias.get(aliasParent) ?? aliasParent;
            }
            return joinUrn(aliasParent ? typeChainOf(aliasParent) : "", a.type ?? r.type, a.name ?? r.name);
        };
        const inherited = (type: string, name: string) => {
            const parentName = nameOf(parent!);
            const aliasName = name.startsWith(parentName) ? nameOf(parentAlias!) + name.slice(parentName.length) : name;
            return joinUrn(typeChainOf(parentAlias!), type, aliasName);
        };
        const own = ((r.opts.aliases ?? []) as Array<string | AliasSpec>).map(collapse);
        const aliases = [...own, ...(parentAlias ? [inherited(r.type, r.name), ...own.map((a) => inherited(typeOf(a), nameOf(a)))] : [])];
        const match = [urn, ...aliases].find((u) => olds.has(u));
        if (match && match !== urn) foundByAlias.set(urn, match);
        found.set(urn, match ?? "");
        return match;
    };
    const taken = new Map<string, string>();
    for (const urn of byUrn.keys()) {
        const old = resolve(urn);
        if (!old) continue;
        assert.ok(!taken.has(old), `${old} is claimed by both ${taken.get(old)} and ${urn}`);
        taken.set(old, urn);
    }
    return taken;
}

for (const stack of STACKS) {
    describe(`stack ${stack}, made before the restructure`, () => {
        it("keeps every resource it had: each is found by its URN or an alias, none is deleted and made anew", async () => {
            const olds = new Set<string>(JSON.parse(fs.readFileSync(path.join(BEFORE, `${stack}.json`), "utf8")));
            const { resources } = await stackRun(stack);
            const taken = takeOver(resources, olds);
            assert.deepStrictEqual(
                [...olds].filter((o) => !taken.has(o)),
                [],
                "old resources no resource of today's program takes over (the engine would delete them)",
            );
        });
    });
}
