/**
 * Appending a stream to a file without stalling the stream on every write: pieces are queued and go to the file
 * together (one `writev` of at least `minBatch` bytes, or what is left at the end) while the producer goes on, so the
 * socket keeps being read while the disk writes. At most one write is in flight and at most `maxQueued` bytes wait;
 * past that the producer waits (the stream's backpressure then reaches the sender). Writes happen in order; `write` reports each run of bytes
 * that is on the file (the caller advances its length and hash there). Durability stays the caller's (its fsync
 * before the file counts); given `sync`, the bytes written so far are handed to the disk in the background every
 * `syncEvery` bytes (fdatasync while the next bytes arrive), so that final fsync has little left to wait for. A
 * failed background sync fails the writer (it is never retried: after a failed fsync the data may be lost).
 * Not protocol: a dependency-free helper shared by the relay's blob store and the client's downloads and saves.
 */
export class WriteBehind {
  private queue: Uint8Array[] = [];
  private queued = 0;
  private running: Promise<void> | null = null;
  private failed: { err: unknown } | null = null;
  /** Bytes written since the last background sync started, and that sync while it runs. */
  private unsynced = 0;
  private syncing: Promise<void> | null = null;
  /** flush() was called: write whatever is queued, however little. */
  private ending = false;
  private readonly minBatch: number;
  private readonly maxQueued: number;

  constructor(
    /** Writes every byte of `bufs` (in order) after what the previous call wrote; rejects if it could not. */
    private readonly write: (bufs: Uint8Array[]) => Promise<void>,
    private readonly o: { minBatch?: number; maxQueued?: number; sync?: () => Promise<void>; syncEvery?: number } = {},
  ) {
    this.minBatch = o.minBatch ?? 1024 * 1024;
    this.maxQueued = Math.max(o.maxQueued ?? 4 * 1024 * 1024, this.minBatch);
  }

  /** Queue `piece` (never written to afterwards by the caller); waits only when too much is queued. */
  async push(piece: Uint8Array): Promise<void> {
    this.check();
    if (piece.byteLength === 0) return;
    this.queue.push(piece);
    this.queued += piece.byteLength;
    if (this.queued >= this.minBatch) this.running ??= this.drain();
    while (this.queued >= this.maxQueued && this.running) await this.running;
    this.check();
  }

  /** Every queued byte written; throws the first write error. */
  async flush(): Promise<void> {
    this.ending = true;
    if (this.queued > 0) this.running ??= this.drain();
    await this.settle();
    this.check();
  }

  /** Waits for the write and the background sync in flight (if any), ignoring their outcome: the caller is giving up. */
  async settle(): Promise<void> {
    while (this.running || this.syncing) await (this.running ?? this.syncing);
  }

  private syncBehind(): void {
    const { sync, syncEvery } = this.o;
    if (!sync || this.syncing || this.unsynced < (syncEvery ?? 8 * 1024 * 1024)) return;
    this.unsynced = 0;
    this.syncing = sync()
      .catch((err: unknown) => {
        this.failed ??= { err };
      })
      .finally(() => {
        this.syncing = null;
      });
  }

  private check(): void {
    if (this.failed) throw this.failed.err;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0 && (this.queued >= this.minBatch || this.ending) && !this.failed) {
        const bufs = this.queue;
        const size = this.queued;
        this.queue = [];
        this.queued = 0;
        try {
          await this.write(bufs);
          this.unsynced += size;
          this.syncBehind();
        } catch (err) {
          this.failed = { err };
          this.queue = [];
          this.queued = 0;
        }
      }
    } finally {
      this.running = null;
    }
  }
}

/** The total size of `bufs`. */
export function byteLength(bufs: readonly Uint8Array[]): number {
  return bufs.reduce((n, b) => n + b.byteLength, 0);
}

/** A file handle's positioned writev (node:fs/promises FileHandle has it); kept structural so this file imports nothing. */
interface WritevHandle {
  writev(bufs: Uint8Array[], position: number): Promise<{ bytesWritten: number }>;
}

/**
 * Every byte of `bufs` written at `position`: one writev, unless the system writes less (rare; then the rest as one
 * buffer, again until all is written). The write step of both the relay's blob store and the client's files.
 */
export async function writevAll(h: WritevHandle, bufs: Uint8Array[], position: number): Promise<void> {
  const size = byteLength(bufs);
  for (let done = 0; done < size; ) {
    const rest = done === 0 ? bufs : [Buffer.concat(bufs).subarray(done)];
    done += (await h.writev(rest, position + done)).bytesWritten;
  }
}
