/**
 * A scriptable relay for receive-path tests: a real socket.io server on 127.0.0.1 that speaks the relay protocol
 * to the real client (challenge, auth, lookup, fetch, ack, server `deliver`) but lets the test decide what is
 * delivered, when, and how often, what a lookup answers, and whether an ack is honoured. It holds a queue like the
 * real relay: `fetch` returns the oldest unacknowledged envelopes; an answered ack removes them.
 *
 * `receiver()` builds the real client side around it: a Messenger on a real encrypted SQLite file, a real crypto
 * worker pool and a real RelayClient. Nothing is mocked on the client.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Server, type Socket } from 'socket.io';
import { CryptoPool, loadIdentity, seal, type IdentityKeys, type Payload } from '../../electron/core/crypto/index.js';
import type { IdentitySecret } from '../../electron/core/crypto/types.js';
import { Messenger, type MessengerOptions } from '../../electron/core/messenger/messenger.js';
import { openHistoryStore } from '../../electron/core/store/index.js';
import type { HistoryStore } from '../../electron/core/store/types.js';
import { RelayClient } from '../../electron/core/transport/relay-client.js';
import { toB64u, type Envelope, type PublicIdentity } from '../../relay/protocol/index.js';
import { onCleanup, tmpDir } from './core.js';

export type Delivered = { envelope: unknown; receivedAt: number };
/** Returned by a `send` hook: the relay takes the send and never answers it (the client's request times out). */
export const NO_ANSWER = Symbol('no answer');
type Ack<T> = (r: T) => void;

export interface FakeRelayHooks {
  /** Answer a lookup (return undefined for the default directory answer). */
  lookup?: (q: { username?: string; fingerprint?: string }) => Promise<unknown> | unknown;
  /** Answer a send (return undefined to accept it, NO_ANSWER to leave it unanswered). */
  send?: (envelope: Envelope) => unknown;
  /** Return false to drop this ack: it is neither answered nor applied (like a relay that crashed before it). */
  ack?: (items: Array<{ from: string; id: string }>) => boolean;
}

export class FakeRelay {
  readonly queue: Delivered[] = [];
  /** Every ack item the relay applied, in order. */
  readonly acked: Array<{ from: string; id: string }> = [];
  /** Envelopes the relay accepted from `send`, in order. */
  readonly sent: Envelope[] = [];
  readonly directory = new Map<string, { username: string; identity: PublicIdentity; fingerprint: string }>();
  hooks: FakeRelayHooks = {};
  /** Push the unacknowledged queue to each new connection (as the real relay does). */
  pushOnAuth = true;
  private readonly sockets = new Set<Socket>();
  private ackWaiters: Array<() => void> = [];

  private constructor(
    private readonly io: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<FakeRelay> {
    const httpServer = http.createServer();
    const io = new Server(httpServer, { maxHttpBufferSize: 64 * 1024 * 1024 });
    await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
    const relay = new FakeRelay(io, `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`);
    io.on('connection', (s) => relay.onConnection(s));
    onCleanup(() => relay.close());
    return relay;
  }

  /** Publishes an identity for lookups by username and by fingerprint. */
  publish(username: string, keys: IdentityKeys): void {
    const entry = { username, identity: keys.public, fingerprint: keys.fingerprint };
    this.directory.set(`u:${username}`, entry);
    this.directory.set(`f:${keys.fingerprint}`, entry);
  }

  /** Queues envelopes (as the real relay stores them) without pushing. */
  enqueue(envelopes: unknown[]): Delivered[] {
    const items = envelopes.map((envelope) => ({ envelope, receivedAt: Date.now() }));
    this.queue.push(...items);
    return items;
  }

  /** Pushes envelopes to every connected client with `deliver` (in batches of at most 1024), queueing them too. */
  deliver(envelopes: unknown[], o: { queue?: boolean } = {}): void {
    const items = o.queue === false ? envelopes.map((envelope) => ({ envelope, receivedAt: Date.now() })) : this.enqueue(envelopes);
    for (let i = 0; i < items.length; i += 1024) {
      for (const s of this.sockets) s.emit('deliver', { envelopes: items.slice(i, i + 1024) });
    }
  }

  /** Pushes exactly these items again (a redelivery), whether or not they were acknowledged. */
  redeliver(items: Delivered[]): void {
    for (const s of this.sockets) s.emit('deliver', { envelopes: items });
  }

  isAcked(from: string, id: string): boolean {
    return this.acked.some((a) => a.from === from && a.id === id);
  }

  /** Whether the relay has applied an ack for every one of these envelopes. */
  allAcked(envs: ReadonlyArray<{ from: string; id: string }>): boolean {
    return envs.every((e) => this.isAcked(e.from, e.id));
  }

  /** Resolves once `pred` holds after some ack (or now). */
  async waitAcks(pred: () => boolean, timeoutMs = 20_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`timed out waiting for acks (${this.acked.length} so far)`);
      await new Promise<void>((r) => {
        this.ackWaiters.push(r);
        setTimeout(r, 200); // re-check periodically as well; `pred` may depend on other state
      });
    }
  }

  get connections(): number {
    return this.sockets.size;
  }

  /** Drops every connection (the client reconnects). */
  disconnectAll(): void {
    for (const s of this.sockets) s.disconnect(true);
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => this.io.close(() => r()));
  }

  private onConnection(s: Socket): void {
    s.on('auth', (p: { fingerprint: string }, ack: Ack<unknown>) => {
      this.sockets.add(s);
      ack({ ok: true, fingerprint: p.fingerprint, username: 'bob', queued: this.queue.length });
      // Like the real relay: a new connection gets every unacknowledged envelope pushed again, oldest first.
      if (this.pushOnAuth && this.queue.length > 0) s.emit('deliver', { envelopes: this.queue.slice(0, 1024) });
    });
    s.on('disconnect', () => this.sockets.delete(s));
    s.on('lookup', async (q: { username?: string; fingerprint?: string }, ack: Ack<unknown>) => {
      const custom = this.hooks.lookup ? await this.hooks.lookup(q) : undefined;
      if (custom !== undefined) return ack(custom);
      const hit = this.directory.get(q.username ? `u:${q.username}` : `f:${q.fingerprint}`);
      ack(hit ? { ok: true, ...hit, rotation: null } : { ok: false, error: { code: 'NOT_FOUND', message: 'unknown' } });
    });
    s.on('send', (p: { envelope: Envelope }, ack: Ack<unknown>) => {
      const custom = this.hooks.send?.(p.envelope);
      if (custom === NO_ANSWER) return;
      if (custom !== undefined) return ack(custom);
      this.sent.push(p.envelope);
      ack({ ok: true, id: p.envelope.id, duplicate: false });
    });
    s.on('fetch', (p: { limit?: number }, ack: Ack<unknown>) => {
      const limit = p.limit ?? 64;
      ack({ ok: true, envelopes: this.queue.slice(0, limit), more: this.queue.length > limit });
    });
    s.on('ack', (p: { items: Array<{ from: string; id: string }> }, ack: Ack<unknown>) => {
      if (this.hooks.ack && !this.hooks.ack(p.items)) return;
      let removed = 0;
      for (const it of p.items) {
        this.acked.push(it);
        const i = this.queue.findIndex((q) => {
          const e = q.envelope as { from?: unknown; id?: unknown } | null;
          return e !== null && typeof e === 'object' && e.from === it.from && e.id === it.id;
        });
        if (i >= 0) {
          this.queue.splice(i, 1);
          removed++;
        }
      }
      ack({ ok: true, removed });
      for (const w of this.ackWaiters.splice(0)) w();
    });
    s.emit('challenge', { v: 1, relay: 'ab'.repeat(32), nonce: toB64u(new Uint8Array(randomBytes(32))) });
  }
}

/** Seals a text (or any payload) from `from` to `to`, with an optional fixed id. */
export async function sealFrom(from: IdentityKeys, to: PublicIdentity, payload: Payload | string, id?: string): Promise<Envelope> {
  const p: Payload = typeof payload === 'string' ? { v: 1, type: 'text', ts: Date.now(), body: payload } : payload;
  return seal({ sender: from, recipients: [to], payload: p, ...(id ? { id } : {}) });
}

/**
 * A real store with some members replaced, for injected faults and counters (`receiver`'s `wrapStore`): each entry of
 * `overrides` makes the replacement from the real store; every other member is the real one, bound to it.
 */
export function interceptStore(
  real: HistoryStore,
  overrides: { [K in keyof HistoryStore]?: (target: HistoryStore) => HistoryStore[K] },
): HistoryStore {
  return new Proxy(real, {
    get(target, key) {
      const make = overrides[key as keyof HistoryStore] as ((t: HistoryStore) => unknown) | undefined;
      if (make) return make(target);
      const v: unknown = Reflect.get(target, key, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** Delivers envelopes to `r`, then waits until the relay has their acks and the messenger is idle. */
export async function deliverAndSettle(relay: FakeRelay, r: Receiver, envs: Envelope[]): Promise<void> {
  relay.deliver(envs);
  await relay.waitAcks(() => relay.allAcked(envs));
  await r.messenger.idle();
}

export interface Receiver {
  messenger: Messenger;
  store: HistoryStore;
  client: RelayClient;
  keys: IdentityKeys;
  dbPath: string;
  dbKey: string;
  /** Stops the messenger, the connection and the pool, and closes the store (for a restart). */
  stop(): Promise<void>;
}

/**
 * The real client side ("bob") connected to `relayUrl`: Messenger + encrypted SQLite + crypto workers + RelayClient.
 * `wrapStore` lets a test inject a fault into the store the messenger sees. Reuse `dbPath`/`dbKey` to restart.
 */
export async function receiver(
  relayUrl: string,
  secret: IdentitySecret,
  o: {
    dbPath?: string;
    dbKey?: string;
    wrapStore?: (s: HistoryStore) => HistoryStore;
    messenger?: Partial<MessengerOptions>;
    requestTimeoutMs?: number;
  } = {},
): Promise<Receiver> {
  const keys = await loadIdentity(secret);
  const dbPath = o.dbPath ?? path.join(tmpDir('receiver'), 'history.db');
  const dbKey = o.dbKey ?? randomBytes(32).toString('hex');
  const real = openHistoryStore({ path: dbPath, key: dbKey });
  const store = o.wrapStore ? o.wrapStore(real) : real;
  const pool = new CryptoPool({ secret, size: 1 });
  const messenger = new Messenger({
    store,
    crypto: pool,
    me: { username: 'bob', identity: keys.public, fingerprint: keys.fingerprint },
    keyCheckIntervalMs: 0,
    keyCheckOnSendMs: 0,
    refetchDelayMs: 200,
    ...o.messenger,
  });
  const client = new RelayClient({ url: relayUrl, identity: keys, reconnect: { baseMs: 50, maxMs: 200 }, requestTimeoutMs: o.requestTimeoutMs ?? 5000 });
  messenger.attach(client);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    client.close();
    await messenger.close();
    await pool.close();
    real.close();
  };
  onCleanup(stop);
  client.connect();
  await client.waitOnline(10_000);
  return { messenger, store, client, keys, dbPath, dbKey, stop };
}
