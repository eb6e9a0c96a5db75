/**
 * The encrypted history store (see types.ts for the contract). SQLCipher scheme of SQLite3MultipleCiphers with a
 * raw 256-bit key (`PRAGMA key = "x'<hex>'"`, no KDF: the key is random, from the vault). WAL journal.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type BetterSqlite3 from 'better-sqlite3-multiple-ciphers';
import { loadSqlite } from '../native.js';
import { isSqliteError, toStoreError } from './rows.js';
import { LATEST_VERSION, MIGRATIONS, type Migration } from './schema.js';
import { SqliteHistoryStore } from './sqlite-store.js';
import { StoreError, type HistoryStore, type OpenStoreOptions } from './types.js';

export { DEFAULT_PAGE, MAX_PAGE, toContactView, toMessageView, toStoreError } from './rows.js';

type Db = BetterSqlite3.Database;

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/** Internal options (tests): migrate only up to `targetVersion`, or use another migration list. */
export interface OpenStoreInternals {
  targetVersion?: number;
  migrations?: readonly Migration[];
}

function readHeader(file: string): Buffer | null {
  if (!existsSync(file) || statSync(file).size < 16) return null;
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(16);
    readSync(fd, b, 0, 16, 0);
    return b;
  } finally {
    closeSync(fd);
  }
}

function applyKey(db: Db, key: string): void {
  db.pragma(`cipher = 'sqlcipher'`);
  db.pragma('legacy = 4');
  // key is validated as 64 hex characters before it gets here: no injection possible.
  db.pragma(`key = "x'${key}'"`);
}

/** Runs the migrations above the file's user_version, each in its own transaction. Returns the final version. */
function migrate(db: Db, migrations: readonly Migration[], target: number): number {
  let version = Number(db.pragma('user_version', { simple: true }));
  const latest = migrations.length ? migrations[migrations.length - 1]!.version : 0;
  if (version > latest) {
    throw new StoreError(
      'SCHEMA_TOO_NEW',
      `history database schema v${version} is newer than this Parley understands (v${latest}); update Parley`,
    );
  }
  for (const m of migrations) {
    if (m.version <= version || m.version > target) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
    version = m.version;
  }
  return version;
}

/**
 * Opens (creating when missing) the encrypted history DB. Throws StoreError: WRONG_KEY (wrong or missing key;
 * nothing written), NOT_ENCRYPTED, SCHEMA_TOO_NEW, INVALID (key format), IO.
 */
export function openHistoryStore(o: OpenStoreOptions, internals: OpenStoreInternals = {}): HistoryStore {
  if (typeof o.key !== 'string' || !/^[0-9a-fA-F]{64}$/.test(o.key)) {
    throw new StoreError('INVALID', 'history database key must be 64 hex characters (a 256-bit key from the vault)');
  }
  const key = o.key.toLowerCase();
  const header = readHeader(o.path);
  if (header && header.equals(SQLITE_HEADER)) {
    throw new StoreError('NOT_ENCRYPTED', `${o.path} is an unencrypted SQLite database; Parley refuses to use it for history`);
  }
  const Database = loadSqlite();
  const t0 = performance.now();
  let db: Db;
  try {
    db = new Database(o.path, { readonly: !!o.readonly, fileMustExist: !!o.readonly });
  } catch (e) {
    throw new StoreError('IO', `cannot open history database ${o.path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    applyKey(db, key);
    // First read: fails with SQLITE_NOTADB when the key is wrong. Nothing has been written yet.
    db.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch (e) {
    db.close();
    if (isSqliteError(e) && (e.code === 'SQLITE_NOTADB' || e.code === 'SQLITE_CORRUPT')) {
      throw new StoreError(
        'WRONG_KEY',
        `cannot decrypt the history database ${o.path}: the key from the vault does not match (wrong or missing key, ` +
          `or a damaged file). The file was left untouched.`,
        { cause: e },
      );
    }
    throw toStoreError(e, `open ${o.path}`);
  }
  const t1 = performance.now();
  o.timings?.('database open', t1 - t0);
  try {
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    let version: number;
    if (o.readonly) {
      version = Number(db.pragma('user_version', { simple: true }));
    } else {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL'); // a stored message is acknowledged to the relay right after commit
      version = migrate(db, internals.migrations ?? MIGRATIONS, internals.targetVersion ?? LATEST_VERSION);
    }
    o.timings?.('migrations check', performance.now() - t1);
    return new SqliteHistoryStore(db, o.path, version);
  } catch (e) {
    db.close();
    throw toStoreError(e, `open ${o.path}`);
  }
}
