/**
 * 7. History: open a conversation (the latest 50 messages) in an encrypted history store of 1 000 000 messages
 * (--quick: 100 000), against the same query on a plain better-sqlite3 table with the same index shape.
 * Both databases are built once and cached under os.tmpdir() (named after the store's source hash, so a schema
 * change rebuilds them). Target: median ≤ 2 ms; ratio reported.
 */
import Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { median, notMeasured, now, percentile, ROOT, row, tryImport, type Bench } from './lib/common.js';
import type { HistoryStore, NewMessage } from '../electron/core/store/types.js';
import type { PublicIdentity } from '../relay/protocol/index.js';

interface StoreModule {
  openHistoryStore(o: { path: string; key: string; readonly?: boolean }): HistoryStore;
}

const CONTACTS = 10;
const KEY = 'ab'.repeat(32); // benchmark-only database key
const WORDS = 'the quick brown fox jumps over a lazy dog while parley keeps every word sealed end to end and nobody else reads it'.split(' ');

function body(i: number): string {
  const n = 6 + (i % 17);
  const out: string[] = [];
  for (let k = 0; k < n; k++) out.push(WORDS[(i * 7 + k * 13) % WORDS.length]!);
  return out.join(' ');
}

/** Cache key: the store's schema (schema.ts when it exists, else every store source), so a format change rebuilds. */
function sourceHash(): string {
  const dir = path.join(ROOT, 'electron/core/store');
  const h = createHash('sha256');
  const files = existsSync(path.join(dir, 'schema.ts')) ? ['schema.ts'] : readdirSync(dir).filter((x) => x.endsWith('.ts')).sort();
  for (const f of files) h.update(f).update(readFileSync(path.join(dir, f)));
  return h.digest('hex').slice(0, 12);
}

/** A cached encrypted store is used only if it opens and holds exactly n messages. */
function cacheUsable(mod: StoreModule, file: string, n: number): boolean {
  if (!existsSync(file)) return false;
  try {
    const st = mod.openHistoryStore({ path: file, key: KEY, readonly: true });
    try {
      return st.countMessages() === n;
    } finally {
      st.close();
    }
  } catch {
    return false;
  }
}

function fakeIdentity(i: number): { identity: PublicIdentity; fingerprint: string } {
  return {
    identity: { v: 1, enc: randomBytes(550).toString('base64url'), sig: randomBytes(32).toString('base64url') },
    fingerprint: createHash('sha256').update(`contact-${i}`).digest('hex'),
  };
}

function buildPlain(file: string, n: number, log: (m: string) => void): void {
  const tmp = `${file}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  const db = new Database(tmp);
  db.pragma('journal_mode = WAL');
  db.exec(`CREATE TABLE messages (seq INTEGER PRIMARY KEY AUTOINCREMENT, contact TEXT NOT NULL, id TEXT NOT NULL,
    direction TEXT NOT NULL, sender_fp TEXT, body TEXT, sent_at INTEGER NOT NULL, received_at INTEGER, state TEXT NOT NULL,
    error TEXT, unread INTEGER NOT NULL, UNIQUE (contact, direction, id));
    CREATE INDEX messages_contact_seq ON messages (contact, seq);`);
  const ins = db.prepare(`INSERT INTO messages (contact, id, direction, sender_fp, body, sent_at, received_at, state, error, unread)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, 0)`);
  const batch = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      ins.run(`contact${i % CONTACTS}`, randomBytes(16).toString('base64url'), i % 2 ? 'in' : 'out', null, body(i), 1.7e12 + i, 1.7e12 + i, 'delivered');
    }
  });
  for (let i = 0; i < n; i += 20000) batch(i, Math.min(n, i + 20000));
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  renameSync(tmp, file);
  log(`history: built plain table of ${n} messages`);
}

function buildEncrypted(mod: StoreModule, file: string, n: number, log: (m: string) => void): void {
  const tmp = `${file}.${process.pid}.tmp`;
  for (const s of ['', '-wal', '-shm']) rmSync(tmp + s, { force: true });
  const store = mod.openHistoryStore({ path: tmp, key: KEY });
  const t0 = now();
  try {
    for (let c = 0; c < CONTACTS; c++) store.addContact({ username: `contact${c}`, ...fakeIdentity(c) });
    for (let i = 0; i < n; i += 10000) {
      store.transaction(() => {
        for (let k = i; k < Math.min(n, i + 10000); k++) {
          const m: NewMessage = {
            id: randomBytes(16).toString('base64url'),
            contact: `contact${k % CONTACTS}`,
            direction: k % 2 ? 'in' : 'out',
            senderFingerprint: null,
            body: body(k),
            sentAt: 1.7e12 + k,
            receivedAt: 1.7e12 + k,
            state: 'delivered',
            unread: false,
          };
          store.insertMessage(m);
        }
      });
      if (i % 200000 === 0 && i > 0) log(`history: encrypted store ${i}/${n} (${((now() - t0) / 1000).toFixed(0)} s)`);
    }
  } finally {
    store.close();
  }
  for (const s of ['-wal', '-shm']) rmSync(tmp + s, { force: true });
  renameSync(tmp, file);
  log(`history: built encrypted store of ${n} messages in ${((now() - t0) / 1000).toFixed(0)} s`);
}

function timeQueries(iterations: number, q: (contact: string) => unknown): { median: number; p99: number; first: number } {
  const samples: number[] = [];
  let first = NaN;
  for (let i = 0; i < iterations; i++) {
    const t0 = now();
    const r = q(`contact${i % CONTACTS}`);
    const ms = now() - t0;
    if (!r) throw new Error('query returned nothing');
    if (i === 0) first = ms;
    samples.push(ms);
  }
  return { median: median(samples), p99: percentile(samples, 99), first };
}

export const historyBench: Bench = async (o) => {
  const id = 'history';
  const n = o.quick ? 100_000 : 1_000_000;
  const title = `History: open a conversation (latest 50) in an encrypted store of ${n.toLocaleString('en-US')} messages`;
  const cache = os.tmpdir();
  const plainFile = path.join(cache, `parley-bench-history-plain-${n}-v1.sqlite`);
  if (!existsSync(plainFile)) buildPlain(plainFile, n, o.log);
  const plain = new Database(plainFile, { readonly: true });
  const q = plain.prepare(`SELECT seq, id, contact, direction, body, sent_at, received_at, state, error FROM messages
    WHERE contact = ? ORDER BY seq DESC LIMIT 50`);
  const total = plain.prepare('SELECT COUNT(*) AS n FROM messages WHERE contact = ?');
  const iterations = o.quick ? 200 : 500;
  const baseRuns: Array<{ median: number; p99: number; first: number }> = [];
  for (let r = 0; r < o.runs; r++) {
    baseRuns.push(timeQueries(iterations, (c) => {
      const rows = q.all(c) as Array<{ seq: number }>;
      return { messages: rows.reverse(), nextCursor: rows[0]?.seq ?? null, total };
    }));
  }
  // The plain side's counterpart of the store's O(1) total counter is not charged: only the page query.
  plain.close();
  const base = median(baseRuns.map((x) => x.median));

  const m = await tryImport<StoreModule>('electron/core/store/index.ts');
  if (!m.mod || typeof m.mod.openHistoryStore !== 'function') {
    return notMeasured(id, title, `history store: ${m.error ?? 'openHistoryStore not exported'}`, [
      row({ metric: 'open latest 50, median', unit: 'ms', parley: null, baseline: base, target: '≤ 2 ms', met: null, baselineLabel: 'plain better-sqlite3' }),
    ]);
  }
  const encFile = path.join(cache, `parley-bench-history-enc-${n}-${sourceHash()}.sqlite`);
  if (!cacheUsable(m.mod, encFile, n)) buildEncrypted(m.mod, encFile, n, o.log);
  const parleyRuns: Array<{ median: number; p99: number; first: number }> = [];
  let pageOk = true;
  for (let r = 0; r < o.runs; r++) {
    const t0 = now();
    const store = m.mod.openHistoryStore({ path: encFile, key: KEY, readonly: true });
    const openMs = now() - t0;
    try {
      const res = timeQueries(iterations, (c) => {
        const page = store.loadPage(c, { limit: 50 });
        if (page.messages.length !== 50) pageOk = false;
        return page;
      });
      parleyRuns.push({ ...res, first: res.first });
      o.log(`history: store open ${openMs.toFixed(1)} ms, first page ${res.first.toFixed(2)} ms`);
    } finally {
      store.close();
    }
  }
  const parley = median(parleyRuns.map((x) => x.median));
  return {
    id,
    title,
    rows: [
      row({ metric: 'open latest 50, median', unit: 'ms', parley, baseline: base, ratio: parley / base, target: '≤ 2 ms', met: parley <= 2, baselineLabel: 'plain better-sqlite3' }),
      row({ metric: 'open latest 50, p99', unit: 'ms', parley: median(parleyRuns.map((x) => x.p99)), baseline: median(baseRuns.map((x) => x.p99)), ratio: median(parleyRuns.map((x) => x.p99)) / median(baseRuns.map((x) => x.p99)), target: 'info', met: null }),
      row({ metric: 'first page after opening the file', unit: 'ms', parley: median(parleyRuns.map((x) => x.first)), baseline: median(baseRuns.map((x) => x.first)), ratio: median(parleyRuns.map((x) => x.first)) / median(baseRuns.map((x) => x.first)), target: 'info', met: null }),
    ],
    notes: [
      `${CONTACTS} conversations of ${n / CONTACTS} messages each; ratio = Parley time / plain time (lower is better)`,
      ...(pageOk ? [] : ['WARNING: loadPage returned fewer than 50 messages']),
    ],
    details: { parleyRuns, baseRuns, iterations, cachedFiles: [plainFile, encFile] },
  };
};
