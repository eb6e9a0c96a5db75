/**
 * attachment (issue 12): a 100 MiB file (--quick: 20 MiB) from sender to recipient through a local relay (a child
 * process), each client in its own process (bench/lib/attachment-client.ts): timed from the sender's sendFiles to
 * the recipient's saved file (encrypt + upload + message + download + verify + decrypt to disk). Baselines measured
 * in the same run on the same bytes: raw AES-256-GCM encryption in 64 KiB chunks (node:crypto, one thread) and a
 * plain loopback TCP socket copy; the slower of the two is the baseline. Targets: throughput ratio ≥ 0.5; peak RSS
 * growth of each client during the transfer ≤ 64 MiB (sampled every 10 ms from after unlock, connect and two GCs).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { median, now, ROOT, row, type Bench } from './lib/common.js';
import { fixture } from './lib/ids.js';
import { startServer, type ServerHandle } from './lib/server.js';
import { BENCH_LIMITS } from './routing.js';
import { ParleyService } from '../electron/core/service.js';

const PASS = 'benchmark passphrase';
const MiB = 2 ** 20;
const CHUNK = 64 * 1024;

/** MiB/s of AES-256-GCM over `bytes` in 64 KiB chunks, each with its own nonce and tag (what STREAM does). */
function aesGcmRate(data: Buffer): number {
  const key = randomBytes(32);
  const t0 = now();
  for (let off = 0, i = 0; off < data.length; off += CHUNK, i++) {
    const nonce = Buffer.alloc(12);
    nonce.writeUInt32BE(i, 8);
    const c = createCipheriv('aes-256-gcm', key, nonce);
    c.update(data.subarray(off, off + CHUNK));
    c.final();
    c.getAuthTag();
  }
  return data.length / MiB / ((now() - t0) / 1000);
}

/** MiB/s of copying `data` over a loopback TCP socket (64 KiB writes, respecting backpressure). */
async function loopbackRate(data: Buffer): Promise<number> {
  let received = 0;
  let done: () => void = () => undefined;
  const all = new Promise<void>((r) => (done = r));
  const server = net.createServer((s) =>
    s.on('data', (d: Buffer) => {
      received += d.length;
      if (received >= data.length) done();
    }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const sock = net.connect(port, '127.0.0.1');
  await new Promise<void>((r) => sock.once('connect', r));
  const t0 = now();
  for (let off = 0; off < data.length; off += CHUNK) {
    if (!sock.write(data.subarray(off, off + CHUNK))) await new Promise<void>((r) => sock.once('drain', r));
  }
  await all;
  const ms = now() - t0;
  sock.destroy();
  await new Promise<void>((r) => server.close(() => r()));
  return data.length / MiB / (ms / 1000);
}

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(file)) h.update(c as Buffer);
  return h.digest('hex');
}

/** PARLEY_BENCH_CPU_PROF=<dir>: a V8 CPU profile of each client process too (the relay's: bench/lib/server.ts). */
function cpuProf(): string[] {
  const dir = process.env.PARLEY_BENCH_CPU_PROF;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

interface Client {
  proc: ChildProcess;
  /** Every line the client printed so far. */
  seen: Array<Record<string, unknown>>;
  next(pred: (o: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
}

function client(args: string[]): Client {
  const proc = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', ...cpuProf(), path.join(ROOT, 'bench/lib/attachment-client.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, PARLEY_PASSPHRASE: PASS, NODE_NO_WARNINGS: '1' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const seen: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  let closed = false;
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    seen.push(JSON.parse(l) as Record<string, unknown>);
    for (const w of waiters.splice(0)) w();
  });
  proc.on('close', () => {
    closed = true;
    for (const w of waiters.splice(0)) w();
  });
  return {
    proc,
    seen,
    next: (pred) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const hit = seen.find(pred);
          if (hit) return resolve(hit);
          if (closed) return reject(new Error(`attachment client ${args[0]} exited early`));
          waiters.push(check);
        };
        check();
      }),
  };
}

/** What each stage between two marks of the clients (bench/lib/attachment-client.ts) covers. */
const STAGES: Record<string, string> = {
  queued: 'sendFiles: checks, message and attachment rows',
  'up-first': 'blob-begin, blob-offset, blob-token, first 512 KiB encrypted and sent',
  'up-done': 'encrypt + HTTP PUT of the rest (relay writes as it arrives)',
  sent: 'blob-complete (relay fsync + hash check + metadata) + seal + envelope acknowledged',
  received: 'envelope to the recipient, opened, stored',
  'down-first': 'blob-token, GET, first 1 MiB written and hashed',
  'down-done': 'download of the rest (write + SHA-256 as it arrives, fsync)',
  saved: 'decrypt (every tag again) to a temporary file, fsync, rename',
};

/** The clients' marks in time order, each with the ms since the previous one. */
function stages(clients: Client[]): Array<{ stage: string; ms: number; mono?: number }> {
  const marks = clients
    .flatMap((c) => c.seen)
    .filter((o) => typeof o.mark === 'string')
    .map((o) => ({ stage: o.mark as string, t: o.t as number, mono: o.mono as number }))
    .sort((a, b) => a.t - b.t);
  // `mono`: the monotonic clock (µs) the stage ended at, the clock of V8 CPU profiles (PARLEY_BENCH_CPU_PROF).
  return marks.slice(1).map((m, i) => ({ stage: m.stage, ms: m.t - marks[i]!.t, mono: m.mono }));
}

/** "where the time goes": median ms per stage over the runs, in the order of the first run. */
function stageNote(runs: Array<{ stages: Array<{ stage: string; ms: number; mono?: number }> }>): string {
  const order = runs[0]?.stages.map((s) => s.stage) ?? [];
  return order.map((st) => `${st} ${median(runs.map((r) => r.stages.find((s) => s.stage === st)?.ms ?? 0)).toFixed(0)} (${STAGES[st] ?? st})`).join('; ');
}

/** One transfer: MiB/s end to end, each client's peak RSS growth (MiB) and the time per stage. */
async function transfer(
  root: string,
  relay: ServerHandle,
  file: string,
  run: number,
): Promise<{ rate: number; sendMs: number; senderGrowth: number; recipientGrowth: number; intact: boolean; stages: Array<{ stage: string; ms: number; mono?: number }>; gc: Record<'sender' | 'recipient', { ms: number; count: number }>; cpuMs: Record<'sender' | 'recipient' | 'relay', number> }> {
  const alice = path.join(root, `alice-${run}`);
  const bob = path.join(root, `bob-${run}`);
  // The recipient first (the sender looks it up); fresh fixture identities per run (one username per key).
  for (const [dir, username, n] of [[bob, `bob${run}`, 2 * run + 1], [alice, `alice${run}`, 2 * run]] as const) {
    const s = new ParleyService({ profileDir: dir, vault: 'file', passphrase: PASS, kdfIterations: 600_000 });
    await s.createIdentityFrom((await fixture(n)).secret, { username, relayUrl: relay.url, vault: 'file', passphrase: PASS });
    if (username.startsWith('alice')) {
      await s.waitOnline(60_000);
      await s.addContact({ username: `bob${run}` });
    }
    await s.close();
  }
  const out = path.join(root, `received-${run}.bin`);
  const recv = client(['receive', bob, out]);
  const send = client(['send', alice, `bob${run}`, file]);
  try {
    const [r0, s0] = await Promise.all([recv.next((o) => o.ready === true), send.next((o) => o.ready === true)]);
    const relayCpu0 = relay.cpuMs();
    const t0 = now();
    send.proc.stdin!.write('go\n');
    const sent = await send.next((o) => typeof o.sent === 'number');
    await recv.next((o) => o.saved === true);
    const ms = now() - t0;
    const [rPeak, sPeak] = await Promise.all([recv.next((o) => typeof o.peakRss === 'number'), send.next((o) => typeof o.peakRss === 'number')]);
    const [rGc, sGc] = await Promise.all([recv.next((o) => typeof o.gcMs === 'number'), send.next((o) => typeof o.gcMs === 'number')]);
    const size = statSync(file).size;
    return {
      rate: size / MiB / (ms / 1000),
      sendMs: sent.sent as number,
      senderGrowth: ((sPeak.peakRss as number) - (s0.rss as number)) / MiB,
      recipientGrowth: ((rPeak.peakRss as number) - (r0.rss as number)) / MiB,
      intact: (await sha256(out)) === (await sha256(file)),
      stages: stages([send, recv]),
      gc: { sender: { ms: sGc.gcMs as number, count: sGc.gcs as number }, recipient: { ms: rGc.gcMs as number, count: rGc.gcs as number } },
      cpuMs: { sender: sGc.cpuMs as number, recipient: rGc.cpuMs as number, relay: relay.cpuMs() - relayCpu0 },
    };
  } finally {
    for (const c of [send, recv]) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
    rmSync(out, { force: true });
  }
}

export const attachmentBench: Bench = async (o) => {
  const id = 'attachment';
  const size = (o.quick ? 20 : 100) * MiB;
  const title = `Attachment: a ${size / MiB} MiB file sender → local relay → recipient (saved, verified) vs the slower of AES-256-GCM and a loopback socket copy`;
  const runs = o.quick ? 1 : Math.min(o.runs, 2);
  const root = mkdtempSync(path.join(os.tmpdir(), 'parley-bench-attachment-'));
  const relay = await startServer('parley', { dataDir: path.join(root, 'relay'), limits: BENCH_LIMITS });
  try {
    const data = Buffer.alloc(size);
    for (let off = 0; off < size; off += MiB) randomBytes(MiB).copy(data, off);
    const file = path.join(root, 'file.bin');
    writeFileSync(file, data);
    const aes: number[] = [];
    const sock: number[] = [];
    for (let i = 0; i < 3; i++) {
      aes.push(aesGcmRate(data));
      sock.push(await loopbackRate(data));
    }
    const results = [];
    for (let r = 0; r < runs; r++) {
      o.log(`transfer ${r + 1}/${runs}`);
      results.push(await transfer(root, relay, file, r));
    }
    const aesRate = median(aes);
    const sockRate = median(sock);
    const baseline = Math.min(aesRate, sockRate);
    const rate = median(results.map((x) => x.rate));
    const sGrowth = Math.max(...results.map((x) => x.senderGrowth));
    const rGrowth = Math.max(...results.map((x) => x.recipientGrowth));
    const intact = results.every((x) => x.intact);
    return {
      id,
      title,
      rows: [
        row({ metric: 'end-to-end throughput', unit: 'MiB/s', parley: rate, baseline, target: 'ratio ≥ 0.5', met: intact && rate / baseline >= 0.5, baselineLabel: aesRate <= sockRate ? 'AES-256-GCM' : 'loopback socket' }),
        row({ metric: 'sender peak RSS growth', unit: 'MiB', parley: sGrowth, baseline: null, target: '≤ 64 MiB', met: sGrowth <= 64 }),
        row({ metric: 'recipient peak RSS growth', unit: 'MiB', parley: rGrowth, baseline: null, target: '≤ 64 MiB', met: rGrowth <= 64 }),
        row({ metric: 'AES-256-GCM, 64 KiB chunks', unit: 'MiB/s', parley: null, baseline: aesRate, target: 'info', met: null }),
        row({ metric: 'loopback socket copy', unit: 'MiB/s', parley: null, baseline: sockRate, target: 'info', met: null }),
      ],
      notes: [
        `received file SHA-256 ${intact ? 'equal' : 'DIFFERENT'} to the sent one`,
        `where the time goes, ms after the previous stage (median of ${results.length} run(s)): ${stageNote(results)}`,
        `CPU time during the transfer (first run; from "ready" to the end, user + system): sender ${results[0]!.cpuMs.sender.toFixed(0)} ms, relay ${results[0]!.cpuMs.relay.toFixed(0)} ms, recipient ${results[0]!.cpuMs.recipient.toFixed(0)} ms`,
        `garbage collection during the transfer (first run): sender ${results[0]!.gc.sender.ms.toFixed(0)} ms in ${results[0]!.gc.sender.count} pauses, recipient ${results[0]!.gc.recipient.ms.toFixed(0)} ms in ${results[0]!.gc.recipient.count}`,
        'Parley runs encrypt + upload, then download + full verification + decrypt to disk (the file is verified before any plaintext is written): three passes over the bytes on the recipient, one on the sender',
      ],
      details: { runs: results, aes, sock },
    };
  } finally {
    await relay.stop();
    rmSync(root, { recursive: true, force: true });
  }
};
