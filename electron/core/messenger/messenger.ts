/**
 * The messenger: every behaviour of a conversation, with no Electron. It owns no sockets and no keys of its own:
 * it is given the history store (synchronous SQLite), a CryptoPool (private-key work off the event loop) and a
 * RelayClient, and it turns them into the delivery guarantees of the product:
 *
 *  - send: seal → message ('sending') + outbox row in ONE transaction → send → 'sent' on the relay's ack; retries
 *    with jittered backoff while offline; the outbox survives restarts.
 *  - receive: validate → resolve the sender (first contact: fetch the identity by fingerprint, check that it hashes
 *    to the header's `from`, pin it as a message request) → open in the pool → store message + dedupe mark in ONE
 *    transaction → only then ack to the relay. A crash loses nothing and a redelivery shows nothing twice.
 *  - failures to open are stored as 'undecryptable' with their reason, then acked.
 *  - receipts: after storing text messages a sealed {type:'receipt', ids} goes back; incoming receipts mark delivered.
 *  - trust on first use: a different identity served for a contact clears `verified`, holds the outbox, keeps the
 *    new key's envelopes pending (stored, then acked), records the change and raises 'contact-key-changed'.
 */
import os from 'node:os';
import {
  LABELS,
  LIMITS,
  envelopeSchema,
  fingerprintSchema,
  formatSafetyNumber,
  messageIdSchema,
  rotationInput,
  safetyNumber,
  safetyQrPayload,
  fromB64u,
  utf8,
  validateIdentity,
  verifyLabeled,
  type Envelope,
  type PublicIdentity,
} from '../../../relay/protocol/index.js';
import type {
  ContactDetail,
  ContactView,
  ConversationSummary,
  KeyChangeView,
  MessagePage,
  MessageView,
  ParleyEvents,
} from '../../contract/api.js';
import { newMessageId, OpenError, type Payload } from '../crypto/index.js';
import type { ContactRecord, HistoryStore, MessageRecord, OutboxItem } from '../store/types.js';
import { toContactView, toMessageView } from '../store/history.js';
import { backoffDelay, type BackoffOptions } from '../transport/backoff.js';
import { TypedEmitter } from '../transport/emitter.js';
import { TransportError } from '../transport/errors.js';
import type { RelayClient } from '../transport/relay-client.js';
import type { LooseDelivered } from '../transport/schemas.js';
import { CoreError } from './errors.js';

/** The part of CryptoPool the messenger uses (the real pool in production and tests). */
export interface SealerOpener {
  open(envelope: unknown, sender: PublicIdentity): Promise<{ envelope: Envelope; payload: Payload }>;
  seal(o: { recipients: PublicIdentity[]; payload: Payload; id?: string }): Promise<Envelope>;
}

export interface Me {
  username: string;
  identity: PublicIdentity;
  fingerprint: string;
}

export interface MessengerOptions {
  store: HistoryStore;
  crypto: SealerOpener;
  me: Me;
  /** Envelopes per fetch (default 64). Smaller batches commit (and ack) more often. */
  fetchLimit?: number;
  /**
   * Envelopes per commit (default 64, one relay delivery batch): each chunk of a delivered batch is stored in its
   * own transaction (with its receipt), acked, announced, and the event loop gets a turn before the next one. Each
   * commit fsyncs (synchronous=FULL) on the event loop, so fewer, larger chunks leave the crypto workers waiting less
   * (bench/backlog.ts: 16 → 64 cut app CPU per envelope ~5.2 → ~4.9 ms and catch-up ~30 → ~28 s, with the event
   * loop's p99 still under 16 ms).
   */
  commitChunk?: number;
  /**
   * Opens handed to the crypto pool at once (default one per core). The rest wait here, in relay order: the pool
   * stays busy, a receipt seal (which bypasses this queue) never waits behind a whole backlog, and the RSA work
   * (Web Crypto runs it on libuv's threadpool, 4 threads) never oversubscribes the cores the event loop needs.
   */
  maxOpensInFlight?: number;
  /** Outbox retry backoff (default 1 s doubling to 60 s, ±50 % jitter). */
  retry?: BackoffOptions;
  /** Minimum time between two key checks of one contact on send (default 30 s; 0 = every send). */
  keyCheckOnSendMs?: number;
  /** Periodic key check of every contact while online (default 10 min; 0 = off). */
  keyCheckIntervalMs?: number;
  now?: () => number;
  /** Diagnostics (never secrets). */
  log?: (msg: string) => void;
}

export type MessengerEvents = Pick<
  ParleyEvents,
  'message-received' | 'message-state' | 'contact-key-changed' | 'contacts-changed'
> & {
  /** After each committed batch of incoming envelopes: how many messages were stored in it. */
  'batch-stored': { stored: number; acked: number };
};

type AckItem = { from: string; id: string };

type Prepared =
  | { kind: 'skip'; ack: AckItem | null }
  | { kind: 'pending'; ack: AckItem; contact: ContactRecord; raw: unknown; receivedAt: number }
  | {
      kind: 'open';
      ack: AckItem;
      contact: ContactRecord;
      receivedAt: number;
      result: Promise<{ payload: Payload } | { error: string }>;
    };

type SealedReceipt = { username: string; id: string; envelope: Envelope };

/** Thrown inside a batch when the sender cannot be resolved right now (offline): nothing is acked. */
class RetryLater extends Error {}

type OpenResult = { payload: Payload } | { error: string };

/** A slice of a delivered batch, committed in one transaction; `ready` = its opens done and its receipt sealed. */
type Chunk = {
  part: Prepared[];
  ready: Promise<{ opened: Array<OpenResult | null>; receipts: SealedReceipt[] }>;
};

/** Gives the event loop a turn (I/O, timers) between chunks of synchronous work. */
const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));


function headerOf(raw: unknown): AckItem | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const { from, id } = raw as { from?: unknown; id?: unknown };
  if (!fingerprintSchema.safeParse(from).success || !messageIdSchema.safeParse(id).success) return null;
  return { from: from as string, id: id as string };
}

function openErrorText(err: unknown): string {
  if (err instanceof OpenError) return `${err.reason}: ${err.message}`;
  if (err && typeof err === 'object' && 'reason' in err) return `${String((err as { reason: unknown }).reason)}: ${String((err as { message?: unknown }).message)}`;
  return `malformed: ${err instanceof Error ? err.message : String(err)}`;
}

export class Messenger extends TypedEmitter<MessengerEvents> {
  private readonly store: HistoryStore;
  private crypto: SealerOpener;
  private me: Me;
  private transport: RelayClient | null = null;
  private transportOffs: Array<() => void> = [];
  private chain: Promise<void> = Promise.resolve();
  private prepChain: Promise<void> = Promise.resolve();
  private readonly inflight = new Set<string>();
  /** Acks sent after a commit and not answered yet (idle() waits for them). */
  private readonly ackWaits = new Set<Promise<number>>();
  /** Committed items waiting for the ack request in flight to answer; they go out together in the next one. */
  private ackBacklog: Array<{ items: AckItem[]; done: (n: number) => void }> = [];
  private ackInFlight = false;
  /** Opens waiting for a pool slot (FIFO = relay order) and the number handed to the pool. */
  private readonly openQueue: Array<() => void> = [];
  private opensInFlight = 0;
  private readonly maxOpens: number;
  private readonly commitChunk: number;
  private draining = false;
  private drainAgain = false;
  private flushing = false;
  private flushAgain = false;
  private flushDone: Promise<void> = Promise.resolve();
  private outboxTimer: NodeJS.Timeout | null = null;
  private pausedUntil = 0;
  private keyCheckTimer: NodeJS.Timeout | null = null;
  private readonly lastKeyCheck = new Map<string, number>();
  private closed = false;
  private readonly now: () => number;
  private readonly log: (msg: string) => void;

  constructor(private readonly o: MessengerOptions) {
    super();
    this.store = o.store;
    this.crypto = o.crypto;
    this.me = o.me;
    this.now = o.now ?? Date.now;
    this.log = o.log ?? (() => {});
    this.maxOpens = Math.max(1, o.maxOpensInFlight ?? os.availableParallelism());
    this.commitChunk = Math.max(1, o.commitChunk ?? 64);
  }

  get identity(): Me {
    return this.me;
  }

  /** Swap identity + crypto after a rotation. */
  setIdentity(me: Me, crypto: SealerOpener): void {
    this.me = me;
    this.crypto = crypto;
  }

  /** Attach (or replace) the relay connection. The messenger drains the queue and flushes the outbox on auth. */
  attach(t: RelayClient | null): void {
    for (const off of this.transportOffs) off();
    this.transportOffs = [];
    this.transport = t;
    if (!t) return;
    this.transportOffs.push(
      t.on('authenticated', () => {
        // The relay pushes the queue itself after authentication ('deliver', flow-controlled by our acks).
        void this.flushOutbox();
        void this.checkAllContacts();
      }),
      t.on('deliver', (items) => void this.enqueueBatch(items)),
    );
    if (t.online) void this.flushOutbox();
    const every = this.o.keyCheckIntervalMs ?? 10 * 60_000;
    if (every > 0 && !this.keyCheckTimer) {
      this.keyCheckTimer = setInterval(() => void this.checkAllContacts(), every);
      this.keyCheckTimer.unref();
    }
    this.scheduleOutbox();
  }

  /** Waits for queued incoming work, then stops timers. The store and pool are closed by their owner. */
  async close(): Promise<void> {
    this.closed = true;
    this.attach(null);
    if (this.outboxTimer) clearTimeout(this.outboxTimer);
    if (this.keyCheckTimer) clearInterval(this.keyCheckTimer);
    await this.chain.catch(() => {});
    await this.flushDone; // a send in flight still records its outcome before the store closes
  }

  /** Resolves when every batch queued so far has been processed (stored and acknowledged). */
  async idle(): Promise<void> {
    await this.chain;
    await Promise.all([...this.ackWaits]);
  }

  // ---- sending ----------------------------------------------------------------------------------------------

  async sendText(contactName: string, text: string): Promise<MessageView> {
    if (typeof text !== 'string' || text.trim().length === 0) throw new CoreError('INVALID', 'A message cannot be empty');
    if (utf8(text).byteLength > LIMITS.maxTextBytes) {
      throw new CoreError('INVALID', `A message can be at most ${LIMITS.maxTextBytes} bytes`);
    }
    let c = this.requireContact(contactName);
    if (c.blocked) throw new CoreError('BLOCKED', `${c.username} is blocked; unblock them to send`);
    if (c.rejectedFingerprint && !c.pendingFingerprint) {
      throw new CoreError('KEY_REJECTED', `You rejected ${c.username}'s new key; sending to them stays blocked`);
    }
    if (c.request) c = this.store.updateContact(c.username, { request: false });
    await this.maybeCheckKey(c.username);
    c = this.requireContact(c.username);

    const id = newMessageId();
    const ts = this.now();
    const envelope = await this.seal(c.identity, { v: 1, type: 'text', ts, body: text }, id);
    const held = c.pendingFingerprint !== null;
    const rec = this.store.transaction(() => {
      const m = this.store.insertMessage({
        id,
        contact: c.username,
        direction: 'out',
        senderFingerprint: this.me.fingerprint,
        body: text,
        sentAt: ts,
        state: 'sending',
        unread: false,
      });
      this.store.enqueueOutbox({ envelopeId: id, contact: c.username, kind: 'message', messageId: id, envelope, held });
      return m;
    });
    void this.flushOutbox();
    return toMessageView(rec);
  }

  /** Re-sends a failed message (same id), or makes a waiting one due now. */
  async retryMessage(id: string): Promise<MessageView> {
    const m = this.store.getMessage(id, { direction: 'out' });
    if (!m) throw new CoreError('NOT_FOUND', 'No such sent message');
    if (m.state === 'sending') {
      const item = this.store.getOutbox(id);
      if (item && !item.held) this.store.recordOutboxAttempt(id, { nextAttemptAt: this.now(), error: item.lastError });
      void this.flushOutbox();
      return toMessageView(m);
    }
    if (m.state !== 'failed') return toMessageView(m);
    const c = this.requireContact(m.contact);
    if (c.blocked) throw new CoreError('BLOCKED', `${c.username} is blocked; unblock them to send`);
    if (m.body === null) throw new CoreError('INVALID', 'This message has no text to re-send');
    const envelope = await this.seal(c.identity, { v: 1, type: 'text', ts: m.sentAt, body: m.body }, m.id);
    const rec = this.store.transaction(() => {
      this.store.removeOutbox(id);
      this.store.enqueueOutbox({ envelopeId: id, contact: c.username, kind: 'message', messageId: id, envelope });
      return this.store.setMessageState(id, { contact: c.username, direction: 'out' }, 'sending', null)!;
    });
    this.emit('message-state', { id, contact: c.username, state: 'sending', error: null });
    void this.flushOutbox();
    return toMessageView(rec);
  }

  /** Sends every due outbox item, oldest first, while online. Serialised; safe to call any time. */
  flushOutbox(): Promise<void> {
    if (this.flushing) {
      this.flushAgain = true;
      return this.flushDone;
    }
    this.flushing = true;
    this.flushDone = this.runFlush().catch((err: unknown) => this.log(`outbox flush stopped: ${(err as Error).message}`));
    return this.flushDone;
  }

  private async runFlush(): Promise<void> {
    try {
      do {
        this.flushAgain = false;
        // In order: the first retryable failure ends the pass, so later items never overtake earlier ones.
        let blocked = false;
        while (!blocked && this.transport?.online && !this.closed && this.now() >= this.pausedUntil) {
          const due = this.store.dueOutbox(this.now(), 32);
          if (due.length === 0) break;
          for (const item of due) {
            if (!this.transport?.online || this.closed) {
              blocked = true;
              break;
            }
            if ((await this.sendOne(item)) === 'retry') {
              blocked = true;
              break;
            }
          }
        }
      } while (this.flushAgain && !this.closed);
    } finally {
      this.flushing = false;
      this.scheduleOutbox();
    }
  }

  /** Sends one item: 'done' when it left the outbox (sent, or failed for good), 'retry' when it must wait. */
  private async sendOne(item: OutboxItem): Promise<'done' | 'retry'> {
    const t = this.transport;
    if (!t) return 'retry';
    try {
      await t.send(item.envelope);
    } catch (err) {
      const e = err instanceof TransportError ? err : new TransportError('INTERNAL', String(err));
      if (e.code === 'RATE_LIMITED') {
        // Not the item's fault: pause the whole outbox (at least 2 s, so that even a long backlog costs the relay's
        // abuse counter at most one reject per pause).
        this.pausedUntil = this.now() + Math.max(e.retryAfterMs ?? 0, 2000);
        return 'retry';
      }
      if (e.retryable) {
        const delay = backoffDelay(item.attempts, { baseMs: 1000, maxMs: 60_000, ...this.o.retry });
        this.store.recordOutboxAttempt(item.envelopeId, { nextAttemptAt: this.now() + delay, error: e.message });
        return 'retry';
      }
      if (e.code === 'NOT_FOUND') {
        // The recipient's key is no longer registered: most likely they rotated it. Check before failing; a key
        // change holds this item (recordKeyChange holds the contact's outbox) until the user decides.
        await this.checkContactKey(item.contact).catch(() => undefined);
        if (this.store.getContact(item.contact)?.pendingFingerprint) return 'retry';
      }
      const reason = `The relay refused the message (${e.code}): ${e.message}`;
      const failed = this.store.transaction(() => {
        this.store.removeOutbox(item.envelopeId);
        return item.messageId
          ? this.store.setMessageState(item.messageId, { contact: item.contact, direction: 'out' }, 'failed', reason)
          : null;
      });
      if (failed) this.emit('message-state', { id: failed.id, contact: failed.contact, state: 'failed', error: reason });
      return 'done';
    }
    const sent = this.store.transaction(() => {
      this.store.removeOutbox(item.envelopeId);
      if (!item.messageId) return null;
      const m = this.store.getMessage(item.messageId, { contact: item.contact, direction: 'out' });
      if (!m || m.state !== 'sending') return null; // a receipt may have raced ahead: keep 'delivered'
      return this.store.setMessageState(item.messageId, { contact: item.contact, direction: 'out' }, 'sent', null);
    });
    if (sent) this.emit('message-state', { id: sent.id, contact: sent.contact, state: 'sent', error: null });
    return 'done';
  }

  private scheduleOutbox(): void {
    if (this.outboxTimer) clearTimeout(this.outboxTimer);
    this.outboxTimer = null;
    if (this.closed) return;
    const due = this.store.nextOutboxDue();
    if (due === null) return;
    const next = Math.max(due, this.pausedUntil);
    const delay = Math.min(Math.max(0, next - this.now()) + 10, 2 ** 31 - 1);
    this.outboxTimer = setTimeout(() => void this.flushOutbox(), delay);
    this.outboxTimer.unref();
  }

  private async seal(to: PublicIdentity, payload: Payload, id: string): Promise<Envelope> {
    try {
      return await this.crypto.seal({ recipients: [to], payload, id });
    } catch (err) {
      throw new CoreError('CRYPTO', `Could not seal the message: ${(err as Error).message}`, { cause: err });
    }
  }

  // ---- receiving --------------------------------------------------------------------------------------------

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
          const t = this.transport;
          if (!t?.online || this.closed) break;
          const r = await t.fetch(this.o.fetchLimit ?? 64);
          if (r.envelopes.length === 0) break;
          const acked = await this.enqueueBatch(r.envelopes);
          if (!r.more || acked === 0) break;
        }
      } while (this.drainAgain && !this.closed);
    } catch (err) {
      this.log(`fetch stopped: ${(err as Error).message}`);
    } finally {
      this.draining = false;
    }
  }

  /** Envelopes the relay pushed but we could not finish stay unacknowledged; fetch them again a bit later. */
  private retryDrainSoon(): void {
    if (this.closed) return;
    const t = setTimeout(() => void this.drain(), 2000);
    t.unref();
  }

  /** Queues a batch for serial processing (relay order is kept). Resolves with the number of envelopes acked. */
  enqueueBatch(items: LooseDelivered[]): Promise<number> {
    // Two ordered stages: preparing a batch (sender resolution; its envelopes start opening in the pool) may
    // overlap with committing the previous one, so the workers never wait for SQLite or the relay's ack.
    const prep = this.prepChain.then(() => (this.closed ? null : this.prepareBatch(items)));
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
        // What was not committed was not acknowledged; the relay keeps it. Fetch it again shortly.
        this.log(err instanceof RetryLater ? `batch deferred: ${err.message}` : `batch failed: ${(err as Error).message}`);
        this.retryDrainSoon();
      },
    );
    return run.then(
      (r) => r.acked,
      () => 0,
    );
  }

  private async prepareBatch(items: LooseDelivered[]): Promise<{ chunks: Chunk[]; keys: string[] }> {
    const prepared: Prepared[] = [];
    const keys: string[] = [];
    try {
      for (const [n, it] of items.entries()) {
        if (n > 0 && n % this.commitChunk === 0) await yieldToLoop();
        const hdr = headerOf(it.envelope);
        if (!hdr) {
          // Cannot be attributed nor acknowledged; the relay validated it, so this is a relay defect.
          this.log('dropped an envelope without a valid sender/id');
          prepared.push({ kind: 'skip', ack: null });
          continue;
        }
        const key = `${hdr.from}/${hdr.id}`;
        if (this.inflight.has(key)) {
          prepared.push({ kind: 'skip', ack: null }); // the batch that has it acknowledges it
          continue;
        }
        if (this.store.hasSeen(hdr.from, hdr.id)) {
          prepared.push({ kind: 'skip', ack: hdr });
          continue;
        }
        const sender = await this.resolveSender(hdr.from);
        if (!sender) {
          prepared.push({ kind: 'skip', ack: hdr });
          continue;
        }
        this.inflight.add(key);
        keys.push(key);
        const { contact, role } = sender;
        if (contact.blocked) {
          prepared.push({ kind: 'skip', ack: hdr });
        } else if (role === 'pending') {
          prepared.push({ kind: 'pending', ack: hdr, contact, raw: it.envelope, receivedAt: it.receivedAt });
        } else if (role === 'stale') {
          const error = `wrong-sender: signed by a previous key of ${contact.username} that has since been replaced`;
          prepared.push({ kind: 'open', ack: hdr, contact, receivedAt: it.receivedAt, result: Promise.resolve({ error }) });
        } else {
          const result = this.openQueued(it.envelope, contact.identity);
          prepared.push({ kind: 'open', ack: hdr, contact, receivedAt: it.receivedAt, result });
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
              const r = opened[j];
              return p.kind === 'open' && r && 'payload' in r && r.payload.type === 'text' ? [{ contact: p.contact, id: p.ack.id }] : [];
            }),
          );
          return { opened, receipts };
        });
        chunks.push({ part, ready });
      }
      return { chunks, keys };
    } catch (err) {
      for (const k of keys) this.inflight.delete(k);
      throw err;
    }
  }

  /** Opens one envelope in the pool, waiting for a slot first (see maxOpensInFlight). Never rejects. */
  private openQueued(envelope: unknown, sender: PublicIdentity): Promise<OpenResult> {
    const crypto = this.crypto; // the identity the envelope was addressed to when it arrived
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
  private async finishBatch({ chunks, keys }: { chunks: Chunk[]; keys: string[] }): Promise<{ acked: Promise<number> }> {
    const acks: Array<Promise<number>> = [];
    try {
      for (const [n, c] of chunks.entries()) {
        if (n > 0) await yieldToLoop();
        const { opened, receipts } = await c.ready;
        acks.push(this.commitPart(c.part, opened, receipts));
      }
    } finally {
      for (const k of keys) this.inflight.delete(k);
    }
    return { acked: Promise.all(acks).then((a) => a.reduce((x, y) => x + y, 0)) };
  }

  /** Stores one chunk in one transaction and announces it; resolves with the number acked once the relay answers. */
  private commitPart(prepared: Prepared[], opened: Array<OpenResult | null>, receipts: SealedReceipt[]): Promise<number> {
    const now = this.now();
    const received: MessageRecord[] = [];
    const states: Array<{ id: string; contact: string }> = [];
    this.store.transaction(() => {
      prepared.forEach((p, i) => {
        if (p.kind === 'skip') return;
        if (p.kind === 'pending') {
          this.store.addPendingEnvelope({
            contact: p.contact.username,
            senderFingerprint: p.ack.from,
            envelopeId: p.ack.id,
            envelope: p.raw,
            receivedAt: p.receivedAt,
          });
          return;
        }
        const r = opened[i];
        if (!r || !this.store.markSeen(p.ack.from, p.ack.id, now)) return;
        this.storeOpened(p.contact, p.ack, r, p.receivedAt, now, received, states);
      });
      this.enqueueReceipts(receipts);
    });
    // Committed: now (and only now) the relay may forget them.
    const acks = prepared.flatMap((p) => (p.ack ? [p.ack] : []));
    const acked = this.sendAck(acks);
    this.ackWaits.add(acked);
    void acked.then((n) => {
      this.ackWaits.delete(acked);
      this.emit('batch-stored', { stored: received.length, acked: n });
    });
    this.afterStore(received, states, receipts.length > 0, prepared);
    return acked;
  }

  /**
   * Acks committed items. One ack request at a time: items committed while one is in flight are sent together
   * when it answers (fewer relay writes during a catch-up, no added wait when idle). Resolves with the number acked.
   */
  private sendAck(items: AckItem[]): Promise<number> {
    if (items.length === 0 || !this.transport?.online) return Promise.resolve(0);
    return new Promise<number>((done) => {
      this.ackBacklog.push({ items, done });
      if (!this.ackInFlight) void this.pumpAcks();
    });
  }

  private async pumpAcks(): Promise<void> {
    this.ackInFlight = true;
    try {
      while (this.ackBacklog.length > 0) {
        const group = this.ackBacklog;
        this.ackBacklog = [];
        const items = group.flatMap((g) => g.items);
        const t = this.transport;
        let ok = false;
        if (t?.online) {
          try {
            await t.ack(items);
            ok = true;
          } catch (err) {
            this.log(`ack failed (will be redelivered and deduplicated): ${(err as Error).message}`);
            this.retryDrainSoon();
          }
        }
        for (const g of group) g.done(ok ? g.items.length : 0);
      }
    } finally {
      this.ackInFlight = false;
    }
  }

  /** Inside a transaction: store one opened (or failed) envelope. */
  private storeOpened(
    contact: ContactRecord,
    hdr: AckItem,
    r: { payload: Payload } | { error: string },
    receivedAt: number,
    now: number,
    received: MessageRecord[],
    states: Array<{ id: string; contact: string }>,
  ): void {
    // A text message or an envelope that failed to open becomes a message row; a receipt updates our sent ones.
    const p = 'error' in r ? null : r.payload;
    if (p === null || p.type === 'text') {
      const failed = 'error' in r ? r.error : null;
      received.push(
        this.store.insertMessage({
          id: hdr.id,
          contact: contact.username,
          direction: 'in',
          senderFingerprint: hdr.from,
          body: p ? p.body : null,
          sentAt: p ? p.ts : receivedAt,
          receivedAt: now,
          state: failed === null ? 'delivered' : 'undecryptable',
          ...(failed === null ? {} : { error: failed }),
        }),
      );
      return;
    }
    for (const id of p.ids) {
      const m = this.store.getMessage(id, { contact: contact.username, direction: 'out' });
      if (!m || (m.state !== 'sending' && m.state !== 'sent')) continue;
      this.store.setMessageState(id, { contact: contact.username, direction: 'out' }, 'delivered', null);
      this.store.removeOutbox(id);
      states.push({ id, contact: contact.username });
    }
  }

  private afterStore(
    received: MessageRecord[],
    states: Array<{ id: string; contact: string }>,
    receiptsQueued: boolean,
    prepared: Prepared[],
  ): void {
    for (const m of received) this.emit('message-received', toMessageView(m));
    for (const s of states) this.emit('message-state', { id: s.id, contact: s.contact, state: 'delivered', error: null });
    const pendingContacts = new Set(prepared.flatMap((p) => (p.kind === 'pending' ? [p.contact.username] : [])));
    for (const u of pendingContacts) this.emit('contacts-changed', { username: u });
    if (receiptsQueued) void this.flushOutbox();
  }

  /** Seals one receipt per contact (ids of stored text messages). Best effort: a failure only loses the receipt. */
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
          const payload: Payload = { v: 1, type: 'receipt', ts: this.now(), ids: ids.slice(i, i + 1000) };
          out.push({ username: contact.username, id, envelope: await this.crypto.seal({ recipients: [contact.identity], payload, id }) });
        }
      } catch (err) {
        this.log(`receipt not sealed: ${(err as Error).message}`);
      }
    }
    return out;
  }

  /** Inside a transaction: queue sealed receipts (retried like messages, held during a key change). */
  private enqueueReceipts(receipts: SealedReceipt[]): void {
    for (const r of receipts) {
      this.store.enqueueOutbox({ envelopeId: r.id, contact: r.username, kind: 'receipt', messageId: null, envelope: r.envelope });
    }
  }

  /**
   * Who sent this? A known contact (pinned or pending key), or a first contact fetched from the relay by fingerprint
   * (pinned as a message request after checking the identity hashes to `from`), or a known username with a new key.
   */
  private async resolveSender(fp: string): Promise<{ contact: ContactRecord; role: 'current' | 'pending' | 'stale' } | null> {
    const known = this.store.getContactByFingerprint(fp);
    if (known) return { contact: known, role: known.fingerprint === fp ? 'current' : 'pending' };
    const t = this.transport;
    if (!t?.online) throw new RetryLater('offline while resolving a sender');
    let ans;
    try {
      ans = await t.lookup({ fingerprint: fp });
    } catch (err) {
      if (err instanceof TransportError && err.code === 'NOT_FOUND') {
        // A key we replaced (accepted key change): shown as undecryptable for that contact, never dropped silently.
        const stale = this.contactByOldFingerprint(fp);
        if (stale) return { contact: stale, role: 'stale' };
        this.log('dropped an envelope from a sender the relay does not know');
        return null;
      }
      throw new RetryLater(`sender lookup failed: ${(err as Error).message}`);
    }
    let checked: { identity: PublicIdentity; fingerprint: string };
    try {
      checked = await validateIdentity(ans.identity);
    } catch {
      this.log('dropped an envelope: the relay served an invalid identity for its sender');
      return null;
    }
    if (checked.fingerprint !== fp) {
      this.log('dropped an envelope: the identity the relay served does not hash to the sender fingerprint');
      return null;
    }
    if (ans.username === this.me.username) return null;
    const existing = this.store.getContact(ans.username);
    if (!existing) {
      const c = this.store.addContact({ username: ans.username, identity: checked.identity, fingerprint: fp, request: true });
      this.emit('contacts-changed', { username: c.username });
      return { contact: c, role: 'current' };
    }
    const c = await this.recordKeyChange(existing, checked.identity, fp, ans.rotation);
    return { contact: c, role: 'pending' };
  }

  private contactByOldFingerprint(fp: string): ContactRecord | null {
    for (const c of this.store.listContacts()) {
      if (this.store.listKeyChanges(c.username).some((k) => k.oldFingerprint === fp)) return c;
    }
    return null;
  }

  // ---- trust ------------------------------------------------------------------------------------------------

  private async maybeCheckKey(username: string): Promise<void> {
    const min = this.o.keyCheckOnSendMs ?? 30_000;
    const last = this.lastKeyCheck.get(username) ?? -Infinity;
    if (this.now() - last < min) return;
    try {
      await this.checkContactKey(username);
    } catch (err) {
      this.log(`key check of ${username} skipped: ${(err as Error).message}`);
    }
  }

  /** Looks the contact up on the relay; a different identity than the pinned one becomes a pending key change. */
  async checkContactKey(username: string): Promise<ContactView> {
    const t = this.transport;
    const c = this.requireContact(username);
    if (!t?.online) throw new CoreError('OFFLINE', 'The relay is not reachable');
    const ans = await t.lookup({ username });
    this.lastKeyCheck.set(username, this.now());
    let checked: { identity: PublicIdentity; fingerprint: string };
    try {
      checked = await validateIdentity(ans.identity);
    } catch (err) {
      throw new CoreError('RELAY', `The relay served an invalid identity for ${username}: ${(err as Error).message}`);
    }
    const fp = checked.fingerprint;
    if (fp === c.fingerprint || fp === c.pendingFingerprint || fp === c.rejectedFingerprint) return toContactView(c);
    return toContactView(await this.recordKeyChange(c, checked.identity, fp, ans.rotation));
  }

  async checkAllContacts(): Promise<void> {
    for (const c of this.store.listContacts()) {
      if (!this.transport?.online || this.closed) return;
      try {
        await this.checkContactKey(c.username);
      } catch (err) {
        this.log(`key check of ${c.username} failed: ${(err as Error).message}`);
      }
    }
  }

  private async recordKeyChange(
    c: ContactRecord,
    identity: PublicIdentity,
    fp: string,
    rotation: { from: string; sig: string } | null,
  ): Promise<ContactRecord> {
    let signedByOld = false;
    if (rotation && rotation.from === c.fingerprint) {
      try {
        signedByOld = await verifyLabeled(c.identity, fromB64u(rotation.sig), LABELS.rotate, ...rotationInput(c.username, c.fingerprint, identity));
      } catch {
        signedByOld = false;
      }
    }
    const current = this.store.getContact(c.username);
    if (current && (current.pendingFingerprint === fp || current.fingerprint === fp)) return current; // a concurrent check won
    const rec = this.store.recordKeyChange(c.username, { newIdentity: identity, newFingerprint: fp, signedByOld, at: this.now() });
    const change: KeyChangeView = {
      at: rec.at,
      oldFingerprint: rec.oldFingerprint,
      newFingerprint: rec.newFingerprint,
      signedByOld: rec.signedByOld,
      resolution: rec.resolution,
    };
    this.emit('contact-key-changed', { username: c.username, change });
    this.emit('contacts-changed', { username: c.username });
    return this.requireContact(c.username);
  }

  /** Accept the pending key: re-open pending envelopes with it and re-seal the held outbox for it. */
  async acceptKeyChange(username: string): Promise<ContactView> {
    const before = this.requireContact(username);
    if (!before.pendingFingerprint || !before.pendingIdentity) {
      throw new CoreError('NO_KEY_CHANGE', `${username} has no pending key change`);
    }
    // Seal for the new key while the outbox is still held, then swap envelopes and resolve in one transaction,
    // so the old-key envelopes can never leave once the hold is released.
    const resealed = new Map<string, Envelope>();
    for (const item of this.store.listOutbox(username)) {
      if (item.kind !== 'message' || !item.messageId) continue;
      const m = this.store.getMessage(item.messageId, { contact: username, direction: 'out' });
      if (!m || m.body === null) continue;
      resealed.set(item.envelopeId, await this.seal(before.pendingIdentity, { v: 1, type: 'text', ts: m.sentAt, body: m.body }, m.id));
    }
    const failed: Array<{ id: string }> = [];
    const c = this.store.transaction(() => {
      const now = this.store.getContact(username);
      if (!now || now.pendingFingerprint !== before.pendingFingerprint) {
        throw new CoreError('NO_KEY_CHANGE', `${username}'s key changed again; review the new key first`);
      }
      for (const item of this.store.listOutbox(username)) {
        const env = resealed.get(item.envelopeId);
        if (env) {
          this.store.replaceOutboxEnvelope(item.envelopeId, env);
          continue;
        }
        // Receipts for the old key are dropped (the pending envelopes get fresh ones); a message written while
        // we were sealing is marked failed so the user can retry it for the new key.
        this.store.removeOutbox(item.envelopeId);
        if (item.kind === 'message' && item.messageId) {
          this.store.setMessageState(item.messageId, { contact: username, direction: 'out' }, 'failed', 'Written during a key change; retry to send it with the new key');
          failed.push({ id: item.messageId });
        }
      }
      return this.store.resolveKeyChange(username, 'accepted', this.now());
    });
    for (const f of failed) {
      this.emit('message-state', { id: f.id, contact: username, state: 'failed', error: 'Written during a key change; retry to send it with the new key' });
    }
    await this.reopenPending(c);
    this.emit('contacts-changed', { username });
    void this.flushOutbox();
    return toContactView(this.requireContact(username));
  }

  async rejectKeyChange(username: string): Promise<ContactView> {
    const before = this.requireContact(username);
    if (!before.pendingFingerprint) throw new CoreError('NO_KEY_CHANGE', `${username} has no pending key change`);
    const c = this.store.resolveKeyChange(username, 'rejected', this.now());
    this.emit('contacts-changed', { username });
    return toContactView(c);
  }

  private async reopenPending(c: ContactRecord): Promise<void> {
    const pending = this.store.listPendingEnvelopes(c.username);
    if (pending.length === 0) return;
    const results = await Promise.all(pending.map((p) => this.openQueued(p.envelope, c.identity)));
    const now = this.now();
    const received: MessageRecord[] = [];
    const states: Array<{ id: string; contact: string }> = [];
    const receipts = await this.sealReceipts(
      pending.flatMap((p, i) => {
        const r = results[i]!;
        return 'payload' in r && r.payload.type === 'text' ? [{ contact: c, id: p.envelopeId }] : [];
      }),
    );
    this.store.transaction(() => {
      pending.forEach((p, i) => {
        this.store.removePendingEnvelope(p.seq);
        if (!this.store.markSeen(p.senderFingerprint, p.envelopeId, now)) return;
        this.storeOpened(c, { from: p.senderFingerprint, id: p.envelopeId }, results[i]!, p.receivedAt, now, received, states);
      });
      this.enqueueReceipts(receipts);
    });
    this.afterStore(received, states, receipts.length > 0, []);
  }

  // ---- contacts and history ---------------------------------------------------------------------------------

  requireContact(username: string): ContactRecord {
    const c = this.store.getContact(username);
    if (!c) throw new CoreError('NOT_FOUND', `No contact named ${username}`);
    return c;
  }

  /** Looks the username up on the relay and pins its identity (trust on first use). Idempotent. */
  async addContact(username: string): Promise<ContactView> {
    if (username === this.me.username) throw new CoreError('INVALID', 'You cannot add yourself');
    const existing = this.store.getContact(username);
    if (existing) {
      const c = existing.request ? this.store.updateContact(username, { request: false }) : existing;
      if (this.transport?.online) await this.checkContactKey(username).catch(() => undefined);
      return toContactView(this.store.getContact(username) ?? c);
    }
    const t = this.transport;
    if (!t?.online) throw new CoreError('OFFLINE', 'Adding a contact needs the relay, which is not reachable');
    let ans;
    try {
      ans = await t.lookup({ username });
    } catch (err) {
      if (err instanceof TransportError && err.code === 'NOT_FOUND') throw new CoreError('NOT_FOUND', `The relay knows no user named ${username}`);
      if (err instanceof TransportError && err.code === 'BAD_REQUEST') throw new CoreError('INVALID', `Not a valid username: ${username}`);
      throw new CoreError('RELAY', `Lookup failed: ${(err as Error).message}`, { cause: err });
    }
    let checked: { identity: PublicIdentity; fingerprint: string };
    try {
      checked = await validateIdentity(ans.identity);
    } catch (err) {
      throw new CoreError('RELAY', `The relay served an invalid identity for ${username}: ${(err as Error).message}`);
    }
    if (checked.fingerprint === this.me.fingerprint) throw new CoreError('INVALID', 'That is your own identity');
    this.lastKeyCheck.set(username, this.now());
    const c = this.store.addContact({ username: ans.username, identity: checked.identity, fingerprint: checked.fingerprint });
    this.emit('contacts-changed', { username: c.username });
    return toContactView(c);
  }

  listContacts(): ContactView[] {
    return this.store.listContacts().map(toContactView);
  }

  async contactDetail(username: string): Promise<ContactDetail> {
    const c = this.requireContact(username);
    const sn = await safetyNumber(this.me.identity, c.identity);
    const changes: KeyChangeView[] = this.store.listKeyChanges(username).map((k) => ({
      at: k.at,
      oldFingerprint: k.oldFingerprint,
      newFingerprint: k.newFingerprint,
      signedByOld: k.signedByOld,
      resolution: k.resolution,
    }));
    return {
      ...toContactView(c),
      safetyNumber: sn,
      safetyNumberGroups: formatSafetyNumber(sn).split(' '),
      qrPayload: await safetyQrPayload(this.me.identity, c.identity),
      keyChanges: changes,
      pendingSafetyNumber: c.pendingIdentity ? await safetyNumber(this.me.identity, c.pendingIdentity) : null,
    };
  }

  setVerified(username: string, verified: boolean): ContactView {
    const c = this.requireContact(username);
    if (verified && c.pendingFingerprint) {
      throw new CoreError('INVALID', `${username}'s key changed; accept or reject the new key before verifying`);
    }
    const r = this.store.updateContact(username, { verified });
    this.emit('contacts-changed', { username });
    return toContactView(r);
  }

  acceptRequest(username: string): ContactView {
    this.requireContact(username);
    const r = this.store.updateContact(username, { request: false });
    this.emit('contacts-changed', { username });
    return toContactView(r);
  }

  setBlocked(username: string, blocked: boolean): ContactView {
    this.requireContact(username);
    const r = this.store.updateContact(username, blocked ? { blocked, request: false } : { blocked });
    this.emit('contacts-changed', { username });
    return toContactView(r);
  }

  listConversations(filter?: string): ConversationSummary[] {
    return this.store.listConversations(filter ? { filter } : {}).filter((s) => !s.contact.blocked);
  }

  loadMessages(contact: string, before?: number | null, limit?: number): MessagePage {
    this.requireContact(contact);
    const page = this.store.loadPage(contact, { before: before ?? null, limit: limit ?? 50 });
    return { ...page, messages: page.messages.map(toMessageView) };
  }

  markRead(contact: string): void {
    this.requireContact(contact);
    this.store.markRead(contact);
  }

  deleteMessage(id: string): void {
    if (this.store.deleteMessage(id) === 0) throw new CoreError('NOT_FOUND', 'No such message');
  }

  deleteConversation(contact: string): void {
    this.requireContact(contact);
    this.store.deleteConversation(contact);
    this.emit('contacts-changed', { username: contact });
  }

  /** The parsed envelope schema, for callers that validate before handing envelopes in. */
  static readonly envelopeSchema = envelopeSchema;
}
