import type { Migration } from './types.js';

export const v3: Migration = {
  version: 3,
  description: 'receive-path guards: quarantined envelopes and per-contact hourly windows of failure rows',
  sql: `
    -- An incoming envelope whose storing threw: rolled back alone, acknowledged, kept here with the reason.
    CREATE TABLE quarantine (
      seq         INTEGER PRIMARY KEY AUTOINCREMENT,
      at          INTEGER NOT NULL,
      contact     TEXT REFERENCES contacts(username) ON DELETE CASCADE,
      sender_fp   TEXT NOT NULL,
      envelope_id TEXT NOT NULL,
      reason      TEXT NOT NULL,
      envelope    TEXT
    );

    -- Failure rows (undecryptable / could not be stored) shown per contact and hour; the rest is one counted row.
    CREATE TABLE failure_windows (
      contact      TEXT NOT NULL REFERENCES contacts(username) ON DELETE CASCADE,
      window_start INTEGER NOT NULL,
      shown        INTEGER NOT NULL DEFAULT 0,
      collapsed    INTEGER NOT NULL DEFAULT 0,
      summary_id   TEXT,
      PRIMARY KEY (contact, window_start)
    ) WITHOUT ROWID;
  `,
};
