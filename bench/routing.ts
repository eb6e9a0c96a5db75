/**
 * 4. Relay routing: N connected clients (1 000; --quick 100), authenticated for Parley, sending ~1.8 KB envelopes
 * (the smallest real envelope: a 200-byte text in the 256-byte bucket plus two RSA-4096 wrapped keys) to their
 * neighbour through the relay, against a minimal raw `ws` forwarding relay with the same clients. Relays run in a
 * child process, clients here, real sockets on 127.0.0.1. Where the time goes comes from relay variants measured
 * the same way, each relay process's CPU time per message:
 *   ws → sio (socket.io framing, acks) → sio-validate (+ zod schema, Ed25519 verify) → parley-mem (Parley's relay,
 *   in-memory store: + auth state, rate limits, per-recipient delivery windows, acks) → parley (+ SQLite group commit).
 * Targets: msg/s ≥ 0.3 × raw ws (stretch 0.5); p99 ≤ 5 ms at 2 000 msg/s offered; no envelope lost.
 * Throughput is the median of o.runs closed-loop runs; latency the median p99 of o.runs open-loop runs.
 * Feasibility: 'sio-validate' (socket.io + schema + the relay's Ed25519 check, nothing else) is a floor for any relay
 * that does the protocol's checks; the notes say whether the targets are reachable by that floor on this machine, and
 * the CPU budget per message that the 2 shared cores leave for load generator + relay.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { median, now, row, type Bench, type Row } from './lib/common.js';
import { benchIdentities, connectAll, makeEnvelope } from './lib/clients.js';
import { startServer, type ServerMode } from './lib/server.js';
import { closedLoop, makeEnvelopes, openLoop, Traffic, type LoadResult } from './lib/traffic.js';
import { fixture } from './lib/ids.js';
import { pinForBench } from './lib/pin.js';
import { existsSync } from 'node:fs';
import { createPublicKey, verify as edVerify } from 'node:crypto';
import { envelopeSignedParts, frame, LABELS, sendSchema, type Envelope } from '../relay/protocol/index.js';
import { ROOT } from './lib/common.js';

/** Per-envelope cost of the relay's checks, measured in isolation here (µs), the way the relay runs them. */
async function validationCosts(ids: Awaited<ReturnType<typeof benchIdentities>>): Promise<{ zod: number; verify: number; importKey: number; json: number }> {
  const envs = Array.from({ length: 300 }, (_, i) => makeEnvelope(ids[i % ids.length]!, ids[(i + 1) % ids.length]!.fp));
  const keys = new Map(ids.map((x) => [x.fp, createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: x.identity.sig }, format: 'jwk' })]));
  // Warmed up (JIT), then the median of 5 passes over 300 envelopes.
  const time = (fn: (e: Envelope) => unknown): number => {
    for (const e of envs) fn(e);
    const passes: number[] = [];
    for (let r = 0; r < 5; r++) {
      const t0 = now();
      for (const e of envs) fn(e);
      passes.push(((now() - t0) * 1000) / envs.length);
    }
    return median(passes);
  };
  const zod = time((e) => sendSchema.safeParse({ envelope: e }));
  // One core's cost of the signature check (the relay runs the same call in callback form, on the threadpool).
  const verify = time((e) => {
    const signed = frame(LABELS.envelope, ...envelopeSignedParts(e));
    if (!edVerify(null, signed, keys.get(e.from)!, Buffer.from(e.sig, 'base64url'))) throw new Error('bench envelope does not verify');
  });
  const importKey = time((e) => createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: ids.find((x) => x.fp === e.from)!.identity.sig }, format: 'jwk' }));
  const json = time((e) => JSON.parse(JSON.stringify({ envelope: e })));
  return { zod, verify, importKey, json };
}

export const BENCH_LIMITS = {
  connBurst: 1_000_000, connPerSec: 1_000_000, sendBurst: 1_000_000, sendPerSec: 1_000_000,
  queueQuota: 1_000_000, queueQuotaBytes: 2_000_000_000,
  maxConnectionsPerAddress: 1_000_000, // every benchmark client connects from 127.0.0.1
  registrationBurst: 1_000_000, registrationPerHour: 1_000_000, // and registers from there, all new identities
};

interface VariantResult {
  mode: ServerMode;
  throughput: LoadResult[];
  msgPerSec: number;
  cpuUsPerMsg: number;
  /** CPU of this (client) process per delivered message: the load generator's own cost. */
  clientCpuUsPerMsg?: number;
  latency: LoadResult | null;
  /** The relay's event-loop delay (ms) during the latency phase at the offered rate. */
  relayEventLoop?: { p50: number; p99: number; max: number };
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
  const rsa = await fixture(0);
  const ids = await benchIdentities(n, rsa, `b${Date.now().toString(36)}u`);
  const relayAvailable = existsSync(path.join(ROOT, 'relay/server/index.ts'));
  const all: ServerMode[] = relayAvailable ? ['ws', 'sio', 'sio-validate', 'parley-mem', 'parley'] : ['ws', 'sio', 'sio-validate'];
  // PARLEY_BENCH_ROUTING_MODES=ws,parley: only these relays (for profiling one; the raw ws baseline always runs).
  const only = process.env.PARLEY_BENCH_ROUTING_MODES?.split(',');
  const modes = only ? all.filter((m) => m === 'ws' || only.includes(m)) : all;
  const results = new Map<ServerMode, VariantResult>();
  // every relay variant (raw ws included) on its own core, the clients on the other(s)
  const pin = pinForBench();
  for (const mode of modes) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-bench-routing-'));
    const server = await startServer(mode, { dataDir: dir, limits: BENCH_LIMITS });
    pin?.pinRelay(server.pid);
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
      // The latency phase runs o.runs times; its figures are the medians (p99 of each run, then the median of those).
      const lat: LoadResult[] = [];
      const eld: Array<{ p50: number; p99: number; max: number }> = [];
      for (let r = 0; r < o.runs; r++) {
        await server.eventLoopDelay(); // reset
        lat.push(await openLoop(clients, makeEnvelopes(ids, per, makeEnvelope), rate, latencyMs, traffic));
        eld.push(await server.eventLoopDelay());
      }
      const mid = <T,>(xs: T[], f: (x: T) => number): number => median(xs.map(f));
      v.latency = { ...lat[0]!, p50: mid(lat, (x) => x.p50), p99: mid(lat, (x) => x.p99), lost: lat.reduce((a, x) => a + x.lost, 0), rejected: lat.reduce((a, x) => a + x.rejected, 0), delivered: lat.reduce((a, x) => a + x.delivered, 0) };
      v.relayEventLoop = { p50: mid(eld, (x) => x.p50), p99: mid(eld, (x) => x.p99), max: Math.max(...eld.map((x) => x.max)) };
      if (mode === 'parley' || mode === 'ws') {
        // Below capacity: the latency floor (for Parley: group-commit wait + fsync before forwarding).
        const low = 500;
        v.latencyLow = await openLoop(clients, makeEnvelopes(ids, Math.ceil((low * latencyMs) / 1000 / n) + 1, makeEnvelope), low, latencyMs, traffic);
      }
      o.log(`routing: ${mode}: ${v.msgPerSec.toFixed(0)} msg/s, relay CPU ${v.cpuUsPerMsg.toFixed(0)} µs/msg, clients ${v.clientCpuUsPerMsg!.toFixed(0)} µs/msg, p99 @${rate}/s ${v.latency.p99.toFixed(2)} ms (relay event loop p99 ${v.relayEventLoop.p99.toFixed(1)} ms, max ${v.relayEventLoop.max.toFixed(0)} ms), lost ${v.throughput.reduce((s, x) => s + x.lost, 0) + v.latency.lost}, connect ${(v.connectMs / 1000).toFixed(1)} s`);
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
  pin?.release();
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
  // What any relay doing the protocol's checks over socket.io can reach on this machine, measured in this run: the
  // 'sio-validate' forwarder (schema + signature, no acks, no storage, no state) is a floor for Parley's relay.
  const floor = results.get('sio-validate');
  const sio = results.get('sio');
  const feasibility: string[] = [];
  if (floor && !floor.error && sio && !sio.error) {
    const need = 0.3 * ws.msgPerSec;
    feasibility.push(
      `floor on this machine (same run): socket.io + schema + Ed25519 check alone, with no acks, storage or state, ` +
        `forwards ${floor.msgPerSec.toFixed(0)} msg/s = ${(floor.msgPerSec / ws.msgPerSec).toFixed(3)} of raw ws ` +
        `(target needs ${need.toFixed(0)} msg/s: ${floor.msgPerSec >= need ? 'reachable' : 'not reachable by any relay that checks signatures here'}); ` +
        `p99 at ${rate} msg/s: bare socket.io ${sio.latency?.p99.toFixed(2) ?? '—'} ms, with the checks ${floor.latency?.p99.toFixed(2) ?? '—'} ms ` +
        `(target ≤ 5 ms: ${(floor.latency?.p99 ?? Infinity) <= 5 ? 'reachable' : 'not reachable here by a relay that checks signatures'}); ` +
        (parleyOk ? `Parley reaches ${((p.msgPerSec / floor.msgPerSec) * 100).toFixed(0)}% of the floor's throughput` : ''),
    );
    feasibility.push(
      `CPU budget: both processes share ${os.cpus().length} cores, so ${need.toFixed(0)} msg/s leaves ${((os.cpus().length * 1e6) / need).toFixed(0)} µs of CPU per message ` +
        `for load generator + relay; measured: Parley clients ${p?.clientCpuUsPerMsg?.toFixed(0) ?? '—'} µs + bare socket.io relay ${cpu('sio').toFixed(0)} µs + Ed25519 check ${micro.verify.toFixed(0)} µs ` +
        `= ${((p?.clientCpuUsPerMsg ?? NaN) + cpu('sio') + micro.verify).toFixed(0)} µs before any storage or relay logic`,
    );
  }
  const notes = [
    pin ? pin.describe : 'not pinned (one core or no taskset): relay and load generator share every core',
    ...feasibility,
    `relay-process CPU per delivered message — ${where}` + (Number.isFinite(cpu('parley')) ? ` (total Parley ${cpu('parley').toFixed(0)} µs)` : ''),
    `validation in isolation, per envelope, one core: zod sendSchema ${micro.zod.toFixed(0)} µs, Ed25519 check (node:crypto, as the relay) ${micro.verify.toFixed(0)} µs, key import once per identity ${micro.importKey.toFixed(0)} µs, JSON parse+stringify ${micro.json.toFixed(0)} µs`,
    `relay event-loop delay at ${rate} msg/s offered: ${[...results].filter(([, v]) => v.relayEventLoop).map(([m, v]) => `${m} p99 ${v.relayEventLoop!.p99.toFixed(1)} / max ${v.relayEventLoop!.max.toFixed(0)} ms`).join(', ')}`,
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
