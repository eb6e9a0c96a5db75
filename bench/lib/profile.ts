/** CPU profiles (V8 / Chrome DevTools protocol) for "where does the time go" diagnostics (PARLEY_BENCH_PROFILE=1). */
import { Session } from 'node:inspector';

export interface CpuProfile {
  nodes: Array<{ id: number; hitCount?: number; children?: number[]; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number } }>;
  startTime: number;
  endTime: number;
  /** The node of each sample, in time order, and the µs since the previous sample (as V8 reports them). */
  samples?: number[];
  timeDeltas?: number[];
}

type Frame = CpuProfile['nodes'][number]['callFrame'];

/** `function file:line:column`, the file as its last two path segments. */
function frameLabel(f: Frame): string {
  return `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}:${(f.columnNumber ?? 0) + 1}`;
}

/** The `top` keys with the most samples, each as milliseconds of the profile's duration. */
function topLines(p: CpuProfile, hitsByKey: Map<string, number>, top: number): string {
  const total = p.nodes.reduce((s, x) => s + (x.hitCount ?? 0), 0) || 1;
  const ms = (p.endTime - p.startTime) / 1000;
  return [...hitsByKey].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, h]) => `  ${((h / total) * ms).toFixed(1).padStart(8)} ms  ${k}`).join('\n');
}

/** Top self-time functions of a CPU profile, as printable lines. */
export function summarizeProfile(p: CpuProfile, top = 15): string {
  const by = new Map<string, number>();
  for (const x of p.nodes) {
    const k = frameLabel(x.callFrame);
    by.set(k, (by.get(k) ?? 0) + (x.hitCount ?? 0));
  }
  return topLines(p, by, top);
}

/**
 * Self time of native calls (better-sqlite3's run/get/all, postMessage, …) by the JavaScript function that made
 * them: a native `get` alone does not say which query it was.
 */
export function summarizeNativeCallers(p: CpuProfile, top = 15): string {
  const parent = new Map<number, (typeof p.nodes)[number]>();
  for (const x of p.nodes) for (const c of x.children ?? []) parent.set(c, x);
  const by = new Map<string, number>();
  for (const x of p.nodes) {
    if (x.callFrame.url !== '' || !x.hitCount || x.callFrame.functionName.startsWith('(')) continue;
    // up to the first frame with a source file, then one more: the statement helper and its caller
    const chain: string[] = [];
    let up = parent.get(x.id);
    while (up && chain.length < 3) {
      if (up.callFrame.url !== '') chain.push(frameLabel(up.callFrame));
      up = parent.get(up.id);
    }
    const k = `${x.callFrame.functionName} ← ${chain.join(' ← ')}`;
    by.set(k, (by.get(k) ?? 0) + x.hitCount);
  }
  return topLines(p, by, top);
}

/**
 * The event loop's long tasks: runs of consecutive non-idle samples of at least `minMs`, longest first, each with
 * what its time went to (self time by function, and the outermost source frames that started it). The event-loop
 * delay percentiles say that the loop was blocked; this says by what.
 */
export function summarizeLongTasks(p: CpuProfile, minMs = 16, top = 8): string {
  if (!p.samples || !p.timeDeltas) return '  (no samples in the profile)';
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const parent = new Map<number, number>();
  for (const x of p.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
  /**
   * The outermost frame with a source file: the task's entry point (a timer, a socket read, a promise job). Once per
   * node, not per sample: a profile has tens of thousands of samples on a few thousand nodes.
   */
  const entries = new Map<number, string>();
  const entry = (id: number): string => {
    let found = entries.get(id);
    if (found !== undefined) return found;
    found = '(native)';
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)!.callFrame;
      if (f.url !== '' && !f.url.startsWith('node:')) found = frameLabel(f);
    }
    entries.set(id, found);
    return found;
  };
  const tasks: Array<{ ms: number; start: number; self: Map<string, number>; entries: Map<string, number> }> = [];
  let cur: (typeof tasks)[number] | null = null;
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i + 1] ?? 0; // a sample stands for the time until the next one
    t += p.timeDeltas[i]!;
    const node = byId.get(p.samples[i]!)!;
    if (node.callFrame.functionName === '(idle)') {
      if (cur && cur.ms >= minMs) tasks.push(cur);
      cur = null;
      continue;
    }
    cur ??= { ms: 0, start: t, self: new Map(), entries: new Map() };
    const ms = dt / 1000;
    cur.ms += ms;
    const k = frameLabel(node.callFrame);
    cur.self.set(k, (cur.self.get(k) ?? 0) + ms);
    const e = entry(node.id);
    cur.entries.set(e, (cur.entries.get(e) ?? 0) + ms);
  }
  if (cur && cur.ms >= minMs) tasks.push(cur);
  const fmt = (m: Map<string, number>, n: number): string =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, ms]) => `${ms.toFixed(1)} ${k}`).join('; ');
  const lines = [`  ${tasks.length} tasks of ≥ ${minMs} ms (${tasks.reduce((s, x) => s + x.ms, 0).toFixed(0)} ms in all)`];
  for (const x of tasks.sort((a, b) => b.ms - a.ms).slice(0, top)) {
    lines.push(`  ${x.ms.toFixed(1).padStart(6)} ms at +${((x.start - p.startTime) / 1000).toFixed(0)} ms`);
    lines.push(`      from: ${fmt(x.entries, 3)}`);
    lines.push(`      self: ${fmt(x.self, 5)}`);
  }
  return lines.join('\n');
}

/** Profile this process's main thread while `fn` runs (only when PARLEY_BENCH_PROFILE is set). */
export async function profileIf<T>(label: string, fn: () => Promise<T>): Promise<T> {
  if (!process.env.PARLEY_BENCH_PROFILE) return fn();
  const s = new Session();
  s.connect();
  const post = (m: string, params?: object): Promise<unknown> =>
    new Promise((res, rej) => s.post(m, params ?? {}, (e, r) => (e ? rej(e) : res(r))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 500 });
  await post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = (await post('Profiler.stop')) as { profile: CpuProfile };
    s.disconnect();
    console.log(`${label}: main-thread self time by function`);
    console.log(summarizeProfile(profile, 25));
    console.log(`${label}: native calls by caller`);
    console.log(summarizeNativeCallers(profile, 25));
    console.log(`${label}: long tasks of the main thread`);
    console.log(summarizeLongTasks(profile));
  }
}
