#!/usr/bin/env bash
# npm run preview -- <stack> [more `pulumi preview` flags]
#
# A real `pulumi preview` of one stack with the pinned offline toolchain (scripts/toolchain.sh),
# against a local file:// backend in the git-ignored .pulumi-state/, with no real credential
# and no network. The committed Pulumi.<stack>.yaml holds no secrets (each team sets its own),
# so the preview reads a temporary copy of it in which every secret key of config.ts and
# each provider credential is set to a placeholder, encrypted with a passphrase that only
# this throwaway local backend uses. The committed stack file is never written.
set -euo pipefail

stack="${1:?usage: npm run preview -- <stack> [pulumi preview flags]}"
shift
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
if [[ ! -f "Pulumi.$stack.yaml" ]]; then
  echo "preview: no Pulumi.$stack.yaml; stacks: $(ls Pulumi.*.yaml | sed 's/Pulumi\.\(.*\)\.yaml/\1/' | tr '\n' ' ')" >&2
  exit 2
fi

# shellcheck disable=SC1090
. "$("$repo/scripts/toolchain.sh")"

export PULUMI_BACKEND_URL="file://$repo/.pulumi-state"
export PULUMI_CONFIG_PASSPHRASE="hobby-platform-local-preview-only"
mkdir -p "$repo/.pulumi-state"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
config="$tmp/Pulumi.$stack.yaml"
# A team's stack file holds its own passphrase's salt and secrets encrypted with it: the copy
# drops both (every secret is set to a placeholder below), so this throwaway backend's
# passphrase decrypts everything the preview reads.
# Edited as a document, so every other value keeps its quoting (pulumi reads a bare date as a timestamp).
node -e '
  const fs = require("fs"), YAML = require("yaml");
  const doc = YAML.parseDocument(fs.readFileSync(process.argv[1], "utf8"));
  for (const k of ["encryptionsalt", "secretsprovider", "encryptedkey"]) doc.delete(k);
  const config = doc.get("config");
  for (const pair of YAML.isMap(config) ? [...config.items] : []) if (YAML.isMap(pair.value) && pair.value.has("secure")) config.delete(pair.key);
  fs.writeFileSync(process.argv[2], doc.toString());
' "Pulumi.$stack.yaml" "$config"
# The stack's secrets manager (passphrase salt) lives in the backend's state; a config file
# without one (the committed file, or its copy) falls back to it instead of making a new one.
export PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER=true

if ! pulumi stack select "$stack" --non-interactive >/dev/null 2>&1; then
  # `stack init` writes the salt into the project's stack file: run it on a throwaway
  # copy of the project, so that the committed Pulumi.<stack>.yaml stays untouched.
  mkdir "$tmp/project"
  cp Pulumi.yaml "$tmp/project/"
  pulumi --cwd "$tmp/project" stack init "$stack" --secrets-provider passphrase --non-interactive >&2
fi

# The secret keys the program reads (config.ts) and the providers' own credentials.
secret_keys="$(node -r ts-node/register/transpile-only -e \
  'process.stdout.write(Object.values(require("./config").SECRET_KEYS).join("\n"))')"
for key in $secret_keys vultr:apiKey; do
  pulumi config set --secret "$key" "placeholder-$key-not-a-real-credential" \
    --stack "$stack" --config-file "$config" --non-interactive
done

status=0
pulumi preview --stack "$stack" --config-file "$config" --non-interactive --diff "$@" 2>&1 | tee "$tmp/preview.log" || status=$?
if [[ $status -ne 0 ]]; then
  # A provider that the Go module proxy does not serve cannot be built offline (the toolchain's
  # BLOCKED lines say which module and why): exit 3 says "blocked", not "the program is wrong".
  missing="$(grep -o "no resource plugin 'pulumi-resource-[a-z0-9-]*'" "$tmp/preview.log" | sed "s/.*pulumi-resource-\([a-z0-9-]*\)'/\1/" | sort -u || true)"
  build_log="$(dirname "$(command -v pulumi)")/../build.log"
  all_blocked() { local p; for p in "$@"; do grep -q "^BLOCKED $p " "$build_log" || return 1; done; }
  # shellcheck disable=SC2086
  if [[ -n "$missing" ]] && all_blocked $missing; then
    echo "preview: $stack needs provider plugin(s) that cannot be built offline: $missing" >&2
    grep '^BLOCKED' "$build_log" >&2
    exit 3
  fi
  exit "$status"
fi
