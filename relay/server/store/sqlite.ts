/**
 * SQLite EnvelopeStore (better-sqlite3): WAL journal, synchronous=FULL, group commit on a writer thread.
 *
 * Writes are plain-data ops (sqlite-ops.ts). They collect for `commitDelayMs` (or until `commitMaxBatch`), then go
 * to the writer as one batch = one transaction = one fsync; while the writer commits, the next batch collects (and,
 * once full, is queued behind it, see flush()). Each
 * caller's promise settles only after COMMIT returned, so a sender is acknowledged only for envelopes on disk. The
 * event loop never waits for fsync. Reads use a second connection on the main thread (WAL: they see committed data).
 *
 * Writer modes: 'worker' (default) runs writer-worker.ts/.js on a worker thread; 'inline' runs the same ops on the
 * main thread (used automatically when no worker script can be found, e.g. an unusual bundle layout).
 */
import type Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ProtocolError, type Envelope, type PublicIdentity } from '../../protocol/index.js';
import { openDatabase, Writer, type BatchResult, type Synchronous, type WriteOp } from './sqlite-ops.js';
import type {
  EnqueueInput,
  EnvelopeStore,
  QueuedEnvelope,
  QueueUsage,
  RegisterInput,
  StoredIdentity,
  StoreStats,
} from './types.js';

/** The callers of one batch's ops, index for index. */
type Callbacks = Array<{ resolve: (v: unknown) => void; reject: (e: unknown) => void }>;

export interface SqliteStoreOptions {
  commitDelayMs?: number;
  commitMaxBatch?: number;
  synchronous?: Synchronous;
  writer?: 'worker' | 'inline';
  /** Explicit path of the writer worker script (.js, or .ts under tsx). */
  workerEntry?: string;
}

function moduleDir(): string {
  return typeof __dirname === 'string' ? __dirname : process.cwd();
}

/** The writer worker script: a bundled/built .js next to this module (or its parent), else the .ts source via tsx. */
function resolveWriterEntry(explicit?: string): { file: string; bootstrap?: string } | null {
  const tsx = (file: string) => {
    try {
      const api = createRequire(path.join(moduleDir(), 'sqlite.js')).resolve('tsx/cjs/api');
      // Node 20 workers ignore `--import tsx` in execArgv: register tsx's CommonJS hook explicitly.
      return { file, bootstrap: `require(${JSON.stringify(api)}).register();\nrequire(${JSON.stringify(file)});\n` };
    } catch {
      return null;
    }
  };
  if (explicit) return explicit.endsWith('.ts') ? tsx(explicit) : { file: explicit };
  const dir = moduleDir();
  for (const f of [path.join(dir, 'relay-writer.js'), path.join(dir, '..', 'relay-writer.js'), path.join(dir, 'writer-worker.js')]) {
    if (existsSync(f)) return { file: f };
  }
  const ts = path.join(dir, 'writer-worker.ts');
  return existsSync(ts) ? tsx(ts) : null;
}

export class SqliteEnvelopeStore implements EnvelopeStore {
  readonly file: string;
  readonly writerMode: 'worker' | 'inline';
  private readonly db: Database.Database; // reads (and, inline, writes)
  private readonly inline: Writer | null = null;
  private worker: Worker | null = null;
  private workerReady: Promise<void> = Promise.resolve();
  /** Ops collecting for the next batch and their callers (parallel arrays: the ops go to the writer as they are). */
  private pendingOps: WriteOp[] = [];
  private pendingCbs: Callbacks = [];
  private inFlight: Map<number, Callbacks> = new Map();
  private nextBatch = 1;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private commits = 0;
  private committedWrites = 0;
  private readonly delay: number;
  private readonly maxBatch: number;
  private readonly st;
  private drainWaiters: Array<() => void> = [];
  /**
   * Unique enqueues still collecting (not yet handed to the writer), by from/id: an acknowledgement arriving now is
   * folded into the op (see WriteOp enqueue `acked`) and settles with it. Live delivery makes this the common case:
   * the recipient usually acknowledges within the commit delay, and the envelope is then written once, as a
   * tombstone, instead of insert + ack + body drop.
   */
  private collecting = new Map<string, { op: Extract<WriteOp, { t: 'enqueue' }>; written: Promise<unknown> }>();
  private foldedAcks = 0;
  /** Test hook state (see installCommitHoldTestHook): once set, batches stay collecting and never commit. */
  private commitsHeldForTest = false;
  private removeCommitHoldTestHook: (() => void) | null = null;

  constructor(dataDir: string, opts: SqliteStoreOptions = {}) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    this.file = path.join(dataDir, 'relay.sqlite');
    const sync = opts.synchronous ?? 'FULL';
    this.db = openDatabase(this.file, sync);
    const setup = new Writer(this.db); // creates the schema before any reader or worker touches the file
    this.delay = opts.commitDelayMs ?? 2;
    this.maxBatch = opts.commitMaxBatch ?? 256;
    const entry = opts.writer === 'inline' ? null : resolveWriterEntry(opts.workerEntry);
    if (entry) {
      this.writerMode = 'worker';
      const workerData = { file: this.file, synchronous: sync };
      this.worker = entry.bootstrap
        ? new Worker(entry.bootstrap, { eval: true, workerData })
        : new Worker(entry.file, { workerData });
      this.workerReady = new Promise((resolve, reject) => {
        const onMsg = (m: { ready?: boolean }) => {
          if (m.ready) {
            this.worker!.off('error', reject);
            resolve();
          }
        };
        this.worker!.on('message', onMsg);
        this.worker!.once('error', reject);
      });
      this.worker.on('message', (m: { id?: number; results?: BatchResult; error?: string }) => {
        if (m.id !== undefined) this.settle(m.id, m.results, m.error);
      });
      this.worker.on('error', (e) => this.failAll(`store writer failed: ${e.message}`));
      this.worker.on('exit', () => {
        this.worker = null;
        this.failAll('store writer exited');
      });
    } else {
      this.writerMode = 'inline';
      this.inline = setup;
    }
    const db = this.db;
    this.st = {
      idByName: db.prepare('SELECT fingerprint, username, enc, sig, registered_at, rot_from, rot_sig FROM identities WHERE username = ?'),
      idByFp: db.prepare('SELECT fingerprint, username, enc, sig, registered_at, rot_from, rot_sig FROM identities WHERE fingerprint = ?'),
      pending: db.prepare(
        `SELECT d.rseq AS seq, e.body AS body, e.received_at AS received_at FROM deliveries d JOIN envelopes e ON e.seq = d.seq
         WHERE d.recipient = ? AND d.acked_at IS NULL AND d.rseq > ? ORDER BY d.rseq LIMIT ?`,
      ),
      usage: db.prepare(
        `SELECT COUNT(*) AS count, COALESCE(SUM(e.size), 0) AS bytes FROM deliveries d JOIN envelopes e ON e.seq = d.seq
         WHERE d.recipient = ? AND d.acked_at IS NULL`,
      ),
      bySender: db.prepare(
        `SELECT e.sender AS sender, COUNT(*) AS count FROM deliveries d JOIN envelopes e ON e.seq = d.seq
         WHERE d.recipient = ? AND d.acked_at IS NULL GROUP BY e.sender`,
      ),
      seen: db.prepare('SELECT 1 FROM envelopes WHERE sender = ? AND id = ?').pluck(),
      countIds: db.prepare('SELECT COUNT(*) FROM identities').pluck(),
      countQueued: db.prepare('SELECT COUNT(*) FROM deliveries WHERE acked_at IS NULL').pluck(),
      countEnv: db.prepare('SELECT COUNT(*) FROM envelopes').pluck(),
    };
    this.installCommitHoldTestHook(process.env.PARLEY_TEST_HOLD_COMMITS_SIGNAL);
  }

  /**
   * TEST HOOK, off unless PARLEY_TEST_HOLD_COMMITS_SIGNAL names a signal (e.g. SIGUSR2). Each such signal toggles a
   * hold: while it is on, the store hands nothing to the writer, so writes are accepted but stay uncommitted (and
   * unanswered); turning it off commits them. Tests use it to make "before the commit" a state they control instead of
   * a race against the commit delay, and to kill -9 inside the accepted-but-uncommitted window. Each toggle and each
   * held flush is reported on stderr (counts only, never content): that is what the tests wait for.
   */
  private installCommitHoldTestHook(signal: string | undefined): void {
    if (!signal) return;
    const onSignal = () => {
      this.commitsHeldForTest = !this.commitsHeldForTest;
      this.reportCommitHoldForTest();
      if (!this.commitsHeldForTest) this.flush();
    };
    process.on(signal as NodeJS.Signals, onSignal);
    this.removeCommitHoldTestHook = () => process.off(signal as NodeJS.Signals, onSignal);
  }

  private reportCommitHoldForTest(): void {
    const heldEnqueues = this.commitsHeldForTest ? this.pendingOps.filter((op) => op.t === 'enqueue').length : 0;
    process.stderr.write(`${JSON.stringify({ msg: 'test hook: commit hold', held: this.commitsHeldForTest, heldEnqueues })}\n`);
  }

  /** Resolves once the writer thread is up (rejects if it cannot start). */
  ready(): Promise<void> {
    return this.workerReady;
  }

  private write<T>(op: WriteOp): Promise<T> {
    if (this.closed) return Promise.reject(new ProtocolError('INTERNAL', 'store closed'));
    return new Promise<T>((resolve, reject) => {
      this.pendingOps.push(op);
      this.pendingCbs.push({ resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.pendingOps.length === 0) return;
    if (this.pendingOps.length >= this.maxBatch) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.delay);
  }

  /**
   * Send the collected ops as one transaction. One batch in flight while the next one collects; a second only when
   * the collecting one is full (commitMaxBatch): under heavy load the writer then starts it the moment the first
   * commits instead of idling while the resumed callers write, and below that load writes still coalesce.
   */
  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.commitsHeldForTest) return this.reportCommitHoldForTest();
    const full = this.pendingOps.length >= this.maxBatch;
    if (this.pendingOps.length === 0 || this.inFlight.size >= (full ? 2 : 1)) return;
    let ops: WriteOp[];
    let cbs: Callbacks;
    if (this.pendingOps.length <= this.maxBatch) {
      ops = this.pendingOps;
      cbs = this.pendingCbs;
      this.pendingOps = [];
      this.pendingCbs = [];
      this.collecting.clear();
    } else {
      ops = this.pendingOps.splice(0, this.maxBatch);
      cbs = this.pendingCbs.splice(0, this.maxBatch);
      for (const op of ops) if (op.t === 'enqueue') this.collecting.delete(`${op.from}/${op.id}`);
    }
    const id = this.nextBatch++;
    this.inFlight.set(id, cbs);
    if (this.worker) {
      this.worker.postMessage({ id, ops }); // one structured clone of plain ops (strings, numbers) per batch
    } else if (this.inline) {
      let results: BatchResult | undefined;
      let error: string | undefined;
      try {
        results = this.inline.applyBatch(ops);
      } catch (e) {
        error = (e as Error).message;
      }
      this.settle(id, results, error);
    } else {
      this.settle(id, undefined, 'store writer is gone');
    }
  }

  private settle(id: number, results: BatchResult | undefined, error: string | undefined): void {
    const batch = this.inFlight.get(id);
    if (!batch) return;
    this.inFlight.delete(id);
    if (!results || error) {
      const err = new ProtocolError('INTERNAL', `store write failed: ${error ?? 'no result'}`);
      for (const p of batch) p.reject(err);
    } else {
      this.commits++;
      this.committedWrites += batch.length;
      const failed = new Set<number>();
      for (const [i, code, message] of results.errors) {
        failed.add(i);
        batch[i]!.reject(new ProtocolError(code, message));
      }
      const values = results.values;
      for (let i = 0; i < batch.length; i++) if (!failed.has(i)) batch[i]!.resolve(values[i]);
    }
    if (this.pendingOps.length > 0) {
      // ops that arrived during the commit go at once: they already waited one commit
      this.flush();
    } else {
      // Callers resumed by this commit often write again at once (a sender's next envelope, an ack): once their
      // microtasks ran, send what they wrote without waiting out the commit delay, so the writer is never idle
      // while work is queued. Ops that arrive later still collect for commitDelayMs.
      setImmediate(() => {
        if (this.pendingOps.length > 0 && this.inFlight.size === 0) this.flush();
      });
      const w = this.drainWaiters;
      this.drainWaiters = [];
      for (const f of w) f();
    }
  }

  private failAll(message: string): void {
    const err = new ProtocolError('INTERNAL', message);
    for (const batch of this.inFlight.values()) for (const p of batch) p.reject(err);
    this.inFlight.clear();
    this.pendingOps = [];
    for (const p of this.pendingCbs.splice(0)) p.reject(err);
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const f of w) f();
  }

  private static toStored(row: unknown): StoredIdentity | null {
    if (!row) return null;
    const r = row as {
      fingerprint: string; username: string; enc: string; sig: string; registered_at: number;
      rot_from: string | null; rot_sig: string | null;
    };
    const identity: PublicIdentity = { v: 1, enc: r.enc, sig: r.sig };
    const rotation = r.rot_from && r.rot_sig ? { from: r.rot_from, sig: r.rot_sig } : null;
    return { username: r.username, identity, fingerprint: r.fingerprint, registeredAt: r.registered_at, rotation };
  }

  async identityByUsername(username: string): Promise<StoredIdentity | null> {
    return SqliteEnvelopeStore.toStored(this.st.idByName.get(username));
  }

  async identityByFingerprint(fingerprint: string): Promise<StoredIdentity | null> {
    return SqliteEnvelopeStore.toStored(this.st.idByFp.get(fingerprint));
  }

  register(input: RegisterInput): Promise<{ rotated: boolean; previous: string | null }> {
    return this.write({ t: 'register', ...input });
  }

  enqueue(input: EnqueueInput): Promise<{ duplicate: boolean; seqs?: Record<string, number> }> {
    const env = input.envelope;
    const op: Extract<WriteOp, { t: 'enqueue' }> = input.body !== undefined
      ? { t: 'enqueue', from: env.from, id: env.id, to: env.to, body: input.body, size: input.size, receivedAt: input.receivedAt, expiresAt: input.expiresAt }
      : { t: 'enqueue', from: env.from, id: env.id, to: env.to, body: null, envelope: env, size: input.size, receivedAt: input.receivedAt, expiresAt: input.expiresAt };
    const written = this.write<Record<string, number> | 0>(op);
    if (input.unique && !this.closed) this.collecting.set(`${op.from}/${op.id}`, { op, written });
    return written.then((seqs) => (seqs === 0 ? { duplicate: true } : { duplicate: false, seqs }));
  }

  /** Committed (from, id): stored or tombstoned (the relay's dedupe check before a live delivery). */
  async hasEnvelope(from: string, id: string): Promise<boolean> {
    return this.st.seen.get(from, id) !== undefined;
  }

  async pending(recipient: string, afterSeq: number, limit: number): Promise<QueuedEnvelope[]> {
    const rows = this.st.pending.all(recipient, afterSeq, limit) as Array<{ seq: number; body: string; received_at: number }>;
    return rows.map((r) => ({ seq: r.seq, envelope: JSON.parse(r.body) as Envelope, receivedAt: r.received_at }));
  }

  async usage(recipient: string): Promise<QueueUsage> {
    const r = this.st.usage.get(recipient) as { count: number; bytes: number };
    return { count: r.count, bytes: r.bytes };
  }

  async pendingBySender(recipient: string): Promise<Map<string, number>> {
    const rows = this.st.bySender.all(recipient) as Array<{ sender: string; count: number }>;
    return new Map(rows.map((r) => [r.sender, r.count]));
  }

  ack(recipient: string, items: Array<{ from: string; id: string }>): Promise<{ removed: number; bytes: number }> {
    const now = Date.now();
    // Folded only when every item is a collecting enqueue for this recipient (all or nothing, so that a FORBIDDEN
    // item still refuses the whole call with nothing changed); settles with the commit that writes the enqueues.
    const fold: Array<{ op: Extract<WriteOp, { t: 'enqueue' }>; written: Promise<unknown> }> = [];
    for (const it of items) {
      const c = this.collecting.get(`${it.from}/${it.id}`);
      if (!c || !c.op.to.includes(recipient) || c.op.acked?.includes(recipient) || fold.includes(c)) break;
      fold.push(c);
    }
    if (items.length === 0 || fold.length < items.length) return this.write({ t: 'ack', recipient, items, now });
    let bytes = 0;
    for (const c of fold) {
      const acked = (c.op.acked ??= []);
      acked.push(recipient);
      c.op.ackedAt = now;
      bytes += c.op.size;
      if (acked.length === c.op.to.length) {
        // everyone has it: the row is written as a tombstone, so the body need not even go to the writer
        c.op.body = null;
        delete c.op.envelope;
      }
    }
    this.foldedAcks += fold.length;
    return Promise.all(fold.map((c) => c.written)).then(() => ({ removed: fold.length, bytes }));
  }

  sweep(now: number): Promise<number> {
    return this.write({ t: 'sweep', now });
  }

  async stats(): Promise<StoreStats> {
    return {
      identities: this.st.countIds.get() as number,
      queued: this.st.countQueued.get() as number,
      envelopes: this.st.countEnv.get() as number,
      commits: this.commits,
      committedWrites: this.committedWrites,
      foldedAcks: this.foldedAcks,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.removeCommitHoldTestHook?.();
    this.commitsHeldForTest = false; // a graceful close commits what the hook held
    // commit everything already accepted, then stop taking writes
    while (this.pendingOps.length > 0 || this.inFlight.size > 0) {
      await new Promise<void>((r) => {
        this.drainWaiters.push(r);
        this.flush();
      });
    }
    this.closed = true;
    if (this.worker) {
      const w = this.worker;
      await new Promise<void>((resolve) => {
        w.once('exit', () => resolve());
        w.on('message', (m: { closed?: boolean }) => m.closed && void w.terminate());
        w.postMessage({ close: true });
        setTimeout(() => void w.terminate(), 5000).unref();
      });
    } else {
      this.inline?.close();
    }
    this.db.close();
  }
}
