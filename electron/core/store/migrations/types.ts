/** One schema migration of the history store. Never edit a released migration: add a new file. */
export interface Migration {
  /** PRAGMA user_version after this migration. Versions only grow; gaps are allowed (see history.ts migrate()). */
  version: number;
  description: string;
  sql: string;
}
