#!/usr/bin/env bash
# Security lint of the built Electron app (out/): see scripts/electronegativity.mjs. Fails on unjustified findings
# and on any parse error. Run after `npm run build`.
set -euo pipefail
cd "$(dirname "$0")/.."
exec node scripts/electronegativity.mjs "$@"
