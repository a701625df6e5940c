// Upstream sources at the versions the program pins, read from the Go module cache (fetched
// through the Go module proxy on first use), so tests check facts against the real artifact.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** Directory of `module@version` in the module cache, downloading it on first use. */
export function goModuleDir(module: string, version: string): string {
    const { Dir, Error: error } = JSON.parse(
        execFileSync("go", ["mod", "download", "-json", `${module}@${version}`], {
            cwd: os.tmpdir(),
            encoding: "utf8",
            stdio: ["ignore", "pipe", "inherit"],
        }),
    ) as { Dir?: string; Error?: string };
    if (!Dir) throw new Error(`go mod download ${module}@${version}: ${error}`);
    return Dir;
}

/** A file of `module@version`, as text. */
export function goModuleFile(module: string, version: string, file: string): string {
    return fs.readFileSync(path.join(goModuleDir(module, version), file), "utf8");
}

/** The version of `module` that a Go module of this repository (e.g. `tools/kube`) requires. */
export function requiredVersion(moduleDir: string, module: string): string {
    return execFileSync("go", ["-C", moduleDir, "list", "-m", "-f", "{{.Version}}", module], { encoding: "utf8" }).trim();
}

/**
 * The Go string literal assigned to `name` (`name = "..."`, `name string = "..."` or a raw
 * `name = \`...\``) in Go source.
 */
export function goStringConstant(source: string, name: string): string {
    const m = new RegExp(`\\b${name}(?:\\s+string)?\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|\`([^\`]*)\`)`).exec(source);
    if (!m) throw new Error(`no string constant ${name} in the Go source`);
    return m[2] ?? (JSON.parse(`"${m[1]}"`) as string);
}

/** The string literals of the Go slice assigned to `name` (`name = []string{"a", "b"}`). */
export function goStringSlice(source: string, name: string): string[] {
    const m = new RegExp(`\\b${name}\\s*=\\s*\\[\\]string\\{([^}]*)\\}`).exec(source);
    if (!m) throw new Error(`no []string ${name} in the Go source`);
    return [...m[1].matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((x) => JSON.parse(`"${x[1]}"`) as string);
}

/**
 * The value of a Go string constant written as literals and other such constants of the same
 * source joined by `+` (e.g. `dns1123SubdomainFmt string = dns1123LabelFmt + "(\\." + ...`).
 */
export function goStringExpression(source: string, name: string): string {
    const m = new RegExp(`\\b${name}(?:\\s+string)?\\s*=\\s*([^\\n]+)`).exec(source);
    if (!m) throw new Error(`no string constant ${name} in the Go source`);
    const terms = m[1].match(/"(?:[^"\\]|\\.)*"|`[^`]*`|[A-Za-z_]\w*/g) ?? [];
    return terms
        .map((t) => (t.startsWith('"') ? (JSON.parse(t) as string) : t.startsWith("`") ? t.slice(1, -1) : goStringExpression(source, t)))
        .join("");
}
