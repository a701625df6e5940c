#!/usr/bin/env bash
# .ci/run's walk through docs/quickstart.md, with stand-ins where the cloud is needed: a clone of
# this repository in an empty directory, a file:// backend for the state bucket, a stub resolver
# and a stub Vultr API on 127.0.0.1 (test/helpers/cloudStubs.ts) for the scaffold's checks, the
# offline toolchain's pulumi. Each step is the quickstart's command; what it cannot do here (the
# bucket, `pulumi up` against Vultr) is said where it would be. Prints each step's time.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
stubs_pid=""
cleanup() {
  if [[ -n "$stubs_pid" ]]; then kill "$stubs_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
step() { printf '== quickstart: %s\n' "$*"; }
timed() { local start=$SECONDS; "$@"; printf '   (%s s)\n' "$((SECONDS - start))"; }

# shellcheck disable=SC1090
. "$("$repo/scripts/toolchain.sh")"

step "1. an empty directory, the repository cloned into it"
cd "$work"
timed git clone --quiet "$repo" hobby-platform
cd hobby-platform
# `npm ci` in the quickstart; here the clone shares the checkout's node_modules (.ci/run's own
# `npm ci` is the same command on the same package-lock.json, timed at its start).
ln -s "$repo/node_modules" node_modules

step "2. the state backend (a bucket in the quickstart; a directory here) and the passphrase"
export PULUMI_BACKEND_URL="file://$work/state"
mkdir -p "$work/state"
PULUMI_CONFIG_PASSPHRASE="$(openssl rand -base64 32)"
export PULUMI_CONFIG_PASSPHRASE

step "3. the scaffold, against a stub resolver and a stub Vultr API"
zone="hobby-team.net"
export VULTR_API_KEY="stub-vultr-key-0123456789" GITLAB_API_TOKEN="stub-gitlab-api-token-01234" GO_MODULES_TOKEN="stub-go-modules-token-0123"
node -r "$repo/scripts/register.ts" "$repo/test/helpers/cloudStubs.ts" "$zone" "$VULTR_API_KEY" >"$work/stubs.env" &
stubs_pid=$!
for _ in $(seq 50); do grep -q STUB_VULTR_API "$work/stubs.env" 2>/dev/null && break; sleep 0.2; done
# shellcheck disable=SC1091
. "$work/stubs.env"
# A team member's public key, as ssh-keygen -t ed25519 writes it (no ssh-keygen needed here).
echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ0d6Xl3H2vD5nYwq8f0b9Zc7p8mKq1rT2sV4uW6yX8z ops@$zone" >"$work/id_ed25519.pub"
# shellcheck disable=SC2016 # expanded by the inner shell: the secrets stay out of every argument list
timed bash -c 'printf "%s\n" "$VULTR_API_KEY" "$GITLAB_API_TOKEN" "$GO_MODULES_TOKEN" |
  npm run --silent new-stack -- dev --domain "$0" --admin-cidr 84.17.32.9/32 --acme-email "ops@$0" \
    --ssh-public-key-file "$3" --resolver "$1" --vultr-api "$2"' "$zone" "$STUB_RESOLVER" "$STUB_VULTR_API" "$work/id_ed25519.pub"
for pair in "vultr:apiKey=$VULTR_API_KEY" "gitlabApiToken=$GITLAB_API_TOKEN" "goModulesToken=$GO_MODULES_TOKEN"; do
  [[ "$(pulumi config get --stack dev "${pair%%=*}")" == "${pair#*=}" ]] || { echo "quickstart: ${pair%%=*} did not round-trip" >&2; exit 1; }
done
if grep -q -e "$VULTR_API_KEY" -e "$GITLAB_API_TOKEN" -e "$GO_MODULES_TOKEN" Pulumi.dev.yaml; then
  echo "quickstart: a secret is in Pulumi.dev.yaml in plain text" >&2
  exit 1
fi
echo "   secrets stored encrypted, and read back with the passphrase"

step "4. preview of the new stack (offline: stops where a provider plugin cannot be built here)"
start=$SECONDS
status=0
npm run --silent preview -- dev >"$work/preview.log" 2>&1 || status=$?
if grep -q "Invalid configuration" "$work/preview.log" || [[ $status -ne 0 && $status -ne 3 ]]; then
  cat "$work/preview.log"
  echo "quickstart: the scaffold's stack does not preview (status $status)" >&2
  exit 1
fi
echo "   preview: status $status ($([[ $status -eq 0 ]] && echo ok || echo 'BLOCKED: provider plugins not buildable offline')) in $((SECONDS - start)) s"
echo "   not run here: pulumi up against Vultr, DNS, Let's Encrypt (docs/quickstart.md gives their times)"
