/**
 * The PostgreSQL store's schema, as numbered migrations applied in order under an advisory lock (several relay nodes
 * may start at once against one database). Applied versions are recorded in parley_migrations.
 */
import type { Pool } from 'pg';

/** Advisory lock keys (pg_advisory_lock): one for migrations, one for the TTL sweep (one node at a time). */
export const LOCK_MIGRATE = 0x7061726c; // 'parl'
export const LOCK_SWEEP = 0x73776570; // 'swep'

export const MIGRATIONS: Array<{ version: number; sql: string }> = [
  {
    version: 1,
    sql: `
CREATE TABLE identities (
  fingerprint text PRIMARY KEY,
  username text NOT NULL UNIQUE,
  enc text NOT NULL,
  sig text NOT NULL,
  registered_at bigint NOT NULL,
  rot_from text,
  rot_sig text
);
CREATE TABLE envelopes (
  seq bigserial PRIMARY KEY,
  sender text NOT NULL,
  id text NOT NULL,
  body text,                       -- sealed envelope JSON; NULL once every recipient acknowledged (dedupe tombstone)
  size integer NOT NULL,
  received_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  UNIQUE (sender, id)
);
CREATE INDEX envelopes_expiry ON envelopes (expires_at);
-- One row per recipient: its sequence counter, locked (FOR UPDATE) by every enqueue for it, so that the recipient's
-- seq order is its commit order whatever other recipients' transactions do.
CREATE TABLE recipients (
  recipient text PRIMARY KEY,
  last_seq bigint NOT NULL DEFAULT 0
);
CREATE TABLE deliveries (
  recipient text NOT NULL,
  seq bigint NOT NULL REFERENCES envelopes (seq) ON DELETE CASCADE,
  rseq bigint NOT NULL,
  acked_at bigint,
  PRIMARY KEY (recipient, seq)
);
CREATE INDEX deliveries_pending ON deliveries (recipient, rseq) WHERE acked_at IS NULL;
CREATE INDEX deliveries_seq ON deliveries (seq);
`,
  },
  {
    // Sealed envelopes are ~2 KB of ciphertext (two RSA-4096 wrapped keys alone are 1.4 KB of base64): just past the
    // ~2 KB point where PostgreSQL TOASTs a row, which cost every enqueue a pglz attempt on incompressible bytes and
    // a second insert into the TOAST table and its index. Rows up to a page stay inline; larger bodies go out of
    // line uncompressed.
    version: 2,
    sql: `
ALTER TABLE envelopes SET (toast_tuple_target = 8160);
ALTER TABLE envelopes ALTER COLUMN body SET STORAGE EXTERNAL;
`,
  },
];

export async function migrate(pool: Pool): Promise<number> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query('SELECT pg_advisory_xact_lock($1)', [LOCK_MIGRATE]);
    await c.query('CREATE TABLE IF NOT EXISTS parley_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)');
    const done = new Set((await c.query<{ version: number }>('SELECT version FROM parley_migrations')).rows.map((r) => r.version));
    let version = 0;
    for (const m of MIGRATIONS) {
      if (!done.has(m.version)) {
        await c.query(m.sql);
        await c.query('INSERT INTO parley_migrations (version, applied_at) VALUES ($1, $2)', [m.version, Date.now()]);
      }
      version = m.version;
    }
    const newest = Math.max(0, ...done);
    if (newest > version) throw new Error(`database schema version ${newest} is newer than this relay (${version})`);
    await c.query('COMMIT');
    return version;
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    c.release();
  }
}
