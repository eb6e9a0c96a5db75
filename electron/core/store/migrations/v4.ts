import type { Migration } from './types.js';

export const v4: Migration = {
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
};
