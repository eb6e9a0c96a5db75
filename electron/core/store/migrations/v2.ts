import type { Migration } from './types.js';

export const v2: Migration = {
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
};
