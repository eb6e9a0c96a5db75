/**
 * The SQLite schema and the write operations of the relay store, as plain data so they can run on a writer thread.
 * applyBatch() runs a batch in ONE transaction: each op either succeeds or fails with a ProtocolError code without
 * having written anything; any other failure rolls the whole batch back.
 */
import type Database from 'better-sqlite3';
import { loadNative } from '../native.js';
import type { Envelope, ErrorCode, PublicIdentity } from '../../protocol/index.js';

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS identities (
  fingerprint TEXT PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  enc TEXT NOT NULL,
  sig TEXT NOT NULL,
  registered_at INTEGER NOT NULL,
  rot_from TEXT,                  -- key rotation: the fingerprint this identity replaced under the same username
  rot_sig TEXT                    -- and that old identity's signature over rotationInput (LABELS.rotate), base64url
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
  rseq INTEGER,                   -- the recipient's own sequence (recipient_seq): delivery order for this recipient
  acked_at INTEGER,               -- NULL while the recipient has not acknowledged
  PRIMARY KEY (recipient, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deliveries_seq ON deliveries (seq);
-- Per-recipient counter, kept after its deliveries are swept so a connected client's cursor never sees a seq reused.
CREATE TABLE IF NOT EXISTS recipient_seq (
  recipient TEXT PRIMARY KEY,
  last INTEGER NOT NULL
) WITHOUT ROWID;
`;

/** Columns added after v1's first schema: ALTER TABLE for data folders created before them. */
function migrate(db: Database.Database): void {
  db.exec(SCHEMA);
  const cols = new Set((db.prepare('PRAGMA table_info(identities)').all() as Array<{ name: string }>).map((c) => c.name));
  if (!cols.has('rot_from')) db.exec('ALTER TABLE identities ADD COLUMN rot_from TEXT');
  if (!cols.has('rot_sig')) db.exec('ALTER TABLE identities ADD COLUMN rot_sig TEXT');
  const dcols = new Set((db.prepare('PRAGMA table_info(deliveries)').all() as Array<{ name: string }>).map((c) => c.name));
  if (!dcols.has('rseq')) {
    // Before per-recipient sequences the global seq ordered each recipient's queue: it is a valid rseq for old rows,
    // and each counter continues from the recipient's highest one.
    db.transaction(() => {
      db.exec('ALTER TABLE deliveries ADD COLUMN rseq INTEGER');
      db.exec('UPDATE deliveries SET rseq = seq');
      db.exec('INSERT OR IGNORE INTO recipient_seq (recipient, last) SELECT recipient, MAX(seq) FROM deliveries GROUP BY recipient');
      db.exec('DROP INDEX IF EXISTS deliveries_pending');
    })();
  }
  db.exec('CREATE INDEX IF NOT EXISTS deliveries_pending_rseq ON deliveries (recipient, rseq) WHERE acked_at IS NULL');
}

export type Synchronous = 'FULL' | 'NORMAL';

export function openDatabase(file: string, synchronous: Synchronous, readonly = false): Database.Database {
  // Loaded on first use, not at import: under the wrong ABI (say, an embedded relay in Electron before the rebuild)
  // this throws a NativeModuleError that names the module and the fix instead of failing the whole process at start.
  const Sqlite = loadNative<typeof Database & { default?: typeof Database }>('better-sqlite3');
  const Ctor = (Sqlite.default ?? Sqlite) as typeof Database;
  const db = new Ctor(file, readonly ? { readonly: true } : {});
  if (!readonly) db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
}

export type WriteOp =
  | { t: 'register'; username: string; identity: PublicIdentity; fingerprint: string; replaces?: string; rotationSig?: string; now: number }
  /**
   * `body` is the envelope's JSON when the caller had it (the relay serializes once, for its size check); otherwise
   * `envelope` travels as is and is serialized here, on the writer thread.
   */
  | {
      t: 'enqueue'; from: string; id: string; to: string[]; body: string | null; envelope?: Envelope; size: number; receivedAt: number;
      expiresAt: number;
      /**
       * Recipients whose acknowledgement arrived before this op was written (folded in by the store; only for an
       * enqueue known to be unique): their deliveries are inserted already acknowledged at `ackedAt`, and when that
       * is every recipient, the row is inserted as a tombstone (no body) straight away.
       */
      acked?: string[];
      ackedAt?: number;
    }
  | { t: 'ack'; recipient: string; items: Array<{ from: string; id: string }>; now: number }
  | { t: 'sweep'; now: number };

/**
 * A batch's outcome in compact form (one structured clone of flat arrays): `values[i]` is op i's value (enqueue:
 * each recipient's seq, or 0 for a duplicate), `errors` lists [index, code, message] for the ops refused with a ProtocolError code.
 */
export interface BatchResult {
  values: unknown[];
  errors: Array<[number, ErrorCode, string]>;
}

class OpError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export class Writer {
  private readonly st;
  private readonly runTxn: (ops: WriteOp[], out: BatchResult) => void;
  constructor(private readonly db: Database.Database) {
    migrate(db);
    this.runTxn = db.transaction((ops: WriteOp[], out: BatchResult) => this.txn(ops, out));
    this.st = {
      idByName: db.prepare('SELECT fingerprint FROM identities WHERE username = ?').pluck(),
      idByFp: db.prepare('SELECT username FROM identities WHERE fingerprint = ?').pluck(),
      insertId: db.prepare(
        'INSERT INTO identities (fingerprint, username, enc, sig, registered_at, rot_from, rot_sig) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      deleteId: db.prepare('DELETE FROM identities WHERE fingerprint = ?'),
      insertEnv: db.prepare(
        'INSERT OR IGNORE INTO envelopes (sender, id, body, size, received_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      nextRseq: db.prepare(
        'INSERT INTO recipient_seq (recipient, last) VALUES (?, 1) ON CONFLICT (recipient) DO UPDATE SET last = last + 1 RETURNING last',
      ).pluck(),
      insertDelivery: db.prepare('INSERT INTO deliveries (recipient, seq, rseq, acked_at) VALUES (?, ?, ?, ?)'),
      envBySenderId: db.prepare('SELECT seq, size FROM envelopes WHERE sender = ? AND id = ?'),
      delivery: db.prepare('SELECT 1 FROM deliveries WHERE recipient = ? AND seq = ?').pluck(),
      markAcked: db.prepare('UPDATE deliveries SET acked_at = ? WHERE recipient = ? AND seq = ? AND acked_at IS NULL'),
      openLeft: db.prepare('SELECT COUNT(*) FROM deliveries WHERE seq = ? AND acked_at IS NULL').pluck(),
      dropBody: db.prepare('UPDATE envelopes SET body = NULL WHERE seq = ?'),
      sweepDeliveries: db.prepare(
        'DELETE FROM deliveries WHERE acked_at IS NULL AND seq IN (SELECT seq FROM envelopes WHERE expires_at <= ?)',
      ),
      sweepEnvelopes: db.prepare('DELETE FROM envelopes WHERE expires_at <= ?'),
    };
  }

  private apply(op: WriteOp): unknown {
    const st = this.st;
    switch (op.t) {
      case 'register': {
        const byName = st.idByName.get(op.username) as string | undefined;
        if (byName === op.fingerprint) return { rotated: false, previous: null };
        if (st.idByFp.get(op.fingerprint) !== undefined) {
          throw new OpError('IDENTITY_TAKEN', 'this identity is registered under another username');
        }
        if (byName !== undefined) {
          if (op.replaces !== byName) throw new OpError('USERNAME_TAKEN', 'username registered to a different identity');
          st.deleteId.run(byName);
        }
        const rotated = byName !== undefined;
        st.insertId.run(
          op.fingerprint, op.username, op.identity.enc, op.identity.sig, op.now,
          rotated ? byName : null, rotated ? (op.rotationSig ?? null) : null,
        );
        return { rotated: byName !== undefined, previous: byName ?? null };
      }
      case 'enqueue': {
        const acked = op.acked ?? [];
        const body = acked.length === op.to.length ? null : (op.body ?? JSON.stringify(op.envelope));
        const r = st.insertEnv.run(op.from, op.id, body, op.size, op.receivedAt, op.expiresAt);
        if (r.changes === 0) {
          // Only an enqueue checked unique carries acks, so this should not happen; if it does, the acks still apply,
          // to the row that is there.
          for (const recipient of acked) {
            try {
              this.apply({ t: 'ack', recipient, items: [{ from: op.from, id: op.id }], now: op.ackedAt ?? op.receivedAt });
            } catch (e) {
              if (!(e instanceof OpError)) throw e;
            }
          }
          return 0; // duplicate
        }
        const seq = Number(r.lastInsertRowid);
        const seqs: Record<string, number> = {};
        for (const to of op.to) {
          const rseq = st.nextRseq.get(to) as number;
          seqs[to] = rseq;
          st.insertDelivery.run(to, seq, rseq, acked.includes(to) ? (op.ackedAt ?? op.receivedAt) : null);
        }
        return seqs;
      }
      case 'ack': {
        const rows: Array<{ seq: number; size: number }> = [];
        for (const it of op.items) {
          const row = st.envBySenderId.get(it.from, it.id) as { seq: number; size: number } | undefined;
          if (row === undefined) continue; // unknown or expired: nothing to remove
          if (st.delivery.get(op.recipient, row.seq) === undefined) {
            throw new OpError('FORBIDDEN', 'envelope is not addressed to you');
          }
          rows.push(row);
        }
        let removed = 0;
        let bytes = 0;
        for (const { seq, size } of rows) {
          const n = st.markAcked.run(op.now, op.recipient, seq).changes;
          removed += n;
          bytes += n * size;
          if ((st.openLeft.get(seq) as number) === 0) st.dropBody.run(seq);
        }
        return { removed, bytes };
      }
      case 'sweep': {
        const dropped = st.sweepDeliveries.run(op.now).changes;
        st.sweepEnvelopes.run(op.now); // acknowledged rows go with their envelope (ON DELETE CASCADE)
        return dropped;
      }
    }
  }

  private readonly txn = (ops: WriteOp[], out: BatchResult): void => {
    for (let i = 0; i < ops.length; i++) {
      try {
        out.values.push(this.apply(ops[i]!));
      } catch (e) {
        if (!(e instanceof OpError)) throw e;
        out.values.push(null);
        out.errors.push([i, e.code, e.message]);
      }
    }
  };

  /** Run `ops` in one transaction; throws (nothing committed) only on a storage failure. */
  applyBatch(ops: WriteOp[]): BatchResult {
    const out: BatchResult = { values: [], errors: [] };
    this.runTxn(ops, out);
    return out;
  }

  close(): void {
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      /* best effort */
    }
    this.db.close();
  }
}
