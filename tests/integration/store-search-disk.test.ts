/**
 * Search on disk: the FTS5 indexes live inside the encrypted database (a searched marker is nowhere in the profile
 * folder's bytes: db, -wal, -shm, open and closed), and migration v6 backfills an old profile (the v3 fixture,
 * migrated through v4) so its messages are found at once.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LATEST_VERSION, openHistoryStore, type HistoryStore } from '../../electron/core/store/index.js';
import { openHistoryStore as openWithInternals } from '../../electron/core/store/history.js';
import { searchMessages } from '../../electron/core/store/search.js';
import type { PublicIdentity } from '../../relay/protocol/index.js';
import { openRawDb } from '../helpers/raw-db.js';

const ID: PublicIdentity = { v: 1, enc: 'AAAA', sig: 'BBBB' };
const FIXTURE = path.join(import.meta.dirname, '../fixtures/profile-v3');
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'parley-search-disk-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const search = (store: HistoryStore, query: string) => store.query('t', (st) => searchMessages(st, { query }));

describe('search index at rest', () => {
  it('a searched marker (Latin, CJK, emoji) and its trigrams appear in no file of the profile folder', () => {
    const file = path.join(dir, 'history.db');
    const store = openHistoryStore({ path: file, key: 'cd'.repeat(32) });
    const markers = ['xylophonemarker', '秘密の合言葉', '🦄🦄🦄'];
    store.addContact({ username: 'bob', identity: ID, fingerprint: 'b'.repeat(64) });
    store.transaction(() => {
      for (let i = 0; i < 300; i++) {
        store.insertMessage({ id: `m${i}`, contact: 'bob', direction: 'in', senderFingerprint: null, body: `${markers[i % 3]} number ${i}`, sentAt: i, state: 'sent' });
      }
    });
    for (const m of markers) expect(search(store, m), m).toHaveLength(50);
    // Index terms: whole words and their prefixes (what an index would store in clear), 8 bytes or more each.
    const needles = [...markers, 'xylophone', '秘密の', '🦄🦄🦄', 'number 1'];
    // Trigrams are 3 bytes: in megabytes of ciphertext any one of them turns up by chance (about size / 2^24 each,
    // e.g. 1 in 8 for a 2 MiB WAL), so a single hit proves nothing. A trigram index in clear holds every trigram of
    // the marker; by chance all 13 appear in one file with odds below 10^-11.
    const trigrams = [...new Set([...Array(markers[0]!.length - 2).keys()].map((i) => markers[0]!.slice(i, i + 3)))];
    const scan = (label: string) => {
      const files = readdirSync(dir).map((f) => path.join(dir, f)).filter(existsSync);
      expect(files.some((f) => f.endsWith('-wal')), `${label}: WAL present`).toBe(label === 'open');
      for (const f of files) {
        const bytes = readFileSync(f);
        for (const n of needles) expect(bytes.includes(Buffer.from(n, 'utf8')), `${label}: "${n}" in ${path.basename(f)}`).toBe(false);
        const present = trigrams.filter((g) => bytes.includes(Buffer.from(g, 'utf8')));
        expect(present.length, `${label}: trigrams of the marker in ${path.basename(f)} (${bytes.length} bytes): ${present.join(' ')}`).toBeLessThan(trigrams.length);
      }
    };
    scan('open');
    store.close();
    scan('closed');
  });
});

describe('migration v6 from an old profile', () => {
  it('the v3 fixture migrates through v4 to v6 and every message with a body is found by its words', () => {
    const file = path.join(dir, 'history.db');
    copyFileSync(path.join(FIXTURE, 'history.db'), file);
    const key = readFileSync(path.join(FIXTURE, 'history.key'), 'utf8').trim();
    // First to v4 alone (the previous release), then the rest: the v6 backfill runs on a v4 database.
    openWithInternals({ path: file, key }, { targetVersion: 4 }).close();
    const raw = openRawDb(file, key, { readonly: true });
    const rows = raw.prepare('SELECT seq, body FROM messages WHERE body IS NOT NULL ORDER BY seq DESC').all() as Array<{ seq: number; body: string }>;
    expect(Number(raw.pragma('user_version', { simple: true }))).toBe(4);
    raw.close();
    expect(rows.length).toBeGreaterThanOrEqual(10);

    const store = openHistoryStore({ path: file, key });
    try {
      expect(store.schemaVersion).toBe(LATEST_VERSION); // v6 and every later migration
      // Bodies look like "alice message 3 ✓": each contact's word finds exactly its messages.
      for (const who of ['alice', 'bob', 'carol']) {
        const want = rows.filter((r) => r.body.toLowerCase().includes(who)).map((r) => r.seq);
        expect(want.length, who).toBeGreaterThan(0);
        expect(search(store, who).map((h) => h.seq), who).toEqual(want);
      }
      expect(search(store, 'mess').length).toBe(rows.filter((r) => /message/.test(r.body)).length);
      // New messages after the migration are indexed by the triggers.
      store.insertMessage({ id: 'new1', contact: 'alice', direction: 'in', senderFingerprint: null, body: 'после миграции', sentAt: 1, state: 'sent' });
      expect(search(store, 'миграц').map((h) => h.id)).toEqual(['new1']);
    } finally {
      store.close();
    }
  });
});
