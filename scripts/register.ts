// `-r ./scripts/register.ts`: loads .ts files (mocha, the bench, the record) with TypeScript's
// own emit, as `ts-node --transpile-only` does: a dynamic provider's code is serialized from that
// emit, recorded in test/fixtures/resources and sent by `pulumi up` (swc's and esbuild's differ,
// and hide `import * as https` from Pulumi's module detection). Unlike ts-node it caches each
// file's output by content, in memory and under node_modules/.cache, so reloading the program for
// every run and starting mocha's workers compile nothing once warm; V8's compile cache does the
// same for node_modules' JavaScript (about 0.3 s a process).
// Plain CommonJS with erasable types only, so Node (>= 22.18) loads it with no hook before it.
{
    const fs = require("fs") as typeof import("fs");
    const path = require("path") as typeof import("path");
    const { createHash } = require("crypto") as typeof import("crypto");
    type Loader = (m: { _compile(code: string, file: string): void }, file: string) => void;
    const Module = require("module") as { _extensions: Record<string, Loader>; enableCompileCache?: (dir: string) => unknown };

    const root = path.resolve(__dirname, "..");
    const cacheDir = path.join(root, "node_modules", ".cache", "hobby-platform-ts");
    Module.enableCompileCache?.(path.join(cacheDir, "v8"));

    // Anything that changes the emit changes every key, without loading the compiler to know it.
    const settings = createHash("sha256").update("v1");
    for (const f of [path.join(root, "tsconfig.json"), require.resolve("typescript/package.json")]) settings.update(fs.readFileSync(f));
    const settingsKey = settings.digest("hex");

    type TS = typeof import("typescript");
    let compiler: { ts: TS; options: import("typescript").CompilerOptions } | undefined;
    const tsCompiler = () => {
        if (!compiler) {
            const ts = require("typescript") as TS;
            const config = ts.readConfigFile(path.join(root, "tsconfig.json"), ts.sys.readFile).config;
            const { options } = ts.parseJsonConfigFileContent(config, ts.sys, root);
            // ts-node's overrides: a module's JavaScript and its inline source map, nothing else.
            compiler = {
                ts,
                options: {
                    ...options,
                    sourceMap: false,
                    inlineSourceMap: true,
                    inlineSources: true,
                    declaration: false,
                    noEmit: false,
                    incremental: false,
                    tsBuildInfoFile: undefined,
                },
            };
        }
        return compiler;
    };

    const memory = new Map<string, string>();
    const transpile = (file: string): string => {
        const source = fs.readFileSync(file, "utf8");
        const key = createHash("sha256").update(settingsKey).update(file).update("\0").update(source).digest("hex");
        let code = memory.get(key);
        if (code !== undefined) return code;
        const cached = path.join(cacheDir, `${key}.js`);
        try {
            code = fs.readFileSync(cached, "utf8");
        } catch {
            const { ts, options } = tsCompiler();
            code = ts.transpileModule(source, { fileName: file, compilerOptions: options }).outputText;
            fs.mkdirSync(cacheDir, { recursive: true });
            // Written aside, then renamed: a parallel worker never reads half a file.
            const tmp = `${cached}.${process.pid}.tmp`;
            fs.writeFileSync(tmp, code);
            fs.renameSync(tmp, cached);
        }
        memory.set(key, code);
        return code;
    };

    // The inline maps are not applied by default: Pulumi formats a stack trace for every promise,
    // and mapping them costs a third of a program run. `NODE_OPTIONS=--enable-source-maps` for TS lines.
    Module._extensions[".ts"] = (m, file) => m._compile(transpile(file), file);
}
