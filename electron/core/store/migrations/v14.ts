import type { Migration } from './types.js';

/**
 * Search for 1–2 character CJK and emoji pieces without scanning every message (search.ts, shortCandidates): the
 * trigram index cannot match a piece shorter than a trigram, but every occurrence of one is either the start of
 * some trigram of its message (found through the trigram vocabulary, by term range) or among the message's last
 * two characters (these two expression indexes). Inside the encrypted database like everything else.
 */
export const v14: Migration = {
  version: 14,
  description: 'search: trigram vocabulary and last-characters indexes, so 1-2 character CJK/emoji queries use an index',
  sql: `
    CREATE VIRTUAL TABLE messages_trigram_vocab USING fts5vocab('messages_trigram', 'row');
    CREATE INDEX messages_tail2 ON messages(substr(body, -2));
    CREATE INDEX messages_tail1 ON messages(substr(body, -1));
  `,
};
