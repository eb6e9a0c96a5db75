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
mkdir -p test-results
rm -f test-results/vitest.json test-results/vitest-pg.json test-results/playwright.json
echo "test: vitest"; npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json
# The relay suites again, each relay on a private PostgreSQL store instead of SQLite (tests/helpers/pg-global-setup.ts).
# relay-live and relay-durability drive the SQLite store's commit-hold test hook and ack folding, which the PostgreSQL
# store does not have (relay-store-pg covers that store's restart and ack paths); relay-mdns runs its relay inside a
# network namespace, which cannot reach the test's PostgreSQL on the host's loopback (discovery is store-neutral);
# relay-cluster* start their own PostgreSQL and Redis whatever PARLEY_TEST_STORE says, so they ran on PostgreSQL in
# the pass above already and would only run the same thing twice here. (relay-cluster-faults once lost a client here
# during its PostgreSQL restart: the test stopped PostgreSQL with a blocking pg_ctl, and on a busy disk the shutdown
# checkpoint outlasted the relay's ping timeout; pg_ctl now runs asynchronously, tests/helpers/postgres.ts.)
echo "test: vitest (relay suites on the PostgreSQL store)"
PARLEY_TEST_STORE=postgres npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest-pg.json \
  --exclude tests/integration/relay-live.test.ts --exclude tests/integration/relay-durability.test.ts \
  --exclude tests/integration/relay-mdns.test.ts --exclude 'tests/integration/relay-cluster*.test.ts' \
  tests/integration/relay-*.test.ts
echo "test: playwright"; PLAYWRIGHT_JSON_OUTPUT_NAME=test-results/playwright.json npx playwright test --reporter=list,json
node scripts/test-summary.mjs
