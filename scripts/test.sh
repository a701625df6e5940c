#!/bin/sh
# npm test: the type check, then the unit suite.
# `tsc -b` skips the check when no input changed since the last clean one (0.1 s instead of 6 s),
# but it looks only at the project's own files: after an `npm install` (which rewrites
# node_modules/.package-lock.json) the dependencies' types may differ, so check everything again.
set -e
cd "$(dirname "$0")/.."
info=node_modules/.cache/tsc/tsbuildinfo
if [ -f "$info" ] && [ node_modules/.package-lock.json -nt "$info" ]; then rm -f "$info"; fi
tsc -b --noEmit
mocha "$@"
