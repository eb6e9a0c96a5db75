#!/usr/bin/env bash
# `npm test`: typecheck, lint, every test suite. Works on a fresh Debian/Ubuntu machine with the packages the README
# lists. Keychain tests need a Secret Service: when none is running we start a private D-Bus session with an unlocked
# GNOME keyring ourselves (never touching the user's real keyring).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${PARLEY_KEYRING_SESSION:-}" ]; then
  if command -v dbus-run-session >/dev/null && command -v gnome-keyring-daemon >/dev/null; then
    echo "test: starting a private D-Bus session with a throwaway GNOME keyring"
    exec dbus-run-session -- bash -c 'echo -n parley-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null; PARLEY_KEYRING_SESSION=1 bash scripts/test.sh'
  else
    echo "test: dbus-run-session or gnome-keyring-daemon missing (apt-get install dbus gnome-keyring libsecret-1-dev)" >&2
    exit 1
  fi
fi

node scripts/native-abi.mjs node
echo "test: typecheck"; npm run -s typecheck
echo "test: lint"; npm run -s lint
echo "test: build"; npm run -s build
echo "test: vitest"; npx vitest run
if [ -d tests/e2e ] && ls tests/e2e/*.spec.ts >/dev/null 2>&1; then
  echo "test: playwright"; npx playwright test
fi
