/**
 * Acknowledgements to the relay, sent only for committed envelopes (the caller sends after its commit). One ack
 * request at a time: items committed while one is in flight go out together when it answers.
 */
import type { AckItem, MessengerContext } from './types.js';

export class AckPump {
  /** Committed items waiting for the ack request in flight to answer; they go out together in the next one. */
  private backlog: Array<{ items: AckItem[]; done: (n: number) => void }> = [];
  private inFlight = false;

  constructor(
    private readonly ctx: MessengerContext,
    /** A failed ack: the relay redelivers, the client de-duplicates; fetch again soon. */
    private readonly onFailure: () => void,
  ) {}

  /**
   * Acks committed items. One ack request at a time: items committed while one is in flight are sent together
   * when it answers (fewer relay writes during a catch-up, no added wait when idle). Resolves with the number acked.
   */
  send(items: AckItem[]): Promise<number> {
    if (items.length === 0 || !this.ctx.transport()?.online) return Promise.resolve(0);
    return new Promise<number>((done) => {
      this.backlog.push({ items, done });
      if (!this.inFlight) void this.pump();
    });
  }

  private async pump(): Promise<void> {
    this.inFlight = true;
    try {
      while (this.backlog.length > 0) {
        const group = this.backlog;
        this.backlog = [];
        const items = group.flatMap((g) => g.items);
        const t = this.ctx.transport();
        let ok = false;
        if (t?.online) {
          try {
            await t.ack(items);
            ok = true;
          } catch (err) {
            this.ctx.log(`ack failed (will be redelivered and deduplicated): ${(err as Error).message}`);
            this.onFailure();
          }
        }
        for (const g of group) g.done(ok ? g.items.length : 0);
      }
    } finally {
      this.inFlight = false;
    }
  }
}
