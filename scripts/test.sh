#!/usr/bin/env bash
# `npm test`: typecheck, lint, every test suite. Works on a fresh Debian/Ubuntu machine with the packages the README
# lists. Keychain tests need a Secret Service: when none is running we start a private D-Bus session with an unlocked
# GNOME keyring ourselves (never touching the user's real keyring).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${PARLEY_KEYRING_SESSION:-}" ]; then
  echo "test: starting a private D-Bus session with a throwaway GNOME keyring"
  exec bash scripts/keyring-session.sh bash scripts/test.sh
fi

node scripts/native-abi.mjs node
echo "test: typecheck"; npm run -s typecheck
echo "test: lint"; npm run -s lint
echo "test: build"; npm run -s build
echo "test: electronegativity"; bash scripts/electronegativity.sh
echo "test: vitest"; npx vitest run
if [ -d tests/e2e ] && ls tests/e2e/*.spec.ts >/dev/null 2>&1; then
  echo "test: playwright"; npx playwright test
fi
