/**
 * The word index's own tokenization of a query word (unicode61, remove_diacritics 2), for building MATCH
 * expressions that detail=none accepts (migration v17). Under detail=none FTS5 refuses a phrase, so a quoted string
 * that the tokenizer splits into several tokens is an error; which characters split a word is the tokenizer's
 * business (about 1 500 combining marks, e.g. in Devanagari), not something to copy into JavaScript. So the query
 * word is tokenized by FTS5 itself, in a private in-memory database of this process (nothing reaches a disk), and
 * the MATCH gets one string per token.
 */
import type BetterSqlite3 from 'better-sqlite3-multiple-ciphers';
import { loadSqlite } from '../native.js';

/** Must equal the word index's tokenizer (migration v17). */
export const WORD_TOKENIZER = 'unicode61 remove_diacritics 2';

interface Tokenizer {
  db: BetterSqlite3.Database;
  insert: BetterSqlite3.Statement;
  tokens: BetterSqlite3.Statement;
  clear: BetterSqlite3.Statement;
}
let tokenizer: Tokenizer | null = null;

function open(): Tokenizer {
  const Database = loadSqlite();
  const db = new Database(':memory:');
  db.exec(`CREATE VIRTUAL TABLE words USING fts5(body, tokenize = '${WORD_TOKENIZER}', detail = 'none');
           CREATE VIRTUAL TABLE words_tokens USING fts5vocab(words, 'instance');`);
  return {
    db,
    insert: db.prepare('INSERT INTO words (rowid, body) VALUES (1, ?)'),
    // detail=none: one row per distinct token (no offsets); the search ANDs them, so their order does not matter.
    tokens: db.prepare('SELECT term FROM words_tokens'),
    clear: db.prepare('DELETE FROM words'),
  };
}

/** The distinct tokens the word index makes of `text` (folded: lower case, Latin diacritics removed). */
export function wordTokens(text: string): string[] {
  tokenizer ??= open();
  const t = tokenizer;
  try {
    t.insert.run(text);
    return (t.tokens.all() as Array<{ term: string }>).map((r) => r.term);
  } finally {
    t.clear.run();
  }
}
