/**
 * 4. Relay routing: N connected clients (1 000; --quick 100), authenticated for Parley, sending ~1.8 KB envelopes
 * (the smallest real envelope: a 200-byte text in the 256-byte bucket plus two RSA-4096 wrapped keys) to their
 * neighbour through the relay, against a minimal raw `ws` forwarding relay with the same clients. Relays run in a
 * child process, clients here, real sockets on 127.0.0.1. Where the time goes comes from relay variants measured
 * the same way, each relay process's CPU time per message:
 *   ws → sio (socket.io framing, acks) → sio-validate (+ zod schema, Ed25519 verify) → parley-mem (Parley's relay,
 *   in-memory store: + auth state, rate limits, per-recipient delivery windows, acks) → parley (+ SQLite group commit).
 * Targets: msg/s ≥ 0.3 × raw ws (stretch 0.5); p99 ≤ 5 ms at 2 000 msg/s offered; no envelope lost.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { median, now, row, type Bench, type Row } from './lib/common.js';
import { benchIdentities, connectAll, makeEnvelope } from './lib/clients.js';
import { startServer, type ServerMode } from './lib/server.js';
import { closedLoop, makeEnvelopes, openLoop, Traffic, type LoadResult } from './lib/traffic.js';
import { fixture } from './lib/ids.js';
import { existsSync } from 'node:fs';
import { fromB64u, importVerifyKey, sendSchema, verifyEnvelopeSignature, type Envelope } from '../relay/protocol/index.js';
import { ROOT } from './lib/common.js';

/** Per-envelope cost of the relay's checks, measured in isolation here (µs). */
async function validationCosts(ids: Awaited<ReturnType<typeof benchIdentities>>): Promise<{ zod: number; verify: number; importKey: number; json: number }> {
  const envs = Array.from({ length: 300 }, (_, i) => makeEnvelope(ids[i % ids.length]!, ids[(i + 1) % ids.length]!.fp));
  const sender = new Map(ids.map((x) => [x.fp, x.identity]));
  const time = async (fn: (e: Envelope) => unknown): Promise<number> => {
    for (const e of envs.slice(0, 30)) await fn(e);
    const t0 = now();
    for (const e of envs) await fn(e);
    return ((now() - t0) * 1000) / envs.length;
  };
  const zod = await time((e) => sendSchema.safeParse({ envelope: e }));
  const verify = await time(async (e) => {
    if (!(await verifyEnvelopeSignature(e, sender.get(e.from)!))) throw new Error('bench envelope does not verify');
  });
  const importKey = await time((e) => importVerifyKey(fromB64u(sender.get(e.from)!.sig)));
  const json = await time((e) => JSON.parse(JSON.stringify({ envelope: e })));
  return { zod, verify, importKey, json };
}

export const BENCH_LIMITS = {
  connBurst: 1_000_000, connPerSec: 1_000_000, sendBurst: 1_000_000, sendPerSec: 1_000_000,
  queueQuota: 1_000_000, queueQuotaBytes: 2_000_000_000,
};

interface VariantResult {
  mode: ServerMode;
  throughput: LoadResult[];
  msgPerSec: number;
  cpuUsPerMsg: number;
  /** CPU of this (client) process per delivered message: the load generator's own cost. */
  clientCpuUsPerMsg?: number;
  latency: LoadResult | null;
  latencyLow?: LoadResult;
  connectMs: number;
  error?: string;
}

const LABEL: Record<ServerMode, string> = {
  ws: 'raw ws forwarder',
  sio: 'bare socket.io forwarder',
  'sio-validate': 'socket.io + zod + Ed25519 verify',
  'parley-mem': 'Parley relay, in-memory store',
  parley: 'Parley relay (SQLite)',
};

export const routingBench: Bench = async (o) => {
  const id = 'routing';
  const n = o.quick ? 100 : 1000;
  const perClient = o.quick ? 20 : 10;
  const latencyMs = o.quick ? 1500 : 5000;
  const rate = 2000;
  // About 1 000 envelopes in flight whatever the client count (1 per client at 1 000 clients).
  const window = Math.max(1, Math.round(1000 / n));
  const title = `Relay routing: ${n} clients, neighbour to neighbour (Parley relay vs raw ws forwarder)`;
  const rsa = (await fixture(0)).public.enc;
  const ids = await benchIdentities(n, rsa, `b${Date.now().toString(36)}u`);
  const relayAvailable = existsSync(path.join(ROOT, 'relay/server/index.ts'));
  const modes: ServerMode[] = relayAvailable ? ['ws', 'sio', 'sio-validate', 'parley-mem', 'parley'] : ['ws', 'sio', 'sio-validate'];
  const results = new Map<ServerMode, VariantResult>();
  for (const mode of modes) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-bench-routing-'));
    const server = await startServer(mode, { dataDir: dir, limits: BENCH_LIMITS });
    const traffic = new Traffic();
    let clients: Awaited<ReturnType<typeof connectAll>> = [];
    const v: VariantResult = { mode, throughput: [], msgPerSec: NaN, cpuUsPerMsg: NaN, latency: null, connectMs: 0 };
    try {
      const t0 = now();
      clients = await connectAll(mode, server.url, server.fingerprint, ids, traffic.hooks);
      v.connectMs = now() - t0;
      // Warm-up: one message per client.
      await closedLoop(clients, makeEnvelopes(ids, 1, makeEnvelope), 1, traffic);
      const cpu: number[] = [];
      const clientCpu: number[] = [];
      for (let r = 0; r < o.runs; r++) {
        const envs = makeEnvelopes(ids, perClient, makeEnvelope);
        const c0 = server.cpuMs();
        const u0 = process.cpuUsage();
        const res = await closedLoop(clients, envs, window, traffic);
        const u = process.cpuUsage(u0);
        cpu.push(((server.cpuMs() - c0) * 1000) / Math.max(1, res.delivered));
        clientCpu.push((u.user + u.system) / Math.max(1, res.delivered));
        v.throughput.push(res);
      }
      v.msgPerSec = median(v.throughput.map((x) => x.msgPerSec));
      v.cpuUsPerMsg = median(cpu);
      v.clientCpuUsPerMsg = median(clientCpu);
      const per = Math.ceil((rate * latencyMs) / 1000 / n) + 1;
      v.latency = await openLoop(clients, makeEnvelopes(ids, per, makeEnvelope), rate, latencyMs, traffic);
      if (mode === 'parley' || mode === 'ws') {
        // Below capacity: the latency floor (for Parley: group-commit wait + fsync before forwarding).
        const low = 500;
        v.latencyLow = await openLoop(clients, makeEnvelopes(ids, Math.ceil((low * latencyMs) / 1000 / n) + 1, makeEnvelope), low, latencyMs, traffic);
      }
      o.log(`routing: ${mode}: ${v.msgPerSec.toFixed(0)} msg/s, relay CPU ${v.cpuUsPerMsg.toFixed(0)} µs/msg, clients ${v.clientCpuUsPerMsg!.toFixed(0)} µs/msg, p99 @${rate}/s ${v.latency.p99.toFixed(2)} ms, lost ${v.throughput.reduce((s, x) => s + x.lost, 0) + v.latency.lost}, connect ${(v.connectMs / 1000).toFixed(1)} s`);
    } catch (e) {
      v.error = e instanceof Error ? e.message : String(e);
      o.log(`routing: ${mode} failed: ${v.error}`);
    } finally {
      for (const c of clients) c?.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    results.set(mode, v);
  }
  const ws = results.get('ws')!;
  const p = results.get('parley');
  const lost = (v: VariantResult | undefined): number | null =>
    v && !v.error ? v.throughput.reduce((s, x) => s + x.lost, 0) + (v.latency?.lost ?? 0) + (v.latencyLow?.lost ?? 0) : null;
  const rows: Row[] = [];
  const parleyOk = p && !p.error;
  rows.push(row({ metric: 'delivered msg/s', unit: 'msg/s', parley: parleyOk ? p.msgPerSec : null, baseline: ws.msgPerSec, target: 'ratio ≥ 0.3 (stretch 0.5)', met: parleyOk ? p.msgPerSec / ws.msgPerSec >= 0.3 : null, baselineLabel: 'raw ws' }));
  rows.push(row({ metric: `p99 latency at ${rate} msg/s offered`, unit: 'ms', parley: parleyOk ? p.latency!.p99 : null, baseline: ws.latency?.p99 ?? null, target: '≤ 5 ms', met: parleyOk ? p.latency!.p99 <= 5 : null, baselineLabel: 'raw ws' }));
  rows.push(row({ metric: 'envelopes lost (all phases)', unit: 'count', parley: lost(p), baseline: lost(ws), ratio: null, target: '= 0', met: parleyOk ? lost(p) === 0 && p.throughput.every((x) => x.rejected === 0) && p.latency!.rejected === 0 && (p.latencyLow?.rejected ?? 0) === 0 : null, baselineLabel: 'raw ws' }));
  if (parleyOk && p.latencyLow) {
    rows.push(row({ metric: '  p99 latency at 500 msg/s offered', unit: 'ms', parley: p.latencyLow.p99, baseline: ws.latencyLow?.p99 ?? null, target: 'info', met: null, baselineLabel: 'raw ws' }));
    rows.push(row({ metric: '  p50 latency at 500 msg/s offered', unit: 'ms', parley: p.latencyLow.p50, baseline: ws.latencyLow?.p50 ?? null, target: 'info', met: null, baselineLabel: 'raw ws' }));
  }
  for (const mode of modes) {
    const v = results.get(mode)!;
    if (mode === 'ws' || v.error) continue;
    rows.push(row({ metric: `  ${LABEL[mode]}`, unit: 'msg/s', parley: v.msgPerSec, baseline: ws.msgPerSec, target: 'info', met: null, baselineLabel: 'raw ws' }));
  }
  const cpu = (m: ServerMode): number => results.get(m)?.cpuUsPerMsg ?? NaN;
  const steps: Array<[string, number]> = [
    ['raw ws forwarding', cpu('ws')],
    ['socket.io (framing, acks)', cpu('sio') - cpu('ws')],
    ['validation (zod + Ed25519 verify)', cpu('sio-validate') - cpu('sio')],
    ['relay logic (auth state, limits, delivery window, acks)', cpu('parley-mem') - cpu('sio-validate')],
    ['storage (SQLite group commit)', cpu('parley') - cpu('parley-mem')],
  ];
  const where = steps.filter(([, x]) => Number.isFinite(x)).map(([k, x]) => `${k} ${x.toFixed(0)} µs`).join('; ');
  const micro = await validationCosts(ids);
  const notes = [
    `relay-process CPU per delivered message — ${where}` + (Number.isFinite(cpu('parley')) ? ` (total Parley ${cpu('parley').toFixed(0)} µs)` : ''),
    `validation in isolation, per envelope: zod sendSchema ${micro.zod.toFixed(0)} µs, verifyEnvelopeSignature ${micro.verify.toFixed(0)} µs (of which Ed25519 key import ${micro.importKey.toFixed(0)} µs), JSON parse+stringify ${micro.json.toFixed(0)} µs`,
    `load-generator CPU per message (this process, all clients): ${modes.map((m) => `${m} ${results.get(m)?.clientCpuUsPerMsg?.toFixed(0) ?? '—'} µs`).join(', ')}`,
    `envelope on the wire ~${JSON.stringify(makeEnvelope(ids[0]!, ids[1]!.fp)).length} B JSON (200-byte text → 256-byte bucket + two 512-byte RSA wrapped keys); ${perClient}×${n} messages per run, ${window} in flight per client`,
  ];
  for (const [m, v] of results) if (v.error) notes.push(`${m} failed: ${v.error}`);
  if (!relayAvailable) notes.push('not measured: relay/server/index.ts does not exist yet');
  return {
    id,
    title,
    rows,
    notes,
    details: Object.fromEntries([...results].map(([m, v]) => [m, v])),
  };
};
