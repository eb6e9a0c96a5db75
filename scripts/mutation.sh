#!/usr/bin/env bash
# Mutation testing, one run after another: `npm run mutation` (every scope) or `npm run mutation -- crypto server`,
# or single files of a scope: `npm run mutation -- messenger:electron/core/messenger/acks.ts`, or line ranges of one
# file (Stryker's `file:from-to`, several joined by commas; same report and incremental file as the whole file):
# `npm run mutation -- messenger:electron/core/messenger/ingest.ts:194-304,electron/core/messenger/ingest.ts:337-411`.
# Scopes: protocol, crypto, messenger, server (stryker.config.mjs). Extra Stryker flags go after `--`, e.g.
# `npm run mutation -- crypto -- --ignoreStatic false`. Runs inside a private keyring session (the messenger tests
# open real keychain-backed vaults). PARLEY_MUTATION_TESTS=a.test.ts,b.test.ts runs a file against those tests only.
# Reports: reports/mutation/<scope>[/<file>]/index.html and mutation.json.
set -euo pipefail
runs=()
while [[ $# -gt 0 && $1 != -- ]]; do runs+=("$1"); shift; done
[[ ${1:-} == -- ]] && shift
[[ ${#runs[@]} -eq 0 ]] && runs=(protocol crypto messenger server)
failed=()
for run in "${runs[@]}"; do
  scope=${run%%:*}
  echo "== mutation: $run"
  if [[ $run == *:* ]]; then
    file=${run#*:}
    path=${file%%:*} # without a line range: the file's own test set (FILE_TESTS) and report
    # the report's name: the path below the scope's folder (relay/server/blobs/http.ts -> blobs-http), so two files
    # with one name (relay/server/http.ts, relay/server/blobs/http.ts) do not overwrite each other's report
    base=$(echo "${path%.ts}" | sed -E 's#^(relay/(server|protocol)|electron/core/(crypto|messenger))/##; s#/#-#g')
    PARLEY_MUTATION_SCOPE=$scope PARLEY_MUTATION_REPORT="$scope/$base" PARLEY_MUTATION_FILE="$path" \
      bash scripts/keyring-session.sh npx stryker run --mutate "$file" "$@" || failed+=("$run")
  else
    PARLEY_MUTATION_SCOPE=$scope bash scripts/keyring-session.sh npx stryker run "$@" || failed+=("$run")
  fi
done
# A failed run (e.g. a red dry run) does not stop the others; it is named here and fails the script.
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "mutation: failed runs: ${failed[*]}" >&2
  exit 1
fi
