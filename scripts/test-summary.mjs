#!/usr/bin/env node
// Prints one closing line for the whole `npm test` run from the vitest and Playwright JSON reports:
//   "Tests: N passed, N failed, N skipped"
// Skipped tests (the Electron journey where no Electron binary exists) are counted apart, never as passed.
import { readFileSync } from 'node:fs';

let passed = 0, failed = 0, skipped = 0;
const missing = [];
function read(file) {
  try { return JSON.parse(readFileSync(file, 'utf8')); } catch { missing.push(file); return null; }
}
// vitest runs twice: everything on SQLite, then the relay suites on the PostgreSQL store.
for (const file of ['test-results/vitest.json', 'test-results/vitest-pg.json']) {
  const vitest = read(file);
  if (!vitest) continue;
  passed += vitest.numPassedTests ?? 0;
  failed += (vitest.numFailedTests ?? 0);
  skipped += (vitest.numPendingTests ?? 0) + (vitest.numTodoTests ?? 0);
}
const pw = read('test-results/playwright.json');
if (pw) {
  passed += pw.stats?.expected ?? 0;
  failed += (pw.stats?.unexpected ?? 0) + (pw.stats?.flaky ?? 0);
  skipped += pw.stats?.skipped ?? 0;
}
if (missing.length) console.log(`test: no report at ${missing.join(', ')}`);
console.log(`Tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || missing.length ? 1 : 0);
