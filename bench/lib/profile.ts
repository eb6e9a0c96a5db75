/** CPU profiles (V8 / Chrome DevTools protocol) for "where does the time go" diagnostics (PARLEY_BENCH_PROFILE=1). */
import { Session } from 'node:inspector';

export interface CpuProfile {
  nodes: Array<{ id: number; hitCount?: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number } }>;
  startTime: number;
  endTime: number;
}

/** Top self-time functions of a CPU profile, as printable lines. */
export function summarizeProfile(p: CpuProfile, top = 15): string {
  const total = p.nodes.reduce((s, x) => s + (x.hitCount ?? 0), 0) || 1;
  const ms = (p.endTime - p.startTime) / 1000;
  const by = new Map<string, number>();
  for (const x of p.nodes) {
    const f = x.callFrame;
    const k = `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}:${(f.columnNumber ?? 0) + 1}`;
    by.set(k, (by.get(k) ?? 0) + (x.hitCount ?? 0));
  }
  return [...by].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, h]) => `  ${((h / total) * ms).toFixed(1).padStart(8)} ms  ${k}`).join('\n');
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
  }
}
