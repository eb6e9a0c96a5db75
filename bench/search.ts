/**
 * Search: full-text queries (searchMessages, the app's own code) over 1 000 000 messages (--quick: 100 000) in the
 * encrypted history store, against the same code and the same FTS5 schema (every store migration applied) on a
 * plain unencrypted better-sqlite3 database in the same run. Data is built with one prepared INSERT in a single
 * transaction per database (the triggers fill both indexes); both are cached under os.tmpdir(), named after the
 * store's sources so a schema change rebuilds them. Target: p95 ≤ 50 ms; ratio = encrypted / plain.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { median, now, percentile, ROOT, row, type Bench } from './lib/common.js';
import { openHistoryStore } from '../electron/core/store/index.js';
import { MIGRATIONS } from '../electron/core/store/schema.js';
import { searchMessages } from '../electron/core/store/search.js';
import type { StoreQuery } from '../electron/core/store/types.js';
import type { ConversationId } from '../electron/contract/api.js';

const CONTACTS = 20;
const KEY = 'cd'.repeat(32); // benchmark-only database key
const WORDS = ('the quick brown fox jumps over a lazy dog while parley keeps every word sealed end to end and nobody ' +
  'else reads it café délivery naïve привет доставка καλημερα meeting tomorrow lunch parcel arrived').split(' ');
const CJK = ['東京タワーに行った', '明日の会議', '配達されました', '你好世界', '天気がいい'];
/** Query mix: frequent and rare words, prefixes, folded diacritics, two words, CJK, emoji, one conversation. */
const QUERIES: Array<{ query: string; conversation?: ConversationId }> = [
  { query: 'parley' }, { query: 'seal' }, { query: 'cafe' }, { query: 'deliv' }, { query: 'достав' },
  { query: 'quick fox' }, { query: 'tok4242' }, { query: 'tok77' }, { query: '会議' }, { query: '東京タワー' },
  { query: '🎉' }, { query: 'lunch', conversation: 'd:contact3' }, { query: 'tok123', conversation: 'd:contact7' },
];

function body(i: number): string {
  const n = 5 + (i % 13);
  const out: string[] = [];
  for (let k = 0; k < n; k++) out.push(WORDS[(i * 7 + k * 13) % WORDS.length]!);
  out.push(`tok${i % 10_000}`); // rarer words: each in 1 message of 10 000
  if (i % 5 === 0) out.push(CJK[(i / 5) % CJK.length]!);
  if (i % 50 === 0) out.push('🎉');
  return out.join(' ');
}

function sourceHash(): string {
  const h = createHash('sha256');
  for (const d of ['electron/core/store', 'electron/core/store/migrations']) {
    for (const f of readdirSync(path.join(ROOT, d)).filter((x) => x.endsWith('.ts')).sort()) h.update(f).update(readFileSync(path.join(ROOT, d, f)));
  }
  h.update(readFileSync(path.join(ROOT, 'bench/search.ts')));
  return h.digest('hex').slice(0, 12);
}

/** Fills a database that has the store's schema: contacts (through the conversations trigger) and n messages. */
function fill(db: { prepare(sql: string): { run(...a: unknown[]): unknown } }, n: number): void {
  const contact = db.prepare(`INSERT INTO contacts (username, identity, fingerprint, added_at) VALUES (?, '{}', ?, 0)`);
  for (let c = 0; c < CONTACTS; c++) contact.run(`contact${c}`, String(c).padStart(64, '0'));
  const ins = db.prepare(`INSERT INTO messages (id, conversation, contact, sender, direction, body, sent_at, state, unread)
    VALUES (?, ?, ?, ?, ?, ?, ?, 'delivered', 0)`);
  for (let i = 0; i < n; i++) {
    const c = `contact${i % CONTACTS}`;
    const incoming = i % 2 === 1;
    ins.run(`m${i}`, `d:${c}`, c, incoming ? c : null, incoming ? 'in' : 'out', body(i), 1.7e12 + i);
  }
}

function build(file: string, kind: 'encrypted' | 'plain', n: number, log: (m: string) => void): void {
  const tmp = `${file}.${process.pid}.tmp`;
  for (const s of ['', '-wal', '-shm']) rmSync(tmp + s, { force: true });
  const t0 = now();
  if (kind === 'encrypted') {
    const store = openHistoryStore({ path: tmp, key: KEY });
    try {
      store.transaction(() => store.query('bench fill', (st) => fill({ prepare: st }, n)));
    } finally {
      store.close();
    }
  } else {
    const db = new Database(tmp);
    db.pragma('journal_mode = WAL');
    for (const m of MIGRATIONS) db.exec(m.sql);
    db.transaction(() => fill(db, n))();
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
  }
  for (const s of ['-wal', '-shm']) rmSync(tmp + s, { force: true });
  renameSync(tmp, file);
  log(`search: built ${kind} database of ${n} messages in ${((now() - t0) / 1000).toFixed(0)} s`);
}

function timeQueries(iterations: number, st: StoreQuery): { samples: number[]; hits: number } {
  const samples: number[] = [];
  let hits = 0;
  for (let i = 0; i < iterations; i++) {
    const q = QUERIES[i % QUERIES.length]!;
    const t0 = now();
    const r = searchMessages(st, { ...q, limit: 50 });
    samples.push(now() - t0);
    hits += r.length;
  }
  return { samples, hits };
}

function cached(prepare: (sql: string) => unknown): StoreQuery {
  const m = new Map<string, unknown>();
  return ((sql: string) => {
    if (!m.has(sql)) m.set(sql, prepare(sql));
    return m.get(sql);
  }) as StoreQuery;
}

export const searchBench: Bench = async (o) => {
  const id = 'search';
  const n = o.quick ? 100_000 : 1_000_000;
  const title = `Search: full-text query over ${n.toLocaleString('en-US')} encrypted messages (FTS5, limit 50)`;
  const tag = `${n}-${sourceHash()}`;
  const plainFile = path.join(os.tmpdir(), `parley-bench-search-plain-${tag}.sqlite`);
  const encFile = path.join(os.tmpdir(), `parley-bench-search-enc-${tag}.sqlite`);
  if (!existsSync(plainFile)) build(plainFile, 'plain', n, o.log);
  if (!existsSync(encFile)) build(encFile, 'encrypted', n, o.log);
  const iterations = QUERIES.length * (o.quick ? 10 : 20);

  const plainRuns: number[][] = [];
  const encRuns: number[][] = [];
  let plainHits = 0;
  let encHits = 0;
  for (let r = 0; r < o.runs; r++) {
    const plain = new Database(plainFile, { readonly: true });
    try {
      const res = timeQueries(iterations, cached((s) => plain.prepare(s)));
      plainRuns.push(res.samples);
      plainHits = res.hits;
    } finally {
      plain.close();
    }
    const store = openHistoryStore({ path: encFile, key: KEY, readonly: true });
    try {
      const res = store.query('bench', (st) => timeQueries(iterations, st));
      encRuns.push(res.samples);
      encHits = res.hits;
    } finally {
      store.close();
    }
  }
  const p = (runs: number[][], pc: number) => median(runs.map((s) => percentile(s, pc)));
  const enc95 = p(encRuns, 95);
  const plain95 = p(plainRuns, 95);
  return {
    id,
    title,
    rows: [
      row({ metric: 'query, p95', unit: 'ms', parley: enc95, baseline: plain95, ratio: enc95 / plain95, target: '≤ 50 ms', met: enc95 <= 50, baselineLabel: 'same FTS5 query, plain SQLite' }),
      row({ metric: 'query, median', unit: 'ms', parley: p(encRuns, 50), baseline: p(plainRuns, 50), ratio: p(encRuns, 50) / p(plainRuns, 50), target: 'info', met: null }),
    ],
    notes: [
      `${QUERIES.length} queries (words, prefixes, folded diacritics, Cyrillic, two words, rare words, CJK, emoji, one conversation); ratio = encrypted / plain`,
      ...(encHits === plainHits ? [] : [`WARNING: hit counts differ (encrypted ${encHits}, plain ${plainHits})`]),
    ],
    details: { iterations, encHits, plainHits, cachedFiles: [plainFile, encFile] },
  };
};
