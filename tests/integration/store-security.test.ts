/** Encryption at rest of the history store: byte scans, wrong key never destroys data, plaintext DBs refused. */
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreError, openHistoryStore, type HistoryStore } from '../../electron/core/store/index.js';
import { loadSqlite } from '../../electron/core/native.js';
import type { PublicIdentity } from '../../relay/protocol/index.js';

const ID: PublicIdentity = { v: 1, enc: 'AAAA', sig: 'BBBB' };
let root: string;
beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'parley-store-sec-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const sha = (f: string) => (existsSync(f) ? createHash('sha256').update(readFileSync(f)).digest('hex') : null);
// A long contact name: a 3-byte needle such as "bob" turns up by chance about once in 16 MB of ciphertext (it did, in CI).
const CONTACT = 'bob_contact_zq';
const bodyOf = (i: number) => `plaintext secret body number ${i} zq`;

function fill(store: HistoryStore, n: number): void {
  store.addContact({ username: CONTACT, identity: ID, fingerprint: 'b'.repeat(64) });
  store.transaction(() => {
    for (let i = 0; i < n; i++) {
      store.insertMessage({ id: `m${i}`, contact: CONTACT, direction: i % 2 ? 'in' : 'out', senderFingerprint: null, body: bodyOf(i), sentAt: i, state: 'sent' });
    }
  });
}

function expectStoreError(fn: () => unknown, code: string): StoreError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(StoreError);
  expect((err as StoreError).code).toBe(code);
  return err as StoreError;
}

describe('history store encryption at rest', () => {
  it('db, -wal and -shm hold no plaintext body and no SQLite header, while open and after close', () => {
    const file = path.join(root, 'scan.db');
    const key = randomBytes(32).toString('hex');
    const store = openHistoryStore({ path: file, key });
    fill(store, 300);
    store.setSetting('relay', 'https://relay.example:7443');
    const check = (label: string) => {
      const files = [file, `${file}-wal`, `${file}-shm`].filter(existsSync);
      for (const f of files) {
        const bytes = readFileSync(f);
        expect(bytes.subarray(0, 16).toString('latin1'), `${label}: ${f} header`).not.toBe('SQLite format 3\0');
        for (const needle of ['plaintext secret body', 'relay.example', 'CREATE TABLE', CONTACT, key]) {
          expect(bytes.includes(Buffer.from(needle)), `${label}: "${needle}" in ${path.basename(f)}`).toBe(false);
        }
        expect(bytes.includes(Buffer.from(key, 'hex')), `${label}: raw key in ${path.basename(f)}`).toBe(false);
      }
      return files.length;
    };
    expect(statSync(`${file}-wal`).size).toBeGreaterThan(0); // the WAL really holds the recent pages
    expect(check('open')).toBe(3);
    store.close();
    expect(check('closed')).toBeGreaterThanOrEqual(1);
    expect(statSync(file).size).toBeGreaterThan(20_000);
  });

  it('a wrong key gives WRONG_KEY with a clear message and leaves the file untouched; the right key still reads all', () => {
    const file = path.join(root, 'wrong.db');
    const key = randomBytes(32).toString('hex');
    const store = openHistoryStore({ path: file, key });
    fill(store, 200);
    store.close();
    const before = sha(file);
    const e = expectStoreError(() => openHistoryStore({ path: file, key: randomBytes(32).toString('hex') }), 'WRONG_KEY');
    expect(e.message).toMatch(/cannot decrypt the history database .*key .*does not match.*left untouched/);
    expectStoreError(() => openHistoryStore({ path: file, key: randomBytes(32).toString('hex'), readonly: true }), 'WRONG_KEY');
    expect(sha(file)).toBe(before);
    const again = openHistoryStore({ path: file, key });
    expect(again.loadPage(CONTACT, { limit: 500 }).messages.map((m) => m.body)).toEqual(Array.from({ length: 200 }, (_, i) => bodyOf(i)));
    again.close();
  });

  it('a wrong key on a crashed database (uncheckpointed WAL) loses nothing', () => {
    const live = path.join(root, 'live.db');
    const key = randomBytes(32).toString('hex');
    const store = openHistoryStore({ path: live, key });
    fill(store, 50);
    // Snapshot db + WAL while the store is open, as a kill -9 would leave them (no -shm after a reboot).
    const crashed = path.join(root, 'crashed.db');
    copyFileSync(live, crashed);
    copyFileSync(`${live}-wal`, `${crashed}-wal`);
    store.close();
    const walBefore = sha(`${crashed}-wal`);
    const dbBefore = sha(crashed);
    expect(statSync(`${crashed}-wal`).size).toBeGreaterThan(0);
    expectStoreError(() => openHistoryStore({ path: crashed, key: randomBytes(32).toString('hex') }), 'WRONG_KEY');
    expect(sha(`${crashed}-wal`)).toBe(walBefore);
    expect(sha(crashed)).toBe(dbBefore);
    const recovered = openHistoryStore({ path: crashed, key });
    expect(recovered.countMessages(CONTACT)).toBe(50);
    expect(recovered.loadPage(CONTACT, { limit: 100 }).messages.at(-1)?.body).toBe(bodyOf(49));
    recovered.close();
  });

  it('without any key the file cannot be read (plain SQLite sees no database)', () => {
    const file = path.join(root, 'nokey.db');
    const store = openHistoryStore({ path: file, key: randomBytes(32).toString('hex') });
    fill(store, 3);
    store.close();
    const Database = loadSqlite();
    const raw = new Database(file, { readonly: true });
    expect(() => raw.prepare('SELECT * FROM messages').all()).toThrow(/not a database/);
    raw.close();
  });

  it('refuses an unencrypted SQLite database with NOT_ENCRYPTED (and does not modify it)', () => {
    const file = path.join(root, 'plain.db');
    const Database = loadSqlite();
    const raw = new Database(file);
    raw.exec("CREATE TABLE t(x); INSERT INTO t VALUES ('hello')");
    raw.close();
    const before = sha(file);
    const e = expectStoreError(() => openHistoryStore({ path: file, key: randomBytes(32).toString('hex') }), 'NOT_ENCRYPTED');
    expect(e.message).toContain('unencrypted');
    expect(sha(file)).toBe(before);
  });
});
