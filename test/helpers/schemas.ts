// Validates rendered manifests against the OpenAPI schemas the field's typed models carry:
// `kubernetes-models` for Kubernetes' own kinds, `@kubernetes-models/cert-manager` for
// cert-manager's. Both packages export ES modules for `import` only; these tests compile to
// CommonJS, so the model file is loaded by its path (Node 22+ can `require` an ES module).
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../../harness/mocks";

interface Model {
    validate(): void;
}
type ModelClass = new (data: unknown) => Model;

/** Package folders that hold models, by API group ("" = core). */
const PACKAGES: Record<string, string> = { "cert-manager.io": "@kubernetes-models/cert-manager/cert-manager.io" };

function modelFile(apiVersion: string, kind: string): string {
    const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
    const dir = PACKAGES[group] ?? path.join("kubernetes-models", group);
    return path.join(ROOT, "node_modules", dir, version, `${kind}.js`);
}

/** Whether a typed model (and so a schema) exists for this kind. */
export function hasSchema(apiVersion: string, kind: string): boolean {
    return fs.existsSync(modelFile(apiVersion, kind));
}

/** The schema violations of one manifest ("" when valid). */
export function schemaErrors(manifest: { apiVersion: string; kind: string }): string {
    const models = require(modelFile(manifest.apiVersion, manifest.kind)) as Record<string, ModelClass>;
    try {
        new models[manifest.kind](JSON.parse(JSON.stringify(manifest))).validate();
        return "";
    } catch (e) {
        return (e as Error).message;
    }
}
