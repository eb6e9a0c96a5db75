import type { Migration } from './types.js';

/**
 * Full-text search and drafts. Two FTS5 indexes over messages.body, both "external content" (they index the
 * messages table and store no copy of the text, only the index, which lives in the same encrypted pages):
 *
 * - messages_fts, unicode61 with remove_diacritics 2: words of scripts written with spaces (Latin, Cyrillic, Greek,
 *   Hangul...), case and Latin diacritics folded (`café` finds `cafe`), prefix queries (`deliv*`); the prefix
 *   indexes of 2 and 3 characters keep short prefixes fast.
 * - messages_trigram, trigram tokenizer with detail=none: substrings. unicode61 cannot serve Chinese or Japanese
 *   (written without spaces, a whole sentence is one token, so a word inside it is never found) nor emoji (they
 *   are separators to unicode61, so never indexed). detail=none keeps this index small; the search ANDs the term's
 *   trigrams and checks the exact substring on the candidates (see search.ts).
 *
 * The triggers keep both indexes in the same transaction as the message row: insert, body update (edits, and
 * deletes for everyone that blank the body) and delete. An external-content index must be told the OLD body to
 * remove it, which only these triggers know. A future migration that rebuilds the messages table must drop and
 * re-create these tables and triggers (and 'rebuild' them).
 */
export const v6: Migration = {
  version: 6,
  description: 'full-text search (word index + trigram index, kept by triggers, backfilled) and drafts per conversation',
  sql: `
    CREATE VIRTUAL TABLE messages_fts USING fts5(
      body, content = 'messages', content_rowid = 'seq', tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
    );
    CREATE VIRTUAL TABLE messages_trigram USING fts5(
      body, content = 'messages', content_rowid = 'seq', tokenize = 'trigram', detail = 'none'
    );
    INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
    INSERT INTO messages_trigram (messages_trigram) VALUES ('rebuild');

    CREATE TRIGGER messages_search_ai AFTER INSERT ON messages WHEN NEW.body IS NOT NULL BEGIN
      INSERT INTO messages_fts (rowid, body) VALUES (NEW.seq, NEW.body);
      INSERT INTO messages_trigram (rowid, body) VALUES (NEW.seq, NEW.body);
    END;
    CREATE TRIGGER messages_search_ad AFTER DELETE ON messages WHEN OLD.body IS NOT NULL BEGIN
      INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', OLD.seq, OLD.body);
      INSERT INTO messages_trigram (messages_trigram, rowid, body) VALUES ('delete', OLD.seq, OLD.body);
    END;
    CREATE TRIGGER messages_search_au AFTER UPDATE OF body ON messages
      WHEN OLD.body IS NOT NEW.body BEGIN
      INSERT INTO messages_fts (messages_fts, rowid, body) SELECT 'delete', OLD.seq, OLD.body WHERE OLD.body IS NOT NULL;
      INSERT INTO messages_trigram (messages_trigram, rowid, body) SELECT 'delete', OLD.seq, OLD.body
        WHERE OLD.body IS NOT NULL;
      INSERT INTO messages_fts (rowid, body) SELECT NEW.seq, NEW.body WHERE NEW.body IS NOT NULL;
      INSERT INTO messages_trigram (rowid, body) SELECT NEW.seq, NEW.body WHERE NEW.body IS NOT NULL;
    END;

    -- The unsent text of a conversation's composer; one row per conversation, gone with the conversation.
    CREATE TABLE drafts (
      conversation TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
      body         TEXT NOT NULL CHECK (length(body) > 0),
      updated_at   INTEGER NOT NULL
    ) WITHOUT ROWID;
  `,
};
