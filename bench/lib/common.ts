/**
 * Small helpers shared by every benchmark: statistics, event-loop delay, timing, table printing.
 * Benchmarks report figures; they never throw because a target is missed (only a crash is an error).
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import os from 'node:os';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** One printed line: Parley's figure against the baseline measured in the same run. */
export interface Row {
  metric: string;
  unit: string;
  parley: number | null;
  baseline: number | null;
  /** parley / baseline (or baseline / parley for lower-is-better figures, see `ratioOf`). null when a side is missing. */
  ratio: number | null;
  /** Human text of the target, e.g. "ratio ≥ 0.85" or "≤ 16 ms". */
  target: string;
  /** true/false when the target applies to this row; null when it is informational or not measured. */
  met: boolean | null;
  /** What the baseline is, in a few words. */
  baselineLabel?: string;
  note?: string;
}

export interface BenchResult {
  id: string;
  title: string;
  rows: Row[];
  /** Free-form details (per-run samples, breakdowns) written to latest.json only. */
  details?: Record<string, unknown>;
  notes?: string[];
  error?: string;
  seconds?: number;
}

export interface BenchOptions {
  quick: boolean;
  /** Repetitions for medians. */
  runs: number;
  /** Shared across benchmarks in one `npm run bench` (e.g. the open baseline rate reused by backlog). */
  shared: Map<string, unknown>;
  log: (msg: string) => void;
}

export type Bench = (o: BenchOptions) => Promise<BenchResult>;

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Nearest-rank percentile, p in [0, 100]. */
export function percentile(xs: number[] | Float64Array, p: number): number {
  if (xs.length === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[rank]!;
}

export const now = (): number => performance.now();
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Run `fn` `runs` times and return the samples and their median. */
export async function repeat(runs: number, fn: (i: number) => Promise<number>): Promise<{ samples: number[]; median: number }> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(await fn(i));
  return { samples, median: median(samples) };
}

/**
 * Event-loop delay monitor (perf_hooks.monitorEventLoopDelay, 10 ms resolution like Node's default sampling
 * is too coarse for a 16 ms target, so 5 ms). `stop()` returns p50/p99/max in milliseconds.
 */
export function loopDelay(): { stop(): { p50: number; p99: number; max: number } } {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  return {
    stop() {
      h.disable();
      return { p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6 };
    },
  };
}

/**
 * parley/baseline. No ratio when the baseline is not a positive figure (e.g. a slope that measured ≤ 0 in a noisy
 * run): a negative or infinite ratio would say nothing.
 */
export function ratioOf(parley: number | null, baseline: number | null): number | null {
  if (parley === null || baseline === null || !Number.isFinite(parley) || !Number.isFinite(baseline) || baseline <= 0) return null;
  return parley / baseline;
}

export function row(r: Omit<Row, 'ratio'> & { ratio?: number | null }): Row {
  return { ...r, ratio: r.ratio === undefined ? ratioOf(r.parley, r.baseline) : r.ratio };
}

/** A benchmark that could not measure Parley (module missing, crash in a dependency). */
export function notMeasured(id: string, title: string, why: string, rows: Row[] = []): BenchResult {
  return { id, title, rows, notes: [`not measured: ${why}`] };
}

export function fmt(x: number | null, digits?: number): string {
  if (x === null || !Number.isFinite(x)) return '—';
  const d = digits ?? (Number.isInteger(x) ? 0 : Math.abs(x) >= 1000 ? 0 : Math.abs(x) >= 100 ? 1 : Math.abs(x) >= 1 ? 2 : 3);
  return x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

export function machine(): Record<string, unknown> {
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    date: new Date().toISOString(),
  };
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** Print one benchmark's rows as an aligned table. */
export function printResult(r: BenchResult): void {
  const header = ['metric', 'Parley', 'baseline', 'ratio', 'target', 'status'];
  const lines = r.rows.map((x) => [
    x.metric + (x.unit ? ` (${x.unit})` : ''),
    fmt(x.parley),
    fmt(x.baseline) + (x.baselineLabel ? ` [${x.baselineLabel}]` : ''),
    x.ratio === null ? '—' : fmt(x.ratio, 3),
    x.target,
    x.met === null ? (x.target === 'info' ? 'info' : 'not measured') : x.met ? 'MET' : 'MISSED',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const out: string[] = [];
  out.push(`\n== ${r.id}: ${r.title}${r.seconds !== undefined ? `  (${r.seconds.toFixed(1)} s)` : ''}`);
  out.push('  ' + header.map((h, i) => pad(h, widths[i]!)).join(' | '));
  out.push('  ' + widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const l of lines) out.push('  ' + l.map((c, i) => pad(c, widths[i]!)).join(' | '));
  for (const n of r.notes ?? []) out.push(`  note: ${n}`);
  if (r.error) out.push(`  ERROR: ${r.error}`);
  console.log(out.join('\n'));
}

export const ROOT = path.resolve(__dirname, '..', '..');

/**
 * Import a module that another helper may not have written yet (repo-relative path, e.g. 'relay/server/index.ts');
 * null with the reason when it is absent or broken, so one missing module never stops the other benchmarks.
 */
export async function tryImport<T>(rel: string): Promise<{ mod: T; error: null } | { mod: null; error: string }> {
  const file = path.join(ROOT, rel);
  if (!existsSync(file)) return { mod: null, error: `${rel} does not exist yet` };
  try {
    return { mod: (await import(pathToFileURL(file).href)) as T, error: null };
  } catch (e) {
    return { mod: null, error: e instanceof Error ? e.message.split('\n')[0]! : String(e) };
  }
}
