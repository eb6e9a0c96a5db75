// Mutation testing (StrykerJS): `npm run mutation` (all folders, one after another: scripts/mutation.sh) or one
// folder: `npm run mutation -- crypto` (scopes: protocol, crypto, messenger, server), or one file of a scope:
// `npm run mutation -- server:relay/server/limits.ts`. Not part of CI: a full run takes
// hours on 2 shared cores. PARLEY_MUTATION_SCOPE picks both the mutated files (below) and the tests that may kill
// them (vitest.mutation.config.mts); each scope keeps its own incremental file and report, so scopes can run side by
// side and a re-run tests only changed code and tests.
const SCOPE_FILES = {
  protocol: ['relay/protocol/**/*.ts'],
  crypto: [
    'electron/core/crypto/**/*.ts',
    // runs only inside worker threads, where Stryker cannot switch a mutant on
    '!electron/core/crypto/worker.ts',
  ],
  messenger: [
    'electron/core/messenger/ingest.ts',
    'electron/core/messenger/outbox.ts',
    'electron/core/messenger/acks.ts',
    'electron/core/messenger/envelope-writer.ts',
    'electron/core/messenger/trust.ts',
  ],
  server: [
    'relay/server/**/*.ts',
    // child-process / worker-thread / network-advertising code: a mutant there is never switched on in-process
    '!relay/server/store/writer-worker.ts',
    '!relay/server/mdns.ts',
    // PostgreSQL and Redis back ends: covered by their own suites against real servers, not by the fast set
    '!relay/server/store/pg*.ts',
    '!relay/server/cluster.ts',
  ],
};
const scope = process.env.PARLEY_MUTATION_SCOPE;
if (scope !== undefined && !(scope in SCOPE_FILES)) {
  throw new Error(`PARLEY_MUTATION_SCOPE must be one of ${Object.keys(SCOPE_FILES).join(', ')}`);
}
// One file at a time (`npm run mutation -- server:relay/server/limits.ts`): its own report, reports/mutation/server/limits.
const name = process.env.PARLEY_MUTATION_REPORT ?? scope ?? 'all';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.mts', related: false },
  coverageAnalysis: 'perTest',
  // Static mutants (module-level code: zod schemas, constant tables) need the whole test set per mutant: about half
  // of relay/protocol's mutants and 97 % of the time (~3 h for that folder alone here). Skipped by default and shown
  // as "ignored"; `-- --ignoreStatic false` runs them too.
  ignoreStatic: true,
  mutate: scope ? SCOPE_FILES[scope] : [...new Set(Object.values(SCOPE_FILES).flat())],
  ignorePatterns: ['.stryker-tmp', 'bench-results', 'docs', 'resources', 'out', 'dist', 'test-results', 'playwright-report', 'reports', '.tmp'],
  incremental: true,
  incrementalFile: `reports/mutation/${name}/incremental.json`,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${name}/index.html` },
  jsonReporter: { fileName: `reports/mutation/${name}/mutation.json` },
  tempDirName: `.stryker-tmp/${name}`,
  concurrency: 1,
  timeoutMS: 30_000,
  thresholds: { high: 90, low: 80, break: null },
  cleanTempDir: 'always',
};
