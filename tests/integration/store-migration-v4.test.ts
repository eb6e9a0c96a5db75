/**
 * The conversation migration (schema v3 → v4) on a profile database written by the v3 code
 * (tests/fixtures/profile-v3, made by tests/fixtures/make-profile-v3.ts before the migration existed):
 * every message, contact, key-change record, outbox item and the rest survive, and a migration that fails part-way
 * leaves the v3 database exactly as it was.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS, openHistoryStore } from '../../electron/core/store/index.js';
import { openHistoryStore as openWithInternals } from '../../electron/core/store/history.js';
import { StoreError } from '../../electron/core/store/types.js';
import { dumpTables, openRawDb } from '../helpers/raw-db.js';

const FIXTURE = path.join(import.meta.dirname, '../fixtures/profile-v3');
const KEY = readFileSync(path.join(FIXTURE, 'history.key'), 'utf8').trim();
/** Tables whose rows v4 must keep exactly as v3 wrote them. */
const UNCHANGED = ['contacts', 'key_changes', 'outbox', 'pending_envelopes', 'seen', 'settings', 'quarantine', 'failure_windows'];
const ALL_V3 = [...UNCHANGED, 'messages', 'conversations', 'sqlite_sequence'];

let dir: string;
let file: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'parley-migrate-'));
  file = path.join(dir, 'history.db');
  copyFileSync(path.join(FIXTURE, 'history.db'), file);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function rawV3(): { dump: Record<string, unknown[]>; version: number } {
  const db = openRawDb(file, KEY, { readonly: true });
  try {
    return { dump: dumpTables(db, ALL_V3), version: Number(db.pragma('user_version', { simple: true })) };
  } finally {
    db.close();
  }
}

type Row = Record<string, unknown>;

describe('history store: migration v3 → v4 (conversations as the unit)', () => {
  it('moves a v3 profile over with every row kept and messages keyed by conversation', () => {
    // A deleted latest message: seq must stay unused after the migration (AUTOINCREMENT high-water mark).
    const w = openRawDb(file, KEY);
    const top = w.prepare('SELECT max(seq) AS s FROM messages').get() as { s: number };
    w.prepare('DELETE FROM messages WHERE seq = ?').run(top.s);
    w.close();

    const before = rawV3();
    expect(before.version).toBe(3);
    expect(before.dump.messages!.length).toBeGreaterThanOrEqual(15);
    expect(before.dump.key_changes!.length).toBe(3);
    expect(before.dump.outbox!.length).toBe(3);

    const store = openHistoryStore({ path: file, key: KEY });
    try {
      expect(store.schemaVersion).toBe(MIGRATIONS.at(-1)!.version); // v4 and every later migration applied
      store.close();
      const db = openRawDb(file, KEY, { readonly: true });
      const after = dumpTables(db, [...UNCHANGED, 'messages', 'conversations']);
      db.close();
      for (const t of UNCHANGED) expect(after[t], t).toEqual(before.dump[t]);

      // Messages: the same rows, now with their conversation and sender.
      const expected = (before.dump.messages as Row[]).map((m) => ({
        ...m,
        conversation: `d:${String(m.contact)}`,
        sender: m.direction === 'in' ? m.contact : null,
      }));
      expect(after.messages).toEqual(expected);
      // Conversations: the same counters under their ConversationId.
      expect(after.conversations).toEqual(
        (before.dump.conversations as Row[]).map((c) => ({ id: `d:${String(c.contact)}`, kind: 'direct', ...c })),
      );
    } finally {
      store.close();
    }

    // Through the store API: pages, counters, key changes, held outbox, and a fresh seq above the deleted one.
    const s2 = openHistoryStore({ path: file, key: KEY });
    try {
      const msgs = before.dump.messages as Row[];
      for (const contact of ['alice', 'bob', 'carol']) {
        const page = s2.loadPage(contact, { limit: 500 });
        const mine = msgs.filter((m) => m.contact === contact);
        expect(page.total).toBe(mine.length);
        expect(page.messages.map((m) => [m.seq, m.id, m.body, m.state, m.conversation, m.sender])).toEqual(
          mine.map((m) => [m.seq, m.id, m.body, m.state, `d:${contact}`, m.direction === 'in' ? contact : null]),
        );
      }
      const conv = s2.listConversations();
      expect(conv.map((c) => [c.id, c.unread])).toEqual(
        expect.arrayContaining([['d:alice', 3], ['d:bob', 0], ['d:carol', 3], ['d:dave', 0]]),
      );
      expect(s2.listKeyChanges('alice').map((k) => k.resolution)).toEqual(['pending']);
      expect(s2.listKeyChanges('bob').map((k) => k.resolution)).toEqual(['accepted']);
      expect(s2.listKeyChanges('carol').map((k) => k.resolution)).toEqual(['rejected']);
      expect(s2.listOutbox('alice').map((o) => [o.envelopeId, o.held])).toEqual([['m-alice-1', true], ['m-alice-3', true]]);
      expect(s2.listPendingEnvelopes('alice').map((p) => p.envelopeId)).toEqual(['p-1']);
      const fresh = s2.insertMessage({
        id: 'after-migration', contact: 'bob', direction: 'in', senderFingerprint: '2'.repeat(64), body: 'hi',
        sentAt: 1, state: 'delivered',
      });
      expect(fresh.seq).toBeGreaterThan(top.s);
      expect(fresh).toMatchObject({ conversation: 'd:bob', sender: 'bob' });
      s2.deleteContact('carol');
      expect(s2.listConversations().map((c) => c.id)).not.toContain('d:carol');
      expect(s2.countMessages('carol')).toBe(0);
    } finally {
      s2.close();
    }
  });

  it('leaves the v3 database exactly as it was when the migration fails part-way', () => {
    const before = rawV3();
    const v4 = MIGRATIONS.find((m) => m.version === 4)!;
    // Fails after every destructive step of v4 has run (tables dropped, renamed, triggers replaced).
    const broken = [...MIGRATIONS.filter((m) => m.version < 4), { ...v4, sql: `${v4.sql}\nINSERT INTO no_such_table VALUES (1);` }];
    let err: unknown;
    try {
      openWithInternals({ path: file, key: KEY }, { migrations: broken });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).message).toMatch(/no_such_table/);

    const after = rawV3();
    expect(after.version).toBe(3);
    expect(after.dump).toEqual(before.dump);

    // The untouched database still migrates properly afterwards.
    const store = openHistoryStore({ path: file, key: KEY });
    try {
      expect(store.schemaVersion).toBe(MIGRATIONS.at(-1)!.version); // v4 and every later migration applied
      expect(store.countMessages()).toBe((before.dump.messages as Row[]).length);
    } finally {
      store.close();
    }
  });
});
