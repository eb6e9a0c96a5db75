/**
 * The receive path: validate → resolve the sender (trust.ts) → open in the pool → store message + dedupe mark in
 * ONE transaction → only then ack to the relay. A crash loses nothing and a redelivery shows nothing twice.
 * Failures to open are stored as 'undecryptable' with their reason, then acked. After storing text messages a
 * sealed {type:'receipt', ids} is queued in the same transaction; incoming receipts mark our messages delivered.
 */
import type { PublicIdentity } from '../../../relay/protocol/index.js';
import { envelopeSchema, fingerprintSchema, messageIdSchema } from '../../../relay/protocol/index.js';
import os from 'node:os';
import { newMessageId, OpenError, type Payload } from '../crypto/index.js';
import { directConversation } from '../../contract/api.js';
import { toMessageView } from '../store/history.js';
import type { ContactRecord } from '../store/types.js';
import type { LooseDelivered } from '../transport/schemas.js';
import { AckPump } from './acks.js';
import { EnvelopeWriter, emptyOutcome, type GroupSink, type WriteOutcome } from './envelope-writer.js';
import {
  RetryLater,
  type AckItem,
  type MessengerContext,
  type OpenResult,
  type OutboxKick,
  type PendingReopener,
  type ReceiveDiagnostics,
  type SealedReceipt,
  type SenderResolver,
} from './types.js';

type Prepared =
  | { kind: 'skip'; ack: AckItem | null }
  | { kind: 'pending'; ack: AckItem; contact: ContactRecord; raw: unknown; receivedAt: number }
  | {
      kind: 'open';
      ack: AckItem;
      contact: ContactRecord;
      raw: unknown;
      receivedAt: number;
      result: Promise<OpenResult>;
    };

/** A slice of a delivered batch, committed in one transaction; `ready` = its opens done and its receipt sealed. */
type Chunk = {
  part: Prepared[];
  ready: Promise<{ opened: Array<OpenResult | null>; receipts: SealedReceipt[] }>;
};

/** Gives the event loop a turn (I/O, timers) between chunks of synchronous work. */
const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Envelopes prepared (dedupe check, sender resolution, handed to the pool) per turn of the event loop. Preparing runs
 * in the same turn as the delivery that brought the batch (socket.io parse and schema check): 64 at once kept the
 * loop 8–15 ms (bench/backlog.ts), so a timer or an IPC call waited for that plus the commit after it.
 */
const PREPARE_SLICE = 16;

function headerOf(raw: unknown): AckItem | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const { from, id } = raw as { from?: unknown; id?: unknown };
  if (!fingerprintSchema.safeParse(from).success || !messageIdSchema.safeParse(id).success) return null;
  return { from: from as string, id: id as string };
}

/**
 * The id a delivery receipt names for an opened envelope, or null when it gets none: only text and files messages
 * are acknowledged, a group message by its group message id (`m`), shared by all its envelopes. One rule for a
 * fresh batch and for held envelopes opened after a key change.
 */
function receiptIdOf(r: OpenResult | null, envelopeId: string): string | null {
  if (!r || !('payload' in r)) return null;
  const p = r.payload;
  return p.type === 'text' || p.type === 'files' ? (p.m ?? envelopeId) : null;
}

function openErrorText(err: unknown): string {
  if (err instanceof OpenError) return `${err.reason}: ${err.message}`;
  if (err && typeof err === 'object' && 'reason' in err) return `${String((err as { reason: unknown }).reason)}: ${String((err as { message?: unknown }).message)}`;
  return `malformed: ${err instanceof Error ? err.message : String(err)}`;
}

export interface IngestDeps {
  ctx: MessengerContext;
  senders: SenderResolver;
  outbox: OutboxKick;
  /** Group payloads and receipts for group messages (groups-receive.ts). */
  groups?: GroupSink;
}

export class Ingest implements PendingReopener {
  private readonly ctx: MessengerContext;
  private chain: Promise<void> = Promise.resolve();
  private prepChain: Promise<void> = Promise.resolve();
  private readonly inflight = new Set<string>();
  /** Acks sent after a commit and not answered yet (idle() waits for them). */
  private readonly ackWaits = new Set<Promise<number>>();
  private readonly acks: AckPump;
  /** Opens waiting for a pool slot (FIFO = relay order) and the number handed to the pool. */
  private readonly openQueue: Array<() => void> = [];
  private opensInFlight = 0;
  private readonly maxOpens: number;
  private readonly commitChunk: number;
  private draining = false;
  private drainAgain = false;
  /**
   * Set when a batch could not be committed (a sender could not be resolved, or the transaction failed). Until the
   * refetch that follows, later batches are not stored, so that no sender's later messages land before its earlier
   * ones: pushed batches are dropped unacknowledged and `epoch` invalidates batches already prepared.
   */
  private stalled = false;
  private epoch = 0;
  /** A pushed batch was dropped since the last fetch started: the drain must fetch again even without `more`. */
  private droppedPush = false;
  private refetchTimer: NodeJS.Timeout | null = null;
  private readonly writer: EnvelopeWriter;
  private readonly counters: ReceiveDiagnostics = { quarantined: 0, collapsedFailures: 0, failedCommits: 0, deferredBatches: 0 };

  constructor(private readonly d: IngestDeps) {
    this.ctx = d.ctx;
    this.writer = new EnvelopeWriter(d.ctx, d.groups ?? null);
    this.acks = new AckPump(d.ctx, () => this.retryDrainSoon());
    this.maxOpens = Math.max(1, d.ctx.options.maxOpensInFlight ?? os.availableParallelism());
    this.commitChunk = Math.max(1, d.ctx.options.commitChunk ?? 64);
  }

  /** Resolves when every batch queued so far has been processed (stored and acknowledged). */
  async idle(): Promise<void> {
    await this.chain;
    await Promise.all([...this.ackWaits]);
  }

  diagnostics(): ReceiveDiagnostics {
    return { ...this.counters };
  }

  /**
   * A new connection. While stalled, its pushes are still held back (an older batch may be queued behind them);
   * fetch now rather than after the retry delay.
   */
  connected(): void {
    if (this.stalled) void this.drain();
  }

  private count(out: WriteOutcome): void {
    this.counters.quarantined += out.quarantined;
    this.counters.collapsedFailures += out.collapsed;
  }

  /** A batch could not be committed: hold later ones back and fetch again (in relay order) shortly. */
  private stall(reason: string, deferred: boolean): void {
    if (deferred) this.counters.deferredBatches++;
    else this.counters.failedCommits++;
    this.ctx.log(deferred ? `batch deferred: ${reason}` : `batch failed: ${reason}`);
    if (!this.stalled) this.epoch++;
    this.stalled = true;
    this.retryDrainSoon();
  }

  private unstall(): void {
    if (this.stalled) this.epoch++; // batches prepared before this point belong to the stalled stretch
    this.stalled = false;
  }

  /** Resolves when the batches queued so far are done (for close; errors were already logged). */
  settled(): Promise<void> {
    return this.chain.catch(() => {});
  }

  /** Fetches the relay queue until it is empty (also runs after every authentication). */
  async drain(): Promise<void> {
    if (this.draining) {
      this.drainAgain = true;
      return;
    }
    this.draining = true;
    try {
      do {
        this.drainAgain = false;
        for (;;) {
          const t = this.ctx.transport();
          if (!t?.online || this.ctx.closed()) break;
          this.droppedPush = false;
          const r = await t.fetch(this.ctx.options.fetchLimit ?? 64);
          // The fetch starts from the oldest unacknowledged envelope: from here on, batches may be stored again.
          // Queued synchronously with the unstall, so no pushed batch can get in ahead of it.
          const wasStalled = this.stalled;
          this.unstall();
          if (r.envelopes.length === 0) break;
          const acked = await this.enqueueBatch(r.envelopes, 'fetch');
          if (this.stalled) break; // failed again: the retry timer fetches later
          if ((!r.more && !(wasStalled && this.droppedPush)) || acked === 0) break;
        }
      } while (this.drainAgain && !this.ctx.closed());
    } catch (err) {
      this.ctx.log(`fetch stopped: ${(err as Error).message}`);
      if (this.stalled) this.retryDrainSoon(); // pushes stay held back until a fetch gets through
    } finally {
      this.draining = false;
    }
  }

  /** Envelopes the relay pushed but we could not finish stay unacknowledged; fetch them again a bit later. */
  private retryDrainSoon(): void {
    if (this.ctx.closed() || this.refetchTimer) return;
    this.refetchTimer = setTimeout(() => {
      this.refetchTimer = null;
      void this.drain();
    }, this.ctx.options.refetchDelayMs ?? 2000);
    this.refetchTimer.unref();
  }

  /** Queues a batch for serial processing (relay order is kept). Resolves with the number of envelopes acked. */
  enqueueBatch(items: LooseDelivered[], source: 'push' | 'fetch' = 'push'): Promise<number> {
    // Two ordered stages: preparing a batch (sender resolution; its envelopes start opening in the pool) may
    // overlap with committing the previous one, so the workers never wait for SQLite or the relay's ack.
    // A pushed batch that arrives while stalled waits for the refetch instead (it would overtake earlier envelopes).
    const epoch = this.epoch;
    const prep = this.prepChain.then(() => {
      if (this.ctx.closed()) return null;
      if (epoch !== this.epoch || (this.stalled && source === 'push')) {
        this.droppedPush = true;
        return null;
      }
      return this.prepareBatch(items, epoch);
    });
    this.prepChain = prep.then(
      () => undefined,
      () => undefined,
    );
    // The chain moves on once a batch is committed; its acks are answered in the background (`acked`).
    const run = this.chain.then(async () => {
      const p = await prep;
      return p ? this.finishBatch(p) : { acked: Promise.resolve(0) };
    });
    this.chain = run.then(
      () => undefined,
      (err: unknown) => {
        // What was not committed was not acknowledged; the relay keeps it. Fetch it again shortly (stall() ran
        // where the failure happened; this catches anything else).
        if (!this.stalled) this.stall((err as Error).message, err instanceof RetryLater);
      },
    );
    return run.then(
      (r) => r.acked,
      () => 0,
    );
  }

  private async prepareBatch(items: LooseDelivered[], epoch: number): Promise<{ chunks: Chunk[]; keys: string[]; epoch: number }> {
    const prepared: Prepared[] = [];
    const keys: string[] = [];
    try {
      for (const [n, it] of items.entries()) {
        if (n > 0 && n % PREPARE_SLICE === 0) await yieldToLoop();
        const hdr = headerOf(it.envelope);
        if (!hdr) {
          // Cannot be attributed nor acknowledged; the relay validated it, so this is a relay defect.
          this.ctx.log('dropped an envelope without a valid sender/id');
          prepared.push({ kind: 'skip', ack: null });
          continue;
        }
        const key = `${hdr.from}/${hdr.id}`;
        if (this.inflight.has(key)) {
          prepared.push({ kind: 'skip', ack: null }); // the batch that has it acknowledges it
          continue;
        }
        if (this.ctx.store.hasSeen(hdr.from, hdr.id)) {
          prepared.push({ kind: 'skip', ack: hdr });
          continue;
        }
        const sender = await this.d.senders.resolveSender(hdr.from);
        if (!sender) {
          prepared.push({ kind: 'skip', ack: hdr });
          continue;
        }
        this.inflight.add(key);
        keys.push(key);
        const { contact, role } = sender;
        if (contact.blocked) {
          prepared.push({ kind: 'skip', ack: hdr });
        } else if (role === 'pending' && !envelopeSchema.safeParse(it.envelope).success) {
          // Held envelopes are kept until the user decides: only well-formed ones (a malformed one can never open).
          const error = 'malformed: not a well-formed envelope';
          prepared.push({ kind: 'open', ack: hdr, contact, raw: it.envelope, receivedAt: it.receivedAt, result: Promise.resolve({ error }) });
        } else if (role === 'pending') {
          prepared.push({ kind: 'pending', ack: hdr, contact, raw: it.envelope, receivedAt: it.receivedAt });
        } else if (role === 'stale' || role === 'rejected') {
          const error =
            role === 'stale'
              ? `wrong-sender: signed by a previous key of ${contact.username} that has since been replaced`
              : `key-rejected: signed by a new key of ${contact.username} that you rejected`;
          prepared.push({ kind: 'open', ack: hdr, contact, raw: it.envelope, receivedAt: it.receivedAt, result: Promise.resolve({ error }) });
        } else {
          const result = this.openQueued(it.envelope, contact.identity);
          prepared.push({ kind: 'open', ack: hdr, contact, raw: it.envelope, receivedAt: it.receivedAt, result });
        }
      }
      // Each chunk seals its receipt as soon as its own opens are done, while earlier chunks are still committing.
      const chunks: Chunk[] = [];
      for (let i = 0; i < prepared.length; i += this.commitChunk) {
        const part = prepared.slice(i, i + this.commitChunk);
        const ready = Promise.all(part.map(async (p) => (p.kind === 'open' ? await p.result : null))).then(async (opened) => {
          // Receipts are sealed before the commit and queued in the same transaction as the messages: a crash
          // never loses one.
          const receipts = await this.sealReceipts(
            part.flatMap((p, j) => {
              const id = p.kind === 'open' ? receiptIdOf(opened[j] ?? null, p.ack.id) : null;
              return p.kind === 'open' && id !== null ? [{ contact: p.contact, id }] : [];
            }),
          );
          return { opened, receipts };
        });
        chunks.push({ part, ready });
      }
      return { chunks, keys, epoch };
    } catch (err) {
      for (const k of keys) this.inflight.delete(k);
      // Right away, before the next batch is prepared: nothing after this one may be stored before it.
      this.stall((err as Error).message, err instanceof RetryLater);
      throw err;
    }
  }

  /** Opens one envelope in the pool, waiting for a slot first (see maxOpensInFlight). Never rejects. */
  private openQueued(envelope: unknown, sender: PublicIdentity): Promise<OpenResult> {
    const crypto = this.ctx.crypto(); // the identity the envelope was addressed to when it arrived
    return new Promise<OpenResult>((resolve) => {
      const run = (): void => {
        this.opensInFlight++;
        let result: Promise<OpenResult>;
        try {
          result = crypto.open(envelope, sender).then(
            (r) => ({ payload: r.payload }),
            (err: unknown) => ({ error: openErrorText(err) }),
          );
        } catch (err) {
          result = Promise.resolve({ error: openErrorText(err) });
        }
        void result.then((r) => {
          this.opensInFlight--;
          this.openQueue.shift()?.();
          resolve(r);
        });
      };
      if (this.opensInFlight < this.maxOpens) run();
      else this.openQueue.push(run);
    });
  }

  /**
   * Commits a prepared batch in relay order, chunk by chunk: wait until the chunk is opened and its receipt sealed
   * (later chunks and batches keep opening meanwhile), store it in one transaction, announce it, send its ack
   * (after the commit; not awaited here, so the next chunk commits during the round trip), yield to the loop.
   */
  private async finishBatch({ chunks, keys, epoch }: { chunks: Chunk[]; keys: string[]; epoch: number }): Promise<{ acked: Promise<number> }> {
    const acks: Array<Promise<number>> = [];
    try {
      for (const [n, c] of chunks.entries()) {
        if (n > 0) await yieldToLoop();
        const { opened, receipts } = await c.ready;
        // An earlier batch failed after this one was prepared: drop the rest unacknowledged; the refetch has it.
        if (epoch !== this.epoch) {
          this.droppedPush = true;
          break;
        }
        try {
          acks.push(this.commitPart(c.part, opened, receipts));
        } catch (err) {
          this.stall((err as Error).message, false);
          throw err;
        }
      }
    } finally {
      for (const k of keys) this.inflight.delete(k);
    }
    return { acked: Promise.all(acks).then((a) => a.reduce((x, y) => x + y, 0)) };
  }

  /**
   * Stores one chunk in one transaction (each envelope in its own savepoint, see envelope-writer.ts) and announces
   * it; resolves with the number acked once the relay answers. Throws (nothing acked) only if the commit fails.
   */
  private commitPart(prepared: Prepared[], opened: Array<OpenResult | null>, receipts: SealedReceipt[]): Promise<number> {
    const { store } = this.ctx;
    const now = this.ctx.now();
    const out = emptyOutcome();
    store.transaction(() => {
      prepared.forEach((p, i) => {
        if (p.kind === 'skip') return;
        const ref = { contact: p.contact, ack: p.ack, raw: p.raw, receivedAt: p.receivedAt };
        if (p.kind === 'pending') {
          this.writer.guarded(ref, now, out, (own) => {
            const max = this.ctx.options.maxHeldPerContact ?? 1000;
            if (store.countPendingEnvelopes(p.contact.username) >= max) {
              if (store.markSeen(p.ack.from, p.ack.id, now)) {
                this.writer.writeFailure(ref, `held-limit: more than ${max} envelopes wait for your decision on ${p.contact.username}'s new key`, now, own);
              }
              return;
            }
            store.addPendingEnvelope({
              contact: p.contact.username,
              senderFingerprint: p.ack.from,
              envelopeId: p.ack.id,
              envelope: p.raw,
              receivedAt: p.receivedAt,
            });
          });
          return;
        }
        const r = opened[i];
        if (!r) return;
        this.writer.guarded(ref, now, out, (own) => {
          if (store.markSeen(p.ack.from, p.ack.id, now)) this.writer.writeOpened(ref, r, now, own);
        });
      });
      this.enqueueReceipts(receipts);
    });
    // Committed: now (and only now) the relay may forget them.
    this.count(out);
    const acks = prepared.flatMap((p) => (p.ack ? [p.ack] : []));
    const acked = this.acks.send(acks);
    this.ackWaits.add(acked);
    void acked.then((n) => {
      this.ackWaits.delete(acked);
      this.ctx.emit('batch-stored', { stored: out.received.length, acked: n });
    });
    this.afterStore(out, receipts.length > 0, prepared);
    return acked;
  }

  private afterStore(out: WriteOutcome, receiptsQueued: boolean, prepared: Prepared[]): void {
    for (const m of out.received) this.ctx.emit('message-received', toMessageView(m));
    for (const m of out.updated) this.ctx.emit('message-updated', toMessageView(m));
    for (const s of out.states) this.ctx.emit('message-state', { id: s.id, conversation: directConversation(s.contact), contact: s.contact, state: 'delivered', error: null });
    const pendingContacts = new Set(prepared.flatMap((p) => (p.kind === 'pending' ? [p.contact.username] : [])));
    for (const u of new Set([...pendingContacts, ...out.renamed])) this.ctx.emit('contacts-changed', { username: u });
    if (receiptsQueued) void this.d.outbox.flushOutbox();
  }

  /** Seals one receipt per contact (ids of stored text and files messages). Best effort: a failure only loses the receipt. */
  private async sealReceipts(items: Array<{ contact: ContactRecord; id: string }>): Promise<SealedReceipt[]> {
    const by = new Map<string, { contact: ContactRecord; ids: string[] }>();
    for (const it of items) {
      const e = by.get(it.contact.username) ?? { contact: it.contact, ids: [] };
      e.ids.push(it.id);
      by.set(it.contact.username, e);
    }
    const out: SealedReceipt[] = [];
    for (const { contact, ids } of by.values()) {
      if (contact.blocked || contact.pendingFingerprint) continue;
      try {
        for (let i = 0; i < ids.length; i += 1000) {
          const id = newMessageId();
          const payload: Payload = { v: 1, type: 'receipt', ts: this.ctx.now(), ids: ids.slice(i, i + 1000) };
          out.push({ username: contact.username, id, envelope: await this.ctx.crypto().seal({ recipients: [contact.identity], payload, id }) });
        }
      } catch (err) {
        this.ctx.log(`receipt not sealed: ${(err as Error).message}`);
      }
    }
    return out;
  }

  /** Inside a transaction: queue sealed receipts (retried like messages, held during a key change). */
  private enqueueReceipts(receipts: SealedReceipt[]): void {
    for (const r of receipts) {
      this.ctx.store.enqueueOutbox({ envelopeId: r.id, contact: r.username, kind: 'receipt', messageId: null, envelope: r.envelope });
    }
  }

  async reopenPending(c: ContactRecord): Promise<void> {
    const pending = this.ctx.store.listPendingEnvelopes(c.username);
    if (pending.length === 0) return;
    const results = await Promise.all(pending.map((p) => this.openQueued(p.envelope, c.identity)));
    const now = this.ctx.now();
    const out = emptyOutcome();
    const receipts = await this.sealReceipts(
      pending.flatMap((p, i) => {
        const id = receiptIdOf(results[i]!, p.envelopeId);
        return id === null ? [] : [{ contact: c, id }];
      }),
    );
    const { store } = this.ctx;
    store.transaction(() => {
      pending.forEach((p, i) => {
        store.removePendingEnvelope(p.seq);
        // Its own savepoint: a held envelope whose id collides with a stored one is quarantined, not a failed accept.
        const ref = { contact: c, ack: { from: p.senderFingerprint, id: p.envelopeId }, raw: p.envelope, receivedAt: p.receivedAt };
        this.writer.guarded(ref, now, out, (own) => {
          if (store.markSeen(p.senderFingerprint, p.envelopeId, now)) this.writer.writeOpened(ref, results[i]!, now, own);
        });
      });
      this.enqueueReceipts(receipts);
    });
    this.count(out);
    this.afterStore(out, receipts.length > 0, []);
  }
}
