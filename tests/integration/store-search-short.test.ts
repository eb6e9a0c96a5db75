/**
 * 1–2 character CJK and emoji queries (shorter than a trigram) use migration v14's trigram vocabulary and
 * last-characters indexes instead of scanning every message: the plan has no full scan of messages, and the
 * results still equal a brute-force scan wherever the piece sits (alone, first, last, second to last, in the
 * middle, in a conversation filter). A piece that starts too many trigrams falls back to the newest-first scan and
 * is still right. Real encrypted SQLite file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type BetterSqlite3 from 'better-sqlite3-multiple-ciphers';
import type { ConversationId } from '../../electron/contract/api.js';
import { openHistoryStore, type HistoryStore } from '../../electron/core/store/index.js';
import { MAX_SHORT_TRIGRAMS, searchMessages } from '../../electron/core/store/search.js';
import type { StoreQuery } from '../../electron/core/store/types.js';

const KEY = 'cd'.repeat(32);
const BODIES = [
  '東京', 'x東京', '東京x', 'ab東京cd', '東', '京', 'a東', '東a', '行った東京タワー', 'nothing here',
  '🎉', 'party 🎉', '🎉 party', 'a🎉b', '会議は明日', '明日の会議', '天', '北京へ',
];
let dir: string;
let store: HistoryStore;
const seqs = new Map<number, { body: string; conversation: ConversationId }>();

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'parley-search-short-'));
  store = openHistoryStore({ path: path.join(dir, 'history.db'), key: KEY });
  for (const [i, c] of ['alice', 'bob'].entries()) store.addContact({ username: c, identity: { v: 1, enc: 'AAAA', sig: 'BBBB' }, fingerprint: String(i).repeat(64) });
  store.transaction(() => {
    // Filler so a scan is visible in the plan and the common-piece fallback has something to scan.
    for (let i = 0; i < 2000; i++) {
      const contact = i % 2 ? 'alice' : 'bob';
      const body = i < BODIES.length ? BODIES[i]! : `filler ${i} 一${String.fromCodePoint(0x4e01 + (i % 400))}語`;
      const m = store.insertMessage({ id: `m${i}`, contact, direction: 'in', senderFingerprint: null, body, sentAt: 1_700_000_000_000 + i, state: 'sent' });
      seqs.set(m.seq, { body, conversation: m.conversation });
    }
  });
});
afterAll(() => {
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs a search and also returns the query plan of its main statement (the one that selects the hits). */
function searchWithPlan(query: string, conversation?: ConversationId): { seqs: number[]; plan: string[] } {
  return store.query('test', (st) => {
    const plan: string[] = [];
    const traced: StoreQuery = (sql) => {
      const stmt = st(sql);
      if (!sql.startsWith('SELECT m.seq')) return stmt;
      return {
        all: (...args: unknown[]) => {
          plan.push(...(st(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as Array<{ detail: string }>).map((r) => r.detail));
          return stmt.all(...args);
        },
      } as unknown as BetterSqlite3.Statement;
    };
    const hits = searchMessages(traced, { query, limit: 200, ...(conversation ? { conversation } : {}) });
    return { seqs: hits.map((h) => h.seq), plan };
  });
}

const brute = (piece: string, conversation?: ConversationId) =>
  [...seqs.entries()]
    .filter(([, m]) => m.body.includes(piece) && (!conversation || m.conversation === conversation))
    .map(([s]) => s)
    .sort((a, b) => b - a);

describe('search: pieces shorter than a trigram', () => {
  it('use the indexes, not a scan of every message, and find every occurrence', () => {
    for (const piece of ['東京', '東', '京', '🎉', '会議', '明日', '天', '北京', '南京', '無', 'タワ']) {
      for (const conversation of [undefined, 'd:alice' as ConversationId]) {
        const r = searchWithPlan(piece, conversation);
        expect(r.seqs, `${piece} in ${conversation ?? 'all'}`).toEqual(brute(piece, conversation));
        expect(r.plan.filter((d) => /^SCAN m\b/.test(d)), `${piece}: ${r.plan.join(' / ')}`).toEqual([]);
        expect(r.plan.some((d) => /messages_tail[12]/.test(d)), r.plan.join(' / ')).toBe(true);
      }
    }
    // A query with no match at all (the old plan's worst case: it read every message) finds nothing.
    expect(searchWithPlan('南京').seqs).toEqual([]);
  });

  it('a piece that starts more trigrams than the bound scans newest first, with the same results', () => {
    // The filler's 一 is followed by 400 different characters: 400 distinct trigrams start with it.
    expect(MAX_SHORT_TRIGRAMS).toBeLessThan(400);
    const r = searchWithPlan('一');
    expect(r.seqs).toEqual(brute('一').slice(0, 200));
    expect(r.plan.some((d) => /^SCAN m\b/.test(d)), r.plan.join(' / ')).toBe(true);
  });
});
