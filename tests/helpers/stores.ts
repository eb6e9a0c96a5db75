/**
 * Store factories for tests parametrised over every EnvelopeStore: SQLite in a temp folder, and PostgreSQL when
 * tests/helpers/postgres.ts can start a private server (PostgreSQL 15 binaries present).
 */
import { SqliteEnvelopeStore } from '../../relay/server/store/sqlite.js';
import type { EnvelopeStore } from '../../relay/server/store/types.js';
import { PgEnvelopeStore } from '../../relay/server/store/pg.js';
import { postgresAvailable, startPostgres, type TestPostgres } from './postgres.js';
import { removeDir, tempDir } from './relay.js';

export interface StoreKind {
  name: string;
  open(): Promise<EnvelopeStore>;
  cleanup(): Promise<void>;
}

/** A real SQLite store in `dir`, ready for use (tests that inject a fault into one of its methods). */
export async function openSqliteStore(dir: string): Promise<SqliteEnvelopeStore> {
  const s = new SqliteEnvelopeStore(dir, {});
  await s.ready();
  return s;
}

/**
 * Counts the sweeps a relay runs on `store` (one at start, then one every sweepIntervalMs), so a test can wait for
 * sweeps instead of sleeping. Returns the count so far; the store itself is unchanged.
 */
export function countSweeps(store: EnvelopeStore): () => number {
  let swept = 0;
  const sweep = store.sweep.bind(store);
  store.sweep = (now: number) => {
    swept++;
    return sweep(now);
  };
  return () => swept;
}

export function sqliteKind(): StoreKind {
  const dir = tempDir('parley-store-sqlite-');
  return {
    name: 'sqlite',
    async open() {
      const s = new SqliteEnvelopeStore(dir);
      await s.ready();
      return s;
    },
    async cleanup() {
      removeDir(dir);
    },
  };
}

/** A store on a fresh database of a private PostgreSQL server (started on first open, stopped by cleanup). */
export function postgresKind(): StoreKind {
  let server: TestPostgres | null = null;
  let n = 0;
  return {
    name: 'postgres',
    async open() {
      server ??= await startPostgres();
      const s = new PgEnvelopeStore(await server.createDatabase(`store_${++n}`));
      await s.ready();
      return s;
    },
    async cleanup() {
      server?.stop();
    },
  };
}

/** SQLite always; PostgreSQL when its binaries are installed (CI installs them: .ci/run). */
export function storeKinds(): StoreKind[] {
  if (postgresAvailable()) return [sqliteKind(), postgresKind()];
  if (process.env.CI) throw new Error('PostgreSQL 15 binaries missing: .ci/run installs the postgresql package');
  return [sqliteKind()];
}
