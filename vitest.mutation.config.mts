/**
 * Vitest config for mutation testing (`npm run mutation`, StrykerJS): per scope (PARLEY_MUTATION_SCOPE, the same
 * names as stryker.config.mjs), the fast tests that exercise that folder in-process. Stryker switches a mutant on
 * inside the test process, so tests that run the code in a child process (the CLI) cannot kill mutants and are left
 * out; relays that the relay suites normally spawn run in-process here (PARLEY_INPROCESS_RELAY, see
 * tests/helpers/relay-inprocess.ts).
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vitest/config';

// Stryker runs from a sandbox copy (.stryker-tmp/<scope>/sandbox-*): find the Wycheproof vectors next to the real checkout
// (for a git worktree, next to the main checkout it belongs to).
const checkout = path.dirname(fileURLToPath(import.meta.url)).replace(/[/\\]\.stryker-tmp[/\\].*$/, '');
process.env.PARLEY_WYCHEPROOF_DIR ??= path.resolve(mainCheckout(checkout), '../shared/test-vectors/wycheproof');
process.env.PARLEY_INPROCESS_RELAY = '1';

/** The main checkout of `dir`: itself, or for a git worktree (`.git` is a file naming <main>/.git/worktrees/x), <main>. */
function mainCheckout(dir: string): string {
  const dotGit = path.join(dir, '.git');
  if (!statSync(dotGit, { throwIfNoEntry: false })?.isFile()) return dir;
  const gitdir = /^gitdir: (.*)$/m.exec(readFileSync(dotGit, 'utf8'))?.[1];
  return gitdir ? path.resolve(gitdir, '../../..') : dir;
}

/** A mutant runs every test that covers it, so each folder gets only the tests aimed at it. */
const SCOPES: Record<string, string[]> = {
  protocol: [
    'tests/unit/protocol-kat.test.ts',
    'tests/unit/protocol-auth-kat.test.ts',
    'tests/unit/protocol-edges.test.ts',
    'tests/unit/wycheproof.test.ts',
    'tests/unit/crypto-identity.test.ts',
    'tests/unit/crypto-envelope-property.test.ts',
  ],
  crypto: ['tests/unit/wycheproof.test.ts', 'tests/unit/crypto-*.test.ts'],
  // core-hostile-ingest (10 000 envelopes, ~35 s) is left out: every surviving ingest mutant would pay for it.
  messenger: [
    'tests/integration/core-receive.test.ts',
    'tests/integration/core-receive-batches.test.ts',
    'tests/integration/core-hostile-relay.test.ts',
    'tests/integration/core-memory-relay.test.ts',
    'tests/integration/core-send-order.test.ts',
    'tests/integration/core-trust.test.ts',
    'tests/integration/core-keychange.test.ts',
    'tests/integration/core-messenger.test.ts',
    'tests/integration/core-tamper.test.ts',
    'tests/integration/core-transport.test.ts',
    'tests/integration/messenger-*.test.ts',
  ],
  server: [
    'tests/integration/relay-embedded.test.ts',
    'tests/integration/relay-attacks.test.ts',
    'tests/integration/relay-exchange.test.ts',
    'tests/integration/relay-registration.test.ts',
    'tests/integration/relay-limits.test.ts',
    'tests/integration/relay-store-contract.test.ts',
    'tests/integration/relay-origin.test.ts',
    'tests/integration/relay-server-*.test.ts',
    'tests/unit/relay-server-*.test.ts',
  ],
};
/**
 * A smaller set for some single-file runs (`npm run mutation -- server:relay/server/session.ts`; scripts/mutation.sh
 * sets PARLEY_MUTATION_FILE): nearly every relay test registers and logs in, so without this a session.ts mutant pays
 * for the whole relay set (~1.5 min a mutant on 2 shared cores). These are the tests aimed at that file.
 */
const FILE_TESTS: Record<string, string[]> = {
  'relay/server/origin.ts': ['tests/integration/relay-origin.test.ts'],
  'relay/server/address.ts': ['tests/unit/relay-server-address.test.ts'],
  // the native-module loader's explanations, and a real load of the app's native modules under this runtime
  'relay/server/native.ts': ['tests/unit/store-native.test.ts'],
  'relay/server/advertising.ts': ['tests/integration/relay-server-advertising.test.ts'],
  // the blob store: its own suite on real files first, then the socket and HTTP transfers that drive it through a relay
  'relay/server/blobs/store.ts': [
    'tests/integration/relay-server-blob-store.test.ts',
    'tests/integration/relay-blob-store.test.ts',
    'tests/integration/relay-blobs.test.ts',
    'tests/integration/relay-blob-http.test.ts',
  ],
  'relay/server/blobs/handlers.ts': [
    'tests/integration/relay-server-blob-events.test.ts',
    'tests/integration/relay-blobs.test.ts',
    'tests/integration/relay-blob-http.test.ts',
  ],
  'relay/server/blobs/http.ts': ['tests/integration/relay-server-blob-http.test.ts', 'tests/integration/relay-blob-http.test.ts'],
  'relay/server/blobs/tokens.ts': ['tests/unit/relay-server-blob-tokens.test.ts', 'tests/integration/relay-blob-http.test.ts'],
  // a send's checks, quota reservation, hand-off and live forwarding: the suites that send with refusals, limits and
  // live delivery (the whole relay set would run every one of them per mutant)
  'relay/server/ingest.ts': [
    'tests/integration/relay-server-ingest.test.ts',
    'tests/integration/relay-server-live.test.ts',
    // the recount before a quota refusal needs a second node: two relays here on a private PostgreSQL and Redis
    'tests/integration/relay-server-ingest-cluster.test.ts',
    'tests/integration/relay-attacks.test.ts',
    'tests/integration/relay-limits.test.ts',
    'tests/integration/relay-server-delivery.test.ts',
    'tests/integration/relay-live.test.ts',
    'tests/integration/relay-exchange.test.ts',
  ],
  // flow control, fetch and ack: the delivery suite, then the suites that drive live delivery and redelivery
  'relay/server/delivery.ts': [
    'tests/integration/relay-server-delivery.test.ts',
    'tests/integration/relay-server-live.test.ts',
    'tests/integration/relay-live.test.ts',
    'tests/integration/relay-exchange.test.ts',
    'tests/integration/relay-embedded.test.ts',
  ],
  // start-up, sweep and close: the start suite, then the suites that reach the HTTP surface and origins through it
  'relay/server/relay.ts': [
    'tests/integration/relay-server-start.test.ts',
    'tests/integration/relay-server-housekeeping.test.ts',
    'tests/integration/relay-server-advertising.test.ts',
    'tests/integration/relay-server-http.test.ts',
    'tests/integration/relay-origin.test.ts',
    'tests/integration/relay-limits.test.ts',
  ],
  // the state every relay module shares: its own unit test first, then the suites that read its counters and caches
  'relay/server/context.ts': [
    'tests/unit/relay-server-context.test.ts',
    'tests/integration/relay-server-http.test.ts',
    'tests/integration/relay-server-dispatch.test.ts',
    'tests/integration/relay-limits.test.ts',
  ],
  'relay/server/session.ts': ['tests/integration/relay-server-session.test.ts', 'tests/integration/relay-registration.test.ts'],
  // relay-attacks and relay-limits drive the abuse drop and the per-address cap with real clients
  'relay/server/dispatch.ts': [
    'tests/integration/relay-server-dispatch.test.ts',
    'tests/integration/relay-server-session.test.ts',
    'tests/integration/relay-attacks.test.ts',
    'tests/integration/relay-limits.test.ts',
  ],
  // the messenger's send path, trust and receive path: the core tests that drive each, fastest first
  // (outbox.ts measured 33.6 % with only the first three: 37 of its mutants had no covering test among them)
  'electron/core/messenger/outbox.ts': [
    'tests/integration/messenger-outbox.test.ts',
    'tests/integration/messenger-outbox-flush.test.ts',
    'tests/integration/core-send-order.test.ts',
    'tests/integration/core-memory-relay.test.ts',
    'tests/integration/core-hostile-relay.test.ts',
    'tests/integration/core-messenger.test.ts',
    'tests/integration/core-keychange.test.ts',
  ],
  'electron/core/messenger/acks.ts': ['tests/integration/messenger-acks.test.ts', 'tests/integration/core-receive.test.ts'],
  'electron/core/messenger/trust.ts': [
    'tests/integration/messenger-trust.test.ts',
    'tests/integration/core-trust.test.ts',
    'tests/integration/core-receive-batches.test.ts',
    'tests/integration/core-keychange.test.ts',
  ],
  'electron/core/messenger/envelope-writer.ts': [
    'tests/integration/messenger-envelope-writer.test.ts',
    'tests/integration/core-receive.test.ts',
    'tests/integration/core-trust.test.ts',
    'tests/integration/core-memory-relay.test.ts',
    // group messages and receipts, replies, reactions, edits, deletes, read receipts and messages with files
    'tests/integration/core-actions.test.ts',
    'tests/integration/core-group-actions.test.ts',
    'tests/integration/core-groups.test.ts',
    'tests/integration/core-read-receipts-setting.test.ts',
    'tests/integration/attachment-messages.test.ts',
  ],
  'electron/core/messenger/ingest.ts': [
    'tests/integration/core-receive.test.ts',
    // held envelopes reopened after a key change (reopenPending): the receipt for a held text and a held files message
    'tests/integration/keychange-held-incoming-files.test.ts',
    'tests/integration/core-receive-batches.test.ts',
    'tests/integration/core-trust.test.ts',
    'tests/integration/core-memory-relay.test.ts',
  ],
  'electron/core/crypto/errors.ts': ['tests/unit/crypto-errors.test.ts'],
  // the pool's dispatch, queue and failures with a stand-in worker script first (quick), then the real worker's suites
  'electron/core/crypto/pool.ts': [
    'tests/unit/crypto-pool-dispatch.test.ts',
    'tests/unit/crypto-pool.test.ts',
    'tests/unit/crypto-pool-priority.test.ts',
  ],
  // the relay's SQLite store: its own suite first (inline writer: a mutant in sqlite-ops.ts is switched on only in this
  // thread, never in the writer worker), then the contract every store meets
  'relay/server/store/sqlite.ts': ['tests/integration/relay-server-sqlite-store.test.ts', 'tests/integration/relay-store-contract.test.ts'],
  'relay/server/store/sqlite-ops.ts': ['tests/integration/relay-server-sqlite-store.test.ts', 'tests/integration/relay-store-contract.test.ts'],
  'relay/server/limits.ts': ['tests/unit/relay-server-limits.test.ts', 'tests/integration/relay-server-session.test.ts'],
};
const scope = process.env.PARLEY_MUTATION_SCOPE;
const file = process.env.PARLEY_MUTATION_FILE;
// PARLEY_MUTATION_TESTS (test files, comma-separated) replaces the file's set for one run: a quick first pass with its
// own suite only, whose survivors `scripts/mutation-recheck.mjs` then runs against the slower suites.
const override = process.env.PARLEY_MUTATION_TESTS?.split(',').filter(Boolean);
const include =
  (override?.length ? override : undefined) ??
  ((file && FILE_TESTS[file]) || (scope ? SCOPES[scope] : [...new Set(Object.values(SCOPES).flat())]));
if (!include) throw new Error(`PARLEY_MUTATION_SCOPE must be one of ${Object.keys(SCOPES).join(', ')}`);

/**
 * Stryker's vitest runner forces the `threads` pool, where the messenger tests crash: keytar's libsecret binding is
 * loaded again in each fresh worker thread (SIGSEGV). Child processes (`forks`) load it once per process. Stryker
 * passes its options to the mutant through vitest's provide/inject and per-file metadata, which forks carry as well.
 */
const forcePoolForks: Plugin = {
  name: 'parley-mutation-forks',
  configureVitest({ project }) {
    project.config.pool = 'forks';
  },
};

export default defineConfig({
  plugins: [forcePoolForks],
  test: {
    include,
    environment: 'node',
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    maxWorkers: 1,
  },
});
