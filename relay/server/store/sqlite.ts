/**
 * SQLite EnvelopeStore (better-sqlite3): WAL journal, synchronous=FULL, group commit.
 *
 * Writes are queued as closures and run together in one transaction every `commitDelayMs` (or as soon as
 * `commitMaxBatch` are pending); each caller's promise resolves only after COMMIT returned, so a sender is
 * acknowledged only for envelopes on disk. Reads run directly (they see committed data only: the single
 * connection is never inside a transaction between event-loop turns).
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ProtocolError, type Envelope, type PublicIdentity } from '../../protocol/index.js';
import type {
  EnqueueInput,
  EnvelopeStore,
  QueuedEnvelope,
  QueueUsage,
  RegisterInput,
  StoredIdentity,
  StoreStats,
} from './types.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS identities (
  fingerprint TEXT PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  enc TEXT NOT NULL,
  sig TEXT NOT NULL,
  registered_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS envelopes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  sender TEXT NOT NULL,
  id TEXT NOT NULL,
  body TEXT,                      -- sealed envelope JSON; NULL once every recipient acknowledged (dedupe tombstone)
  size INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  UNIQUE (sender, id)
);
CREATE INDEX IF NOT EXISTS envelopes_expiry ON envelopes (expires_at);
CREATE TABLE IF NOT EXISTS deliveries (
  recipient TEXT NOT NULL,
  seq INTEGER NOT NULL REFERENCES envelopes (seq) ON DELETE CASCADE,
  acked_at INTEGER,               -- NULL while the recipient has not acknowledged
  PRIMARY KEY (recipient, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries (recipient, seq) WHERE acked_at IS NULL;
CREATE INDEX IF NOT EXISTS deliveries_seq ON deliveries (seq);
`;

type Op = { run: () => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void };

export interface SqliteStoreOptions {
  commitDelayMs?: number;
  commitMaxBatch?: number;
  /** 'FULL' (default) or 'NORMAL'. */
  synchronous?: 'FULL' | 'NORMAL';
}

export class SqliteEnvelopeStore implements EnvelopeStore {
  readonly file: string;
  private readonly db: Database.Database;
  private pendingOps: Op[] = [];
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private commits = 0;
  private committedWrites = 0;
  private readonly delay: number;
  private readonly maxBatch: number;
  private readonly st;

  constructor(dataDir: string, opts: SqliteStoreOptions = {}) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    this.file = path.join(dataDir, 'relay.sqlite');
    this.db = new Database(this.file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`);
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.delay = opts.commitDelayMs ?? 2;
    this.maxBatch = opts.commitMaxBatch ?? 1024;
    const db = this.db;
    this.st = {
      idByName: db.prepare('SELECT fingerprint, username, enc, sig, registered_at FROM identities WHERE username = ?'),
      idByFp: db.prepare('SELECT fingerprint, username, enc, sig, registered_at FROM identities WHERE fingerprint = ?'),
      insertId: db.prepare('INSERT INTO identities (fingerprint, username, enc, sig, registered_at) VALUES (?, ?, ?, ?, ?)'),
      deleteId: db.prepare('DELETE FROM identities WHERE fingerprint = ?'),
      insertEnv: db.prepare(
        'INSERT OR IGNORE INTO envelopes (sender, id, body, size, received_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      insertDelivery: db.prepare('INSERT INTO deliveries (recipient, seq) VALUES (?, ?)'),
      pending: db.prepare(
        `SELECT e.seq AS seq, e.body AS body, e.received_at AS received_at FROM deliveries d JOIN envelopes e ON e.seq = d.seq
         WHERE d.recipient = ? AND d.acked_at IS NULL AND d.seq > ? ORDER BY d.seq LIMIT ?`,
      ),
      usage: db.prepare(
        `SELECT COUNT(*) AS count, COALESCE(SUM(e.size), 0) AS bytes FROM deliveries d JOIN envelopes e ON e.seq = d.seq
         WHERE d.recipient = ? AND d.acked_at IS NULL`,
      ),
      envBySenderId: db.prepare('SELECT seq FROM envelopes WHERE sender = ? AND id = ?'),
      delivery: db.prepare('SELECT acked_at FROM deliveries WHERE recipient = ? AND seq = ?'),
      markAcked: db.prepare('UPDATE deliveries SET acked_at = ? WHERE recipient = ? AND seq = ? AND acked_at IS NULL'),
      openLeft: db.prepare('SELECT COUNT(*) AS n FROM deliveries WHERE seq = ? AND acked_at IS NULL'),
      dropBody: db.prepare('UPDATE envelopes SET body = NULL WHERE seq = ?'),
      sweepDeliveries: db.prepare(
        'DELETE FROM deliveries WHERE acked_at IS NULL AND seq IN (SELECT seq FROM envelopes WHERE expires_at <= ?)',
      ),
      sweepEnvelopes: db.prepare('DELETE FROM envelopes WHERE expires_at <= ?'),
      countIds: db.prepare('SELECT COUNT(*) AS n FROM identities'),
      countQueued: db.prepare('SELECT COUNT(*) AS n FROM deliveries WHERE acked_at IS NULL'),
      countEnv: db.prepare('SELECT COUNT(*) AS n FROM envelopes'),
    };
  }

  /** Queue a write; it runs inside the next group transaction. Throwing before writing rejects only this op. */
  private write<T>(run: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new ProtocolError('INTERNAL', 'store closed'));
    return new Promise<T>((resolve, reject) => {
      this.pendingOps.push({ run, resolve: resolve as (v: unknown) => void, reject });
      if (this.pendingOps.length >= this.maxBatch) this.flush();
      else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.delay);
    });
  }

  /** Run every pending write in one transaction; settle callers after COMMIT. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const ops = this.pendingOps;
    if (ops.length === 0) return;
    this.pendingOps = [];
    const results: Array<{ ok: boolean; value: unknown }> = [];
    try {
      this.db.transaction(() => {
        for (const op of ops) {
          try {
            results.push({ ok: true, value: op.run() });
          } catch (e) {
            if (!(e instanceof ProtocolError)) throw e;
            results.push({ ok: false, value: e });
          }
        }
      })();
    } catch (e) {
      // The transaction rolled back: nothing of this batch is durable.
      const err = new ProtocolError('INTERNAL', `store write failed: ${(e as Error).message}`);
      for (const op of ops) op.reject(err);
      return;
    }
    this.commits++;
    this.committedWrites += ops.length;
    ops.forEach((op, i) => {
      const r = results[i]!;
      if (r.ok) op.resolve(r.value);
      else op.reject(r.value);
    });
  }

  private static toStored(row: unknown): StoredIdentity | null {
    if (!row) return null;
    const r = row as { fingerprint: string; username: string; enc: string; sig: string; registered_at: number };
    const identity: PublicIdentity = { v: 1, enc: r.enc, sig: r.sig };
    return { username: r.username, identity, fingerprint: r.fingerprint, registeredAt: r.registered_at };
  }

  async identityByUsername(username: string): Promise<StoredIdentity | null> {
    return SqliteEnvelopeStore.toStored(this.st.idByName.get(username));
  }

  async identityByFingerprint(fingerprint: string): Promise<StoredIdentity | null> {
    return SqliteEnvelopeStore.toStored(this.st.idByFp.get(fingerprint));
  }

  register(input: RegisterInput): Promise<{ rotated: boolean; previous: string | null }> {
    return this.write(() => {
      const byName = SqliteEnvelopeStore.toStored(this.st.idByName.get(input.username));
      const byFp = SqliteEnvelopeStore.toStored(this.st.idByFp.get(input.fingerprint));
      if (byName && byName.fingerprint === input.fingerprint) return { rotated: false, previous: null };
      if (byFp) throw new ProtocolError('IDENTITY_TAKEN', 'this identity is registered under another username');
      if (byName) {
        if (!input.replaces || input.replaces !== byName.fingerprint) {
          throw new ProtocolError('USERNAME_TAKEN', 'username registered to a different identity');
        }
        this.st.deleteId.run(byName.fingerprint);
      }
      this.st.insertId.run(input.fingerprint, input.username, input.identity.enc, input.identity.sig, input.now);
      return { rotated: !!byName, previous: byName?.fingerprint ?? null };
    });
  }

  enqueue(input: EnqueueInput): Promise<{ duplicate: boolean }> {
    const env = input.envelope;
    const body = JSON.stringify(env);
    return this.write(() => {
      const r = this.st.insertEnv.run(env.from, env.id, body, input.size, input.receivedAt, input.expiresAt);
      if (r.changes === 0) return { duplicate: true };
      const seq = Number(r.lastInsertRowid);
      for (const to of env.to) this.st.insertDelivery.run(to, seq);
      return { duplicate: false };
    });
  }

  async pending(recipient: string, afterSeq: number, limit: number): Promise<QueuedEnvelope[]> {
    const rows = this.st.pending.all(recipient, afterSeq, limit) as Array<{ seq: number; body: string; received_at: number }>;
    return rows.map((r) => ({ seq: r.seq, envelope: JSON.parse(r.body) as Envelope, receivedAt: r.received_at }));
  }

  async usage(recipient: string): Promise<QueueUsage> {
    const r = this.st.usage.get(recipient) as { count: number; bytes: number };
    return { count: r.count, bytes: r.bytes };
  }

  ack(recipient: string, items: Array<{ from: string; id: string }>): Promise<{ removed: number }> {
    return this.write(() => {
      const seqs: number[] = [];
      for (const it of items) {
        const env = this.st.envBySenderId.get(it.from, it.id) as { seq: number } | undefined;
        if (!env) continue; // unknown or expired: nothing to remove
        const d = this.st.delivery.get(recipient, env.seq);
        if (!d) throw new ProtocolError('FORBIDDEN', 'envelope is not addressed to you');
        seqs.push(env.seq);
      }
      const now = Date.now();
      let removed = 0;
      for (const seq of seqs) {
        removed += this.st.markAcked.run(now, recipient, seq).changes;
        const left = this.st.openLeft.get(seq) as { n: number };
        if (left.n === 0) this.st.dropBody.run(seq);
      }
      return { removed };
    });
  }

  sweep(now: number): Promise<number> {
    return this.write(() => {
      const dropped = this.st.sweepDeliveries.run(now).changes;
      this.st.sweepEnvelopes.run(now);
      return dropped;
    });
  }

  async stats(): Promise<StoreStats> {
    return {
      identities: (this.st.countIds.get() as { n: number }).n,
      queued: (this.st.countQueued.get() as { n: number }).n,
      envelopes: (this.st.countEnv.get() as { n: number }).n,
      commits: this.commits,
      committedWrites: this.committedWrites,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      /* best effort */
    }
    this.db.close();
  }
}
