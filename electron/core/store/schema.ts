/**
 * Schema migrations of the history store, applied in order; PRAGMA user_version = number of applied migrations.
 * Never edit a released migration: append a new one.
 */
export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = Object.freeze([
  {
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
  },
  {
    version: 2,
    description: 'conversations: per-contact counters (total, unread, last seq) kept by triggers, backfilled',
    sql: `
      CREATE TABLE conversations (
        contact  TEXT PRIMARY KEY REFERENCES contacts(username) ON DELETE CASCADE,
        total    INTEGER NOT NULL DEFAULT 0,
        unread   INTEGER NOT NULL DEFAULT 0,
        last_seq INTEGER
      ) WITHOUT ROWID;
      CREATE INDEX conversations_last ON conversations(last_seq);

      INSERT INTO conversations (contact, total, unread, last_seq)
        SELECT c.username,
               (SELECT count(*) FROM messages m WHERE m.contact = c.username),
               (SELECT count(*) FROM messages m WHERE m.contact = c.username AND m.unread = 1),
               (SELECT max(seq) FROM messages m WHERE m.contact = c.username)
        FROM contacts c;

      CREATE TRIGGER contacts_ai AFTER INSERT ON contacts BEGIN
        INSERT OR IGNORE INTO conversations (contact) VALUES (NEW.username);
      END;
      CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN
        UPDATE conversations SET total = total + 1, unread = unread + NEW.unread, last_seq = NEW.seq
          WHERE contact = NEW.contact;
      END;
      CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN
        UPDATE conversations SET total = total - 1, unread = unread - OLD.unread,
          last_seq = CASE WHEN last_seq = OLD.seq
                          THEN (SELECT max(seq) FROM messages WHERE contact = OLD.contact)
                          ELSE last_seq END
          WHERE contact = OLD.contact;
      END;
      CREATE TRIGGER messages_au_unread AFTER UPDATE OF unread ON messages WHEN OLD.unread <> NEW.unread BEGIN
        UPDATE conversations SET unread = unread + NEW.unread - OLD.unread WHERE contact = NEW.contact;
      END;
    `,
  },
  {
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
  },
  {
    version: 4,
    description: 'conversations as the unit: conversations keyed by ConversationId, messages carry conversation and sender',
    sql: `
      -- Conversations keyed by the contract's ConversationId: 'd:<username>' (direct) or 'g:<group id hex>' (group).
      DROP TRIGGER contacts_ai;
      DROP TRIGGER messages_ai;
      DROP TRIGGER messages_ad;
      DROP TRIGGER messages_au_unread;

      CREATE TABLE conversations_v4 (
        id       TEXT PRIMARY KEY CHECK (id GLOB 'd:?*' OR id GLOB 'g:?*'),
        kind     TEXT NOT NULL CHECK (kind IN ('direct', 'group')),
        -- The peer of a direct conversation; NULL for a group.
        contact  TEXT UNIQUE REFERENCES contacts(username) ON DELETE CASCADE,
        total    INTEGER NOT NULL DEFAULT 0,
        unread   INTEGER NOT NULL DEFAULT 0,
        last_seq INTEGER,
        CHECK ((kind = 'direct') = (contact IS NOT NULL))
      ) WITHOUT ROWID;
      INSERT INTO conversations_v4 (id, kind, contact, total, unread, last_seq)
        SELECT 'd:' || contact, 'direct', contact, total, unread, last_seq FROM conversations;
      DROP TABLE conversations;
      ALTER TABLE conversations_v4 RENAME TO conversations;
      CREATE INDEX conversations_last ON conversations(last_seq);

      CREATE TABLE messages_v4 (
        seq          INTEGER PRIMARY KEY AUTOINCREMENT,
        id           TEXT NOT NULL,
        conversation TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        -- The contact the message is exchanged with: the peer (direct) or the sender of an incoming group message;
        -- NULL for our own group messages (they have one recipient per member).
        contact      TEXT REFERENCES contacts(username) ON DELETE CASCADE,
        -- Username of the author of an incoming message; NULL for our own.
        sender       TEXT,
        direction    TEXT NOT NULL CHECK (direction IN ('in', 'out')),
        sender_fp    TEXT,
        body         TEXT,
        sent_at      INTEGER NOT NULL,
        received_at  INTEGER,
        state        TEXT NOT NULL CHECK (state IN ('sending', 'sent', 'delivered', 'failed', 'undecryptable')),
        error        TEXT,
        unread       INTEGER NOT NULL DEFAULT 0,
        CHECK ((direction = 'in') = (sender IS NOT NULL))
      );
      INSERT INTO messages_v4 (seq, id, conversation, contact, sender, direction, sender_fp, body, sent_at, received_at,
                               state, error, unread)
        SELECT seq, id, 'd:' || contact, contact, CASE WHEN direction = 'in' THEN contact END, direction, sender_fp, body,
               sent_at, received_at, state, error, unread
          FROM messages;
      -- seq is never reused: carry the AUTOINCREMENT high-water mark over (it may exceed max(seq) after deletions).
      DELETE FROM sqlite_sequence WHERE name = 'messages_v4';
      INSERT INTO sqlite_sequence (name, seq) SELECT 'messages_v4', seq FROM sqlite_sequence WHERE name = 'messages';
      DROP TABLE messages;
      ALTER TABLE messages_v4 RENAME TO messages;
      -- keyset pagination: WHERE conversation = ? AND seq < ? ORDER BY seq DESC LIMIT ?
      CREATE INDEX messages_conversation_seq ON messages(conversation, seq);
      CREATE INDEX messages_contact ON messages(contact);
      -- One row per (conversation, direction, author, id): receivers dedupe by sender and id.
      CREATE UNIQUE INDEX messages_identity ON messages(conversation, direction, coalesce(sender, ''), id);
      CREATE INDEX messages_id ON messages(id);
      CREATE INDEX messages_unread ON messages(conversation) WHERE unread = 1;

      CREATE TRIGGER contacts_ai AFTER INSERT ON contacts BEGIN
        INSERT OR IGNORE INTO conversations (id, kind, contact) VALUES ('d:' || NEW.username, 'direct', NEW.username);
      END;
      CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN
        UPDATE conversations SET total = total + 1, unread = unread + NEW.unread, last_seq = NEW.seq
          WHERE id = NEW.conversation;
      END;
      CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN
        UPDATE conversations SET total = total - 1, unread = unread - OLD.unread,
          last_seq = CASE WHEN last_seq = OLD.seq
                          THEN (SELECT max(seq) FROM messages WHERE conversation = OLD.conversation)
                          ELSE last_seq END
          WHERE id = OLD.conversation;
      END;
      CREATE TRIGGER messages_au_unread AFTER UPDATE OF unread ON messages WHEN OLD.unread <> NEW.unread BEGIN
        UPDATE conversations SET unread = unread + NEW.unread - OLD.unread WHERE id = NEW.conversation;
      END;
    `,
  },
]);

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
