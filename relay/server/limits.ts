/** Relay operating limits. Every value may be lowered (or, for rates, raised) per relay; protocol hard caps still apply. */
import { z } from 'zod';
import { LIMITS } from '../protocol/index.js';
import { blobLimitsShape, DEFAULT_BLOB_LIMITS, type BlobLimits } from './blobs/limits.js';

export interface RelayLimits extends BlobLimits {
  /** Largest serialized envelope accepted (UTF-8 JSON bytes); ≤ LIMITS.maxEnvelopeBytes. */
  maxEnvelopeBytes: number;
  /** Unacknowledged envelopes queued per recipient. */
  queueQuota: number;
  /** Bytes of unacknowledged envelopes queued per recipient. */
  queueQuotaBytes: number;
  /** Envelope time-to-live; expired envelopes are deleted unacknowledged. */
  ttlMs: number;
  /** How often expired envelopes are swept. */
  sweepIntervalMs: number;
  /** Envelopes per `deliver` batch (≤ LIMITS.maxBatch). */
  deliverBatch: number;
  /** Pushed-but-unacknowledged envelopes per connection before pushing pauses (flow control). */
  deliverWindow: number;
  /** Group commit: how long a write waits for companions before the transaction commits. */
  commitDelayMs: number;
  /** Group commit: commit at once when this many writes are pending. */
  commitMaxBatch: number;
  /** Token bucket over every event of one connection. */
  connBurst: number;
  connPerSec: number;
  /** Token bucket over `send` of one identity (across its connections). */
  sendBurst: number;
  sendPerSec: number;
  /** Rejected requests per connection per minute before the relay drops the connection. */
  abuseRejectsPerMinute: number;
  /**
   * Open connections per remote address (IPv4-mapped IPv6 counted as IPv4); more are refused at the handshake with
   * RATE_LIMITED. Each idle connection costs the relay ~30 KB, so one host cannot exhaust it.
   */
  maxConnectionsPerAddress: number;
  /**
   * Unacknowledged envelopes one sender may have queued for one recipient (default ¼ of queueQuota), so a few
   * identities cannot fill someone's queue.
   */
  maxPendingPerSender: number;
  /**
   * Unacknowledged envelopes that all *new* senders together (registered less than newIdentityMs ago) may have queued
   * for one recipient (default ¼ of queueQuota): freshly made identities cannot crowd out long-standing contacts.
   */
  maxPendingFromNewSenders: number;
  /** How long an identity counts as new after its registration (or rotation). */
  newIdentityMs: number;
  /** A new identity's send bucket is this fraction of sendBurst and sendPerSec (0 < f ≤ 1). */
  newSendFactor: number;
  /** New registrations (not re-registrations or rotations) per remote address: token bucket. */
  registrationBurst: number;
  registrationPerHour: number;
  /**
   * Cluster mode: how often a node compares the newest unacknowledged envelope of each recipient connected to it with
   * what it has pushed, and pumps where the store holds more. The safety net under cross-node notifications: one lost
   * (Redis down, a node killed between its commit and its publish) delays a delivery by at most this much.
   */
  clusterResyncMs: number;
}

export const DEFAULT_LIMITS: Readonly<RelayLimits> = Object.freeze({
  maxEnvelopeBytes: LIMITS.maxEnvelopeBytes,
  queueQuota: 10_000,
  queueQuotaBytes: 256 * 1024 * 1024,
  ttlMs: 30 * 24 * 3600 * 1000,
  sweepIntervalMs: 60_000,
  deliverBatch: 64,
  deliverWindow: 256,
  commitDelayMs: 2,
  commitMaxBatch: 256,
  connBurst: 400,
  connPerSec: 200,
  sendBurst: 200,
  sendPerSec: 100,
  abuseRejectsPerMinute: 50,
  maxConnectionsPerAddress: 256,
  maxPendingPerSender: 2_500,
  maxPendingFromNewSenders: 2_500,
  newIdentityMs: 3_600_000,
  newSendFactor: 0.5,
  registrationBurst: 10,
  registrationPerHour: 60,
  clusterResyncMs: 2_000,
  ...DEFAULT_BLOB_LIMITS,
});

const pos = z.number().int().positive();
export const relayLimitsSchema = z
  .object({
    maxEnvelopeBytes: pos.max(LIMITS.maxEnvelopeBytes),
    queueQuota: pos,
    queueQuotaBytes: pos,
    ttlMs: pos,
    sweepIntervalMs: pos,
    deliverBatch: pos.max(LIMITS.maxBatch),
    deliverWindow: pos,
    commitDelayMs: z.number().int().min(0).max(1000),
    commitMaxBatch: pos,
    connBurst: pos,
    connPerSec: z.number().positive(),
    sendBurst: pos,
    sendPerSec: z.number().positive(),
    abuseRejectsPerMinute: pos,
    maxConnectionsPerAddress: pos,
    maxPendingPerSender: pos,
    maxPendingFromNewSenders: pos,
    newIdentityMs: z.number().int().min(0),
    newSendFactor: z.number().positive().max(1),
    registrationBurst: pos,
    registrationPerHour: z.number().positive(),
    clusterResyncMs: z.number().int().min(50),
    ...blobLimitsShape,
  })
  .strict()
  .partial();

/** Defaults overlaid with validated overrides; throws TypeError naming the bad field. */
export function resolveLimits(overrides: unknown = {}): RelayLimits {
  const parsed = relayLimitsSchema.safeParse(overrides ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TypeError(`bad relay limits: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim());
  }
  const out = { ...DEFAULT_LIMITS, ...parsed.data };
  // The per-sender caps follow a changed quota unless set themselves.
  const quarter = Math.max(1, Math.floor(out.queueQuota / 4));
  if (parsed.data.maxPendingPerSender === undefined) out.maxPendingPerSender = quarter;
  if (parsed.data.maxPendingFromNewSenders === undefined) out.maxPendingFromNewSenders = quarter;
  if (out.deliverWindow < out.deliverBatch) out.deliverWindow = out.deliverBatch;
  return out;
}

/** Token bucket: `capacity` tokens, refilled continuously at `perSec`. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly capacity: number,
    private readonly perSec: number,
    now = Date.now(),
  ) {
    this.tokens = capacity;
    this.last = now;
  }

  /** Take one token; returns 0 on success or the milliseconds until one is available. */
  take(now = Date.now()): number {
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.perSec);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - this.tokens) / this.perSec) * 1000));
  }

  full(now = Date.now()): boolean {
    return this.tokens + ((now - this.last) / 1000) * this.perSec >= this.capacity;
  }
}
