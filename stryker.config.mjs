// Mutation testing (StrykerJS): `npm run mutation` (all four folders) or, one folder at a time,
// `npm run mutation -- --mutate 'relay/protocol/**/*.ts'`. Not part of CI: a full run takes hours on 2 shared cores.
// Incremental: results are kept in reports/mutation/incremental.json, so a re-run tests only changed code and tests.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.mts', related: false },
  coverageAnalysis: 'perTest',
  // Static mutants (module-level code: zod schemas, constant tables) need the whole test set per mutant: about half
  // of relay/protocol's mutants and 97 % of the time (~3 h for that folder alone here). Skipped by default and shown
  // as "ignored"; `npm run mutation -- --ignoreStatic false` runs them too.
  ignoreStatic: true,
  mutate: [
    'relay/protocol/**/*.ts',
    'relay/server/**/*.ts',
    'electron/core/crypto/**/*.ts',
    'electron/core/messenger/**/*.ts',
    // code that runs only in worker threads or child processes, where Stryker cannot switch a mutant on
    '!electron/core/crypto/worker.ts',
    '!relay/server/store/writer-worker.ts',
    '!relay/server/mdns.ts',
  ],
  ignorePatterns: ['bench-results', 'docs', 'resources', 'out', 'dist', 'test-results', 'playwright-report', 'reports', '.tmp'],
  incremental: true,
  incrementalFile: 'reports/mutation/incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  concurrency: 1,
  timeoutMS: 30_000,
  thresholds: { high: 90, low: 80, break: null },
  cleanTempDir: 'always',
};
