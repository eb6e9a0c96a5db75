/**
 * Full-text search in the encrypted history store (migration v6): results equal a brute-force scan on 10 000 random
 * multilingual messages; FTS5 operators in the query are plain text; the indexes follow inserts, body updates and
 * deletes in the same transaction; snippets carry ranges; "open at message" loads the neighbours. Real SQLite files.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConversationId } from '../../electron/contract/api.js';
import { openHistoryStore, type HistoryStore } from '../../electron/core/store/index.js';
import { loadMessagesAround, searchMessages } from '../../electron/core/store/search.js';
import type { PublicIdentity } from '../../relay/protocol/index.js';

const ID: PublicIdentity = { v: 1, enc: 'AAAA', sig: 'BBBB' };
const KEY = 'ab'.repeat(32);
const CONTACTS = ['alice', 'bob', 'carol', 'dave'];

// Vocabulary per script. Latin words carry diacritics (folded by the index); Greek without tonos and Cyrillic
// without й/ё because unicode61 folds diacritics of the Latin script only.
const LATIN = ['delivery', 'delivered', 'café', 'cafeteria', 'naïve', 'résumé', 'crème', 'zürich', 'hello', 'parcel', 'meeting', 'über', 'año', 'déjà', 'vu'];
const CYRILLIC = ['привет', 'доставка', 'встреча', 'москва', 'сообщение', 'дом'];
const GREEK = ['καλημερα', 'γεια', 'δελτα', 'ψωμι', 'φιλε'];
const HANGUL = ['안녕하세요', '검색', '회의', '배달'];
const CJK = ['東京', 'タワー', '私は', '行った', '天気', '漢字', '中文', '会議', '配達'];
const EMOJI = ['😀', '🎉', '❤️', '👍🏽', '🚀', '🍕'];
const SPACED = [...LATIN, ...CYRILLIC, ...GREEK, ...HANGUL];

/** Deterministic PRNG (mulberry32) so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(13);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

function randomBody(): string {
  const n = 2 + Math.floor(rand() * 9);
  let out = '';
  let prevCjk = false;
  for (let i = 0; i < n; i++) {
    const r = rand();
    let w: string;
    let cjk = false;
    if (r < 0.45) {
      w = pick(SPACED);
      const c = rand();
      if (c < 0.15) w = w.toUpperCase();
      else if (c < 0.35) w = w[0]!.toUpperCase() + w.slice(1);
    } else if (r < 0.75) {
      w = pick(CJK);
      cjk = true;
    } else if (r < 0.9) {
      w = pick(EMOJI);
    } else {
      w = pick(['!', ',', '?', '-', '…', String(Math.floor(rand() * 100))]);
    }
    // Chinese and Japanese are written without spaces: glue CJK words to each other half of the time.
    out += i === 0 ? w : cjk && prevCjk && rand() < 0.5 ? w : ` ${w}`;
    prevCjk = cjk;
  }
  return out;
}

// ---- the reference: what a match means, computed the slow way on the plain text --------------------------------

type RefTerm = { kind: 'word' | 'substring'; text: string };
const fold = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '').normalize('NFC').toLowerCase();
const tokensOf = (body: string) => fold(body).split(/[^\p{L}\p{N}]+/u);
function refMatches(body: string, terms: readonly RefTerm[], tokens = tokensOf(body)): boolean {
  return terms.every((t) => {
    if (t.kind === 'substring') return body.includes(t.text);
    const prefix = fold(t.text);
    return tokens.some((tok) => tok.startsWith(prefix));
  });
}

function randomTerm(): RefTerm {
  const r = rand();
  if (r < 0.55) {
    const w = pick(SPACED);
    const cps = Array.from(w);
    let t = cps.slice(0, 1 + Math.floor(rand() * cps.length)).join('');
    const c = rand();
    if (c < 0.25) t = t.normalize('NFD').replace(/\p{M}/gu, '').normalize('NFC'); // café typed as cafe
    else if (c < 0.4) t = t.toUpperCase();
    return { kind: 'word', text: t };
  }
  if (r < 0.85) {
    // A piece of a CJK word or of two glued ones (1 to 5 characters).
    const s = Array.from(pick(CJK) + pick(CJK));
    const start = Math.floor(rand() * s.length);
    const len = 1 + Math.floor(rand() * Math.min(5, s.length - start));
    return { kind: 'substring', text: s.slice(start, start + len).join('') };
  }
  return { kind: 'substring', text: pick(EMOJI) };
}

let dir: string;
let store: HistoryStore;
const bodies = new Map<number, { body: string; conversation: ConversationId; tokens: string[] }>();

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'parley-search-'));
  store = openHistoryStore({ path: path.join(dir, 'history.db'), key: KEY });
  for (const [i, c] of CONTACTS.entries()) store.addContact({ username: c, identity: ID, fingerprint: String(i).repeat(64) });
  store.transaction(() => {
    for (let i = 0; i < 10_000; i++) {
      const contact = CONTACTS[i % CONTACTS.length]!;
      const body = randomBody();
      const m = store.insertMessage({
        id: `m${i}`,
        contact,
        direction: i % 3 ? 'in' : 'out',
        senderFingerprint: null,
        body,
        sentAt: 1_700_000_000_000 + i,
        state: 'sent',
      });
      bodies.set(m.seq, { body, conversation: m.conversation, tokens: tokensOf(body) });
    }
  });
});
afterAll(() => {
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const search = (query: string, o: { conversation?: ConversationId; limit?: number } = {}) =>
  store.query('test search', (st) => searchMessages(st, { query, limit: o.limit ?? 200, ...o }));

function expected(terms: readonly RefTerm[], conversation?: ConversationId, limit = 200): number[] {
  return [...bodies.entries()]
    .filter(([, m]) => (conversation === undefined || m.conversation === conversation) && refMatches(m.body, terms, m.tokens))
    .map(([seq]) => seq)
    .sort((a, b) => b - a)
    .slice(0, limit);
}

describe('search: correctness against a brute-force scan (10 000 multilingual messages)', () => {
  it('every random query (word prefixes, folded diacritics, any case, CJK pieces, emoji, pairs) returns exactly the scan', () => {
    let nonEmpty = 0;
    const kinds = new Set<string>();
    for (let q = 0; q < 300; q++) {
      const terms = rand() < 0.3 ? [randomTerm(), randomTerm()] : [randomTerm()];
      const conversation = rand() < 0.3 ? (`d:${pick(CONTACTS)}` as ConversationId) : undefined;
      const query = terms.map((t) => t.text).join(' ');
      const got = search(query, conversation ? { conversation } : {}).map((h) => h.seq);
      expect(got, `query ${JSON.stringify(query)} in ${conversation ?? 'all'}`).toEqual(expected(terms, conversation));
      if (got.length) nonEmpty++;
      for (const t of terms) kinds.add(`${t.kind}:${Array.from(t.text).length >= 3 ? 'long' : 'short'}`);
    }
    // The random queries really exercised every path (word index, trigram index, short-term scan) and found things.
    expect(kinds).toEqual(new Set(['word:long', 'word:short', 'substring:long', 'substring:short']));
    expect(nonEmpty).toBeGreaterThan(200);
  }, 180_000); // 300 queries each checked against a scan of 10 000 bodies in JavaScript: slow under a loaded CI

  it('the named cases: café finds cafe and CAFÉ, deliv finds delivery, Cyrillic, Greek, Hangul, CJK inside a sentence, emoji', () => {
    for (const [query, terms] of [
      ['cafe', [{ kind: 'word', text: 'cafe' }]],
      ['CAFÉ', [{ kind: 'word', text: 'café' }]],
      ['deliv', [{ kind: 'word', text: 'deliv' }]],
      ['достав', [{ kind: 'word', text: 'достав' }]],
      ['καλη', [{ kind: 'word', text: 'καλη' }]],
      ['검', [{ kind: 'word', text: '검' }]],
      ['京タワ', [{ kind: 'substring', text: '京タワ' }]],
      ['東', [{ kind: 'substring', text: '東' }]],
      ['🚀', [{ kind: 'substring', text: '🚀' }]],
    ] as Array<[string, RefTerm[]]>) {
      const want = expected(terms);
      expect(want.length, query).toBeGreaterThan(0);
      expect(search(query).map((h) => h.seq), query).toEqual(want);
    }
  });

  it('FTS5 syntax and quotes in the query are plain text: no error, same results as the words alone', () => {
    const hostile = [
      '"', '""', '"café', 'café"', 'NOT café', 'café OR parcel', 'café AND', 'AND', 'OR', 'NEAR(café parcel, 2)',
      'deliv*', '*', '^hello', 'body:hello', '-hello', '(((', ')', "'; DROP TABLE messages; --", '+', 'a:b:c',
      '{body}: café', '\u0000café', '東京"タワー', '"🚀"',
    ];
    for (const q of hostile) {
      const words = Array.from(q.matchAll(/[\p{L}\p{N}]+/gu), (m) => m[0]).filter((w) => !/[\p{scx=Han}\p{scx=Katakana}]/u.test(w));
      const subs = Array.from(q.matchAll(/[\p{scx=Han}\p{scx=Katakana}]+|🚀/gu), (m) => m[0]);
      const terms: RefTerm[] = [...words.map((text) => ({ kind: 'word' as const, text })), ...subs.map((text) => ({ kind: 'substring' as const, text }))];
      const got = search(q).map((h) => h.seq);
      expect(got, q).toEqual(terms.length ? expected(terms) : []);
    }
    expect(store.countMessages()).toBe(10_000); // still there
  });
});

describe('search: the index follows the messages in the same transaction', () => {
  it('insert, body update, delete and a rolled-back insert; integrity-check passes', () => {
    const m = store.insertMessage({ id: 'x1', contact: 'alice', direction: 'in', senderFingerprint: null, body: 'quokkaflump 漢字テスト', sentAt: 1, state: 'sent' });
    expect(search('quokkaflump').map((h) => h.id)).toEqual(['x1']);
    expect(search('字テス').map((h) => h.id)).toEqual(['x1']);

    // An edit replaces the body (message actions will do exactly this UPDATE).
    store.query('edit', (st) => st('UPDATE messages SET body = ? WHERE seq = ?').run('wombatzing edited', m.seq));
    expect(search('quokkaflump')).toEqual([]);
    expect(search('字テス')).toEqual([]);
    expect(search('wombatz').map((h) => h.id)).toEqual(['x1']);

    // "Deleted for everyone" blanks the body: nothing left to find.
    store.query('blank', (st) => st('UPDATE messages SET body = NULL WHERE seq = ?').run(m.seq));
    expect(search('wombatzing')).toEqual([]);
    store.query('unblank', (st) => st('UPDATE messages SET body = ? WHERE seq = ?').run('wombatzing again', m.seq));
    expect(search('wombatzing').map((h) => h.id)).toEqual(['x1']);
    store.deleteMessage('x1');
    expect(search('wombatzing')).toEqual([]);

    expect(() =>
      store.transaction(() => {
        store.insertMessage({ id: 'x2', contact: 'alice', direction: 'in', senderFingerprint: null, body: 'rolledbackword', sentAt: 1, state: 'sent' });
        expect(search('rolledbackword')).toHaveLength(1); // visible inside the transaction
        throw new Error('abort');
      }),
    ).toThrow('abort');
    expect(search('rolledbackword')).toEqual([]);

    store.query('integrity', (st) => {
      st(`INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)`).run();
      st(`INSERT INTO messages_trigram (messages_trigram, rank) VALUES ('integrity-check', 1)`).run();
    });
  });
});

describe('search: results', () => {
  it('carry conversation, id, sender, time and a snippet with ranges (no markup), cut around the match', () => {
    const long = `${'lorem ipsum '.repeat(30)}the Café <b>opens</b> at nine ${'dolor sit '.repeat(30)}`;
    const m = store.insertMessage({ id: 's1', contact: 'bob', direction: 'in', senderFingerprint: null, body: long, sentAt: 42, state: 'sent' });
    const [hit] = search('cafe opens');
    expect(hit).toMatchObject({ conversation: 'd:bob', id: 's1', seq: m.seq, sender: 'bob', direction: 'in', sentAt: 42 });
    const { text, ranges, cutStart, cutEnd } = hit!.snippet;
    expect(cutStart && cutEnd).toBe(true);
    expect(text.length).toBeLessThanOrEqual(160);
    expect(ranges.map((r) => text.slice(r.start, r.end))).toEqual(['Café', 'opens']);
    expect(text).toContain('<b>opens</b>'); // the body's own text, as text: the renderer never parses it
    const short = search('🚀', { limit: 1 })[0]!.snippet;
    expect(short.ranges.map((r) => short.text.slice(r.start, r.end)).every((s) => s === '🚀')).toBe(true);
  });

  it('limits are checked; an empty or punctuation-only query finds nothing', () => {
    expect(search('')).toEqual([]);
    expect(search('  !?…  ')).toEqual([]);
    expect(() => search('cafe', { limit: 0 })).toThrow(expect.objectContaining({ code: 'INVALID' }));
    expect(() => search('x'.repeat(257))).toThrow(expect.objectContaining({ code: 'INVALID' }));
  });
});

describe('loadMessagesAround', () => {
  it('returns the message with its neighbours, by seq or id, and the cursors to go further', () => {
    const conv = 'd:carol' as ConversationId;
    const seqs = [...bodies.entries()].filter(([, m]) => m.conversation === conv).map(([s]) => s);
    const anchor = seqs[1000]!;
    const around = store.query('t', (st) => loadMessagesAround(st, { conversation: conv, seq: anchor, context: 5 }));
    expect(around.messages.map((m) => m.seq)).toEqual(seqs.slice(995, 1006));
    expect(around.anchorSeq).toBe(anchor);
    expect(around.nextCursor).toBe(seqs[995]);
    expect(around.hasNewer).toBe(true);
    // Its place in the whole conversation: the app's timeline puts the window there.
    expect(around.position).toBe(995);
    const byId = store.query('t', (st) => loadMessagesAround(st, { conversation: conv, id: around.messages[5]!.id, context: 5 }));
    expect(byId.anchorSeq).toBe(anchor);
    const first = store.query('t', (st) => loadMessagesAround(st, { conversation: conv, seq: seqs[0]!, context: 3 }));
    expect(first.messages.map((m) => m.seq)).toEqual(seqs.slice(0, 4));
    expect(first.nextCursor).toBeNull();
    expect(first.position).toBe(0);
    // A message of another conversation is not "around" this one.
    expect(() => store.query('t', (st) => loadMessagesAround(st, { conversation: 'd:alice', seq: anchor }))).toThrow(
      expect.objectContaining({ code: 'NOT_FOUND' }),
    );
  });
});
