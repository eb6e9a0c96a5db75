/**
 * Choose and open the relay's store: SQLite in the data folder by default, PostgreSQL for `--store postgres://…`
 * (several relays sharing one queue). Quotas go to the PostgreSQL store so they hold across nodes (checked in the
 * inserting transaction); on one node the relay's own accounting enforces them as well.
 */
import type pino from 'pino';
import type { RelayLimits } from '../limits.js';
import { SqliteEnvelopeStore } from './sqlite.js';
import type { EnvelopeStore } from './types.js';

/** A database URL without its password, for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable url)';
  }
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

export async function openStore(dataDir: string, storeUrl: string | undefined, limits: RelayLimits, log: pino.Logger): Promise<EnvelopeStore> {
  if (storeUrl !== undefined) {
    if (!isPostgresUrl(storeUrl)) throw new TypeError('bad store URL: expected postgres://user@host:port/database');
    // loaded only here: the embedded relay (Electron) never needs the pg driver
    const { PgEnvelopeStore } = await import('./pg.js');
    const pg = new PgEnvelopeStore(storeUrl, {
      commitDelayMs: limits.commitDelayMs,
      commitMaxBatch: limits.commitMaxBatch,
      quota: { count: limits.queueQuota, bytes: limits.queueQuotaBytes },
    });
    try {
      await pg.ready();
    } catch (e) {
      await pg.close().catch(() => undefined);
      throw new Error(`cannot open the PostgreSQL store at ${redactUrl(storeUrl)}: ${(e as Error).message}`);
    }
    log.info({ store: redactUrl(storeUrl) }, 'store open');
    return pg;
  }
  const sqlite = new SqliteEnvelopeStore(dataDir, { commitDelayMs: limits.commitDelayMs, commitMaxBatch: limits.commitMaxBatch });
  await sqlite.ready();
  log.info({ file: sqlite.file, writer: sqlite.writerMode }, 'store open');
  return sqlite;
}
