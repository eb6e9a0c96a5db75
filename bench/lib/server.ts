/** Start a relay under test (bench/servers/child.ts) in a child process and talk to it over IPC. */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { ROOT } from './common.js';

export type ServerMode = 'ws' | 'sio' | 'sio-validate' | 'parley' | 'parley-mem';

export interface ServerHandle {
  mode: ServerMode;
  url: string;
  fingerprint: string | null;
  pid: number;
  /** RSS of the server process after two forced GCs, bytes. */
  rss(): Promise<{ rss: number; heapUsed: number }>;
  /** The server's event-loop delay (ms) since the previous call. */
  eventLoopDelay(): Promise<{ p50: number; p99: number; max: number }>;
  /** CPU time the server process used so far (user+system, ms), from /proc. */
  cpuMs(): number;
  stop(): Promise<void>;
}

export async function startServer(mode: ServerMode, o: { dataDir?: string; limits?: Record<string, unknown> } = {}): Promise<ServerHandle> {
  const child: ChildProcess = fork(path.join(ROOT, 'bench/servers/child.ts'), [mode, o.dataDir ?? ''], {
    // PARLEY_BENCH_CPU_PROF=<dir>: write a V8 CPU profile of each relay process there (open in Chrome DevTools).
    execArgv: ['--import', 'tsx', '--expose-gc', ...(process.env.PARLEY_BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PARLEY_BENCH_CPU_PROF}`] : [])],
    env: { ...process.env, PARLEY_BENCH_LIMITS: JSON.stringify(o.limits ?? {}) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = await new Promise<{ url: string; fingerprint: string | null }>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${mode} server did not start in 30 s`)), 30_000);
    child.once('exit', (code) => reject(new Error(`${mode} server exited with ${String(code)}`)));
    child.on('message', (m: { type: string; url: string; fingerprint: string | null; message?: string }) => {
      if (m.type === 'ready') {
        clearTimeout(t);
        resolve(m);
      } else if (m.type === 'error') {
        clearTimeout(t);
        reject(new Error(`${mode} server failed: ${m.message ?? ''}`));
      }
    });
  });
  const pid = child.pid!;
  return {
    mode,
    url: ready.url,
    fingerprint: ready.fingerprint,
    pid,
    rss: () =>
      new Promise((resolve) => {
        const on = (m: { type: string; rss: number; heapUsed: number }): void => {
          if (m.type !== 'rss') return;
          child.off('message', on);
          resolve({ rss: m.rss, heapUsed: m.heapUsed });
        };
        child.on('message', on);
        child.send({ type: 'rss' });
      }),
    eventLoopDelay: () =>
      new Promise((resolve) => {
        const on = (m: { type: string; p50: number; p99: number; max: number }): void => {
          if (m.type !== 'eld') return;
          child.off('message', on);
          resolve({ p50: m.p50, p99: m.p99, max: m.max });
        };
        child.on('message', on);
        child.send({ type: 'eld' });
      }),
    cpuMs() {
      try {
        // /proc/<pid>/stat fields 14, 15: utime, stime in clock ticks (100/s on Linux).
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return (Number(f[11]) + Number(f[12])) * 10;
      } catch {
        return NaN;
      }
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.send({ type: 'stop' });
      const t = setTimeout(() => child.kill('SIGKILL'), 8000);
      await exited;
      clearTimeout(t);
    },
  };
}
