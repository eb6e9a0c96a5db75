/**
 * The state every part of the relay shares (sessions, caches, counters) and the lookups over it. The relay's modules
 * (session, ingest, delivery, dispatch, http) each take this one object instead of closing over one big function.
 */
import type { KeyObject } from 'node:crypto';
import type pino from 'pino';
import type { Socket } from 'socket.io';
import type { Ack, ClientToServer, ErrorCode, ServerToClient } from '../protocol/index.js';
import type { RelayLimits, TokenBucket } from './limits.js';
import type { EnvelopeStore, QueueUsage, StoredIdentity } from './store/types.js';
import { localBus, type ClusterBus } from './cluster.js';

export function createContext(o: {
  store: EnvelopeStore;
  limits: RelayLimits;
  log: pino.Logger;
  relayFp: string;
  dataDir: string;
  registration: RegistrationMode;
  bus?: ClusterBus;
}): RelayContext {
  const { store } = o;
  const ctx: RelayContext = {
    ...o,
    bus: o.bus ?? localBus(),
    closing: false,
    counters: {
      envelopesAccepted: 0,
      duplicates: 0,
      delivered: 0,
      deliveredLive: 0,
      acked: 0,
      expired: 0,
      abuseDisconnects: 0,
      sessionsReplaced: 0,
      connectionsRefused: 0,
      originsRefused: 0,
    },
    rejects: {},
    rejectsTotal: 0,
    sessions: new Map(),
    state: new WeakMap(),
    sendBuckets: new Map(),
    usageCache: new Map(),
    uncommitted: new Map(),
    pendingKeys: new Set(),
    identities: new Map(),
    verifyKeys: new Map(),
    registrationBuckets: new Map(),
    senderPending: new Map(),
    countReject(code) {
      ctx.rejects[code] = (ctx.rejects[code] ?? 0) + 1;
      ctx.rejectsTotal++;
    },
    async usage(fp) {
      let u = ctx.usageCache.get(fp);
      if (!u) {
        const loaded = await store.usage(fp);
        u = ctx.usageCache.get(fp) ?? loaded; // another caller may have loaded it meanwhile
        ctx.usageCache.set(fp, u);
      }
      return u;
    },
    release(fp, count, bytes) {
      const u = ctx.usageCache.get(fp);
      if (!u) return;
      u.count = Math.max(0, u.count - count);
      u.bytes = Math.max(0, u.bytes - bytes);
    },
    async pendingBySender(recipient) {
      let m = ctx.senderPending.get(recipient);
      if (!m) {
        const loaded = store.pendingBySender ? await store.pendingBySender(recipient) : new Map<string, number>();
        m = ctx.senderPending.get(recipient) ?? loaded; // another caller may have loaded it meanwhile
        ctx.senderPending.set(recipient, m);
      }
      return m;
    },
    releaseSender(recipient, sender) {
      const m = ctx.senderPending.get(recipient);
      const n = m?.get(sender);
      if (!m || n === undefined) return;
      if (n > 1) m.set(sender, n - 1);
      else m.delete(sender);
    },
    isNew(who, now = Date.now()) {
      return now - who.registeredAt < ctx.limits.newIdentityMs;
    },
    async identityByFingerprint(fp) {
      const hit = ctx.identities.get(fp);
      if (hit) return hit;
      const found = await store.identityByFingerprint(fp);
      if (found) {
        if (ctx.identities.size >= 100_000) ctx.identities.delete(ctx.identities.keys().next().value!);
        ctx.identities.set(fp, found);
      }
      return found;
    },
  };
  return ctx;
}

/** Outstanding register-challenges one connection may hold (oldest dropped beyond). */
export const MAX_REGISTER_CHALLENGES = 8;

/** Acknowledge a request; a client that went away meanwhile is not an error. */
export function reply(ack: AckFn | null, r: Ack): void {
  if (!ack) return;
  try {
    ack(r);
  } catch {
    /* client gone */
  }
}

// ---- shared types ---------------------------------------------------------------------------------------------

/** Who may register a new username: anyone, holders of an invite code, or no one (existing identities still may). */
export type RegistrationMode = 'open' | 'token' | 'closed';
export const REGISTRATION_MODES: readonly RegistrationMode[] = ['open', 'token', 'closed'];

export type AnySocket = Socket<ClientToServer, ServerToClient>;
export type AckFn = (r: Ack) => void;
/** One client event's handler: the payload has passed its schema; resolves with the ack's data. */
export type Handler<P> = (socket: AnySocket, st: ConnState, p: P, body?: string) => Promise<object>;

export interface Counters {
  envelopesAccepted: number;
  duplicates: number;
  delivered: number;
  /** Of `delivered`: forwarded before the commit to a caught-up recipient (the rest came from the store). */
  deliveredLive: number;
  acked: number;
  expired: number;
  abuseDisconnects: number;
  sessionsReplaced: number;
  /** Handshakes refused because their address had maxConnectionsPerAddress open. */
  connectionsRefused: number;
  /** socket.io requests refused because they carried a browser Origin that is not allow-listed. */
  originsRefused: number;
}

export interface RelayContext {
  readonly store: EnvelopeStore;
  /** Coordination with other relay nodes (cluster.ts); a no-op bus when alone. Replaced once, at start. */
  bus: ClusterBus;
  readonly limits: RelayLimits;
  readonly log: pino.Logger;
  readonly relayFp: string;
  /** The relay's data folder (invites live in it). */
  readonly dataDir: string;
  readonly registration: RegistrationMode;
  closing: boolean;
  counters: Counters;
  rejects: Partial<Record<ErrorCode, number>>;
  rejectsTotal: number;
  /** Authenticated fingerprint → its one socket. */
  sessions: Map<string, AnySocket>;
  state: WeakMap<AnySocket, ConnState>;
  /** Send token buckets per identity (across its connections). */
  sendBuckets: Map<string, TokenBucket>;
  /** Per-recipient queue usage (count, bytes): loaded from the store once, then kept up to date in memory. */
  usageCache: Map<string, QueueUsage>;
  /** Enqueues handed to the store but not yet committed, per recipient (live delivery starts only at 0). */
  uncommitted: Map<string, number>;
  /** (from/id) of enqueues not yet committed: with the store's committed rows, the dedupe check of a live delivery. */
  pendingKeys: Set<string>;
  /** Registered identities by fingerprint (positive lookups; a rotation drops the replaced one). */
  identities: Map<string, StoredIdentity>;
  /** Ed25519 verify keys by sender fingerprint (bounded), imported once per identity (dropped on rotation). */
  verifyKeys: Map<string, { sig: string; key: KeyObject }>;
  /** New-registration token buckets per remote address. */
  registrationBuckets: Map<string, TokenBucket>;
  /**
   * Per recipient: unacknowledged envelopes by sender, loaded from the store once per recipient and then kept up to
   * date (reserved at send, released on failure or ack; dropped and reloaded after an ack it cannot account for).
   */
  senderPending: Map<string, Map<string, number>>;
  countReject(code: ErrorCode): void;
  pendingBySender(recipient: string): Promise<Map<string, number>>;
  releaseSender(recipient: string, sender: string): void;
  /** Registered (or rotated in) less than limits.newIdentityMs ago. */
  isNew(who: StoredIdentity, now?: number): boolean;
  usage(fp: string): Promise<QueueUsage>;
  release(fp: string, count: number, bytes: number): void;
  identityByFingerprint(fp: string): Promise<StoredIdentity | null>;
}

export interface ConnState {
  nonce: Uint8Array | null;
  /**
   * Outstanding register-challenges: identity fingerprint → the RSA proof it expects (single use). At most
   * MAX_REGISTER_CHALLENGES per connection, so a client may register a few identities in parallel.
   */
  registrations: Map<string, Uint8Array>;
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
  /** When this connection authenticated (ms): in a cluster, only older connections of the identity are replaced. */
  authedAt?: number;
  /** Sends of one connection are checked and queued in arrival order (commits still group). */
  sendChain: Promise<void>;
}
