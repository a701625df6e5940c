#!/usr/bin/env bash
# Regenerates sdks/gitlab, end to end, with Pulumi's own Node.js code generator:
#
#   1. the pinned, offline toolchain (scripts/toolchain.sh) puts `pulumi` v3.274.1 on PATH;
#   2. the official provider schema (sdks/gitlab/gitlab-provider-v10.1.1.schema.json.gz) is
#      pruned to the resources below (plus the provider, the functions those reference, e.g.
#      the provider's terraformConfig method, and the object types they reach; no package-level
#      `gitlab:` config), so the generated index, types and lazy-load entries are consistent by
#      construction;
#   3. `pulumi package gen-sdk <schema> --language nodejs --version 10.1.1` generates the SDK
#      into a temporary directory;
#   4. the generated files replace sdks/gitlab's (README.md and the schema stay), package.json
#      gets the few fields a `file:` dependency needs, and the package is built (bin/).
#
# The toolchain's own pulumi-language-nodejs (tools/cmd) answers Unimplemented to
# GeneratePackage (the upstream host module is not served by the Go module proxy here). So for
# this one command a minimal language host is built, in the temporary directory, against the
# toolchain's pinned github.com/pulumi/pulumi/pkg/v3 (tools/go.mod): its GeneratePackage binds
# the schema and calls pkg/v3/codegen/nodejs.GeneratePackage("pulumi-language-nodejs", ...),
# the code generator that the upstream pulumi-language-nodejs host calls. The CLI finds it
# first on PATH (PULUMI_IGNORE_AMBIENT_PLUGINS=false for this command only).
#
# Usage: scripts/gen-gitlab-sdk.sh            (regenerates and builds sdks/gitlab)
#        KEEP_WORK=1 scripts/gen-gitlab-sdk.sh (keeps the temporary directory, printed)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sdk="$repo/sdks/gitlab"
plugin_version="10.1.1"
schema_gz="$sdk/gitlab-provider-v${plugin_version}.schema.json.gz"
package_name="@hobby-platform/gitlab"
# The resources the program uses (components/gitlab/*.ts) and the ones an upcoming feature
# needs (ClusterAgent, ClusterAgentToken, RepositoryFile). The provider is always kept.
resources=(ProjectVariable ProjectEnvironment ProjectDeployToken ClusterAgent ClusterAgentToken RepositoryFile)
say() { printf 'gen-gitlab-sdk: %s\n' "$*" >&2; }

work="$(mktemp -d "${TMPDIR:-/tmp}/gen-gitlab-sdk.XXXXXX")"
if [[ -n "${KEEP_WORK:-}" ]]; then say "work directory: $work"; else trap 'rm -rf "$work"' EXIT; fi

# --- 1. toolchain ------------------------------------------------------------------------
# shellcheck disable=SC1090
. "$(bash "$repo/scripts/toolchain.sh")"
say "$(pulumi version)"

# --- 2. a language host that implements GeneratePackage ----------------------------------
mkdir -p "$work/host" "$work/bin"
sed 's|^module .*|module hobby-platform/gen-gitlab-sdk|' "$repo/tools/go.mod" >"$work/host/go.mod"
cp "$repo/tools/go.sum" "$work/host/go.sum"
cat >"$work/host/main.go" <<'GO'
// A Node.js language host with one RPC, GeneratePackage, for `pulumi package gen-sdk`.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"google.golang.org/grpc"
	pbempty "google.golang.org/protobuf/types/known/emptypb"

	nodejs "github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/pulumi/pulumi/pkg/v3/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
}

func (host) Handshake(context.Context, *pulumirpc.LanguageHandshakeRequest) (*pulumirpc.LanguageHandshakeResponse, error) {
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (host) GetPluginInfo(context.Context, *pbempty.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: "3.274.1"}, nil
}

func (host) GeneratePackage(
	_ context.Context, req *pulumirpc.GeneratePackageRequest,
) (*pulumirpc.GeneratePackageResponse, error) {
	client, err := schema.NewLoaderClient(req.LoaderTarget)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	loader := schema.NewCachedLoader(client)

	var spec schema.PackageSpec
	if err := json.Unmarshal([]byte(req.Schema), &spec); err != nil {
		return nil, err
	}
	pkg, diags, err := schema.BindSpec(spec, loader, schema.ValidationOptions{AllowDanglingReferences: true})
	if err != nil {
		return nil, err
	}
	if diags.HasErrors() {
		return &pulumirpc.GeneratePackageResponse{Diagnostics: plugin.HclDiagnosticsToRPCDiagnostics(diags)}, nil
	}
	files, err := nodejs.GeneratePackage("pulumi-language-nodejs", pkg, req.ExtraFiles, req.LocalDependencies, req.Local, loader)
	if err != nil {
		return nil, err
	}
	for name, data := range files {
		out := filepath.Join(req.Directory, name)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(out, data, 0o644); err != nil {
			return nil, err
		}
	}
	return &pulumirpc.GeneratePackageResponse{Diagnostics: plugin.HclDiagnosticsToRPCDiagnostics(diags)}, nil
}

func main() {
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host{})
			return nil
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port) // the CLI reads the port from the first line
	if err := <-handle.Done; err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
GO
say "building the code-generating language host (pkg/v3 $(go -C "$repo/tools" list -m -f '{{.Version}}' github.com/pulumi/pulumi/pkg/v3))"
(
  cd "$work/host"
  export GOCACHE="${XDG_CACHE_HOME:-$HOME/.cache}/hobby-platform/go-build" CGO_ENABLED=0 GOFLAGS="-mod=mod ${GOFLAGS:-}"
  go build -trimpath -o "$work/bin/pulumi-language-nodejs" .
)

# --- 3. the pruned schema ----------------------------------------------------------------
gunzip -c "$schema_gz" >"$work/full.schema.json"
node - "$work/full.schema.json" "$work/schema.json" "$plugin_version" "$package_name" "${resources[@]}" <<'JS'
const fs = require("fs");
const [input, output, version, packageName, ...keep] = process.argv.slice(2);
const s = JSON.parse(fs.readFileSync(input, "utf8"));
const token = (name) => `${s.name}:index/${name[0].toLowerCase()}${name.slice(1)}:${name}`;

const resources = {};
for (const name of keep) {
  const t = token(name);
  if (!s.resources[t]) throw new Error(`${t} is not a resource of the schema`);
  resources[t] = s.resources[t];
}
// Functions: only those the kept resources (and the provider) expose as methods.
const functions = {};
for (const r of [s.provider, ...Object.values(resources)]) {
  for (const fn of Object.values(r.methods ?? {})) functions[fn] = s.functions[fn];
}
// Object types: those reachable from what is kept.
const types = {};
const visit = (v) => {
  if (Array.isArray(v)) return v.forEach(visit);
  if (!v || typeof v !== "object") return;
  for (const [k, x] of Object.entries(v)) {
    if (k === "$ref" && typeof x === "string" && x.startsWith("#/types/")) {
      const t = decodeURIComponent(x.slice("#/types/".length));
      if (!types[t]) { types[t] = s.types[t]; visit(types[t]); }
    } else visit(x);
  }
};
visit([s.provider, resources, functions]);

// No package-level `gitlab:` configuration (config/vars.ts): the program passes an explicit
// Provider, and the root tsconfig (noUnusedLocals, it includes sdks/**/*.ts) rejects the
// generated config/vars.ts, whose `utilities` import is unused.
delete s.config;
s.resources = resources;
s.functions = functions;
s.types = types;
// Our npm name (language.nodejs.packageName, as any schema can set it).
s.language.nodejs = {
  ...s.language.nodejs,
  packageName,
  packageDescription: `${s.language.nodejs.packageDescription} Generated from the official schema of plugin ${s.name} ${version}, pruned to the resources hobby-platform uses.`,
};
fs.writeFileSync(output, JSON.stringify(s, null, 2) + "\n");
console.error(`gen-gitlab-sdk: kept ${Object.keys(resources).length} resources, ${Object.keys(functions).length} functions, ${Object.keys(types).length} types`);
JS

# --- 4. generate -------------------------------------------------------------------------
say "pulumi package gen-sdk <pruned schema> --language nodejs --version $plugin_version"
(
  cd "$work"
  PATH="$work/bin:$PATH" PULUMI_IGNORE_AMBIENT_PLUGINS=false \
    pulumi package gen-sdk "$work/schema.json" --language nodejs --version "$plugin_version" -o "$work/sdk"
)
gen="$work/sdk/nodejs"
[[ -f "$gen/index.ts" && -f "$gen/package.json" ]] || { say "the generator wrote no SDK to $gen"; exit 1; }

# The generator's README.md is the upstream provider's blurb: ours (how to regenerate) stays.
rm -f "$gen/README.md"
# package.json: what a `file:` dependency that is built in place needs, which generated SDKs
# get from their publishing step (upstream copies package.json into bin/ and publishes bin/).
node - "$gen/package.json" <<'JS'
const fs = require("fs");
const file = process.argv[2];
const p = JSON.parse(fs.readFileSync(file, "utf8"));
p.private = true;
p.main = "bin/index.js";
p.types = "bin/index.d.ts";
p.files = ["bin/"];
// utilities.getVersion() reads ./package.json beside the compiled index.js (bin/package.json).
const build = "tsc && node -e \"require('fs').copyFileSync('package.json', 'bin/package.json')\"";
p.scripts = { build, prepare: build };
// The repository's own TypeScript and @types/node build it (no install of the SDK's own), and
// @pulumi/pulumi, at the generator's minimum version, is a peer: the program's single copy.
delete p.devDependencies;
p.peerDependencies = { ...p.peerDependencies, "@pulumi/pulumi": p.dependencies["@pulumi/pulumi"] };
delete p.dependencies["@pulumi/pulumi"];
if (Object.keys(p.dependencies).length === 0) delete p.dependencies;
const order = ["name", "version", "private", "description", "keywords", "homepage", "repository", "license",
  "main", "types", "files", "scripts", "dependencies", "peerDependencies", "pulumi"];
const out = Object.fromEntries(order.filter((k) => k in p).map((k) => [k, p[k]]));
for (const k of Object.keys(p)) if (!(k in out)) out[k] = p[k];
fs.writeFileSync(file, JSON.stringify(out, null, 4) + "\n");
JS

# --- 5. copy in --------------------------------------------------------------------------
find "$sdk" -mindepth 1 -maxdepth 1 \
  ! -name README.md ! -name "gitlab-provider-v${plugin_version}.schema.json.gz" ! -name node_modules \
  -exec rm -rf {} +
cp -R "$gen/." "$sdk/"
say "generated: $(cd "$sdk" && find . -path ./node_modules -prune -o -type f ! -name README.md ! -name '*.gz' -print | LC_ALL=C sort | tr '\n' ' ')"

# --- 6. build (what `npm install` does through `prepare`) --------------------------------
PATH="$repo/node_modules/.bin:$PATH" npm run -s build --prefix "$sdk"
say "built $sdk/bin"
