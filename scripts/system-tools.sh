#!/usr/bin/env bash
# Installs the Debian tools the user-data checks run (cloud-init's schema, shellcheck, nft) where
# they are missing, then runs those checks (test/system). Needs root for apt-get.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v cloud-init >/dev/null || ! command -v shellcheck >/dev/null || ! command -v nft >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends cloud-init shellcheck nftables >/dev/null
fi
exec mocha --no-config -r ts-node/register/transpile-only --timeout 120000 'test/system/**/*.system.ts'
