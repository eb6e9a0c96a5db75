/**
 * A raw SQLCipher connection to a history database, for tests that must read or write rows the store API does not
 * expose (an old schema's tables, a byte-for-byte snapshot). Same key scheme as electron/core/store/history.ts.
 */
import type BetterSqlite3 from 'better-sqlite3-multiple-ciphers';
import { loadSqlite } from '../../electron/core/native.js';

export function openRawDb(file: string, key: string, o: { readonly?: boolean } = {}): BetterSqlite3.Database {
  const Database = loadSqlite();
  const db = new Database(file, { readonly: !!o.readonly, fileMustExist: true });
  db.pragma(`cipher = 'sqlcipher'`);
  db.pragma('legacy = 4');
  db.pragma(`key = "x'${key}'"`);
  return db;
}

/**
 * Every SQL statement any better-sqlite3 connection prepares while `during` runs (the driver's prepare() wrapped,
 * then restored): what a code path asks SQLite, for EXPLAIN QUERY PLAN checks.
 */
export async function recordPrepared(during: () => unknown): Promise<string[]> {
  const Database = loadSqlite();
  const prepared: string[] = [];
  const realPrepare = Database.prototype.prepare;
  Database.prototype.prepare = function (this: InstanceType<typeof Database>, sql: string) {
    prepared.push(sql);
    return realPrepare.call(this, sql);
  } as typeof realPrepare;
  try {
    await during();
  } finally {
    Database.prototype.prepare = realPrepare;
  }
  return prepared;
}

/** Every row of every table (sqlite_sequence included), each table ordered by all its columns: a comparable dump. */
export function dumpTables(db: BetterSqlite3.Database, tables: readonly string[]): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const t of tables) out[t] = db.prepare(`SELECT * FROM ${t} ORDER BY 1, 2`).all();
  return out;
}
