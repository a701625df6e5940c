// ESLint for the program, its tests and scripts: typescript-eslint's recommended rules, with
// formatting left to Prettier. The generated GitLab SDK is checked by its contract test instead.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["node_modules/", "bin/", "sdks/gitlab/", "tools/", ".pulumi-state/", "pulumi-preview/"] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        rules: {
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
        },
    },
    {
        // Tests and the harness read mocked resources, whose inputs are untyped JSON, and load the program (and
        // ES-module-only model files) afresh by path with require.
        files: ["test/**/*.ts", "harness/**/*.ts", "bench/**/*.ts"],
        rules: { "@typescript-eslint/no-explicit-any": "off", "@typescript-eslint/no-require-imports": "off" },
    },
    {
        // The TypeScript loader runs before any loader exists: plain CommonJS by design.
        files: ["scripts/register.ts"],
        rules: { "@typescript-eslint/no-require-imports": "off" },
    },
);
