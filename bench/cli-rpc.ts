/**
 * cli-rpc (issue 16): N sends (1 000; --quick 200) through `cli rpc` (a child process, JSON-RPC over its stdin and
 * stdout) against N in-process `sendMessage` calls on the same profile (the same core, ParleyService) in the same
 * run. Both sides keep 64 sends in flight and are timed from the first request to the last message's `sent` state
 * (the relay has accepted it), so the ratio is what the JSON-RPC process boundary costs. Target: rpc rate ≥ 0.8 ×
 * in-process rate. The relay is a real one in a child process; the recipient is offline (the relay queues).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { median, now, ROOT, row, type Bench } from './lib/common.js';
import { fixture } from './lib/ids.js';
import { startServer } from './lib/server.js';
import { BENCH_LIMITS } from './routing.js';
import { ParleyService } from '../electron/core/service.js';

const PASS = 'benchmark passphrase';
const WINDOW = 64;

/** N sends in-process with WINDOW in flight; ms until every one is 'sent'. */
async function inProcess(profileDir: string, to: string, n: number, tag: string): Promise<number> {
  const svc = new ParleyService({ profileDir, vault: 'file', passphrase: PASS, kdfIterations: 600_000 });
  try {
    await svc.start();
    await svc.waitOnline(30_000);
    const mine = new Set<string>();
    let sent = 0;
    let resolveAll: () => void = () => undefined;
    const all = new Promise<void>((r) => (resolveAll = r));
    const early = new Set<string>();
    svc.on('message-state', (s) => {
      if (s.state !== 'sent' && s.state !== 'delivered') return;
      if (mine.has(s.id)) {
        mine.delete(s.id);
        if (++sent === n) resolveAll();
      } else early.add(s.id);
    });
    const t0 = now();
    let next = 0;
    await Promise.all(
      Array.from({ length: WINDOW }, async () => {
        while (next < n) {
          const i = next++;
          const m = await svc.sendMessage({ conversation: `d:${to}`, text: `in-process ${tag} ${i}` });
          if (early.delete(m.id) || m.state === 'sent') {
            if (++sent === n) resolveAll();
          } else mine.add(m.id);
        }
      }),
    );
    await all;
    return now() - t0;
  } finally {
    await svc.close();
  }
}

/** The same N sends through `cli rpc`; ms from the first request to the last 'sent' notification. */
async function viaRpc(profileDir: string, to: string, n: number, tag: string): Promise<{ ms: number; startMs: number }> {
  const tSpawn = now();
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'electron/cli/index.ts'), '--profile', profileDir, 'rpc'], {
    cwd: ROOT,
    env: { ...process.env, PARLEY_PASSPHRASE: PASS, NODE_NO_WARNINGS: '1' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  try {
    let buf = '';
    let online: () => void = () => undefined;
    const isOnline = new Promise<void>((r) => (online = r));
    const waiting = new Map<number, (m: { id: string; state: string }) => void>();
    const sentIds = new Set<string>();
    const earlySent = new Set<string>();
    let sent = 0;
    let resolveAll: () => void = () => undefined;
    const all = new Promise<void>((r) => (resolveAll = r));
    const count = (): void => {
      if (++sent === n) resolveAll();
    };
    proc.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const m = JSON.parse(buf.slice(0, i)) as { id?: number; method?: string; params?: { status?: string; id?: string; state?: string }; result?: { id: string; state: string }; error?: { message: string } };
        buf = buf.slice(i + 1);
        if (m.method === 'connection' && m.params?.status === 'online') online();
        else if (m.method === 'state' && (m.params?.state === 'sent' || m.params?.state === 'delivered')) {
          const id = m.params.id!;
          if (sentIds.delete(id)) count();
          else earlySent.add(id);
        } else if (typeof m.id === 'number') {
          if (m.error) throw new Error(`rpc send failed: ${m.error.message}`);
          waiting.get(m.id)?.(m.result!);
          waiting.delete(m.id);
        }
      }
    });
    const exited = new Promise<never>((_, reject) => proc.once('exit', (c) => reject(new Error(`rpc exited early (${c})`))));
    await Promise.race([isOnline, exited]);
    const startMs = now() - tSpawn;
    const t0 = now();
    let next = 0;
    let rid = 1;
    await Promise.race([
      exited,
      Promise.all(
        Array.from({ length: WINDOW }, async () => {
          while (next < n) {
            const i = next++;
            const id = rid++;
            const res = await new Promise<{ id: string; state: string }>((resolve) => {
              waiting.set(id, resolve);
              proc.stdin.write(JSON.stringify({ jsonrpc: '2.0', id, method: 'send', params: { to, text: `rpc ${tag} ${i}` } }) + '\n');
            });
            if (earlySent.delete(res.id) || res.state === 'sent') count();
            else sentIds.add(res.id);
          }
        }),
      ),
    ]);
    await Promise.race([all, exited]);
    const ms = now() - t0;
    proc.stdin.end();
    await new Promise((r) => proc.once('close', r));
    return { ms, startMs };
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
  }
}

export const cliRpcBench: Bench = async (o) => {
  const id = 'cli-rpc';
  const n = o.quick ? 200 : 1000;
  const runs = o.quick ? 1 : Math.min(o.runs, 3);
  const title = `Scripted sends: ${n} via \`cli rpc\` vs ${n} in-process sendMessage on the same profile`;
  const root = mkdtempSync(path.join(os.tmpdir(), 'parley-bench-rpc-'));
  const relay = await startServer('parley', { dataDir: path.join(root, 'relay'), limits: BENCH_LIMITS });
  const tag = Date.now().toString(36);
  const aliceDir = path.join(root, 'alice');
  const bob = `bob${tag}`;
  const samples: Array<{ inProcMs: number; rpcMs: number; ratio: number; rpcStartMs: number }> = [];
  try {
    const [aliceFx, bobFx] = [await fixture(0), await fixture(1)];
    const setup = async (dir: string, secret: typeof aliceFx.secret, username: string): Promise<void> => {
      const s = new ParleyService({ profileDir: dir, vault: 'file', passphrase: PASS, kdfIterations: 600_000 });
      await s.createIdentityFrom(secret, { username, relayUrl: relay.url, vault: 'file', passphrase: PASS });
      if (username !== bob) {
        await s.waitOnline(30_000);
        await s.addContact({ username: bob });
      }
      await s.close();
    };
    await setup(path.join(root, 'bob'), bobFx.secret, bob);
    await setup(aliceDir, aliceFx.secret, `alice${tag}`);
    for (let r = 0; r < runs; r++) {
      // Alternate which side goes first, so drift on the shared machine does not favour one.
      let inProcMs: number;
      let rpc: { ms: number; startMs: number };
      if (r % 2 === 0) {
        inProcMs = await inProcess(aliceDir, bob, n, `${r}`);
        rpc = await viaRpc(aliceDir, bob, n, `${r}`);
      } else {
        rpc = await viaRpc(aliceDir, bob, n, `${r}`);
        inProcMs = await inProcess(aliceDir, bob, n, `${r}`);
      }
      samples.push({ inProcMs, rpcMs: rpc.ms, ratio: inProcMs / rpc.ms, rpcStartMs: rpc.startMs });
      o.log(`cli-rpc: run ${r + 1}: in-process ${inProcMs.toFixed(0)} ms, rpc ${rpc.ms.toFixed(0)} ms (process start to online ${rpc.startMs.toFixed(0)} ms)`);
    }
  } finally {
    await relay.stop();
    rmSync(root, { recursive: true, force: true });
  }
  const inProc = median(samples.map((s) => (n * 1000) / s.inProcMs));
  const viaRpcRate = median(samples.map((s) => (n * 1000) / s.rpcMs));
  const ratio = median(samples.map((s) => s.ratio));
  return {
    id,
    title,
    rows: [
      row({ metric: 'sends via rpc', unit: 'msg/s', parley: viaRpcRate, baseline: inProc, ratio, target: 'ratio ≥ 0.8', met: ratio >= 0.8, baselineLabel: 'in-process sendMessage' }),
      row({ metric: 'rpc start to online (once per script)', unit: 'ms', parley: median(samples.map((s) => s.rpcStartMs)), baseline: null, target: 'info', met: null }),
    ],
    notes: [`${WINDOW} sends in flight on both sides, timed to the last 'sent'; ratio = median of per-run in-process time / rpc time`],
    details: { samples, n },
  };
};
