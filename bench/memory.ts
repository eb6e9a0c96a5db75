/**
 * 6. Relay memory: RSS per 1 000 idle authenticated connections (relay in a child process; RSS after two forced
 * GCs before and after connecting). Baselines: the raw ws forwarder and a bare socket.io server with the same
 * clients (connected, identified, idle). Target: Parley ≤ 35 MB per 1 000.
 */
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, row, sleep, median, type Bench } from './lib/common.js';
import { benchIdentities, connectAll, registerAll, type LoadClient, type RsaFixture } from './lib/clients.js';
import { startServer, type ServerMode } from './lib/server.js';
import { fixture } from './lib/ids.js';
import { BENCH_LIMITS } from './routing.js';

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return num / den;
}

/**
 * Connect in 4 steps of n/4, reading RSS (after forced GCs) before and after each step. `marginal` (MB per 1 000)
 * is the least-squares slope over the steps after the first, which excludes one-time costs the first connections
 * pay (JIT, SQLite page cache, malloc arenas of the crypto threads); `total` is the whole growth from the idle
 * server, scaled to 1 000.
 */
async function perThousand(mode: ServerMode, n: number, rsa: RsaFixture, runs: number): Promise<{ marginal: number; total: number; samples: Array<{ marginal: number; total: number; rss: number[] }> }> {
  const samples: Array<{ marginal: number; total: number; rss: number[] }> = [];
  const MB = 2 ** 20;
  const steps = 4;
  for (let r = 0; r < runs; r++) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-bench-mem-'));
    const server = await startServer(mode, { dataDir: dir, limits: BENCH_LIMITS });
    const clients: LoadClient[] = [];
    try {
      const ids = await benchIdentities(n, rsa, `m${r}${Date.now().toString(36)}u`);
      if (mode === 'parley') {
        // Register every identity first over one connection: registration (an RSA key import per identity, a row
        // in the identities table) is not a cost of an idle connection.
        await registerAll(server.url, server.fingerprint!, ids);
        await sleep(500);
      }
      await sleep(300);
      const counts = [0];
      const rss = [(await server.rss()).rss / MB];
      for (let k = 0; k < steps; k++) {
        const part = ids.slice((k * n) / steps, ((k + 1) * n) / steps);
        clients.push(...(await connectAll(mode, server.url, server.fingerprint, part, { onDeliver: () => undefined }, 50, false)));
        await sleep(700);
        counts.push(clients.length);
        rss.push((await server.rss()).rss / MB);
      }
      samples.push({
        marginal: slope(counts.slice(1), rss.slice(1)) * 1000,
        total: ((rss[rss.length - 1]! - rss[0]!) * 1000) / n,
        rss: rss.map((x) => Math.round(x * 10) / 10),
      });
    } finally {
      for (const c of clients) c.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { marginal: median(samples.map((s) => s.marginal)), total: median(samples.map((s) => s.total)), samples };
}

export const memoryBench: Bench = async (o) => {
  const id = 'memory';
  const n = o.quick ? 300 : 1000;
  const title = `Relay memory: RSS per 1 000 idle authenticated connections (${n} connected)`;
  const rsa = await fixture(0);
  const runs = o.quick ? 1 : Math.min(o.runs, 2);
  const ws = await perThousand('ws', n, rsa, runs);
  const sio = await perThousand('sio', n, rsa, runs);
  const rows = [
    row({ metric: 'bare socket.io server, marginal', unit: 'MB/1000', parley: null, baseline: sio.marginal, target: 'info', met: null, baselineLabel: 'socket.io' }),
  ];
  if (!existsSync(path.join(ROOT, 'relay/server/index.ts'))) {
    return {
      id, title, notes: ['not measured: relay/server/index.ts does not exist yet'],
      rows: [row({ metric: 'RSS per 1 000 idle authenticated', unit: 'MB', parley: null, baseline: ws.marginal, target: '≤ 35 MB', met: null, baselineLabel: 'raw ws' }), ...rows],
    };
  }
  const p = await perThousand('parley', n, rsa, runs);
  return {
    id,
    title,
    rows: [
      row({ metric: 'RSS per 1 000 idle authenticated, marginal', unit: 'MB', parley: p.marginal, baseline: ws.marginal, target: '≤ 35 MB', met: p.marginal <= 35, baselineLabel: 'raw ws' }),
      row({ metric: 'RSS growth from idle relay, per 1 000', unit: 'MB', parley: p.total, baseline: ws.total, target: 'info', met: null, baselineLabel: 'raw ws' }),
      ...rows,
    ],
    notes: ['ratio = Parley / baseline (lower is better); marginal = least-squares slope of RSS over connections after the first quarter (one-time costs excluded); identities registered beforehand, connections authenticate and stay idle'],
    details: { parley: p.samples, ws: ws.samples, sio: sio.samples, connections: n },
  };
};
