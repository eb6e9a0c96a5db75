/**
 * The Parley relay: socket.io 4 over HTTP(S), challenge–response auth, durable store-and-forward with group commit,
 * flow-controlled in-order delivery, token-bucket rate limits, abuse disconnects, /healthz and /metrics.
 * Envelope bodies are never logged: logs carry ids, sizes and fingerprints only.
 */
import { createPublicKey, randomBytes, verify as edVerify, type KeyObject } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { Server, type Socket } from 'socket.io';
import {
  CLIENT_EVENTS,
  CLIENT_SCHEMAS,
  LABELS,
  LIMITS,
  PROTOCOL_VERSION,
  PUBLIC_EVENTS,
  ProtocolError,
  authInput,
  canonicalHeader,
  frame,
  fromB64u,
  toB64u,
  validateIdentity,
  type PublicIdentity,
  verifyLabeled,
  rotationInput,
  type Ack,
  type AckRequest,
  type AuthRequest,
  type ClientEventName,
  type ClientToServer,
  type Delivered,
  type Envelope,
  type ErrorCode,
  type FetchRequest,
  type LookupRequest,
  type RegisterRequest,
  type SendRequest,
  type ServerToClient,
} from '../protocol/index.js';
import { loadRelayIdentity, relayKey } from './identity.js';
import { resolveLimits, TokenBucket, type RelayLimits } from './limits.js';
import { advertiseRelay, type Advertisement } from './mdns.js';
import { SqliteEnvelopeStore } from './store/sqlite.js';
import type { EnvelopeStore, QueueUsage, StoredIdentity } from './store/types.js';

export const RELAY_VERSION = '0.1.0';

export interface StartRelayOptions {
  host?: string;
  port?: number;
  dataDir: string;
  /** Serve TLS with the relay's self-signed certificate; forced on when host is not loopback. */
  tls?: boolean;
  /** Publish over mDNS (only when listening on a non-loopback address); default true. */
  advertise?: boolean;
  logger?: pino.Logger | false;
  limits?: Partial<RelayLimits>;
  /** Alternative storage backend; default SQLite in dataDir. */
  store?: EnvelopeStore;
}

export interface RelayMetrics {
  connections: number;
  authenticated: number;
  queuedEnvelopes: number;
  identities: number;
  envelopesAccepted: number;
  duplicates: number;
  delivered: number;
  deliveredLive: number;
  acked: number;
  expired: number;
  commits: number;
  committedWrites: number;
  foldedAcks: number;
  abuseDisconnects: number;
  sessionsReplaced: number;
  connectionsRefused: number;
  rejects: Partial<Record<ErrorCode, number>>;
  rejectsTotal: number;
}

export interface RunningRelay {
  url: string;
  port: number;
  host: string;
  fingerprint: string;
  tls: boolean;
  close(): Promise<void>;
  metrics(): RelayMetrics;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** Fingerprint of the relay whose data folder is `dataDir` (creates the key if absent). */
export function relayFingerprint(dataDir: string): string {
  return relayKey(dataDir).fingerprint;
}

interface ConnState {
  nonce: Uint8Array | null;
  fp: string | null;
  username: string | null;
  bucket: TokenBucket;
  rejectTimes: number[];
  /** Flow control: highest seq pushed, and pushed-but-unacked keys (from + id → seq; 0 = delivered live, not yet committed). */
  cursor: number;
  inflight: Map<string, number>;
  /**
   * Live delivery (PROTOCOL.md): true while every envelope queued for this identity has been pushed to this
   * connection, so a new one may be forwarded before its commit without overtaking older ones.
   */
  live: boolean;
  /** Keys delivered live to this connection whose commit the relay has not processed yet (the pump skips them). */
  liveKeys: Set<string>;
  pumping: boolean;
  pumpAgain: boolean;
  /** Sends of one connection are checked and queued in arrival order (commits still group). */
  sendChain: Promise<void>;
}

type AnySocket = Socket<ClientToServer, ServerToClient>;
type AckFn = (r: Ack) => void;

const ABUSE_CODES: ReadonlySet<ErrorCode> = new Set([
  'BAD_REQUEST',
  'UNKNOWN_EVENT',
  'UNSUPPORTED_VERSION',
  'UNAUTHENTICATED',
  'AUTH_FAILED',
  'FORBIDDEN',
  'BAD_SIGNATURE',
  'TOO_LARGE',
  'RATE_LIMITED',
]);

export async function startRelay(o: StartRelayOptions): Promise<RunningRelay> {
  const host = o.host ?? '127.0.0.1';
  const loopback = isLoopback(host);
  const tls = o.tls === true || !loopback;
  const limits = resolveLimits(o.limits ?? {});
  const log: pino.Logger = o.logger === false ? pino({ level: 'silent' }) : (o.logger ?? pino({ name: 'parley-relay' }));
  const ident = await loadRelayIdentity(o.dataDir, loopback ? [] : [host]);
  const relayFp = ident.fingerprint;
  let store: EnvelopeStore;
  if (o.store) store = o.store;
  else {
    const sqlite = new SqliteEnvelopeStore(o.dataDir, { commitDelayMs: limits.commitDelayMs, commitMaxBatch: limits.commitMaxBatch });
    await sqlite.ready();
    log.info({ file: sqlite.file, writer: sqlite.writerMode }, 'store open');
    store = sqlite;
  }

  const counters = {
    envelopesAccepted: 0,
    duplicates: 0,
    delivered: 0,
    /** Of `delivered`: forwarded before the commit to a caught-up recipient (the rest came from the store). */
    deliveredLive: 0,
    acked: 0,
    expired: 0,
    abuseDisconnects: 0,
    sessionsReplaced: 0,
    /** Handshakes refused because their address had maxConnectionsPerAddress open. */
    connectionsRefused: 0,
  };
  const rejects: Partial<Record<ErrorCode, number>> = {};
  let rejectsTotal = 0;
  let cachedStats = await store.stats();
  const sessions = new Map<string, AnySocket>(); // authed fingerprint → its one socket
  const sendBuckets = new Map<string, TokenBucket>();
  /** Per-recipient queue usage (count, bytes): loaded from the store once, then kept up to date in memory. */
  const usageCache = new Map<string, QueueUsage>();
  /** Enqueues handed to the store but not yet committed, per recipient (live delivery starts only at 0). */
  const uncommitted = new Map<string, number>();
  /** (from/id) of enqueues not yet committed: with the store's committed rows, the dedupe check of a live delivery. */
  const pendingKeys = new Set<string>();
  /** Registered identities by fingerprint (positive lookups; a rotation drops the replaced one). */
  const identities = new Map<string, StoredIdentity>();
  const state = new WeakMap<AnySocket, ConnState>();
  let closing = false;

  const metrics = (): RelayMetrics => {
    void refreshStats().catch(() => undefined); // store counts are as of the previous call, sweep or /metrics
    return snapshot();
  };
  const snapshot = (): RelayMetrics => ({
    connections: io.engine?.clientsCount ?? 0,
    authenticated: sessions.size,
    queuedEnvelopes: cachedStats.queued,
    identities: cachedStats.identities,
    ...counters,
    commits: cachedStats.commits,
    committedWrites: cachedStats.committedWrites,
    foldedAcks: cachedStats.foldedAcks ?? 0,
    rejects: { ...rejects },
    rejectsTotal,
  });
  const refreshStats = async () => {
    if (!closing) cachedStats = await store.stats();
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.url?.startsWith('/socket.io')) return; // socket.io's own listener answers these
    const send = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(text);
    };
    if (req.method !== 'GET') return send(405, { ok: false, error: 'method not allowed' });
    const url = (req.url ?? '/').split('?')[0];
    if (url === '/healthz') return send(200, { ok: !closing, version: RELAY_VERSION, protocol: PROTOCOL_VERSION, fingerprint: relayFp });
    if (url === '/metrics') {
      refreshStats()
        .then(() => send(200, snapshot()))
        .catch(() => send(500, { ok: false }));
      return;
    }
    send(404, { ok: false, error: 'not found' });
  };
  const httpServer = tls
    ? https.createServer({ key: ident.keyPem, cert: ident.certPem, minVersion: 'TLSv1.2' }, onRequest)
    : http.createServer(onRequest);

  const io = new Server<ClientToServer, ServerToClient>(httpServer, {
    serveClient: false,
    cors: { origin: false },
    // Big enough for an oversize envelope to arrive and be refused with TOO_LARGE; far larger frames drop the socket.
    maxHttpBufferSize: limits.maxEnvelopeBytes * 2 + 64 * 1024,
    pingInterval: 20_000,
    pingTimeout: 20_000,
  });

  // ---- helpers ------------------------------------------------------------------------------------------------
  const reply = (ack: AckFn | null, r: Ack) => {
    if (ack) {
      try {
        ack(r);
      } catch {
        /* client gone */
      }
    }
  };

  const countReject = (code: ErrorCode) => {
    rejects[code] = (rejects[code] ?? 0) + 1;
    rejectsTotal++;
  };

  const reject = (socket: AnySocket, st: ConnState, ack: AckFn | null, event: string, err: ProtocolError) => {
    countReject(err.code);
    log.debug({ sid: socket.id, event, code: err.code }, 'rejected');
    reply(ack, { ok: false, error: err.toWire() });
    if (ABUSE_CODES.has(err.code)) {
      const now = Date.now();
      st.rejectTimes.push(now);
      while (st.rejectTimes.length && st.rejectTimes[0]! < now - 60_000) st.rejectTimes.shift();
      if (st.rejectTimes.length > limits.abuseRejectsPerMinute && socket.connected) {
        counters.abuseDisconnects++;
        log.warn({ sid: socket.id, fp: st.fp, rejects: st.rejectTimes.length }, 'dropping abusive connection');
        socket.disconnect(true);
      }
    }
  };

  const usage = async (fp: string): Promise<QueueUsage> => {
    let u = usageCache.get(fp);
    if (!u) {
      const loaded = await store.usage(fp);
      u = usageCache.get(fp) ?? loaded; // another caller may have loaded it meanwhile
      usageCache.set(fp, u);
    }
    return u;
  };
  const release = (fp: string, count: number, bytes: number) => {
    const u = usageCache.get(fp);
    if (!u) return;
    u.count = Math.max(0, u.count - count);
    u.bytes = Math.max(0, u.bytes - bytes);
  };

  const identityByFingerprint = async (fp: string): Promise<StoredIdentity | null> => {
    const hit = identities.get(fp);
    if (hit) return hit;
    const found = await store.identityByFingerprint(fp);
    if (found) {
      if (identities.size >= 100_000) identities.delete(identities.keys().next().value!);
      identities.set(fp, found);
    }
    return found;
  };

  const issueChallenge = (socket: AnySocket, st: ConnState) => {
    st.nonce = new Uint8Array(randomBytes(32));
    socket.emit('challenge', { v: PROTOCOL_VERSION, relay: relayFp, nonce: toB64u(st.nonce) });
  };

  /** Push queued envelopes in seq order, at most deliverWindow unacknowledged. */
  const pump = async (socket: AnySocket, st: ConnState) => {
    if (st.pumping) {
      st.pumpAgain = true;
      return;
    }
    st.pumping = true;
    try {
      do {
        st.pumpAgain = false;
        while (socket.connected && st.fp && sessions.get(st.fp) === socket && st.inflight.size < limits.deliverWindow) {
          const room = Math.min(limits.deliverBatch, limits.deliverWindow - st.inflight.size);
          const rows = await store.pending(st.fp, st.cursor, room);
          // The store reads synchronously and this continuation runs in the same microtask drain, before any later
          // commit is processed: `uncommitted` 0 here means every enqueue for this identity was visible to that read.
          const exhausted = rows.length < room && (uncommitted.get(st.fp) ?? 0) === 0;
          const envelopes: Delivered[] = [];
          for (const r of rows) {
            st.cursor = Math.max(st.cursor, r.seq);
            const key = `${r.envelope.from}/${r.envelope.id}`;
            if (st.liveKeys.has(key) || st.inflight.has(key)) continue; // already pushed live
            st.inflight.set(key, r.seq);
            envelopes.push({ envelope: r.envelope, receivedAt: r.receivedAt });
          }
          if (envelopes.length > 0) {
            counters.delivered += envelopes.length;
            socket.emit('deliver', { envelopes });
            log.debug({ fp: st.fp, count: envelopes.length, upTo: st.cursor }, 'delivered');
          }
          if (exhausted) {
            st.live = true; // caught up: new envelopes may go out live
            break;
          }
          if (rows.length === 0) break;
        }
      } while (st.pumpAgain);
    } catch (e) {
      log.error({ err: (e as Error).message, fp: st.fp }, 'delivery failed');
    } finally {
      st.pumping = false;
    }
  };

  const kick = (fp: string) => {
    const s = sessions.get(fp);
    const st = s && state.get(s);
    if (s && st) void pump(s, st);
  };

  /** Ed25519 verify keys by sender fingerprint (bounded), imported once per identity (dropped on rotation). */
  const verifyKeys = new Map<string, { sig: string; key: KeyObject }>();
  const b64 = (s: string) => Buffer.from(s, 'base64url'); // fields already proven canonical by the schema
  /**
   * The envelope signature (PROTOCOL.md §5.3) with node:crypto's Ed25519 (same OpenSSL verification as WebCrypto),
   * in its callback form: the verification (~100 µs here, the largest single cost of a send) runs on libuv's
   * threadpool, so the event loop keeps forwarding meanwhile. The schema has checked every base64url field
   * (canonical, lengths), so they are decoded once, plainly.
   */
  const verifyEnvelope = (env: Envelope, sender: PublicIdentity): Promise<boolean> => {
    let k = verifyKeys.get(env.from);
    if (!k || k.sig !== sender.sig) {
      try {
        k = { sig: sender.sig, key: createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: sender.sig }, format: 'jwk' }) };
      } catch {
        return Promise.resolve(false);
      }
      if (verifyKeys.size >= 10_000) verifyKeys.delete(verifyKeys.keys().next().value!);
      verifyKeys.set(env.from, k);
    }
    try {
      const keysFrame = frame(...env.keys.flatMap((x) => [x.to, b64(x.k)]));
      const signed = frame(LABELS.envelope, canonicalHeader(env), b64(env.iv), b64(env.ct), keysFrame);
      return new Promise((resolve) => edVerify(null, signed, k.key, b64(env.sig), (err, ok) => resolve(!err && ok)));
    } catch {
      return Promise.resolve(false);
    }
  };

  /** The checks of a send that may run concurrently (signature, recipients). */
  const checkSend = async (fp: string, env: Envelope): Promise<void> => {
    if (env.from !== fp) throw new ProtocolError('FORBIDDEN', 'envelope sender is not the authenticated identity');
    let bucket = sendBuckets.get(fp);
    if (!bucket) sendBuckets.set(fp, (bucket = new TokenBucket(limits.sendBurst, limits.sendPerSec)));
    const wait = bucket.take();
    if (wait > 0) throw new ProtocolError('RATE_LIMITED', 'too many envelopes; slow down', wait);
    const sender = await identityByFingerprint(fp);
    if (!sender) throw new ProtocolError('FORBIDDEN', 'sender identity no longer registered');
    if (!(await verifyEnvelope(env, sender.identity))) {
      throw new ProtocolError('BAD_SIGNATURE', 'envelope signature does not verify with the sender identity');
    }
    for (const to of env.to) {
      if (!(await identityByFingerprint(to))) throw new ProtocolError('NOT_FOUND', `recipient ${to} is not registered`);
    }
  };

  /**
   * Quota reservation, hand-off to the store and live delivery, in the connection's arrival order; returns the commit
   * promise (resolving after the commit and its bookkeeping). Live delivery: an envelope that is not a duplicate goes
   * at once to each online recipient that is caught up (see ConnState.live) and has room in its window; the others
   * get it from the store after the commit (pump). See PROTOCOL.md "Live delivery" for why this keeps the guarantees.
   */
  const queueSend = async (env: Envelope, size: number, body: string): Promise<{ committed: Promise<{ duplicate: boolean }> }> => {
    const reserved: string[] = [];
    for (const to of env.to) {
      const u = await usage(to);
      if (u.count + 1 > limits.queueQuota || u.bytes + size > limits.queueQuotaBytes) {
        for (const r of reserved) release(r, 1, size);
        throw new ProtocolError('QUOTA_EXCEEDED', `queue of recipient ${to} is full`);
      }
      u.count++;
      u.bytes += size;
      reserved.push(to);
    }
    const now = Date.now();
    const key = `${env.from}/${env.id}`;
    // Known duplicate (pending or committed): stored nowhere, delivered to no one; the store answers duplicate.
    const canLive = typeof store.hasEnvelope === 'function';
    const dupe = canLive && (pendingKeys.has(key) || store.hasEnvelope!(env.from, env.id));
    const ownsKey = canLive && !dupe;
    if (ownsKey) pendingKeys.add(key);
    const enqueued = store.enqueue({ envelope: env, body, size, receivedAt: now, expiresAt: now + limits.ttlMs, unique: ownsKey });
    for (const to of env.to) uncommitted.set(to, (uncommitted.get(to) ?? 0) + 1);
    const liveTo = new Map<string, ConnState>();
    if (ownsKey) {
      for (const to of env.to) {
        const s = sessions.get(to);
        const rs = s && state.get(s);
        if (!s || !rs) continue;
        if (rs.live && s.connected && rs.inflight.size < limits.deliverWindow) {
          rs.inflight.set(key, 0);
          rs.liveKeys.add(key);
          liveTo.set(to, rs);
          counters.delivered++;
          counters.deliveredLive++;
          s.emit('deliver', { envelopes: [{ envelope: env, receivedAt: now }] });
        } else {
          rs.live = false; // this one comes from the store after its commit; later ones must not overtake it
        }
      }
    }
    const done = (seq: number | undefined) => {
      if (ownsKey) pendingKeys.delete(key);
      for (const to of env.to) {
        const n = (uncommitted.get(to) ?? 1) - 1;
        if (n > 0) uncommitted.set(to, n);
        else uncommitted.delete(to);
      }
      for (const rs of liveTo.values()) {
        rs.liveKeys.delete(key);
        if (seq === undefined) rs.inflight.delete(key); // not stored: nothing to acknowledge
        else {
          if (rs.inflight.get(key) === 0) rs.inflight.set(key, seq);
          // Everything of this recipient below seq was pushed to rs before (it was caught up): move past it.
          if (seq > rs.cursor) rs.cursor = seq;
        }
      }
    };
    const kickOthers = () => {
      for (const to of env.to) {
        const s = sessions.get(to);
        const rs = s && state.get(s);
        if (rs && liveTo.get(to) === rs && rs.live) continue; // already has it
        kick(to);
      }
    };
    // wrapped: an async function returning the bare promise would wait for the commit inside the send chain
    const committed = enqueued.then(
      (r) => {
        done(r.duplicate ? undefined : r.seq);
        if (r.duplicate) for (const to of env.to) release(to, 1, size);
        kickOthers();
        return { duplicate: r.duplicate };
      },
      (e: unknown) => {
        done(undefined);
        for (const to of env.to) release(to, 1, size);
        kickOthers();
        throw e;
      },
    );
    return { committed };
  };

  // ---- handlers -----------------------------------------------------------------------------------------------
  const handlers: {
    [K in ClientEventName]: (socket: AnySocket, st: ConnState, p: never, body?: string) => Promise<object>;
  } = {
    register: async (_socket, _st, p: RegisterRequest) => {
      let checked;
      try {
        checked = await validateIdentity(p.identity);
      } catch (e) {
        throw new ProtocolError('BAD_REQUEST', (e as Error).message);
      }
      const now = Date.now();
      const current = await store.identityByUsername(p.username);
      let replaces: string | undefined;
      if (current && current.fingerprint !== checked.fingerprint) {
        if (!p.rotation) throw new ProtocolError('USERNAME_TAKEN', 'username registered to a different identity');
        const ok = await verifyLabeled(
          current.identity,
          fromB64u(p.rotation.sig),
          LABELS.rotate,
          ...rotationInput(p.username, current.fingerprint, checked.identity),
        );
        if (!ok) throw new ProtocolError('BAD_SIGNATURE', 'rotation signature does not verify with the current identity');
        replaces = current.fingerprint;
      }
      const r = await store.register({
        username: p.username,
        identity: checked.identity,
        fingerprint: checked.fingerprint,
        replaces,
        rotationSig: replaces ? p.rotation?.sig : undefined,
        now,
      });
      if (r.rotated && r.previous) {
        identities.delete(r.previous);
        verifyKeys.delete(r.previous);
        const old = sessions.get(r.previous);
        if (old) {
          old.emit('session-replaced', { message: 'identity rotated; this key is no longer registered' });
          old.disconnect(true);
        }
      }
      log.info({ username: p.username, fp: checked.fingerprint, rotated: r.rotated }, 'registered');
      return { fingerprint: checked.fingerprint, rotated: r.rotated };
    },

    lookup: async (_socket, _st, p: LookupRequest) => {
      const found = 'username' in p ? await store.identityByUsername(p.username) : await identityByFingerprint(p.fingerprint);
      if (!found) throw new ProtocolError('NOT_FOUND', 'no such identity');
      return { username: found.username, identity: found.identity, fingerprint: found.fingerprint, rotation: found.rotation };
    },

    auth: async (socket, st, p: AuthRequest) => {
      const nonce = st.nonce;
      st.nonce = null; // single use, success or not
      try {
        if (st.fp) throw new ProtocolError('AUTH_FAILED', 'already authenticated');
        if (!nonce) throw new ProtocolError('AUTH_FAILED', 'no outstanding challenge');
        const who = await identityByFingerprint(p.fingerprint);
        if (!who) throw new ProtocolError('AUTH_FAILED', 'unknown identity; register first');
        const ok = await verifyLabeled(
          who.identity,
          fromB64u(p.sig),
          LABELS.auth,
          ...authInput(relayFp, nonce, fromB64u(p.clientNonce), p.fingerprint),
        );
        if (!ok) throw new ProtocolError('AUTH_FAILED', 'challenge response does not verify');
        if (!socket.connected) throw new ProtocolError('AUTH_FAILED', 'connection closed');
        const previous = sessions.get(p.fingerprint);
        if (previous && previous !== socket) {
          counters.sessionsReplaced++;
          previous.emit('session-replaced', { message: 'this identity connected from elsewhere' });
          previous.disconnect(true);
        }
        st.fp = p.fingerprint;
        st.username = who.username;
        sessions.set(p.fingerprint, socket);
        const u = await usage(p.fingerprint);
        log.info({ sid: socket.id, fp: p.fingerprint, queued: u.count }, 'authenticated');
        setImmediate(() => void pump(socket, st));
        return { fingerprint: p.fingerprint, username: who.username, queued: u.count };
      } catch (e) {
        if (socket.connected && !st.fp) issueChallenge(socket, st); // a fresh nonce for the next attempt
        throw e;
      }
    },

    send: async (_socket, st, p: SendRequest, body?: string) => {
      // Checks run concurrently; the hand-off to the store happens in arrival order, so one connection's envelopes
      // are queued in the order it sent them. The commit wait is outside the chain: pipelined sends share commits.
      const prev = st.sendChain;
      let releaseChain!: () => void;
      st.sendChain = new Promise<void>((r) => (releaseChain = r));
      const env = p.envelope;
      const fp = st.fp!;
      // The JSON measured for the size check, stored as is (same fields and values as the parsed envelope: the strict
      // schema admits no others).
      const json = body ?? JSON.stringify(env);
      const size = Buffer.byteLength(json, 'utf8');
      let committed: Promise<{ duplicate: boolean }>;
      try {
        await checkSend(fp, env);
        await prev;
        ({ committed } = await queueSend(env, size, json));
      } finally {
        void prev.then(releaseChain);
      }
      const result = await committed;
      if (result.duplicate) counters.duplicates++;
      else counters.envelopesAccepted++;
      log.debug({ from: fp, id: env.id, size, to: env.to.length, duplicate: result.duplicate }, 'envelope queued');
      return { id: env.id, duplicate: result.duplicate };
    },

    fetch: async (_socket, st, p: FetchRequest) => {
      if (p.recipient !== st.fp) throw new ProtocolError('FORBIDDEN', "you may fetch only your own queue");
      const limit = Math.min(p.limit ?? limits.deliverBatch, LIMITS.maxBatch);
      const rows = await store.pending(st.fp, 0, limit + 1);
      const envelopes = rows.slice(0, limit).map((r) => ({ envelope: r.envelope, receivedAt: r.receivedAt }));
      return { envelopes, more: rows.length > limit };
    },

    ack: async (socket, st, p: AckRequest) => {
      const fp = st.fp!;
      const r = await store.ack(fp, p.items);
      if (r.bytes === undefined) usageCache.delete(fp); // recount from the store next time
      else release(fp, r.removed, r.bytes);
      counters.acked += r.removed;
      for (const it of p.items) st.inflight.delete(`${it.from}/${it.id}`);
      // Live: everything queued for this identity has been pushed already, so there is nothing to read; otherwise
      // the freed window may take envelopes from the store.
      if (!st.live) void pump(socket, st);
      return { removed: r.removed };
    },
  };

  // ---- connections per remote address (refused at the handshake: the client sees connect_error) -----------------
  const perAddress = new Map<string, number>();
  io.use((socket, next) => {
    const addr = (socket.handshake.address || 'unknown').replace(/^::ffff:/, '');
    const open = perAddress.get(addr) ?? 0;
    if (open >= limits.maxConnectionsPerAddress) {
      countReject('RATE_LIMITED');
      counters.connectionsRefused++;
      log.warn({ addr, open }, 'connection refused: too many from this address');
      const err = new Error(`too many connections from this address (limit ${limits.maxConnectionsPerAddress})`);
      (err as Error & { data: unknown }).data = new ProtocolError('RATE_LIMITED', err.message, 5_000).toWire();
      return next(err);
    }
    perAddress.set(addr, open + 1);
    socket.once('disconnect', () => {
      const n = (perAddress.get(addr) ?? 1) - 1;
      if (n > 0) perAddress.set(addr, n);
      else perAddress.delete(addr);
    });
    next();
  });

  io.on('connection', (raw) => {
    const socket = raw as AnySocket;
    if (closing) {
      socket.disconnect(true);
      return;
    }
    const st: ConnState = {
      nonce: null,
      fp: null,
      username: null,
      bucket: new TokenBucket(limits.connBurst, limits.connPerSec),
      rejectTimes: [],
      cursor: 0,
      inflight: new Map(),
      live: false,
      liveKeys: new Set(),
      pumping: false,
      pumpAgain: false,
      sendChain: Promise.resolve(),
    };
    state.set(socket, st);
    log.debug({ sid: socket.id }, 'connected');

    socket.onAny((event: unknown, ...args: unknown[]) => {
      const last = args[args.length - 1];
      const ack = typeof last === 'function' ? (last as AckFn) : null;
      const payloads = ack ? args.slice(0, -1) : args;
      const name = typeof event === 'string' ? event : String(event);
      const fail = (code: ErrorCode, message: string, retryAfterMs?: number) =>
        reject(socket, st, ack, name, new ProtocolError(code, message, retryAfterMs));

      const wait = st.bucket.take();
      if (wait > 0) return fail('RATE_LIMITED', 'too many requests on this connection', wait);
      if (!(CLIENT_EVENTS as readonly string[]).includes(name)) return fail('UNKNOWN_EVENT', `unknown event`);
      const ev = name as ClientEventName;
      if (!PUBLIC_EVENTS.has(ev) && !st.fp) return fail('UNAUTHENTICATED', `${ev} needs an authenticated connection`);
      if (payloads.length !== 1) return fail('BAD_REQUEST', 'expected exactly one payload object');
      const payload = payloads[0];
      let body: string | undefined; // a send's envelope JSON: measured here, stored as is
      if (ev === 'send' && payload && typeof payload === 'object' && 'envelope' in payload) {
        body = JSON.stringify((payload as { envelope: unknown }).envelope) ?? '';
        const size = Buffer.byteLength(body, 'utf8');
        if (size > limits.maxEnvelopeBytes) return fail('TOO_LARGE', `envelope is ${size} bytes; limit ${limits.maxEnvelopeBytes}`);
      }
      const inner = ev === 'send' ? 'envelope' : ev === 'register' ? 'identity' : null;
      const versioned = inner && payload && typeof payload === 'object' ? (payload as Record<string, unknown>)[inner] : null;
      if (versioned && typeof versioned === 'object' && 'v' in versioned && (versioned as { v: unknown }).v !== PROTOCOL_VERSION) {
        return fail('UNSUPPORTED_VERSION', `${inner}: protocol version ${PROTOCOL_VERSION} only`);
      }
      const parsed = CLIENT_SCHEMAS[ev].safeParse(payload);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        return fail('BAD_REQUEST', `${ev}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}`.slice(0, 300));
      }
      const handler = handlers[ev] as (s: AnySocket, st: ConnState, p: unknown, body?: string) => Promise<object>;
      handler(socket, st, parsed.data, body).then(
        (result) => reply(ack, { ok: true, ...result }),
        (e: unknown) => {
          if (e instanceof ProtocolError) reject(socket, st, ack, name, e);
          else {
            log.error({ event: name, err: (e as Error)?.message }, 'handler failed');
            reject(socket, st, ack, name, new ProtocolError('INTERNAL', 'relay error; retry later'));
          }
        },
      );
    });

    socket.on('disconnect', (reason) => {
      if (st.fp && sessions.get(st.fp) === socket) sessions.delete(st.fp);
      log.debug({ sid: socket.id, fp: st.fp, reason: String(reason) }, 'disconnected');
    });

    issueChallenge(socket, st);
  });

  // ---- TTL sweep ----------------------------------------------------------------------------------------------
  const sweep = async () => {
    try {
      const dropped = await store.sweep(Date.now());
      if (dropped > 0) {
        counters.expired += dropped;
        usageCache.clear();
        log.info({ dropped }, 'expired envelopes swept');
      }
      for (const [fp, b] of sendBuckets) if (!sessions.has(fp) && b.full()) sendBuckets.delete(fp);
      await refreshStats();
    } catch (e) {
      log.error({ err: (e as Error).message }, 'sweep failed');
    }
  };
  const sweepTimer = setInterval(() => void sweep(), limits.sweepIntervalMs);
  sweepTimer.unref();
  await sweep();

  await new Promise<void>((resolve, rejectListen) => {
    httpServer.once('error', rejectListen);
    httpServer.listen(o.port ?? 0, host, () => {
      httpServer.off('error', rejectListen);
      resolve();
    });
  });
  const port = (httpServer.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `${tls ? 'https' : 'http'}://${urlHost}:${port}`;

  let advert: Advertisement | null = null;
  if (!loopback && o.advertise !== false && host !== '0.0.0.0' && host !== '::') {
    advert = advertiseRelay({ host, port, fingerprint: relayFp, tls });
  } else if (!loopback && o.advertise !== false) {
    log.warn('mDNS advertising needs a concrete LAN address (not a wildcard); not advertising');
  }
  log.info({ url, fingerprint: relayFp, tls, advertise: !!advert, limits }, 'relay listening');

  let closed: Promise<void> | null = null;
  const close = () => {
    closed ??= (async () => {
      closing = true;
      clearInterval(sweepTimer);
      await advert?.stop();
      io.disconnectSockets(true);
      await new Promise<void>((r) => io.close(() => r()));
      await store.close(); // commits what is pending
      log.info('relay stopped');
    })();
    return closed;
  };

  return { url, port, host, fingerprint: relayFp, tls, close, metrics };
}
