/**
 * Store factories for tests parametrised over every EnvelopeStore: SQLite in a temp folder, and PostgreSQL when
 * tests/helpers/postgres.ts can start a private server (PostgreSQL 15 binaries present).
 */
import { SqliteEnvelopeStore } from '../../relay/server/store/sqlite.js';
import type { EnvelopeStore } from '../../relay/server/store/types.js';
import { removeDir, tempDir } from './relay.js';

export interface StoreKind {
  name: string;
  open(): Promise<EnvelopeStore>;
  cleanup(): Promise<void>;
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

export function storeKinds(): StoreKind[] {
  return [sqliteKind()];
}
