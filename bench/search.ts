/**
 * Search: full-text queries (searchMessages, the app's own code) over 1 000 000 messages (--quick: 100 000) in the
 * encrypted history store, against the same code and the same FTS5 schema (every store migration applied) on a
 * plain unencrypted better-sqlite3 database in the same run. Data is built with one prepared INSERT in a single
 * transaction per database (the triggers fill both indexes); both are cached under os.tmpdir(), named after the
 * store's sources so a schema change rebuilds them. Target: p95 ≤ 50 ms; ratio = encrypted / plain.
 */
import Database from 'better-sqlite3';
import CipherDatabase from 'better-sqlite3-multiple-ciphers';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { median, now, percentile, ROOT, row, type Bench } from './lib/common.js';
import { openHistoryStore } from '../electron/core/store/index.js';
import { LATEST_VERSION, MIGRATIONS } from '../electron/core/store/schema.js';
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
  // 1–2 character CJK with no match: before v14 these read every message (230 ms at 100 000).
  { query: '北京' }, { query: '猫' }, { query: '会議', conversation: 'd:contact5' },
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

/**
 * The schema version the cached data is built on (migrations up to it, in the file name's hash); the migrations
 * after it only add indexes, and are applied to a cached file when it is opened (upgrade), not rebuilt.
 */
const BUILT_ON = 10;

/**
 * What shapes the cached databases: the schema (migrations, the store that opens and keys the file) and this file's
 * data. Not the query code (search.ts, search-query.ts): changing a query plan must not cost a 1M rebuild.
 */
function sourceHash(): string {
  const h = createHash('sha256');
  const files = [
    // The migrations the data is built on; later ones are applied to the cached files (upgrade below).
    ...readdirSync(path.join(ROOT, 'electron/core/store/migrations'))
      .filter((x) => /^v\d+\.ts$/.test(x) && Number(x.slice(1, -3)) <= BUILT_ON)
      .sort()
      .map((f) => `electron/core/store/migrations/${f}`),
    'electron/core/store/schema.ts',
    'electron/core/store/sqlite-store.ts',
  ];
  for (const f of files) h.update(f).update(readFileSync(path.join(ROOT, f)));
  // The data part of this file only (body, fill, build), so retuning the query mix or the timing keeps the cache.
  const self = readFileSync(path.join(ROOT, 'bench/search.ts'), 'utf8');
  h.update(self.slice(self.indexOf('const CONTACTS'), self.indexOf('/** Query mix')));
  h.update(self.slice(self.indexOf('function body('), self.indexOf('function sourceHash')));
  h.update(self.slice(self.indexOf('/** Fills a database'), self.indexOf('function timeQueries')));
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
    db.pragma(`user_version = ${LATEST_VERSION}`); // upgradePlain applies only later migrations
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

/**
 * Brings a cached plain database to the current schema. The plain build runs every migration but (before this)
 * did not record user_version: such a file holds the migrations up to BUILT_ON.
 */
function upgradePlain(file: string, log: (m: string) => void): void {
  const db = new Database(file);
  try {
    const have = Number(db.pragma('user_version', { simple: true })) || BUILT_ON;
    for (const m of MIGRATIONS.filter((x) => x.version > have)) {
      const t0 = now();
      db.transaction(() => {
        db.exec(m.sql);
        db.pragma(`user_version = ${m.version}`);
      })();
      log(`search: plain database migrated to v${m.version} in ${((now() - t0) / 1000).toFixed(0)} s`);
    }
    if (have === BUILT_ON && !MIGRATIONS.some((x) => x.version > have)) db.pragma(`user_version = ${have}`);
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

/**
 * The encrypted database: the plain one (same rows, same indexes) encrypted in place with the store's cipher
 * settings (PRAGMA rekey), then opened once by the store itself (which checks the key and applies migrations).
 * Much faster than filling 1 000 000 messages through the store, and the two files then hold identical data.
 */
function encryptedFromPlain(plainFile: string, file: string, log: (m: string) => void): void {
  const tmp = `${file}.${process.pid}.tmp`;
  for (const s of ['', '-wal', '-shm', '-journal']) rmSync(tmp + s, { force: true });
  const t0 = now();
  copyFileSync(plainFile, tmp);
  const db = new CipherDatabase(tmp);
  try {
    db.pragma('journal_mode = DELETE'); // rekey rewrites every page; not in WAL mode
    db.pragma(`cipher = 'sqlcipher'`);
    db.pragma('legacy = 4');
    db.pragma(`rekey = "x'${KEY}'"`);
  } finally {
    db.close();
  }
  openHistoryStore({ path: tmp, key: KEY }).close();
  for (const s of ['-wal', '-shm', '-journal']) rmSync(tmp + s, { force: true });
  renameSync(tmp, file);
  log(`search: encrypted a copy of the plain database in ${((now() - t0) / 1000).toFixed(0)} s`);
}

/**
 * A cached database per schema version as well (the file name ends in -v<latest migration>): upgrading a cached
 * file in place would make it unreadable to a checkout with an older schema (SCHEMA_TOO_NEW) sharing the temp folder.
 */
function cacheFile(kind: 'plain' | 'enc', tag: string, version: number | null = LATEST_VERSION): string {
  return path.join(os.tmpdir(), `parley-bench-search-${kind}-${tag}${version === null ? '' : `-v${version}`}.sqlite`);
}

/** Copies the newest cached file of an older schema (same data) to `file`, to be migrated; false when none. */
function copyOlder(kind: 'plain' | 'enc', tag: string, file: string, log: (m: string) => void): boolean {
  const older = [...MIGRATIONS.map((m) => m.version).filter((v) => v < LATEST_VERSION).reverse(), null]
    .map((v) => cacheFile(kind, tag, v))
    .find((f) => existsSync(f));
  if (!older) return false;
  const tmp = `${file}.${process.pid}.tmp`;
  copyFileSync(older, tmp);
  renameSync(tmp, file);
  log(`search: ${kind} database copied from ${path.basename(older)}, to be migrated`);
  return true;
}

function cached(prepare: (sql: string) => unknown): StoreQuery {
  const m = new Map<string, unknown>();
  return ((sql: string) => {
    if (!m.has(sql)) m.set(sql, prepare(sql));
    return m.get(sql);
  }) as StoreQuery;
}

/** The three queries with the highest median over all runs (samples are in QUERIES order, round robin). */
function slowest(enc: number[][], plain: number[][]): string {
  const per = (runs: number[][], q: number) => median(runs.flatMap((s) => s.filter((_, i) => i % QUERIES.length === q)));
  return QUERIES.map((q, i) => ({ q, e: per(enc, i), p: per(plain, i) }))
    .sort((a, b) => b.e - a.e)
    .slice(0, 3)
    .map((x) => `${JSON.stringify(x.q.query)}${x.q.conversation ? ` in ${x.q.conversation}` : ''} ${x.e.toFixed(1)} / ${x.p.toFixed(1)}`)
    .join(', ');
}

export const searchBench: Bench = async (o) => {
  const id = 'search';
  const n = o.quick ? 100_000 : 1_000_000;
  const title = `Search: full-text query over ${n.toLocaleString('en-US')} encrypted messages (FTS5, limit 50)`;
  const tag = `${n}-${sourceHash()}`;
  const plainFile = cacheFile('plain', tag);
  const encFile = cacheFile('enc', tag);
  if (!existsSync(plainFile) && !copyOlder('plain', tag, plainFile, o.log)) build(plainFile, 'plain', n, o.log);
  upgradePlain(plainFile, o.log);
  if (existsSync(encFile) || copyOlder('enc', tag, encFile, o.log)) openHistoryStore({ path: encFile, key: KEY }).close(); // applies newer migrations
  else encryptedFromPlain(plainFile, encFile, o.log);
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
      `slowest queries (median ms, encrypted / plain): ${slowest(encRuns, plainRuns)}`,
      `${QUERIES.length} queries (words, prefixes, folded diacritics, Cyrillic, two words, rare words, CJK, emoji, one conversation); ratio = encrypted / plain`,
      ...(encHits === plainHits ? [] : [`WARNING: hit counts differ (encrypted ${encHits}, plain ${plainHits})`]),
    ],
    details: { iterations, encHits, plainHits, cachedFiles: [plainFile, encFile] },
  };
};
