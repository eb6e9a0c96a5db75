/**
 * Vitest config for mutation testing (`npm run mutation`, StrykerJS): only the fast tests that exercise the mutated
 * folders (relay/protocol, relay/server, electron/core/crypto, electron/core/messenger), in-process where it matters.
 * Stryker activates a mutant inside the test process, so tests that run the code in a child process (spawnRelay,
 * the CLI) cannot kill mutants and are left out; so is everything slow that covers none of these folders.
 * Stryker's runner forces vitest's `threads` pool: the core-* integration tests (ParleyService end to end) crash there
 * (libsecret loaded by keytar in a second worker thread: SIGSEGV) or hang, so the messenger is covered only as far
 * as the tests below reach it (see README, Tests: mutation scores).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Stryker runs from a sandbox copy (.stryker-tmp/sandbox-*): find the Wycheproof vectors next to the real checkout.
const checkout = path.dirname(fileURLToPath(import.meta.url)).replace(/[/\\]\.stryker-tmp[/\\][^/\\]+$/, '');
process.env.PARLEY_WYCHEPROOF_DIR ??= path.resolve(checkout, '../shared/test-vectors/wycheproof');

/**
 * PARLEY_MUTATION_SCOPE narrows the tests to one folder's (a mutant runs every test that covers it, so a survivor in
 * a shared helper like encoding.ts otherwise costs the whole set): protocol | crypto | server; unset = all below.
 */
const SCOPES: Record<string, string[]> = {
  protocol: [
    'tests/unit/protocol-kat.test.ts',
    'tests/unit/protocol-auth-kat.test.ts',
    'tests/unit/protocol-edges.test.ts',
    'tests/unit/wycheproof.test.ts',
    'tests/unit/crypto-identity.test.ts',
    'tests/unit/crypto-envelope-property.test.ts',
  ],
  crypto: [
    'tests/unit/wycheproof.test.ts',
    'tests/unit/crypto-*.test.ts',
  ],
  server: ['tests/integration/relay-embedded.test.ts'],
};
const scope = process.env.PARLEY_MUTATION_SCOPE;
const include = scope ? SCOPES[scope] : [...new Set(Object.values(SCOPES).flat())];
if (!include) throw new Error(`PARLEY_MUTATION_SCOPE must be one of ${Object.keys(SCOPES).join(', ')}`);

export default defineConfig({
  test: {
    include,
    environment: 'node',
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    maxWorkers: 1,
  },
});
