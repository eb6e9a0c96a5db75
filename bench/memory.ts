/**
 * 6. Relay memory: RSS per 1 000 idle authenticated connections (relay in a child process; RSS after two forced
 * GCs before and after connecting). Baselines: the raw ws forwarder and a bare socket.io server with the same
 * clients (connected, identified, idle). Target: Parley ≤ 35 MB per 1 000.
 */
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, row, sleep, median, type Bench } from './lib/common.js';
import { benchIdentities, connectAll, type LoadClient } from './lib/clients.js';
import { startServer, type ServerMode } from './lib/server.js';
import { fixture } from './lib/ids.js';
import { BENCH_LIMITS } from './routing.js';

/**
 * Connect n/2, measure, connect n/2 more, measure. `marginal` (MB per 1 000, from the second half) excludes one-time
 * costs a first connection pays (JIT, SQLite page cache, malloc arenas of the crypto threads); `total` is the whole
 * growth from the idle server, scaled to 1 000.
 */
async function perThousand(mode: ServerMode, n: number, rsa: string, runs: number): Promise<{ marginal: number; total: number; samples: Array<{ marginal: number; total: number }> }> {
  const samples: Array<{ marginal: number; total: number }> = [];
  const MB = 2 ** 20;
  for (let r = 0; r < runs; r++) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-bench-mem-'));
    const server = await startServer(mode, { dataDir: dir, limits: BENCH_LIMITS });
    let clients: LoadClient[] = [];
    try {
      const ids = await benchIdentities(n, rsa, `m${r}${Date.now().toString(36)}u`);
      const half = n >> 1;
      await sleep(300);
      const before = (await server.rss()).rss;
      clients = await connectAll(mode, server.url, server.fingerprint, ids.slice(0, half), { onDeliver: () => undefined });
      await sleep(1000);
      const mid = (await server.rss()).rss;
      clients.push(...(await connectAll(mode, server.url, server.fingerprint, ids.slice(half), { onDeliver: () => undefined })));
      await sleep(1000);
      const after = (await server.rss()).rss;
      samples.push({ marginal: ((after - mid) / MB) * (1000 / (n - half)), total: ((after - before) / MB) * (1000 / n) });
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
  const rsa = (await fixture(0)).public.enc;
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
    notes: ['ratio = Parley / baseline (lower is better); marginal = RSS added by the second half of the connections (one-time costs excluded)'],
    details: { parley: p.samples, ws: ws.samples, sio: sio.samples, connections: n },
  };
};
