/**
 * The outbox: sealed envelopes (messages and receipts) waiting for the relay's acknowledgement. Sent oldest first
 * while online, retried with jittered backoff, paused on RATE_LIMITED; survives restarts (rows in the store).
 */
import type { Envelope, PublicIdentity } from '../../../relay/protocol/index.js';
import type { Payload } from '../crypto/index.js';
import type { OutboxItem } from '../store/types.js';
import { backoffDelay } from '../transport/backoff.js';
import { TransportError } from '../transport/errors.js';
import { CoreError } from './errors.js';
import { HeldReseal } from './held-reseal.js';
import type { GroupOutboxHooks, KeyChecker, MessengerContext, OutboxKick } from './types.js';

export class Outbox implements OutboxKick {
  private flushing = false;
  private flushAgain = false;
  private flushDone: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private pausedUntil = 0;
  /** Envelopes sealed for a key the user has since replaced are sealed again before they leave (held-reseal.ts). */
  private readonly reseal: HeldReseal;

  constructor(
    private readonly ctx: MessengerContext,
    private readonly keys: KeyChecker,
    /** Fan-out envelopes of group messages: their per-member delivery (groups.ts). */
    private readonly groups: GroupOutboxHooks | null = null,
  ) {
    this.reseal = new HeldReseal(ctx, groups);
  }

  /** Resolves when the flush in progress (if any) has recorded its outcome. */
  get settled(): Promise<void> {
    return this.flushDone;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  async seal(to: PublicIdentity, payload: Payload, id: string): Promise<Envelope> {
    try {
      return await this.ctx.crypto().seal({ recipients: [to], payload, id });
    } catch (err) {
      throw new CoreError('CRYPTO', `Could not seal the message: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Sends every due outbox item, oldest first, while online. Serialised; safe to call any time. */
  flushOutbox(): Promise<void> {
    if (this.flushing) {
      this.flushAgain = true;
      return this.flushDone;
    }
    this.flushing = true;
    this.flushDone = this.runFlush().catch((err: unknown) => this.ctx.log(`outbox flush stopped: ${(err as Error).message}`));
    return this.flushDone;
  }

  private async runFlush(): Promise<void> {
    const { ctx } = this;
    try {
      do {
        this.flushAgain = false;
        // In order: the first retryable failure ends the pass, so later items never overtake earlier ones.
        let blocked = false;
        while (!blocked && ctx.transport()?.online && !ctx.closed() && ctx.now() >= this.pausedUntil) {
          const due = ctx.store.dueOutbox(ctx.now(), 32);
          if (due.length === 0) break;
          for (const item of due) {
            if (!ctx.transport()?.online || ctx.closed()) {
              blocked = true;
              break;
            }
            if ((await this.sendOne(item)) === 'retry') {
              blocked = true;
              break;
            }
          }
        }
      } while (this.flushAgain && !ctx.closed());
    } finally {
      this.flushing = false;
      this.schedule();
    }
  }

  /** Sends one item: 'done' when it left the outbox (sent, or failed for good), 'retry' when it must wait. */
  private async sendOne(item: OutboxItem): Promise<'done' | 'retry'> {
    const { ctx } = this;
    const { store } = ctx;
    const t = ctx.transport();
    if (!t) return 'retry';
    let envelope = item.envelope;
    if (this.reseal.isStale(item)) {
      try {
        const again = await this.reseal.reseal(item);
        if (!again) {
          if (store.getOutbox(item.envelopeId)) this.fail(item, 'Written for a key that was replaced since, and it could not be sealed again for the new key');
          return 'done';
        }
        envelope = again;
      } catch (err) {
        store.recordOutboxAttempt(item.envelopeId, { nextAttemptAt: ctx.now() + 1000, error: `could not seal again: ${(err as Error).message}` });
        return 'retry';
      }
    }
    try {
      await t.send(envelope);
    } catch (err) {
      const e = err instanceof TransportError ? err : new TransportError('INTERNAL', String(err));
      if (e.code === 'RATE_LIMITED') {
        // Not the item's fault: pause the whole outbox (at least 2 s, so that even a long backlog costs the relay's
        // abuse counter at most one reject per pause).
        this.pausedUntil = ctx.now() + Math.max(e.retryAfterMs ?? 0, 2000);
        return 'retry';
      }
      if (e.retryable) {
        const delay = backoffDelay(item.attempts, { baseMs: 1000, maxMs: 60_000, ...ctx.options.retry });
        store.recordOutboxAttempt(item.envelopeId, { nextAttemptAt: ctx.now() + delay, error: e.message });
        return 'retry';
      }
      if (e.code === 'NOT_FOUND') {
        // The recipient's key is no longer registered: most likely they rotated it. Check before failing; a key
        // change holds this item (recordKeyChange holds the contact's outbox) until the user decides.
        await this.keys.checkContactKey(item.contact).catch(() => undefined);
        if (store.getContact(item.contact)?.pendingFingerprint) return 'retry';
      }
      this.fail(item, `The relay refused the message (${e.code}): ${e.message}`);
      return 'done';
    }
    const sent = store.transaction(() => {
      store.removeOutbox(item.envelopeId);
      if (!item.messageId) return null;
      const m = store.getMessage(item.messageId, { contact: item.contact, direction: 'out' });
      if (!m || m.state !== 'sending') return null; // a receipt may have raced ahead: keep 'delivered'
      return store.setMessageState(item.messageId, { contact: item.contact, direction: 'out' }, 'sent', null);
    });
    if (sent) ctx.emit('message-state', { id: sent.id, conversation: sent.conversation, contact: sent.contact, state: 'sent', error: null });
    this.groups?.envelopeDone(item.envelopeId, 'sent', null);
    return 'done';
  }

  /** Gives up on an item for good: it leaves the outbox and its message (if any) is failed with `reason`. */
  private fail(item: OutboxItem, reason: string): void {
    const { ctx } = this;
    const failed = ctx.store.transaction(() => {
      ctx.store.removeOutbox(item.envelopeId);
      return item.messageId ? ctx.store.setMessageState(item.messageId, { contact: item.contact, direction: 'out' }, 'failed', reason) : null;
    });
    if (failed) ctx.emit('message-state', { id: failed.id, conversation: failed.conversation, contact: failed.contact, state: 'failed', error: reason });
    this.groups?.envelopeDone(item.envelopeId, 'failed', reason);
  }

  /** Arms a timer for the next due item (or the end of a rate-limit pause). */
  schedule(): void {
    this.stop();
    if (this.ctx.closed()) return;
    const due = this.ctx.store.nextOutboxDue();
    if (due === null) return;
    const next = Math.max(due, this.pausedUntil);
    const delay = Math.min(Math.max(0, next - this.ctx.now()) + 10, 2 ** 31 - 1);
    this.timer = setTimeout(() => void this.flushOutbox(), delay);
    this.timer.unref();
  }
}
