import type { Migration } from './types.js';

export const v7: Migration = {
  version: 7,
  description: 'message actions: replies, edit history, deletes for everyone, reactions, per-member receipts, pending actions',
  sql: `
    -- The quote of a reply (as the sender wrote it; the UI prefers the original when it is still here).
    ALTER TABLE messages ADD COLUMN reply_id TEXT;
    ALTER TABLE messages ADD COLUMN reply_author TEXT;
    ALTER TABLE messages ADD COLUMN reply_excerpt TEXT;
    -- Sender time of the newest edit applied; NULL = never edited.
    ALTER TABLE messages ADD COLUMN edited_at INTEGER;
    -- Sender time of a delete for everyone; the body, versions and reactions are gone, the row stays as a tombstone.
    ALTER TABLE messages ADD COLUMN deleted_at INTEGER;

    -- Every version of an edited message, the original included (envelope_id '' = the original). The shown body is
    -- the newest by (ts, envelope_id), so edits delivered in any order end in the same state.
    CREATE TABLE message_versions (
      message_seq INTEGER NOT NULL REFERENCES messages(seq) ON DELETE CASCADE,
      ts          INTEGER NOT NULL,
      envelope_id TEXT NOT NULL,
      body        TEXT NOT NULL,
      PRIMARY KEY (message_seq, ts, envelope_id)
    ) WITHOUT ROWID;

    -- One reaction per person per message; emoji NULL = removed, kept so that an older reaction delivered later
    -- cannot come back. The newest by (ts, envelope_id) wins.
    CREATE TABLE reactions (
      message_seq INTEGER NOT NULL REFERENCES messages(seq) ON DELETE CASCADE,
      reactor     TEXT NOT NULL,
      emoji       TEXT,
      ts          INTEGER NOT NULL,
      envelope_id TEXT NOT NULL,
      PRIMARY KEY (message_seq, reactor)
    ) WITHOUT ROWID;

    -- Delivery and read times of our messages, per member (local clock when the receipt arrived).
    CREATE TABLE receipts (
      message_seq  INTEGER NOT NULL REFERENCES messages(seq) ON DELETE CASCADE,
      member       TEXT NOT NULL,
      delivered_at INTEGER,
      read_at      INTEGER,
      PRIMARY KEY (message_seq, member)
    ) WITHOUT ROWID;

    -- Actions for a message not seen yet (it may arrive later, or never): applied when it arrives. Bounded per actor.
    CREATE TABLE pending_actions (
      seq           INTEGER PRIMARY KEY AUTOINCREMENT,
      conversation  TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
      actor         TEXT NOT NULL,
      target_id     TEXT NOT NULL,
      target_author TEXT NOT NULL,
      envelope_id   TEXT NOT NULL,
      payload       TEXT NOT NULL,
      received_at   INTEGER NOT NULL
    );
    CREATE INDEX pending_actions_target ON pending_actions(conversation, target_id, target_author);
    CREATE INDEX pending_actions_actor ON pending_actions(conversation, actor, seq);
  `,
};
