/**
 * Word search at any size (migration v17): every prefix of 1–12 characters has its own FTS5 prefix index, so a
 * prefix query walks one doclist newest first and stops at the LIMIT instead of merging every match of every term
 * with that prefix first (what made `parley` cost 20–100 ms over 1 000 000 messages). The index is detail=none,
 * which has no phrases: a word that the tokenizer splits (a separating mark inside it) is searched as its pieces.
 * Real encrypted SQLite files. No timing here: the `search` benchmark measures the speed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openHistoryStore, type HistoryStore } from '../../electron/core/store/index.js';
import { wordTokens } from '../../electron/core/store/fts-tokens.js';
import { searchMessages } from '../../electron/core/store/search.js';

const KEY = 'ef'.repeat(32);
let dir: string;
let store: HistoryStore;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'parley-search-prefix-'));
  store = openHistoryStore({ path: path.join(dir, 'history.db'), key: KEY });
  store.addContact({ username: 'alice', identity: { v: 1, enc: 'AAAA', sig: 'BBBB' }, fingerprint: '1'.repeat(64) });
});
afterAll(() => {
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
function add(body: string): number {
  n += 1;
  return store.insertMessage({ id: `p${n}`, contact: 'alice', direction: 'in', senderFingerprint: null, body, sentAt: n, state: 'sent' }).seq;
}
const search = (query: string, limit = 50) => store.query('t', (st) => searchMessages(st, { query, limit })).map((h) => h.seq);

describe('word index: prefix indexes of every length up to 12', () => {
  it('is detail=none with prefix indexes 1..12 (a prefix query of that length never merges whole doclists)', () => {
    const sql = store.query('t', (st) => (st(`SELECT sql FROM sqlite_master WHERE name = 'messages_fts'`).get() as { sql: string }).sql);
    const prefix = /prefix\s*=\s*'([\d ]+)'/.exec(sql)?.[1]?.split(' ').map(Number);
    expect(prefix).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(sql).toMatch(/detail\s*=\s*'none'/);
  });

  it('a frequent prefix returns the newest matches, exactly the limit, for every length 1..12 and beyond', () => {
    const seqs: number[] = [];
    store.transaction(() => {
      for (let i = 0; i < 300; i++) seqs.push(add(i % 3 === 0 ? `abcdefghijklmnopq ${i}` : `abcdefghijklmnopz filler ${i}`));
    });
    const matching = seqs.filter((_, i) => i % 3 === 0).reverse();
    for (let len = 1; len <= 17; len++) {
      const prefix = 'abcdefghijklmnopq'.slice(0, len);
      const want = len === 17 ? matching.slice(0, 20) : [...seqs].reverse().slice(0, 20);
      expect(search(prefix, 20), prefix).toEqual(want);
    }
  });
});

describe('words the tokenizer splits (no phrases under detail=none)', () => {
  it('uses the index’s own tokens: folded, and a word with a separating mark becomes its pieces', () => {
    expect(wordTokens('Café')).toEqual(['cafe']);
    // U+094D (virama) and U+093F (vowel sign i) separate tokens in unicode61: one typed word, several tokens.
    expect(wordTokens('हिन्दी').length).toBeGreaterThan(1);
    expect(wordTokens('\u0301')).toEqual([]);
  });

  it('a Devanagari word and a Latin word with a separating mark are found, not an error', () => {
    const hindi = add('मुझे हिन्दी पसंद है');
    const marked = add('x\u0489yz marker'); // U+0489: an enclosing mark, a separator to unicode61
    add('nothing to see');
    expect(search('हिन्दी')).toEqual([hindi]);
    expect(search('हिन्')).toEqual([hindi]);
    expect(search('x\u0489yz')).toEqual([marked]);
  });

  it('a word made only of characters the tokenizer drops matches nothing (as before), and does not throw', () => {
    expect(search('\u0301\u0301')).toEqual([]);
  });
});
