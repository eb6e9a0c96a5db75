import type { Migration } from './types.js';

export const v8: Migration = {
  version: 8,
  description: 'attachments: one row per file of a message (descriptor, transfer state, local cache)',
  sql: `
    CREATE TABLE attachments (
      message_seq INTEGER NOT NULL REFERENCES messages(seq) ON DELETE CASCADE,
      idx         INTEGER NOT NULL CHECK (idx >= 0),
      -- The descriptor as carried in the files payload (JSON, includes the file key: the database is encrypted).
      -- NULL for an outgoing file whose upload has not completed yet.
      descriptor  TEXT,
      -- Outgoing only: the file being sent, its name and type, and the resumable upload (blob, key, nonce prefix).
      source      TEXT,
      name        TEXT NOT NULL,
      type        TEXT NOT NULL,
      size        INTEGER NOT NULL,
      upload      TEXT,
      state       TEXT NOT NULL CHECK (state IN ('pending', 'uploading', 'complete', 'failed')),
      "offset"    INTEGER NOT NULL DEFAULT 0,
      error       TEXT,
      -- The downloaded ciphertext (encrypted at rest; its key is in descriptor).
      cache_path  TEXT,
      PRIMARY KEY (message_seq, idx)
    ) WITHOUT ROWID;
    -- Uploads to resume at every connect: found without scanning every attachment ever received.
    CREATE INDEX attachments_unfinished ON attachments(message_seq)
      WHERE source IS NOT NULL AND state IN ('pending', 'uploading');
  `,
};
