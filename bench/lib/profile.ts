/** CPU profiles (V8 / Chrome DevTools protocol) for "where does the time go" diagnostics (PARLEY_BENCH_PROFILE=1). */
import { Session } from 'node:inspector';

export interface CpuProfile {
  nodes: Array<{ id: number; hitCount?: number; children?: number[]; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number } }>;
  startTime: number;
  endTime: number;
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
  }
}
