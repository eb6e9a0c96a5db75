/**
 * One group commit of the PostgreSQL store: a batch of writes in ONE transaction, in a few set-based statements.
 *
 * Order per recipient: the batch first locks the `recipients` rows of every enqueue recipient (sorted, so concurrent
 * batches on any node never deadlock) and only then takes sequence numbers; another batch with a common recipient
 * waits for this one's COMMIT. Within one store, batch k asks for its locks only after batch k-1 holds its own, so
 * one connection's envelopes keep their arrival order even with several batches in flight.
 * Quotas: with the recipients locked, their unacknowledged counts cannot grow under us, so the check below and the
 * insert are one atomic step across all nodes.
 */
import type { PoolClient, QueryResult } from 'pg';
import type { ErrorCode, PublicIdentity } from '../../protocol/index.js';

export type PgOp =
  | { t: 'register'; username: string; identity: PublicIdentity; fingerprint: string; replaces?: string; rotationSig?: string; now: number }
  | {
      t: 'enqueue'; from: string; id: string; to: string[]; body: string; size: number; receivedAt: number; expiresAt: number;
      quota?: { count: number; bytes: number };
    }
  | { t: 'ack'; recipient: string; items: Array<{ from: string; id: string }>; now: number };

export interface PgBatchResult {
  values: unknown[];
  errors: Array<[number, ErrorCode, string]>;
}

class OpError extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
  }
}

type Enq = Extract<PgOp, { t: 'enqueue' }>;

/*
 * The enqueue path: BEGIN and the lock in one round trip, the quota count and the envelope insert (prepared once per
 * connection), then the deliveries and COMMIT in one round trip. The first and last carry their few values as escaped
 * literals (a multi-statement query takes no parameters): every round trip inside the transaction is time the
 * recipients stay locked, and a batch from this or another node that shares a recipient waits for that.
 */
const lockSql = (recipients: string) => `INSERT INTO recipients (recipient) SELECT r FROM unnest(${recipients}) AS r ORDER BY r
  ON CONFLICT (recipient) DO UPDATE SET last_seq = recipients.last_seq RETURNING recipient, last_seq`;
const SQL_USAGE = `SELECT d.recipient, COUNT(*) AS n, COALESCE(SUM(e.size), 0) AS bytes FROM deliveries d JOIN envelopes e ON e.seq = d.seq
  WHERE d.recipient = ANY($1::text[]) AND d.acked_at IS NULL GROUP BY d.recipient`;
const SQL_INSERT_ENVELOPES = `INSERT INTO envelopes (sender, id, body, size, received_at, expires_at)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::bigint[], $6::bigint[])
  ON CONFLICT (sender, id) DO NOTHING RETURNING seq, sender, id`;
/** The deliveries and the recipients' new counters in one statement (a data-modifying WITH always runs to completion). */
const deliveriesSql = (recipient: string, seq: string, rseq: string, counterOf: string, counter: string) =>
  `WITH d AS (INSERT INTO deliveries (recipient, seq, rseq) SELECT * FROM unnest(${recipient}, ${seq}, ${rseq}))
  UPDATE recipients SET last_seq = v.l FROM unnest(${counterOf}, ${counter}) AS v(r, l) WHERE recipient = v.r`;

function textArray(c: PoolClient, values: readonly string[]): string {
  return `ARRAY[${values.map((v) => c.escapeLiteral(v)).join(',')}]::text[]`;
}
function bigintArray(values: readonly number[]): string {
  for (const v of values) if (!Number.isSafeInteger(v)) throw new Error(`not an integer: ${v}`);
  return `ARRAY[${values.join(',')}]::bigint[]`;
}

/**
 * One batch on `c`, from BEGIN to COMMIT (resolves once committed; on a throw the caller rolls back).
 * `prevLocked` / `locked` chain the lock step of batches: this batch asks for its recipient locks only after the
 * previous batch of this store holds its own, and signals as soon as it holds them.
 */
export async function applyPgBatch(c: PoolClient, ops: PgOp[], prevLocked: Promise<void>, locked: () => void): Promise<PgBatchResult> {
  const out: PgBatchResult = { values: new Array(ops.length).fill(null), errors: [] };
  const enqIdx: number[] = [];
  for (let i = 0; i < ops.length; i++) if (ops[i]!.t === 'enqueue') enqIdx.push(i);
  const onlyEnqueues = enqIdx.length === ops.length;
  let committed = false;
  await prevLocked;
  try {
    if (enqIdx.length > 0) committed = await enqueueAll(c, ops, enqIdx, out, locked, onlyEnqueues);
    else await c.query('BEGIN');
  } finally {
    locked();
  }
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    try {
      if (op.t === 'register') out.values[i] = await register(c, op);
      else if (op.t === 'ack') out.values[i] = await ack(c, op);
    } catch (e) {
      if (!(e instanceof OpError)) throw e;
      out.errors.push([i, e.code, e.message]);
    }
  }
  if (!committed) await c.query('COMMIT');
  return out;
}

/** BEGIN and the enqueues of the batch; returns whether it also committed (`commit`: nothing else follows). */
async function enqueueAll(c: PoolClient, ops: PgOp[], enqIdx: number[], out: PgBatchResult, locked: () => void, commit: boolean): Promise<boolean> {
  const recipients = [...new Set(enqIdx.flatMap((i) => (ops[i] as Enq).to))].sort();
  // One statement creates the missing rows and locks them all, in sorted order (rows are taken in input order), and
  // returns each counter as of its lock (after waiting for a concurrent holder, the latest committed value).
  const [, lockRows] = (await c.query(`BEGIN; ${lockSql(textArray(c, recipients))}`)) as unknown as [unknown, QueryResult<{ recipient: string; last_seq: string }>];
  locked();
  const last = new Map(lockRows.rows.map((r) => [r.recipient, Number(r.last_seq)]));

  // Quotas, under the locks: unacknowledged count and bytes of each recipient an enqueue with a quota names.
  const quotaRecipients = [...new Set(enqIdx.flatMap((i) => ((ops[i] as Enq).quota ? (ops[i] as Enq).to : [])))];
  const usage = new Map<string, { count: number; bytes: number }>();
  if (quotaRecipients.length > 0) {
    // a statement of its own, after the locks: its snapshot includes what a batch we waited for committed
    const u = await c.query<{ recipient: string; n: string; bytes: string }>({ name: 'parley_usage', text: SQL_USAGE, values: [quotaRecipients] });
    for (const r of u.rows) usage.set(r.recipient, { count: Number(r.n), bytes: Number(r.bytes) });
  }
  const admitted: number[] = [];
  for (const i of enqIdx) {
    const op = ops[i] as Enq;
    if (op.quota) {
      const q = op.quota;
      const full = op.to.find((to) => {
        const u = usage.get(to) ?? { count: 0, bytes: 0 };
        return u.count + 1 > q.count || u.bytes + op.size > q.bytes;
      });
      if (full !== undefined) {
        out.errors.push([i, 'QUOTA_EXCEEDED', `queue of recipient ${full} is full`]);
        continue;
      }
      for (const to of op.to) {
        const u = usage.get(to) ?? { count: 0, bytes: 0 };
        usage.set(to, { count: u.count + 1, bytes: u.bytes + op.size });
      }
    }
    admitted.push(i);
  }
  if (admitted.length === 0) return false;
  const a = admitted.map((i) => ops[i] as Enq);
  const ins = await c.query<{ seq: string; sender: string; id: string }>({
    name: 'parley_insert_envelopes',
    text: SQL_INSERT_ENVELOPES,
    values: [a.map((o) => o.from), a.map((o) => o.id), a.map((o) => o.body), a.map((o) => o.size), a.map((o) => o.receivedAt), a.map((o) => o.expiresAt)],
  });
  const seqOf = new Map(ins.rows.map((r) => [`${r.sender}/${r.id}`, Number(r.seq)]));
  const dRecipient: string[] = [];
  const dSeq: number[] = [];
  const dRseq: number[] = [];
  for (const i of admitted) {
    const op = ops[i] as Enq;
    const key = `${op.from}/${op.id}`;
    const seq = seqOf.get(key);
    if (seq === undefined) {
      out.values[i] = 0; // duplicate (committed before, or earlier in this batch)
      continue;
    }
    seqOf.delete(key); // a second copy of the same (from, id) in this batch is a duplicate
    const seqs: Record<string, number> = {};
    for (const to of op.to) {
      const r = last.get(to)! + 1;
      last.set(to, r);
      seqs[to] = r;
      dRecipient.push(to);
      dSeq.push(seq);
      dRseq.push(r);
    }
    out.values[i] = seqs;
  }
  if (dRecipient.length === 0) return false;
  const sql = deliveriesSql(textArray(c, dRecipient), bigintArray(dSeq), bigintArray(dRseq), textArray(c, [...last.keys()]), bigintArray([...last.values()]));
  await c.query(commit ? `${sql}; COMMIT` : sql);
  return commit;
}

async function register(c: PoolClient, op: Extract<PgOp, { t: 'register' }>): Promise<{ rotated: boolean; previous: string | null }> {
  await c.query('SAVEPOINT reg');
  try {
    const byName = (await c.query<{ fingerprint: string }>('SELECT fingerprint FROM identities WHERE username = $1 FOR UPDATE', [op.username])).rows[0]?.fingerprint;
    if (byName === op.fingerprint) return { rotated: false, previous: null };
    if ((await c.query('SELECT 1 FROM identities WHERE fingerprint = $1', [op.fingerprint])).rowCount) {
      throw new OpError('IDENTITY_TAKEN', 'this identity is registered under another username');
    }
    if (byName !== undefined) {
      if (op.replaces !== byName) throw new OpError('USERNAME_TAKEN', 'username registered to a different identity');
      await c.query('DELETE FROM identities WHERE fingerprint = $1', [byName]);
    }
    const rotated = byName !== undefined;
    await c.query(
      'INSERT INTO identities (fingerprint, username, enc, sig, registered_at, rot_from, rot_sig) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [op.fingerprint, op.username, op.identity.enc, op.identity.sig, op.now, rotated ? byName : null, rotated ? (op.rotationSig ?? null) : null],
    );
    await c.query('RELEASE SAVEPOINT reg');
    return { rotated, previous: byName ?? null };
  } catch (e) {
    await c.query('ROLLBACK TO SAVEPOINT reg');
    // a concurrent registration (another batch or node) won the unique constraint
    if ((e as { code?: string }).code === '23505') {
      const byFp = String((e as { constraint?: string }).constraint ?? '').includes('pkey');
      throw byFp
        ? new OpError('IDENTITY_TAKEN', 'this identity is registered under another username')
        : new OpError('USERNAME_TAKEN', 'username registered to a different identity');
    }
    throw e;
  }
}

/**
 * One statement: refuse (FORBIDDEN, nothing changed) if any item exists but is not addressed to the recipient; else
 * mark the recipient's deliveries acknowledged and drop the body of envelopes nobody else still waits for. (Two
 * recipients acknowledging one envelope in concurrent transactions may each still see the other waiting: the sweep
 * drops such leftover bodies.)
 */
async function ack(c: PoolClient, op: Extract<PgOp, { t: 'ack' }>): Promise<{ removed: number; bytes: number }> {
  const r = await c.query<{ bad: string; removed: string; bytes: string }>(
    `WITH items AS (SELECT * FROM unnest($2::text[], $3::text[]) AS t(sender, id)),
     env AS (SELECT e.seq, e.size FROM envelopes e JOIN items i ON e.sender = i.sender AND e.id = i.id),
     bad AS (SELECT COUNT(*) AS n FROM env WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.recipient = $1 AND d.seq = env.seq)),
     upd AS (UPDATE deliveries d SET acked_at = $4 FROM env
             WHERE (SELECT n FROM bad) = 0 AND d.recipient = $1 AND d.seq = env.seq AND d.acked_at IS NULL
             RETURNING d.seq, env.size),
     dropped AS (UPDATE envelopes e SET body = NULL FROM upd WHERE e.seq = upd.seq AND NOT EXISTS
             (SELECT 1 FROM deliveries d2 WHERE d2.seq = e.seq AND d2.acked_at IS NULL AND d2.recipient <> $1) RETURNING e.seq)
     SELECT (SELECT n FROM bad) AS bad, (SELECT COUNT(*) FROM upd) AS removed, (SELECT COALESCE(SUM(size), 0) FROM upd) AS bytes,
            (SELECT COUNT(*) FROM dropped) AS dropped`,
    [op.recipient, op.items.map((i) => i.from), op.items.map((i) => i.id), op.now],
  );
  const row = r.rows[0]!;
  if (Number(row.bad) > 0) throw new OpError('FORBIDDEN', 'envelope is not addressed to you');
  return { removed: Number(row.removed), bytes: Number(row.bytes) };
}
