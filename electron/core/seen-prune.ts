/**
 * Forgetting old dedupe marks, off the start-up path.
 *
 * Every incoming message leaves a (sender, id) mark in `seen` so a redelivered envelope is dropped (ingest's dedupe).
 * Marks only need to outlive the relay's retention, so older ones are deleted. That used to happen inside the unlock,
 * before the conversation list could be served: on a large profile opened after a while it deleted thousands of rows
 * and took a third of the start-up time (issue 16). It now runs a while after the unlock, in small batches with the
 * event loop free between them, so neither the first paint nor an incoming message waits for it.
 */
import type { HistoryStore } from './store/types.js';

/** Dedupe marks only need to outlive the relay's retention (30 days by default): keep 60 days. */
export const SEEN_RETENTION_MS = 60 * 24 * 3600 * 1000;
/** After the list is shown and the relay's queue is drained in the usual case; pruning is never urgent. */
const DEFAULT_DELAY_MS = 30_000;
/** A batch of this many deletes takes a few milliseconds of the main thread on the 2-core test machine. */
const DEFAULT_BATCH = 2_000;

export interface SeenPruneOptions {
  /** Wait before the first batch (default 30 s). */
  delayMs?: number;
  /** Marks deleted per batch (default 2 000). */
  batch?: number;
  /** Marks older than this are deleted (default SEEN_RETENTION_MS). */
  retentionMs?: number;
  now?: () => number;
  /** Diagnostics: counts and the store's error message only. */
  log: (msg: string, o?: { level?: 'debug' | 'warn' }) => void;
}

export class SeenPrune {
  /** Settles (never rejects) with the number of marks deleted, when done, stopped or failed. */
  readonly done: Promise<number>;
  private finish!: (deleted: number) => void;
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private deleted = 0;
  private before = 0;
  private finished = false;
  private readonly batch: number;

  constructor(
    private readonly store: Pick<HistoryStore, 'pruneSeen'>,
    private readonly o: SeenPruneOptions,
  ) {
    this.batch = Math.max(1, o.batch ?? DEFAULT_BATCH);
    this.done = new Promise((resolve) => (this.finish = resolve));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.before = (o.now ?? Date.now)() - (o.retentionMs ?? SEEN_RETENTION_MS);
      this.step();
    }, o.delayMs ?? DEFAULT_DELAY_MS);
    this.timer.unref(); // a pending prune never keeps a CLI command's process alive
  }

  /** Cancels what is left (the profile locks or the app quits); a batch already run stays done. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = this.immediate = null;
    this.end();
  }

  private step(): void {
    this.immediate = null;
    if (this.finished) return;
    let n: number;
    try {
      n = this.store.pruneSeen(this.before, this.batch);
    } catch (err) {
      // Old marks cost only disk space: try again at the next unlock.
      this.o.log(`pruning dedupe marks failed: ${(err as Error).message}`, { level: 'warn' });
      this.end();
      return;
    }
    this.deleted += n;
    if (n < this.batch) {
      if (this.deleted > 0) this.o.log(`pruned ${this.deleted} dedupe marks`, { level: 'debug' });
      this.end();
      return;
    }
    // Yield to I/O (relay events, IPC calls) before the next batch.
    this.immediate = setImmediate(() => this.step());
    this.immediate.unref();
  }

  private end(): void {
    if (this.finished) return;
    this.finished = true;
    this.finish(this.deleted);
  }
}
