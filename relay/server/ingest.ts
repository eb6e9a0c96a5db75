/**
 * Ingest: a `send` from an authenticated identity. Checks (sender, rate, signature, recipients) run concurrently;
 * quota reservation, hand-off to the store and live forwarding happen in the connection's arrival order.
 */
import { createPublicKey, verify as edVerify } from 'node:crypto';
import {
  LABELS,
  ProtocolError,
  canonicalHeader,
  frame,
  type Envelope,
  type PublicIdentity,
  type SendRequest,
} from '../protocol/index.js';
import type { ConnState, Handler, RelayContext } from './context.js';
import type { StoredIdentity } from './store/types.js';
import { kick } from './delivery.js';
import { TokenBucket } from './limits.js';

const b64 = (s: string) => Buffer.from(s, 'base64url'); // fields already proven canonical by the schema

/**
 * The envelope signature (PROTOCOL.md §5.3) with node:crypto's Ed25519 (same OpenSSL verification as WebCrypto),
 * in its callback form: the verification (~100 µs here, the largest single cost of a send) runs on libuv's
 * threadpool, so the event loop keeps forwarding meanwhile. The schema has checked every base64url field
 * (canonical, lengths), so they are decoded once, plainly.
 */
function verifyEnvelope(ctx: RelayContext, env: Envelope, sender: PublicIdentity): Promise<boolean> {
  const { verifyKeys } = ctx;
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
    const key = k.key;
    return new Promise((resolve) => edVerify(null, signed, key, b64(env.sig), (err, ok) => resolve(!err && ok)));
  } catch {
    return Promise.resolve(false);
  }
}

/** Send buckets made for a new identity (a fraction of the normal one); replaced once the identity is not new. */
const newIdentityBuckets = new WeakSet<TokenBucket>();

/** The sender's send bucket: newSendFactor of the normal size and rate while the identity is new. */
function sendBucket(ctx: RelayContext, sender: StoredIdentity): TokenBucket {
  const { limits, sendBuckets } = ctx;
  const isNew = ctx.isNew(sender);
  let bucket = sendBuckets.get(sender.fingerprint);
  if (!bucket || (newIdentityBuckets.has(bucket) && !isNew)) {
    const f = isNew ? limits.newSendFactor : 1;
    bucket = new TokenBucket(Math.max(1, Math.floor(limits.sendBurst * f)), limits.sendPerSec * f);
    if (isNew) newIdentityBuckets.add(bucket);
    sendBuckets.set(sender.fingerprint, bucket);
  }
  return bucket;
}

/** The checks of a send that may run concurrently (signature, recipients); resolves with the sender. */
async function checkSend(ctx: RelayContext, fp: string, env: Envelope): Promise<StoredIdentity> {
  if (env.from !== fp) throw new ProtocolError('FORBIDDEN', 'envelope sender is not the authenticated identity');
  const sender = await ctx.identityByFingerprint(fp);
  if (!sender) throw new ProtocolError('FORBIDDEN', 'sender identity no longer registered');
  const wait = sendBucket(ctx, sender).take();
  if (wait > 0) throw new ProtocolError('RATE_LIMITED', 'too many envelopes; slow down', wait);
  if (!(await verifyEnvelope(ctx, env, sender.identity))) {
    throw new ProtocolError('BAD_SIGNATURE', 'envelope signature does not verify with the sender identity');
  }
  for (const to of env.to) {
    if (!(await ctx.identityByFingerprint(to))) throw new ProtocolError('NOT_FOUND', `recipient ${to} is not registered`);
  }
  return sender;
}

/**
 * Reserve room for one envelope from `sender` in each recipient's queue, or throw QUOTA_EXCEEDED with nothing
 * reserved: the recipient's quota (count, bytes), the per-sender cap, and, for a new sender, the cap on everything
 * new senders together have pending for that recipient. Loads first; checks and reserves synchronously, so
 * concurrent sends cannot both take the last place.
 */
async function reserve(ctx: RelayContext, sender: StoredIdentity, recipients: readonly string[], size: number): Promise<void> {
  try {
    await reserveFromCache(ctx, sender, recipients, size);
  } catch (e) {
    if (!(ctx.bus.clustered && e instanceof ProtocolError && e.code === 'QUOTA_EXCEEDED')) throw e;
    // In a cluster, acks on other nodes shrink these queues without this node's counts seeing it (and a lost notice
    // leaves them high): before refusing, recount from the shared store and check again.
    for (const to of recipients) {
      ctx.usageCache.delete(to);
      ctx.senderPending.delete(to);
    }
    await reserveFromCache(ctx, sender, recipients, size);
  }
}

async function reserveFromCache(ctx: RelayContext, sender: StoredIdentity, recipients: readonly string[], size: number): Promise<void> {
  const { limits } = ctx;
  const senderNew = ctx.isNew(sender);
  for (const to of recipients) {
    await ctx.usage(to);
    const bySender = await ctx.pendingBySender(to);
    if (senderNew) for (const s of bySender.keys()) await ctx.identityByFingerprint(s); // cached for the sync check
  }
  const now = Date.now();
  for (const to of recipients) {
    const u = ctx.usageCache.get(to);
    const bySender = ctx.senderPending.get(to);
    if (!u || !bySender) throw new ProtocolError('INTERNAL', 'queue accounting changed meanwhile; retry');
    if (u.count + 1 > limits.queueQuota || u.bytes + size > limits.queueQuotaBytes) {
      throw new ProtocolError('QUOTA_EXCEEDED', `queue of recipient ${to} is full`);
    }
    if ((bySender.get(sender.fingerprint) ?? 0) + 1 > limits.maxPendingPerSender) {
      throw new ProtocolError('QUOTA_EXCEEDED', `${limits.maxPendingPerSender} of your envelopes are already waiting for recipient ${to}`);
    }
    if (senderNew) {
      let fromNew = 0;
      for (const [s, n] of bySender) {
        const who = ctx.identities.get(s);
        if (!who || ctx.isNew(who, now)) fromNew += n; // unknown (evicted or rotated away) counts as new
      }
      if (fromNew + 1 > limits.maxPendingFromNewSenders) {
        throw new ProtocolError('QUOTA_EXCEEDED', `recipient ${to} has too many envelopes waiting from newly registered identities`);
      }
    }
  }
  for (const to of recipients) {
    const u = ctx.usageCache.get(to)!;
    u.count++;
    u.bytes += size;
    const bySender = ctx.senderPending.get(to)!;
    bySender.set(sender.fingerprint, (bySender.get(sender.fingerprint) ?? 0) + 1);
  }
}

/** Undo reserve() for one envelope. */
function unreserve(ctx: RelayContext, from: string, recipients: readonly string[], size: number): void {
  for (const to of recipients) {
    ctx.release(to, 1, size);
    ctx.releaseSender(to, from);
  }
}

/**
 * Quota reservation, hand-off to the store and live delivery, in the connection's arrival order; returns the commit
 * promise (resolving after the commit and its bookkeeping). Live delivery: an envelope that is not a duplicate goes
 * at once to each online recipient that is caught up (see ConnState.live) and has room in its window; the others
 * get it from the store after the commit (pump). See PROTOCOL.md "Live delivery" for why this keeps the guarantees.
 */
async function queueSend(
  ctx: RelayContext,
  sender: StoredIdentity,
  env: Envelope,
  size: number,
  body: string,
): Promise<{ committed: Promise<{ duplicate: boolean }> }> {
  const { store, limits, sessions, state, uncommitted, pendingKeys, counters } = ctx;
  await reserve(ctx, sender, env.to, size);
  const now = Date.now();
  const key = `${env.from}/${env.id}`;
  // Known duplicate (pending or committed): stored nowhere, delivered to no one; the store answers duplicate.
  // The store check is asynchronous (a network database): pendingKeys is checked again after it, because a replaced
  // connection of the same identity may have taken the key meanwhile (this connection's own sends wait in its chain).
  let dupe = pendingKeys.has(key);
  if (!dupe) {
    try {
      dupe = (await store.hasEnvelope(env.from, env.id)) || pendingKeys.has(key);
    } catch (e) {
      unreserve(ctx, env.from, env.to, size);
      throw e;
    }
  }
  const ownsKey = !dupe;
  if (ownsKey) pendingKeys.add(key);
  const enqueued = store.enqueue({ envelope: env, body, size, receivedAt: now, expiresAt: now + limits.ttlMs, unique: ownsKey });
  for (const to of env.to) uncommitted.set(to, (uncommitted.get(to) ?? 0) + 1);
  const liveTo = new Map<string, ConnState>();
  if (ownsKey && ctx.bus.liveForwarding) {
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
  const done = (seqs: Record<string, number> | undefined) => {
    if (ownsKey) pendingKeys.delete(key);
    for (const to of env.to) {
      const n = (uncommitted.get(to) ?? 1) - 1;
      if (n > 0) uncommitted.set(to, n);
      else uncommitted.delete(to);
    }
    for (const [to, rs] of liveTo) {
      rs.liveKeys.delete(key);
      const seq = seqs?.[to];
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
      kick(ctx, to);
    }
  };
  // wrapped: an async function returning the bare promise would wait for the commit inside the send chain
  const committed = enqueued.then(
    (r) => {
      done(r.duplicate ? undefined : r.seqs);
      if (!r.duplicate) ctx.bus.committed(env.to); // recipients connected to other nodes read it from the store
      if (r.duplicate) unreserve(ctx, env.from, env.to, size);
      kickOthers();
      return { duplicate: r.duplicate };
    },
    (e: unknown) => {
      done(undefined);
      unreserve(ctx, env.from, env.to, size);
      kickOthers();
      throw e;
    },
  );
  return { committed };
}

export function sendHandler(ctx: RelayContext): Handler<SendRequest> {
  return async (_socket, st: ConnState, p, body) => {
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
      const sender = await checkSend(ctx, fp, env);
      await prev;
      ({ committed } = await queueSend(ctx, sender, env, size, json));
    } finally {
      void prev.then(releaseChain);
    }
    const result = await committed;
    if (result.duplicate) ctx.counters.duplicates++;
    else ctx.counters.envelopesAccepted++;
    ctx.log.debug({ from: fp, id: env.id, size, to: env.to.length, duplicate: result.duplicate }, 'envelope queued');
    return { id: env.id, duplicate: result.duplicate };
  };
}
