/**
 * `npm run bench [-- [--quick] [--runs=N] [name ...]]`
 *
 * Runs each benchmark of issue 6 (or the named ones), printing for each Parley's figure, the baseline measured in
 * the same run, their ratio and the target (met / missed), and writes the same to bench-results/latest.json.
 * Missed targets never fail the run: the exit code is non-zero only when a benchmark crashed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fmt, machine, now, printResult, ROOT, type Bench, type BenchOptions, type BenchResult } from './lib/common.js';
import { openBench } from './open.js';
import { sealBench } from './seal.js';
import { groupSealBench } from './group-seal.js';
import { backlogBench } from './backlog.js';
import { routingBench } from './routing.js';
import { queueBench } from './queue.js';
import { queuePgBench } from './queue-pg.js';
import { clusterBench } from './cluster.js';
import { memoryBench } from './memory.js';
import { historyBench } from './history.js';
import { searchBench } from './search.js';
import { rendererBench } from './renderer.js';
import { cliRpcBench } from './cli-rpc.js';
import { startupBench } from './startup.js';
import { catchupUiBench } from './catchup-ui.js';
import { attachmentBench } from './attachment.js';

/** In the issue's order (the order of the summary, the JSON and the Markdown table). */
const BENCHES: Array<[string, Bench]> = [
  ['open', openBench],
  ['seal', sealBench],
  ['group-seal', groupSealBench],
  ['backlog', backlogBench],
  ['routing', routingBench],
  ['queue', queueBench],
  ['queue-pg', queuePgBench],
  ['cluster', clusterBench],
  ['memory', memoryBench],
  ['history', historyBench],
  ['search', searchBench],
  ['renderer', rendererBench],
  ['cli-rpc', cliRpcBench],
  ['startup', startupBench],
  ['catchup-ui', catchupUiBench],
  ['attachment', attachmentBench],
];
/**
 * Run order: the benchmarks whose Parley side runs inside this process and is sensitive to its heap (queue, history)
 * go before the ones that leave it large (backlog's service, routing's 1 000 socket.io clients); measured, queue ran
 * ~20 % slower after routing than before it.
 */
const RUN_ORDER = ['open', 'seal', 'group-seal', 'queue', 'queue-pg', 'history', 'search', 'backlog', 'cli-rpc', 'routing', 'cluster', 'memory', 'renderer', 'startup', 'catchup-ui', 'attachment'];

function usage(): string {
  return `usage: npm run bench -- [--quick] [--runs=N] [--markdown] [${BENCHES.map(([n]) => n).join('|')} ...]`;
}

/** The rows with a target, as a Markdown table (for the README's performance section). */
function markdown(results: BenchResult[], info: Record<string, unknown>): string {
  const lines = [
    `Machine: ${String(info.cpus)} cores (${String(info.cpuModel)}), node ${String(info.node)}, ${String(info.date).slice(0, 10)}.`,
    '',
    '| Benchmark | Parley | Baseline (same run) | Ratio | Target | |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    for (const x of r.rows) {
      if (x.met === null && x.target === 'info') continue;
      const unit = x.unit && x.unit !== 'count' ? ` ${x.unit}` : '';
      lines.push(`| ${r.id}: ${x.metric.trim()} | ${fmt(x.parley)}${x.parley === null ? '' : unit} | ${fmt(x.baseline)}${x.baseline === null ? '' : unit}${x.baselineLabel ? ` (${x.baselineLabel})` : ''} | ${x.ratio === null ? '—' : fmt(x.ratio, 2)} | ${x.target} | ${x.met === null ? 'not measured' : x.met ? 'met' : 'missed'} |`);
    }
  }
  return lines.join('\n');
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(usage());
    return 0;
  }
  const quick = args.includes('--quick');
  const runsArg = args.find((a) => a.startsWith('--runs='));
  const runs = runsArg ? Math.max(1, Number(runsArg.slice(7)) || 3) : 3;
  const names = args.filter((a) => !a.startsWith('--'));
  const unknown = names.filter((n) => !BENCHES.some(([b]) => b === n));
  if (unknown.length) {
    console.error(`unknown benchmark(s): ${unknown.join(', ')}\n${usage()}`);
    return 2;
  }
  const selected = BENCHES.filter(([n]) => names.length === 0 || names.includes(n)).sort(
    ([a], [b]) => RUN_ORDER.indexOf(a) - RUN_ORDER.indexOf(b),
  );
  const o: BenchOptions = {
    quick,
    runs,
    shared: new Map(),
    log: (m) => console.log(`  … ${m}`),
  };
  const info = machine();
  console.log(`Parley benchmarks${quick ? ' (--quick)' : ''}: ${selected.map(([n]) => n).join(', ')}`);
  console.log(`machine: ${info.cpus} cores (${String(info.cpuModel)}), ${String(info.memGiB)} GiB, node ${String(info.node)}, ${String(info.date)}; medians of ${runs} runs`);

  const results: BenchResult[] = [];
  let crashed = false;
  for (const [name, bench] of selected) {
    const t0 = now();
    let r: BenchResult;
    try {
      r = await bench(o);
    } catch (e) {
      crashed = true;
      r = { id: name, title: name, rows: [], error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
    }
    r.seconds = (now() - t0) / 1000;
    results.push(r);
    printResult(r);
  }

  results.sort((a, b) => BENCHES.findIndex(([n]) => n === a.id) - BENCHES.findIndex(([n]) => n === b.id));
  const all = results.flatMap((r) => r.rows.filter((x) => x.met !== null));
  console.log(`\nsummary: ${all.filter((x) => x.met).length} targets met, ${all.filter((x) => x.met === false).length} missed, ` +
    `${results.filter((r) => r.notes?.some((n) => n.startsWith('not measured'))).length} benchmark(s) not (fully) measured, ${results.filter((r) => r.error).length} crashed`);
  const dir = path.join(ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'latest.json');
  writeFileSync(file, JSON.stringify({ machine: info, quick, runs, results }, null, 2) + '\n');
  console.log(`wrote ${path.relative(ROOT, file)}`);
  if (args.includes('--markdown')) console.log('\n' + markdown(results, info));
  return crashed ? 1 : 0;
}

main().then(
  (code) => {
    // Worker pools, sockets or child processes left by a failed benchmark must not keep the process alive.
    process.exit(code);
  },
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
