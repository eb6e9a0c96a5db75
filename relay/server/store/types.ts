/**
 * Storage behind the relay. A store holds only public identities, sealed envelopes (ciphertext, wrapped keys,
 * public header) and delivery bookkeeping; never a plaintext, never a private key. Implementations must make every
 * resolved write durable (committed) before resolving: the relay acknowledges senders and recipients on it.
 */
import type { Envelope, PublicIdentity } from '../../protocol/index.js';

export interface StoredIdentity {
  username: string;
  identity: PublicIdentity;
  fingerprint: string;
  registeredAt: number;
  /** Set when this identity replaced another under the same username: the old fingerprint and its rotation signature. */
  rotation: { from: string; sig: string } | null;
}

export interface QueuedEnvelope {
  /**
   * The recipient's own sequence number: taken under that recipient's lock when the envelope is committed, so it
   * orders one recipient's envelopes by commit, whatever order other recipients' writes commit in (a network database
   * commits concurrent transactions in any order; one global counter would let a later seq become visible first).
   */
  seq: number;
  envelope: Envelope;
  receivedAt: number;
}

export interface RegisterInput {
  username: string;
  identity: PublicIdentity;
  fingerprint: string;
  /**
   * For a rotation: the fingerprint currently registered under `username` whose signature the relay verified.
   * The store refuses (USERNAME_TAKEN) if the name now belongs to someone else.
   */
  replaces?: string;
  /** With `replaces`: the verified rotation signature (base64url), kept so clients can check who signed the change. */
  rotationSig?: string;
  now: number;
}

export interface EnqueueInput {
  envelope: Envelope;
  /** The envelope's JSON when the caller has it already (stored as is); else the store serializes `envelope`. */
  body?: string;
  size: number;
  receivedAt: number;
  expiresAt: number;
  /**
   * The caller has checked that no envelope with this (from, id) is pending or committed (the relay knows this for
   * every envelope it forwards live). A store may then fold acknowledgements that arrive before this enqueue is
   * written into the insert itself: same outcome, one write instead of three.
   */
  unique?: boolean;
}

export interface QueueUsage {
  count: number;
  bytes: number;
}

export interface StoreStats {
  identities: number;
  /** Unacknowledged (recipient, envelope) deliveries. */
  queued: number;
  /** Envelope rows incl. acknowledged tombstones kept for dedupe until their TTL. */
  envelopes: number;
  commits: number;
  committedWrites: number;
  /** Acknowledgements folded into a not-yet-written enqueue (SQLite store; see EnqueueInput.unique). */
  foldedAcks?: number;
}

export interface EnvelopeStore {
  identityByUsername(username: string): Promise<StoredIdentity | null>;
  identityByFingerprint(fingerprint: string): Promise<StoredIdentity | null>;
  /** Insert or rotate; throws ProtocolError USERNAME_TAKEN / IDENTITY_TAKEN. Idempotent for the same pair. */
  register(input: RegisterInput): Promise<{ rotated: boolean; previous: string | null }>;
  /**
   * Durably queue for every `to` recipient; duplicate (from, id) → no change. `seqs` gives each recipient's own
   * sequence number of the new envelope (see QueuedEnvelope.seq).
   */
  enqueue(input: EnqueueInput): Promise<{ duplicate: boolean; seqs?: Record<string, number> }>;
  /**
   * Whether (from, id) is committed (queued or tombstoned): the relay's dedupe check before it forwards an envelope
   * to an online recipient ahead of its commit (see PROTOCOL.md, live delivery).
   */
  hasEnvelope(from: string, id: string): Promise<boolean>;
  /** Unacknowledged envelopes for `recipient` with (its own) seq > afterSeq, ascending. */
  pending(recipient: string, afterSeq: number, limit: number): Promise<QueuedEnvelope[]>;
  usage(recipient: string): Promise<QueueUsage>;
  /**
   * Optional (stores shared by several nodes): per recipient, the seq of its newest unacknowledged envelope;
   * recipients with none are absent. A node compares it with what it pushed (cluster.ts resync).
   */
  newestPending?(recipients: readonly string[]): Promise<Map<string, number>>;
  /**
   * Optional: unacknowledged envelopes for `recipient` counted by sender. Without it the relay cannot enforce the
   * per-sender caps (maxPendingPerSender, maxPendingFromNewSenders) and enforces only the recipient's quota.
   */
  pendingBySender?(recipient: string): Promise<Map<string, number>>;
  /**
   * Mark (from, id) acknowledged by `recipient`. Items never queued for `recipient` but existing for others make the
   * whole call throw ProtocolError FORBIDDEN with nothing changed; unknown or already-acked items count as not removed.
   */
  ack(recipient: string, items: Array<{ from: string; id: string }>): Promise<{ removed: number; bytes?: number }>;
  /** Delete everything whose TTL passed; returns deliveries dropped. */
  sweep(now: number): Promise<number>;
  stats(): Promise<StoreStats>;
  /** Commit pending writes, then close. */
  close(): Promise<void>;
}
