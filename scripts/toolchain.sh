#!/usr/bin/env bash
# Builds the Pulumi engine toolchain from the Go module proxy, at pinned versions, and
# caches it outside the repository:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/hobby-platform/toolchain/<key>/
#     bin/        pulumi, pulumi-language-nodejs, pulumi-resource-pulumi-nodejs (the CLI
#                 finds these "bundled" plugins next to its own binary)
#     plugins/    resource provider binaries, registered in home/ with `pulumi plugin install`
#     home/       PULUMI_HOME (plugin cache); no plugin is ever downloaded
#     env.sh      the environment to source before running pulumi
#     build.log   what was built, how long each build took, what could not be built
# <key> names every pinned version plus a hash of tools/ (but the local cluster's kube/ and
# images/), so a change rebuilds and a
# second run finds everything in place and takes well under a second.
#
# Prints the path of env.sh on stdout (progress goes to stderr):
#   . "$(scripts/toolchain.sh)" && pulumi version
# With a `pulumi` CLI of your own and network access none of this is needed (README).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$repo/tools"
say() { printf 'toolchain: %s\n' "$*" >&2; }

# --- pinned versions -------------------------------------------------------------------
# The CLI: the newest pkg/v3 release whose module zip the proxy serves (3.275.0 and
# 3.276.0 are listed, but their zips are refused).
cli_version="$(go -C "$tools" list -m -f '{{.Version}}' github.com/pulumi/pulumi/pkg/v3)"
k8s_module="github.com/pulumi/pulumi-kubernetes/provider/v4"
k8s_module_version="$(go -C "$tools/providers/kubernetes" list -m -f '{{.Version}}' "$k8s_module")"
# Each plugin is registered under the version that the installed npm SDK asks the engine for.
npm_plugin_version() { # <package dir> -> the "pulumi".version field, else the package version
  node -e 'const p = require(process.argv[1] + "/package.json"); process.stdout.write((p.pulumi && p.pulumi.version) || p.version)' "$1"
}
k8s_version="$(npm_plugin_version "$repo/node_modules/@pulumi/kubernetes")"
tls_version="$(npm_plugin_version "$repo/node_modules/@pulumi/tls")"
vultr_version="$(npm_plugin_version "$repo/node_modules/@ediri/vultr")"
gitlab_version="$(npm_plugin_version "$repo/sdks/gitlab")"
go_version="$(go env GOVERSION)"

# tools/kube and tools/images build the local cluster's binaries, cached on their own files: a
# change there is no reason to relink the toolchain.
inputs_hash="$(cd "$tools" && find . \( -path ./kube -o -path ./images \) -prune -o -type f \( -name 'go.mod' -o -name 'go.sum' -o \( -name '*.go' ! -name '*_test.go' \) -o -path './launchers/*' \) -print |
  LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-12)"
key="pulumi-${cli_version}_kubernetes-${k8s_version}_${go_version}_${inputs_hash}"
root="${XDG_CACHE_HOME:-$HOME/.cache}/hobby-platform"
dir="$root/toolchain/$key"

if [[ -f "$dir/.complete" ]]; then
  say "cached: $dir"
  grep '^BLOCKED' "$dir/build.log" >&2 || true
  echo "$dir/env.sh"
  exit 0
fi

mkdir -p "$root/toolchain"
exec 9>"$root/toolchain/.build.lock"
flock 9 # one build at a time, even when two previews start together
if [[ ! -f "$dir/.complete" ]]; then
  rm -rf "$dir"
  mkdir -p "$dir/bin" "$dir/plugins" "$dir/home"
  log="$dir/build.log"
  export GOCACHE="$root/go-build" CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--p=2}"
  # The flags of the upstream release builds (.goreleaser.yml).
  build() { # <label> <module dir> <output> <ldflags> <package>
    local start=$SECONDS
    say "building $1 ..."
    go -C "$2" build -trimpath -tags osusergo,grpcnotrace -ldflags "$4" -o "$3" "$5"
    printf 'built %-28s %4ss  %s\n' "$1" "$((SECONDS - start))" "$5" | tee -a "$log" >&2
  }

  build "pulumi $cli_version" "$tools" "$dir/bin/pulumi" \
    "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$cli_version" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  build "pulumi-language-nodejs" "$tools" "$dir/bin/pulumi-language-nodejs" \
    "-X main.version=${cli_version#v}" ./cmd/pulumi-language-nodejs
  install -m 0755 "$tools/launchers/pulumi-resource-pulumi-nodejs" "$dir/bin/"

  # Upstream's main package embeds files that `go generate` writes and git ignores;
  # write them from the committed sources in the module cache (same content as upstream's
  # generate.go: the schema with .version set, the mapping compacted).
  k8s_src="$(go -C "$tools/providers/kubernetes" mod download -json "$k8s_module@$k8s_module_version" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).Dir))')"
  node -e '
    const fs = require("fs"), [src, out, version] = process.argv.slice(1);
    const schema = JSON.parse(fs.readFileSync(src + "/schema.json", "utf8"));
    schema.version = version;
    fs.writeFileSync(out + "/schema-embed.json", JSON.stringify(schema));
    const mapping = JSON.parse(fs.readFileSync(src + "/terraform-mapping.json", "utf8"));
    fs.writeFileSync(out + "/terraform-mapping-embed.json", JSON.stringify(mapping));
  ' "$k8s_src/cmd/pulumi-resource-kubernetes" "$tools/providers/kubernetes" "$k8s_version"
  build "kubernetes $k8s_module_version" "$tools/providers/kubernetes" "$dir/plugins/pulumi-resource-kubernetes" \
    "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$k8s_module_version" .
  printf 'NOTE kubernetes: the npm SDK asks for %s; the proxy serves provider/v4 source only at %s\n' \
    "$k8s_version" "$k8s_module_version" | tee -a "$log" >&2
  PULUMI_HOME="$dir/home" "$dir/bin/pulumi" plugin install resource kubernetes "$k8s_version" \
    --file "$dir/plugins/pulumi-resource-kubernetes" >&2

  # Providers whose Go modules the proxy does not serve: record the proxy's answer, so the
  # report names module, version and error instead of a missing plugin at preview time.
  blocked() { # <plugin> <npm version> <module@version>
    local err
    err="$( (go mod download -json "$3" 2>&1 || true) | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{const j=JSON.parse(s);process.stdout.write(j.Error||"")}catch{process.stdout.write(s.trim())}})')"
    if [[ -n "$err" ]]; then
      printf 'BLOCKED %s %s: go mod download %s: %s\n' "$1" "$2" "$3" "${err//$'\n'/ }" | tee -a "$log" >&2
    else
      printf 'UNEXPECTED %s: %s is now served; add a wrapper module under tools/providers/\n' "$1" "$3" | tee -a "$log" >&2
    fi
  }
  # Exact commits of the releases: tls v5.6.1 has no known commit, so ask for the newest.
  blocked tls "$tls_version" github.com/pulumi/pulumi-tls/provider/v5@latest
  blocked vultr "$vultr_version" github.com/dirien/pulumi-vultr/provider/v2@v2.0.0-20240619143755-8d88c8f0abb7
  blocked gitlab "$gitlab_version" github.com/pulumi/pulumi-gitlab/provider/v10@v10.0.0-20260723042003-b2f7831996cc

  cat >"$dir/env.sh" <<EOF
# Generated by scripts/toolchain.sh: the pinned, offline Pulumi toolchain.
export PATH="$dir/bin:\$PATH"
export PULUMI_HOME="$dir/home"
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_IGNORE_AMBIENT_PLUGINS=true
export PULUMI_SKIP_UPDATE_CHECK=true
EOF
  touch "$dir/.complete"
fi
say "ready: $dir"
echo "$dir/env.sh"
