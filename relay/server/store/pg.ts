/**
 * PostgreSQL EnvelopeStore, for relays that share one queue (cluster mode). Same promises as the SQLite store:
 * a write resolves only after its COMMIT returned (synchronous_commit as the server has it, `on` by default), each
 * recipient's envelopes in commit order (per-recipient sequence under the recipient's row lock, pg-batch.ts), dedupe
 * by (sender, id), quotas checked under the same locks as the insert, TTL, deletion after every recipient's ack.
 *
 * Group commit in the application: writes collect for `commitDelayMs` (or `commitMaxBatch`), then go as one
 * transaction; up to `maxInFlight` transactions run at once on their own connections, so the next batch does not
 * wait for the previous one's fsync. Reads use a separate pool.
 */
import pg from 'pg';
import { ProtocolError, type Envelope, type PublicIdentity } from '../../protocol/index.js';
import { applyPgBatch, type PgBatchResult, type PgOp } from './pg-batch.js';
import { LOCK_SWEEP, migrate } from './pg-schema.js';
import type { EnqueueInput, EnvelopeStore, QueuedEnvelope, QueueUsage, RegisterInput, StoredIdentity, StoreStats } from './types.js';

export interface PgStoreOptions {
  commitDelayMs?: number;
  commitMaxBatch?: number;
  /** Group-commit transactions running at once (default 4). */
  maxInFlight?: number;
  /** Connections for reads (default 8). */
  readConnections?: number;
  /** Refuse an enqueue past these per-recipient limits, checked in the transaction that inserts it. */
  quota?: { count: number; bytes: number };
}

type Callback = { resolve: (v: unknown) => void; reject: (e: unknown) => void };

/**
 * A pooled connection with an 'error' listener for as long as it is checked out. node-postgres emits 'error' on a
 * client whose server connection ends (PostgreSQL restarting sends every backend a FATAL), and the pool listens only
 * while a client is idle: a transaction holding its client between two statements would otherwise crash the relay.
 * The next statement on it fails instead, and release() hands the broken client back to be discarded.
 */
async function checkout(pool: pg.Pool): Promise<{ c: pg.PoolClient; release: (err?: Error) => void }> {
  const c = await pool.connect();
  let broken: Error | undefined;
  const onError = (e: Error) => (broken = e);
  c.on('error', onError);
  return {
    c,
    release: (err?: Error) => {
      c.off('error', onError);
      c.release(err ?? broken);
    },
  };
}

/** Serialization failures and deadlocks: the whole batch is retried (nothing of it was committed). */
const RETRYABLE = new Set(['40001', '40P01']);

export class PgEnvelopeStore implements EnvelopeStore {
  private readonly writePool: pg.Pool;
  private readonly readPool: pg.Pool;
  private readonly delay: number;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  private readonly quota: { count: number; bytes: number } | undefined;
  private pendingOps: PgOp[] = [];
  private pendingCbs: Callback[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Resolves once the latest batch holds its recipient locks (see pg-batch.ts: order across batches). */
  private lockChain: Promise<void> = Promise.resolve();
  /** Enqueues not yet committed, by from/id: an ack for one waits for it (it may run in a later, faster batch). */
  private uncommitted = new Map<string, Promise<unknown>>();
  private drainWaiters: Array<() => void> = [];
  private commits = 0;
  private committedWrites = 0;
  private readyPromise: Promise<void>;

  constructor(readonly url: string, opts: PgStoreOptions = {}) {
    this.delay = opts.commitDelayMs ?? 2;
    this.maxBatch = opts.commitMaxBatch ?? 256;
    this.maxInFlight = opts.maxInFlight ?? 4;
    this.quota = opts.quota;
    const onError = () => undefined; // an idle client's connection broke: the pool drops it; the next query reconnects
    this.writePool = new pg.Pool({ connectionString: url, max: this.maxInFlight });
    this.readPool = new pg.Pool({ connectionString: url, max: opts.readConnections ?? 8 });
    for (const pool of [this.writePool, this.readPool]) {
      pool.on('error', onError);
      // Every client listens for 'error' from the moment it connects. The pool listens only while a client is idle and
      // checkout() only once its await resumes: a new connection whose startup answer and the server's FATAL
      // (PostgreSQL shutting down terminates every backend: 57P01) come in one read emits 'error' in between, and that
      // killed the relay. Such a client fails its next statement and is discarded (run(), sweep()).
      pool.on('connect', (client) => client.on('error', onError));
    }
    this.readyPromise = migrate(this.writePool).then(() => undefined);
    this.readyPromise.catch(() => undefined);
  }

  /** Resolves once the schema is migrated (rejects if the database cannot be reached). */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  private write<T>(op: PgOp): Promise<T> {
    if (this.closed) return Promise.reject(new ProtocolError('INTERNAL', 'store closed'));
    return new Promise<T>((resolve, reject) => {
      this.pendingOps.push(op);
      this.pendingCbs.push({ resolve: resolve as (v: unknown) => void, reject });
      if (this.pendingOps.length >= this.maxBatch) this.flush();
      else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.delay);
    });
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.pendingOps.length > 0 && this.inFlight < this.maxInFlight) {
      const ops = this.pendingOps.splice(0, this.maxBatch);
      const cbs = this.pendingCbs.splice(0, this.maxBatch);
      const prev = this.lockChain;
      let locked!: () => void;
      this.lockChain = new Promise<void>((r) => (locked = r));
      this.inFlight++;
      void this.run(ops, prev, locked).then(
        (res) => this.settle(cbs, res, undefined),
        (e: unknown) => this.settle(cbs, undefined, e),
      );
    }
  }

  private async run(ops: PgOp[], prev: Promise<void>, locked: () => void): Promise<PgBatchResult> {
    let signalled = false;
    const signal = () => {
      if (signalled) return;
      signalled = true;
      locked();
    };
    try {
      for (let attempt = 1; ; attempt++) {
        const { c, release } = await checkout(this.writePool);
        try {
          const res = await applyPgBatch(c, ops, attempt === 1 ? prev : Promise.resolve(), signal); // BEGIN … COMMIT
          release();
          return res;
        } catch (e) {
          const broken = await c.query('ROLLBACK').then(() => false, () => true);
          release(broken ? (e as Error) : undefined);
          if (attempt >= 3 || !RETRYABLE.has((e as { code?: string }).code ?? '')) throw e;
        }
      }
    } finally {
      signal();
    }
  }

  private settle(cbs: Callback[], res: PgBatchResult | undefined, error: unknown): void {
    this.inFlight--;
    if (!res) {
      // Nothing of the batch committed (or, if the connection broke during COMMIT, possibly all of it: a sender's
      // retry then gets `duplicate`, which is the at-least-once contract).
      const err = new ProtocolError('INTERNAL', `store write failed: ${(error as Error)?.message ?? 'unknown error'}`);
      for (const cb of cbs) cb.reject(err);
    } else {
      this.commits++;
      this.committedWrites += cbs.length;
      const failed = new Set<number>();
      for (const [i, code, message] of res.errors) {
        failed.add(i);
        cbs[i]!.reject(new ProtocolError(code, message));
      }
      for (let i = 0; i < cbs.length; i++) if (!failed.has(i)) cbs[i]!.resolve(res.values[i]);
    }
    if (this.pendingOps.length > 0) this.flush();
    else if (this.inFlight === 0) {
      const w = this.drainWaiters;
      this.drainWaiters = [];
      for (const f of w) f();
    }
  }

  private async read<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<R[]> {
    if (this.closed) throw new ProtocolError('INTERNAL', 'store closed');
    try {
      return (await this.readPool.query<R>(sql, params)).rows;
    } catch (e) {
      throw new ProtocolError('INTERNAL', `store read failed: ${(e as Error).message}`);
    }
  }

  private static toStored(r: Record<string, unknown> | undefined): StoredIdentity | null {
    if (!r) return null;
    const identity: PublicIdentity = { v: 1, enc: r.enc as string, sig: r.sig as string };
    const rotation = r.rot_from && r.rot_sig ? { from: r.rot_from as string, sig: r.rot_sig as string } : null;
    return { username: r.username as string, identity, fingerprint: r.fingerprint as string, registeredAt: Number(r.registered_at), rotation };
  }

  async identityByUsername(username: string): Promise<StoredIdentity | null> {
    return PgEnvelopeStore.toStored((await this.read('SELECT * FROM identities WHERE username = $1', [username]))[0]);
  }

  async identityByFingerprint(fingerprint: string): Promise<StoredIdentity | null> {
    return PgEnvelopeStore.toStored((await this.read('SELECT * FROM identities WHERE fingerprint = $1', [fingerprint]))[0]);
  }

  register(input: RegisterInput): Promise<{ rotated: boolean; previous: string | null }> {
    return this.write({ t: 'register', ...input });
  }

  enqueue(input: EnqueueInput): Promise<{ duplicate: boolean; seqs?: Record<string, number> }> {
    const env = input.envelope;
    const key = `${env.from}/${env.id}`;
    const written = this.write<Record<string, number> | 0>({
      t: 'enqueue', from: env.from, id: env.id, to: env.to, body: input.body ?? JSON.stringify(env), size: input.size,
      receivedAt: input.receivedAt, expiresAt: input.expiresAt, ...(this.quota ? { quota: this.quota } : {}),
    });
    const settled = written.then(() => undefined, () => undefined);
    this.uncommitted.set(key, settled);
    void settled.then(() => {
      if (this.uncommitted.get(key) === settled) this.uncommitted.delete(key);
    });
    return written.then((seqs) => (seqs === 0 ? { duplicate: true } : { duplicate: false, seqs }));
  }

  async hasEnvelope(from: string, id: string): Promise<boolean> {
    return (await this.read('SELECT 1 FROM envelopes WHERE sender = $1 AND id = $2', [from, id])).length > 0;
  }

  async pending(recipient: string, afterSeq: number, limit: number): Promise<QueuedEnvelope[]> {
    const rows = await this.read<{ rseq: string; body: string; received_at: string }>(
      `SELECT d.rseq, e.body, e.received_at FROM deliveries d JOIN envelopes e ON e.seq = d.seq
       WHERE d.recipient = $1 AND d.acked_at IS NULL AND d.rseq > $2 ORDER BY d.rseq LIMIT $3`,
      [recipient, afterSeq, limit],
    );
    return rows.map((r) => ({ seq: Number(r.rseq), envelope: JSON.parse(r.body) as Envelope, receivedAt: Number(r.received_at) }));
  }

  async newestPending(recipients: readonly string[]): Promise<Map<string, number>> {
    // one index range per recipient (deliveries_pending is (recipient, rseq) WHERE acked_at IS NULL)
    const rows = await this.read<{ recipient: string; rseq: string }>(
      `SELECT r.recipient, (SELECT MAX(d.rseq) FROM deliveries d WHERE d.recipient = r.recipient AND d.acked_at IS NULL) AS rseq
       FROM unnest($1::text[]) AS r(recipient)`,
      [[...recipients]],
    );
    return new Map(rows.filter((r) => r.rseq !== null).map((r) => [r.recipient, Number(r.rseq)]));
  }

  async usage(recipient: string): Promise<QueueUsage> {
    const [r] = await this.read<{ n: string; bytes: string }>(
      `SELECT COUNT(*) AS n, COALESCE(SUM(e.size), 0) AS bytes FROM deliveries d JOIN envelopes e ON e.seq = d.seq
       WHERE d.recipient = $1 AND d.acked_at IS NULL`,
      [recipient],
    );
    return { count: Number(r!.n), bytes: Number(r!.bytes) };
  }

  async pendingBySender(recipient: string): Promise<Map<string, number>> {
    const rows = await this.read<{ sender: string; n: string }>(
      `SELECT e.sender, COUNT(*) AS n FROM deliveries d JOIN envelopes e ON e.seq = d.seq
       WHERE d.recipient = $1 AND d.acked_at IS NULL GROUP BY e.sender`,
      [recipient],
    );
    return new Map(rows.map((r) => [r.sender, Number(r.n)]));
  }

  async ack(recipient: string, items: Array<{ from: string; id: string }>): Promise<{ removed: number; bytes: number }> {
    // An ack for an envelope delivered live may arrive before its enqueue committed: wait for that commit, so the
    // ack finds the row (a later batch may otherwise commit before the earlier one).
    const waits = items.map((it) => this.uncommitted.get(`${it.from}/${it.id}`)).filter((p) => p !== undefined);
    if (waits.length > 0) await Promise.all(waits);
    return this.write({ t: 'ack', recipient, items, now: Date.now() });
  }

  /**
   * Delete what passed its TTL, on one node at a time (a transaction-scoped advisory lock; a node that does not get
   * it returns 0 and leaves the work to the holder). Also drops bodies every recipient acknowledged that concurrent
   * acks left behind (see pg-batch.ts ack).
   */
  async sweep(now: number): Promise<number> {
    const { c, release } = await checkout(this.writePool).catch((e: Error) => {
      throw new ProtocolError('INTERNAL', `store sweep failed: ${e.message}`);
    });
    try {
      await c.query('BEGIN');
      const got = (await c.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS ok', [LOCK_SWEEP])).rows[0]!.ok;
      if (!got) {
        await c.query('ROLLBACK');
        return 0;
      }
      const dropped = await c.query(
        'DELETE FROM deliveries WHERE acked_at IS NULL AND seq IN (SELECT seq FROM envelopes WHERE expires_at <= $1)',
        [now],
      );
      await c.query('DELETE FROM envelopes WHERE expires_at <= $1', [now]);
      await c.query(
        `UPDATE envelopes e SET body = NULL WHERE body IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.seq = e.seq AND d.acked_at IS NULL)`,
      );
      await c.query('COMMIT');
      return dropped.rowCount ?? 0;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw new ProtocolError('INTERNAL', `store sweep failed: ${(e as Error).message}`);
    } finally {
      release();
    }
  }

  async stats(): Promise<StoreStats> {
    const [r] = await this.read<{ ids: string; queued: string; envs: string }>(
      `SELECT (SELECT COUNT(*) FROM identities) AS ids, (SELECT COUNT(*) FROM deliveries WHERE acked_at IS NULL) AS queued,
              (SELECT COUNT(*) FROM envelopes) AS envs`,
      [],
    );
    return { identities: Number(r!.ids), queued: Number(r!.queued), envelopes: Number(r!.envs), commits: this.commits, committedWrites: this.committedWrites };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    while (this.pendingOps.length > 0 || this.inFlight > 0) {
      await new Promise<void>((r) => {
        this.drainWaiters.push(r);
        this.flush();
      });
    }
    this.closed = true;
    await Promise.all([this.writePool.end(), this.readPool.end()]);
  }
}
