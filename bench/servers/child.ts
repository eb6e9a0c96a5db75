/**
 * A relay under test, in its own process (so its RSS and CPU are its own). Started by bench/lib/server.ts with
 * `node --import tsx --expose-gc bench/servers/child.ts <mode> <dataDir>`; talks over the IPC channel:
 *   → { type: 'ready', url, fingerprint }     ← { type: 'rss' } → { type: 'rss', rss, heapUsed }
 *   ← { type: 'eld' } → { type: 'eld', p50, p99, max } (event-loop delay in ms since the previous 'eld'; resets)
 *   ← { type: 'stop' } → exits after closing
 * Modes:
 *   ws            minimal raw `ws` relay: the first message names the client; each later message starts with the
 *                 recipient's 64-hex fingerprint and is forwarded unchanged. No parsing, no acks, no storage.
 *   sio           bare socket.io forwarder: `send` {envelope} → `deliver` to the recipient, ack the sender.
 *   sio-validate  the same plus what Parley's relay checks per envelope: zod schema, size, Ed25519 signature
 *                 (verify key imported once per identity; node:crypto on the threadpool, as the relay does). This is
 *                 the floor for any relay doing the protocol's checks over socket.io, before acks and storage.
 *   parley        Parley's relay (startRelay), SQLite in dataDir, rate limits raised for the benchmark.
 *   parley-mem    the same relay with an in-memory store (bench/servers/memory-store.ts): storage taken out.
 */
import { createServer } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { Server } from 'socket.io';
import { createPublicKey, verify as edVerify, type KeyObject } from 'node:crypto';
import { envelopeSignedParts, envelopeSize, frame, LABELS, sendSchema, type PublicIdentity } from '../../relay/protocol/index.js';

const [mode, dataDir] = process.argv.slice(2);

function send(m: unknown): void {
  process.send?.(m);
}

function rss(): { rss: number; heapUsed: number } {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed };
}

async function main(): Promise<() => Promise<void>> {
  if (mode === 'ws') {
    const http = createServer();
    const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
    const byFp = new Map<string, WebSocket>();
    wss.on('connection', (ws) => {
      let me: string | null = null;
      ws.on('message', (data, isBinary) => {
        if (me === null) {
          me = data.toString();
          byFp.set(me, ws);
          return;
        }
        const buf = data as Buffer;
        const to = buf.toString('latin1', 0, 64);
        byFp.get(to)?.send(buf, { binary: isBinary });
      });
      ws.on('close', () => {
        if (me && byFp.get(me) === ws) byFp.delete(me);
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const port = (http.address() as { port: number }).port;
    send({ type: 'ready', url: `ws://127.0.0.1:${port}`, fingerprint: null });
    return async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => http.close(() => r())));
    };
  }
  if (mode === 'sio' || mode === 'sio-validate') {
    const validate = mode === 'sio-validate';
    const http = createServer();
    const io = new Server(http, { transports: ['websocket'], serveClient: false, perMessageDeflate: false });
    const byFp = new Map<string, string>(); // fingerprint → socket id
    const ids = new Map<string, PublicIdentity>();
    const verifyKeys = new Map<string, KeyObject>();
    io.on('connection', (socket) => {
      let me: string | null = null;
      socket.on('hello', (p: { fingerprint: string; identity: PublicIdentity }, ack: (r: unknown) => void) => {
        me = p.fingerprint;
        byFp.set(me, socket.id);
        ids.set(me, p.identity);
        // Import the sender's verify key once (as the relay caches it per registered identity).
        verifyKeys.set(p.fingerprint, createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: p.identity.sig }, format: 'jwk' }));
        ack({ ok: true });
      });
      socket.on('send', async (p: unknown, ack: (r: unknown) => void) => {
        if (typeof ack !== 'function') return;
        let env = (p as { envelope: { from: string; to: string[] } }).envelope;
        if (validate) {
          const parsed = sendSchema.safeParse(p);
          if (!parsed.success || envelopeSize(parsed.data.envelope) > 256 * 1024) return ack({ ok: false, error: { code: 'BAD_REQUEST' } });
          const e = parsed.data.envelope;
          const key = verifyKeys.get(e.from);
          // As the relay does it: node:crypto's Ed25519 on libuv's threadpool.
          const signed = frame(LABELS.envelope, ...envelopeSignedParts(e));
          const ok = key && (await new Promise<boolean>((r) => edVerify(null, signed, key, Buffer.from(e.sig, 'base64url'), (err, v) => r(!err && v))));
          if (!ok) return ack({ ok: false, error: { code: 'BAD_SIGNATURE' } });
          env = parsed.data.envelope;
        }
        for (const to of env.to) {
          const sid = byFp.get(to);
          if (sid) io.to(sid).emit('deliver', { envelopes: [{ envelope: env, receivedAt: Date.now() }] });
        }
        ack({ ok: true, id: (env as { id?: string }).id, duplicate: false });
      });
      socket.on('disconnect', () => {
        if (me && byFp.get(me) === socket.id) byFp.delete(me);
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const port = (http.address() as { port: number }).port;
    send({ type: 'ready', url: `http://127.0.0.1:${port}`, fingerprint: null });
    return async () => {
      io.disconnectSockets(true);
      await new Promise<void>((r) => io.close(() => r()));
    };
  }
  if (mode === 'parley' || mode === 'parley-mem') {
    const root = path.resolve(__dirname, '..', '..');
    const mod = (await import(pathToFileURL(path.join(root, 'relay/server/index.ts')).href)) as {
      startRelay(o: Record<string, unknown>): Promise<{ url: string; fingerprint: string; close(): Promise<void> }>;
    };
    const limits = JSON.parse(process.env.PARLEY_BENCH_LIMITS ?? '{}') as Record<string, unknown>;
    const store = mode === 'parley-mem' ? new (await import('./memory-store.js')).MemoryEnvelopeStore() : undefined;
    const relay = await mod.startRelay({ host: '127.0.0.1', port: 0, dataDir, logger: false, advertise: false, limits, ...(store ? { store } : {}) });
    send({ type: 'ready', url: relay.url, fingerprint: relay.fingerprint });
    return () => relay.close();
  }
  throw new Error(`unknown mode ${String(mode)}`);
}

const eld = monitorEventLoopDelay({ resolution: 1 });
eld.enable();

main().then(
  (stop) => {
    process.on('message', (m: { type: string }) => {
      if (m.type === 'rss') send({ type: 'rss', ...rss() });
      if (m.type === 'eld') {
        send({ type: 'eld', p50: eld.percentile(50) / 1e6, p99: eld.percentile(99) / 1e6, max: eld.max / 1e6 });
        eld.reset();
      }
      if (m.type === 'stop') {
        const t = setTimeout(() => process.exit(0), 5000);
        stop().finally(() => {
          clearTimeout(t);
          process.exit(0);
        });
      }
    });
    process.on('disconnect', () => process.exit(0));
  },
  (e: unknown) => {
    send({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    process.exit(1);
  },
);
