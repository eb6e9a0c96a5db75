// Re-tests the survivors of a Stryker report against NEW test files only, one mutant at a time:
//   bash scripts/keyring-session.sh node scripts/mutation-recheck.mjs reports/mutation/messenger/ingest/mutation.json \
//     electron/core/messenger/ingest.ts tests/integration/core-receive-batches.test.ts
// Why: a survivor already passed every test of its run, so only the new tests can kill it; re-running the whole
// set per survivor (what an incremental Stryker run does) costs ~1 min a mutant on 2 shared cores. Each survivor's
// replacement (from the report) is written into the source file, the given tests run with --bail 1, and the file is
// restored. A failing run (or one over the time limit) kills it. Prints the result per mutant and the new score, and
// writes <report dir>/recheck.json. Never leaves a mutated file behind (restored in `finally` and on SIGINT/SIGTERM).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const [reportPath, sourcePath, ...tests] = process.argv.slice(2);
if (!reportPath || !sourcePath || tests.length === 0) {
  console.error('usage: node scripts/mutation-recheck.mjs <mutation.json> <source file> <test file>...');
  process.exit(2);
}
const TIME_LIMIT_MS = Number(process.env.PARLEY_RECHECK_TIMEOUT_MS ?? 180_000);
const report = JSON.parse(readFileSync(reportPath, 'utf8'));
const entry = report.files[sourcePath] ?? Object.entries(report.files).find(([k]) => k.endsWith(sourcePath))?.[1];
if (!entry) throw new Error(`${sourcePath} is not in ${reportPath}`);
const original = readFileSync(sourcePath, 'utf8');
if (original !== entry.source) throw new Error(`${sourcePath} changed since the report was made: re-run Stryker instead`);

/** Offset of a report position (lines and columns 1-based). */
const lineStarts = [0];
for (let i = 0; i < original.length; i++) if (original[i] === '\n') lineStarts.push(i + 1);
const offset = (p) => lineStarts[p.line - 1] + p.column - 1;

const restore = () => writeFileSync(sourcePath, original);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    restore();
    process.exit(130);
  });
}

/**
 * PARLEY_RECHECK_PREVIOUS=<recheck.json or a saved log of an earlier recheck>: the mutants it killed count as killed
 * without running again (the tests that killed them are still in the suite), so a recheck after more tests runs only
 * what is still alive.
 */
const previousFile = process.env.PARLEY_RECHECK_PREVIOUS;
const killedEarlier = new Set();
if (previousFile) {
  const text = readFileSync(previousFile, 'utf8');
  const earlier = previousFile.endsWith('.json')
    ? JSON.parse(text).results.map((r) => [r.now, r.id])
    : [...text.matchAll(/^(Killed|Timeout)\s+#(\d+)/gm)].map((m) => [m[1], m[2]]);
  for (const [now, id] of earlier) if (now === 'Killed' || now === 'Timeout') killedEarlier.add(String(id));
}
const survivors = entry.mutants.filter((m) => (m.status === 'Survived' || m.status === 'NoCoverage') && !killedEarlier.has(String(m.id)));
// PARLEY_RECHECK_LIST=1: only list the survivors (original text -> replacement), run nothing.
if (process.env.PARLEY_RECHECK_LIST === '1') {
  for (const m of survivors) {
    const text = original.slice(offset(m.location.start), offset(m.location.end));
    console.log(`#${m.id} line ${m.location.start.line} ${m.mutatorName}: ${JSON.stringify(text.slice(0, 100))} -> ${JSON.stringify(m.replacement.slice(0, 100))}`);
  }
  process.exit(0);
}
const results = [];
try {
  for (const m of survivors) {
    const from = offset(m.location.start);
    const to = offset(m.location.end);
    writeFileSync(sourcePath, original.slice(0, from) + m.replacement + original.slice(to));
    const started = Date.now();
    const run = spawnSync('npx', ['vitest', 'run', '--bail', '1', ...tests], { encoding: 'utf8', timeout: TIME_LIMIT_MS });
    const killed = run.status !== 0;
    const result = {
      id: m.id,
      line: m.location.start.line,
      mutator: m.mutatorName,
      was: m.status,
      original: original.slice(from, to).slice(0, 80),
      replacement: m.replacement.slice(0, 80),
      now: run.error ? 'Timeout' : killed ? 'Killed' : m.status,
      ms: Date.now() - started,
    };
    results.push(result);
    console.log(`${result.now.padEnd(10)} #${m.id} line ${result.line} ${m.mutatorName}: ${JSON.stringify(result.original)} -> ${JSON.stringify(result.replacement)}`);
  }
} finally {
  restore();
}

const all = entry.mutants.filter((m) => m.status !== 'Ignored' && m.status !== 'CompileError' && m.status !== 'RuntimeError');
const killedBefore = all.filter((m) => m.status === 'Killed' || m.status === 'Timeout').length;
const killedNow = killedBefore + killedEarlier.size + results.filter((r) => r.now === 'Killed' || r.now === 'Timeout').length;
const pct = (n) => `${((100 * n) / all.length).toFixed(1)} %`;
const earlierNote = killedEarlier.size > 0 ? ` (${killedEarlier.size} killed by an earlier recheck, not run again)` : '';
console.log(`before: ${killedBefore}/${all.length} = ${pct(killedBefore)}; after the new tests: ${killedNow}/${all.length} = ${pct(killedNow)}${earlierNote}`);
const earlierResults = [...killedEarlier].map((id) => ({ id: Number(id), now: 'Killed', earlier: true }));
writeFileSync(
  path.join(path.dirname(reportPath), 'recheck.json'),
  JSON.stringify({ tests, killedBefore, killedNow, total: all.length, results: [...earlierResults, ...results] }, null, 2),
);
