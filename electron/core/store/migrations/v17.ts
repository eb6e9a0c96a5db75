import type { Migration } from './types.js';

/**
 * The word index rebuilt for newest-first prefix search at any size (search.ts): detail=none with prefix indexes
 * for every prefix of 1 to 12 characters (was detail=full, prefixes 2 and 3).
 *
 * Why: FTS5 answers a prefix query that has no prefix index of its exact length by merging the whole doclist of
 * every term with that prefix before it returns the first row, so `parley` or `deliv` over 1 000 000 messages read
 * every match (about 20 ms quiet, 100 ms under load) to return 50. With a prefix index of the query's length it is
 * one term's doclist, walked from the newest rowid and stopped at the LIMIT. detail=none drops the positions the
 * search never uses (no phrases, NEAR or ranking; highlighting is done in JavaScript), which pays for the prefix
 * indexes: measured on 100 000 messages of English prose, 12.7 MB against 13.2 MB before. Prefixes longer than
 * 12 characters still merge (few terms share one). Multi-token words (a mark that unicode61 treats as a separator,
 * as in Devanagari) become an AND of their tokens, since detail=none has no phrases (search-query.ts).
 *
 * The triggers of v6 insert into and delete from `messages_fts` by name, so they keep working on the new table.
 * The 'rebuild' reads every message once: a one-time cost of this upgrade (about 35 s per 1 000 000 messages here).
 */
export const v17: Migration = {
  version: 17,
  description: 'search: word index with prefix indexes of 1-12 characters (detail=none), so prefix queries stop at the limit',
  sql: `
    DROP TABLE messages_fts;
    CREATE VIRTUAL TABLE messages_fts USING fts5(
      body, content = 'messages', content_rowid = 'seq', tokenize = 'unicode61 remove_diacritics 2',
      detail = 'none', prefix = '1 2 3 4 5 6 7 8 9 10 11 12'
    );
    INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
  `,
};
