import type { Migration } from './types.js';

export const v1: Migration = {
  version: 1,
  description: 'contacts, key changes, messages, outbox, pending envelopes, seen, settings',
  sql: `
    CREATE TABLE contacts (
      username             TEXT PRIMARY KEY,
      identity             TEXT NOT NULL,
      fingerprint          TEXT NOT NULL,
      verified             INTEGER NOT NULL DEFAULT 0,
      blocked              INTEGER NOT NULL DEFAULT 0,
      request              INTEGER NOT NULL DEFAULT 0,
      added_at             INTEGER NOT NULL,
      pending_identity     TEXT,
      pending_fingerprint  TEXT,
      rejected_fingerprint TEXT
    );
    CREATE INDEX contacts_fingerprint ON contacts(fingerprint);
    CREATE INDEX contacts_pending_fingerprint ON contacts(pending_fingerprint) WHERE pending_fingerprint IS NOT NULL;

    CREATE TABLE key_changes (
      id              INTEGER PRIMARY KEY,
      username        TEXT NOT NULL REFERENCES contacts(username) ON DELETE CASCADE,
      at              INTEGER NOT NULL,
      old_fingerprint TEXT NOT NULL,
      new_fingerprint TEXT NOT NULL,
      new_identity    TEXT NOT NULL,
      signed_by_old   INTEGER NOT NULL,
      resolution      TEXT NOT NULL CHECK (resolution IN ('pending', 'accepted', 'rejected'))
    );
    CREATE INDEX key_changes_username ON key_changes(username, id);

    CREATE TABLE messages (
      seq         INTEGER PRIMARY KEY AUTOINCREMENT,
      id          TEXT NOT NULL,
      contact     TEXT NOT NULL REFERENCES contacts(username) ON DELETE CASCADE,
      direction   TEXT NOT NULL CHECK (direction IN ('in', 'out')),
      sender_fp   TEXT,
      body        TEXT,
      sent_at     INTEGER NOT NULL,
      received_at INTEGER,
      state       TEXT NOT NULL CHECK (state IN ('sending', 'sent', 'delivered', 'failed', 'undecryptable')),
      error       TEXT,
      unread      INTEGER NOT NULL DEFAULT 0
    );
    -- keyset pagination: WHERE contact = ? AND seq < ? ORDER BY seq DESC LIMIT ?
    CREATE INDEX messages_contact_seq ON messages(contact, seq);
    CREATE UNIQUE INDEX messages_identity ON messages(contact, direction, id);
    CREATE INDEX messages_id ON messages(id);
    CREATE INDEX messages_unread ON messages(contact) WHERE unread = 1;

    CREATE TABLE outbox (
      ord             INTEGER PRIMARY KEY AUTOINCREMENT,
      envelope_id     TEXT NOT NULL UNIQUE,
      contact         TEXT NOT NULL REFERENCES contacts(username) ON DELETE CASCADE,
      kind            TEXT NOT NULL CHECK (kind IN ('message', 'receipt')),
      message_id      TEXT,
      envelope        TEXT NOT NULL,
      attempts        INTEGER NOT NULL DEFAULT 0,
      next_attempt_at INTEGER NOT NULL,
      held            INTEGER NOT NULL DEFAULT 0,
      last_error      TEXT,
      created_at      INTEGER NOT NULL
    );
    CREATE INDEX outbox_due ON outbox(held, next_attempt_at);
    CREATE INDEX outbox_contact ON outbox(contact);

    CREATE TABLE pending_envelopes (
      seq          INTEGER PRIMARY KEY AUTOINCREMENT,
      contact      TEXT NOT NULL REFERENCES contacts(username) ON DELETE CASCADE,
      sender_fp    TEXT NOT NULL,
      envelope_id  TEXT NOT NULL,
      envelope     TEXT NOT NULL,
      received_at  INTEGER NOT NULL,
      UNIQUE (sender_fp, envelope_id)
    );
    CREATE INDEX pending_envelopes_contact ON pending_envelopes(contact, seq);

    CREATE TABLE seen (
      sender_fp TEXT NOT NULL,
      id        TEXT NOT NULL,
      at        INTEGER NOT NULL,
      PRIMARY KEY (sender_fp, id)
    ) WITHOUT ROWID;

    CREATE TABLE settings (
      key   TEXT PRIMARY KEY,
      value TEXT NOT NULL
    ) WITHOUT ROWID;
  `,
};
