import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LATEST_VERSION, StoreError, openHistoryStore, type HistoryStore } from '../../electron/core/store/index.js';
import { openHistoryStore as openWithInternals } from '../../electron/core/store/history.js';
import type { Envelope, PublicIdentity } from '../../relay/protocol/index.js';
import { openRawDb } from '../helpers/raw-db.js';

const ID_A: PublicIdentity = { v: 1, enc: 'AAAA', sig: 'BBBB' };
const ID_B: PublicIdentity = { v: 1, enc: 'CCCC', sig: 'DDDD' };
const FP = (c: string) => c.repeat(64);
const fakeEnvelope = (id: string) => ({ v: 1, id, marker: 'sealed' }) as unknown as Envelope;

let dir: string;
let file: string;
let key: string;
let store: HistoryStore;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'parley-store-'));
  file = path.join(dir, 'history.db');
  key = randomBytes(32).toString('hex');
  store = openHistoryStore({ path: file, key });
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function addAlice(): void {
  store.addContact({ username: 'alice', identity: ID_A, fingerprint: FP('a') });
}

function msg(i: number, contact = 'alice', direction: 'in' | 'out' = 'in') {
  return {
    id: `m${i}`,
    contact,
    direction,
    senderFingerprint: direction === 'in' ? FP('a') : FP('f'),
    body: `hello ${i}`,
    sentAt: 1_000 + i,
    receivedAt: direction === 'in' ? 2_000 + i : null,
    state: direction === 'in' ? ('delivered' as const) : ('sending' as const),
  };
}

describe('history store: schema and migrations', () => {
  it('creates the schema at the latest version and reopens without re-running migrations', () => {
    expect(store.schemaVersion).toBe(LATEST_VERSION);
    addAlice();
    store.close();
    store = openHistoryStore({ path: file, key });
    expect(store.schemaVersion).toBe(LATEST_VERSION);
    expect(store.getContact('alice')?.fingerprint).toBe(FP('a'));
  });

  it('migrates a v1 database to the latest version, backfilling conversation counters', () => {
    store.close();
    rmSync(file);
    const v1 = openWithInternals({ path: file, key }, { targetVersion: 1 });
    expect(v1.schemaVersion).toBe(1);
    // v1 has no conversations table: the contact through the API (unchanged since v1), messages with v1's SQL.
    v1.addContact({ username: 'alice', identity: ID_A, fingerprint: FP('a') });
    v1.close();
    const raw = openRawDb(file, key);
    const ins = raw.prepare(
      `INSERT INTO messages (id, contact, direction, sender_fp, body, sent_at, received_at, state, unread)
       VALUES (@id, @contact, @direction, @senderFingerprint, @body, @sentAt, @receivedAt, @state, 1)`,
    );
    for (let i = 0; i < 5; i++) ins.run(msg(i));
    raw.close();
    store = openHistoryStore({ path: file, key });
    expect(store.schemaVersion).toBe(LATEST_VERSION);
    const [conv] = store.listConversations();
    expect(conv?.unread).toBe(5);
    expect(conv?.lastMessage?.id).toBe('m4');
    expect(store.loadPage('alice').total).toBe(5);
  });

  it('refuses a database from a newer schema with SCHEMA_TOO_NEW, leaving it usable', () => {
    store.setSetting('x', 1);
    store.close();
    let err: unknown;
    try {
      openWithInternals({ path: file, key }, { migrations: [] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe('SCHEMA_TOO_NEW');
    expect((err as StoreError).message).toMatch(/newer than this Parley/);
    store = openHistoryStore({ path: file, key });
    expect(store.getSetting('x')).toBe(1);
  });

  it('rejects a malformed key with INVALID before touching the file', () => {
    expect(() => openHistoryStore({ path: path.join(dir, 'other.db'), key: 'nothex' })).toThrow(/64 hex characters/);
  });
});

describe('history store: contacts and key changes', () => {
  it('adds, finds and updates contacts with typed errors', () => {
    addAlice();
    expect(() => addAlice()).toThrow(StoreError);
    try {
      addAlice();
    } catch (e) {
      expect((e as StoreError).code).toBe('EXISTS');
    }
    expect(store.getContactByFingerprint(FP('a'))?.username).toBe('alice');
    expect(store.getContactByFingerprint(FP('9'))).toBeNull();
    const c = store.updateContact('alice', { verified: true, blocked: true });
    expect(c).toMatchObject({ verified: true, blocked: true, request: false, identity: ID_A });
    expect(store.updateContact('alice', { blocked: false })).toMatchObject({ verified: true, blocked: false });
    expect(() => store.updateContact('nobody', { verified: true })).toThrow(/unknown contact/);
    store.addContact({ username: 'bob', identity: ID_B, fingerprint: FP('b'), request: true });
    expect(store.listContacts().map((x) => [x.username, x.request])).toEqual([
      ['alice', false],
      ['bob', true],
    ]);
  });

  it('records a key change (verified cleared, outbox held), then accept pins the new key and releases the outbox', () => {
    addAlice();
    store.updateContact('alice', { verified: true });
    store.enqueueOutbox({ envelopeId: 'e1', contact: 'alice', kind: 'message', messageId: 'm1', envelope: fakeEnvelope('e1') });
    const kc = store.recordKeyChange('alice', { newIdentity: ID_B, newFingerprint: FP('b'), signedByOld: true, at: 42 });
    expect(kc).toMatchObject({ at: 42, oldFingerprint: FP('a'), newFingerprint: FP('b'), signedByOld: true, resolution: 'pending' });
    const c = store.getContact('alice')!;
    expect(c).toMatchObject({ verified: false, pendingFingerprint: FP('b'), pendingIdentity: ID_B, fingerprint: FP('a') });
    expect(store.getContactByFingerprint(FP('b'))?.username).toBe('alice');
    expect(store.dueOutbox(Date.now() + 1000)).toEqual([]);
    // new items for that contact are held by default while the change is pending
    expect(store.enqueueOutbox({ envelopeId: 'e2', contact: 'alice', kind: 'receipt', envelope: fakeEnvelope('e2') }).held).toBe(true);
    expect(store.addPendingEnvelope({ contact: 'alice', senderFingerprint: FP('b'), envelopeId: 'x1', envelope: { a: 1 }, receivedAt: 5 })).toBe(true);
    expect(store.addPendingEnvelope({ contact: 'alice', senderFingerprint: FP('b'), envelopeId: 'x1', envelope: { a: 1 }, receivedAt: 6 })).toBe(false);

    const after = store.resolveKeyChange('alice', 'accepted');
    expect(after).toMatchObject({ fingerprint: FP('b'), identity: ID_B, pendingFingerprint: null, verified: false });
    expect(store.listKeyChanges('alice').map((k) => k.resolution)).toEqual(['accepted']);
    expect(store.dueOutbox(Date.now() + 1000).map((o) => o.envelopeId)).toEqual(['e1', 'e2']);
    const pend = store.listPendingEnvelopes('alice');
    expect(pend.map((p) => [p.envelopeId, p.envelope])).toEqual([['x1', { a: 1 }]]);
    store.removePendingEnvelope(pend[0]!.seq);
    expect(store.listPendingEnvelopes('alice')).toEqual([]);
    expect(() => store.resolveKeyChange('alice', 'accepted')).toThrow(/no key change pending/);
  });

  it('reject keeps the old key, records the rejected fingerprint and keeps the outbox held', () => {
    addAlice();
    store.enqueueOutbox({ envelopeId: 'e1', contact: 'alice', kind: 'message', messageId: 'm1', envelope: fakeEnvelope('e1') });
    store.recordKeyChange('alice', { newIdentity: ID_B, newFingerprint: FP('b'), signedByOld: false });
    const c = store.resolveKeyChange('alice', 'rejected');
    expect(c).toMatchObject({ fingerprint: FP('a'), pendingFingerprint: null, rejectedFingerprint: FP('b') });
    expect(store.listOutbox('alice')[0]?.held).toBe(true);
    expect(store.listKeyChanges('alice')[0]).toMatchObject({ resolution: 'rejected', signedByOld: false });
    expect(() => store.recordKeyChange('alice', { newIdentity: ID_A, newFingerprint: FP('a'), signedByOld: false })).toThrow(
      /already has that identity/,
    );
  });
});

describe('history store: messages, pagination, conversations', () => {
  it('inserts messages with typed errors for duplicates and unknown contacts, and updates state', () => {
    addAlice();
    const m = store.insertMessage(msg(1, 'alice', 'out'));
    expect(m).toMatchObject({ id: 'm1', state: 'sending', unread: false, body: 'hello 1', receivedAt: null });
    expect(() => store.insertMessage(msg(1, 'alice', 'out'))).toThrow(expect.objectContaining({ code: 'EXISTS' }));
    // the same id in the other direction is a different message
    expect(store.insertMessage(msg(1, 'alice', 'in')).direction).toBe('in');
    expect(() => store.insertMessage(msg(2, 'nobody'))).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(store.setMessageState('m1', { contact: 'alice', direction: 'out' }, 'failed', 'relay down')).toMatchObject({
      state: 'failed',
      error: 'relay down',
    });
    expect(store.setMessageState('m1', { contact: 'alice', direction: 'out' }, 'delivered')).toMatchObject({
      state: 'delivered',
      error: null,
    });
    expect(store.setMessageState('zz', { contact: 'alice', direction: 'out' }, 'sent')).toBeNull();
    expect(store.getMessage('m1', { direction: 'in' })?.direction).toBe('in');
    expect(store.getMessageBySeq(m.seq)?.id).toBe('m1');
  });

  it('keyset cursor walks the whole history exactly once, in order, per conversation', () => {
    addAlice();
    store.addContact({ username: 'bob', identity: ID_B, fingerprint: FP('b') });
    store.transaction(() => {
      for (let i = 0; i < 537; i++) store.insertMessage(msg(i, i % 3 === 0 ? 'bob' : 'alice', i % 2 ? 'in' : 'out'));
    });
    for (const [contact, limit] of [
      ['alice', 50],
      ['bob', 7],
      ['alice', 1],
    ] as const) {
      const seen: string[] = [];
      let before: number | null = null;
      let pages = 0;
      let total = -1;
      for (;;) {
        const page = store.loadPage(contact, { before, limit });
        total = page.total;
        expect(page.messages.length).toBeLessThanOrEqual(limit);
        // oldest first within a page
        for (let j = 1; j < page.messages.length; j++) expect(page.messages[j]!.seq).toBeGreaterThan(page.messages[j - 1]!.seq);
        seen.unshift(...page.messages.map((m) => m.id));
        pages++;
        if (page.nextCursor === null) break;
        expect(page.nextCursor).toBe(page.messages[0]!.seq);
        before = page.nextCursor;
      }
      const expected = Array.from({ length: 537 }, (_, i) => i)
        .filter((i) => (i % 3 === 0) === (contact === 'bob'))
        .map((i) => `m${i}`);
      expect(seen).toEqual(expected);
      expect(new Set(seen).size).toBe(seen.length);
      expect(total).toBe(expected.length);
      expect(pages).toBe(Math.ceil(expected.length / limit));
    }
    expect(store.loadPage('nobody')).toEqual({ messages: [], nextCursor: null, total: 0 });
    expect(() => store.loadPage('alice', { limit: 0 })).toThrow(expect.objectContaining({ code: 'INVALID' }));
    expect(() => store.loadPage('alice', { before: -3 })).toThrow(expect.objectContaining({ code: 'INVALID' }));
  });

  it('lists conversations by last activity with last message and unread counts kept exact', () => {
    store.addContact({ username: 'alice', identity: ID_A, fingerprint: FP('a'), addedAt: 1 });
    store.addContact({ username: 'bob', identity: ID_B, fingerprint: FP('b'), addedAt: 2 });
    store.addContact({ username: 'carol', identity: ID_B, fingerprint: FP('c'), addedAt: 3 });
    store.insertMessage(msg(1, 'alice', 'in'));
    store.insertMessage(msg(2, 'bob', 'in'));
    store.insertMessage(msg(3, 'bob', 'in'));
    store.insertMessage(msg(4, 'alice', 'out'));
    let list = store.listConversations();
    expect(list.map((c) => [c.contact.username, c.unread, c.lastMessage?.id ?? null])).toEqual([
      ['alice', 1, 'm4'],
      ['bob', 2, 'm3'],
      ['carol', 0, null],
    ]);
    expect(list[0]!.lastMessage).toEqual({ id: 'm4', body: 'hello 4', sentAt: 1004, direction: 'out', state: 'sending' });
    expect(store.markRead('bob')).toBe(2);
    expect(store.markRead('bob')).toBe(0);
    expect(store.deleteMessage('m4')).toBe(1);
    list = store.listConversations();
    expect(list.map((c) => [c.contact.username, c.unread, c.lastMessage?.id ?? null])).toEqual([
      ['bob', 0, 'm3'],
      ['alice', 1, 'm1'],
      ['carol', 0, null],
    ]);
    expect(store.listConversations({ filter: 'AL' }).map((c) => c.contact.username)).toEqual(['alice']);
    expect(store.countMessages()).toBe(3);
    store.deleteConversation('bob');
    expect(store.loadPage('bob').total).toBe(0);
    expect(store.listConversations().find((c) => c.contact.username === 'bob')).toMatchObject({ unread: 0, lastMessage: null });
    store.deleteContact('alice');
    expect(store.getContact('alice')).toBeNull();
    expect(store.countMessages()).toBe(0);
    // no messages left: most recently added contact first
    expect(store.listConversations().map((c) => c.contact.username)).toEqual(['carol', 'bob']);
  });
});

describe('history store: dedupe, transactions, outbox, settings', () => {
  it('dedupes by (sender fingerprint, id), and a failed transaction stores neither message nor seen mark', () => {
    addAlice();
    const receive = (i: number, fail = false) =>
      store.transaction(() => {
        if (!store.markSeen(FP('a'), `m${i}`)) return false;
        store.insertMessage(msg(i));
        if (fail) throw new Error('crash before commit');
        return true;
      });
    expect(receive(1)).toBe(true);
    expect(receive(1)).toBe(false); // redelivery: nothing twice
    expect(store.hasSeen(FP('a'), 'm1')).toBe(true);
    expect(store.hasSeen(FP('b'), 'm1')).toBe(false);
    expect(() => receive(2, true)).toThrow('crash before commit');
    expect(store.hasSeen(FP('a'), 'm2')).toBe(false);
    expect(store.getMessage('m2')).toBeNull();
    expect(receive(2)).toBe(true);
    expect(store.loadPage('alice').messages.map((m) => m.id)).toEqual(['m1', 'm2']);
  });

  it('nested transactions: inner store calls join the outer one; an outer failure rolls everything back', () => {
    addAlice();
    expect(() =>
      store.transaction(() => {
        store.updateContact('alice', { verified: true }); // itself transactional → savepoint
        store.insertMessage(msg(1));
        store.markSeen(FP('a'), 'm1', 10);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(store.getContact('alice')?.verified).toBe(false);
    expect(store.countMessages('alice')).toBe(0);
    expect(store.hasSeen(FP('a'), 'm1')).toBe(false);
    // a caught inner failure does not abort the outer transaction
    store.transaction(() => {
      store.insertMessage(msg(2));
      expect(() => store.insertMessage(msg(2))).toThrow(expect.objectContaining({ code: 'EXISTS' }));
      store.markSeen(FP('a'), 'm2', 10);
    });
    expect(store.countMessages('alice')).toBe(1);
    store.markSeen(FP('a'), 'm3', 1_000);
    expect(store.pruneSeen(500)).toBe(1);
    expect(store.hasSeen(FP('a'), 'm2')).toBe(false);
    expect(store.hasSeen(FP('a'), 'm3')).toBe(true);
  });

  it('outbox: due order, backoff, hold, replace and removal survive a reopen', () => {
    addAlice();
    const now = Date.now();
    store.enqueueOutbox({ envelopeId: 'e1', contact: 'alice', kind: 'message', messageId: 'm1', envelope: fakeEnvelope('e1') });
    store.enqueueOutbox({ envelopeId: 'e2', contact: 'alice', kind: 'receipt', envelope: fakeEnvelope('e2'), nextAttemptAt: now + 60_000 });
    expect(() =>
      store.enqueueOutbox({ envelopeId: 'e1', contact: 'alice', kind: 'message', envelope: fakeEnvelope('e1') }),
    ).toThrow(expect.objectContaining({ code: 'EXISTS' }));
    expect(store.dueOutbox(now + 1).map((o) => o.envelopeId)).toEqual(['e1']);
    store.recordOutboxAttempt('e1', { nextAttemptAt: now + 2_000, error: 'offline' });
    expect(store.getOutbox('e1')).toMatchObject({ attempts: 1, lastError: 'offline', nextAttemptAt: now + 2_000 });
    expect(store.dueOutbox(now + 1)).toEqual([]);
    expect(store.nextOutboxDue()).toBe(now + 2_000);
    store.close();
    store = openHistoryStore({ path: file, key });
    expect(store.listOutbox().map((o) => [o.envelopeId, o.kind, o.envelope])).toEqual([
      ['e1', 'message', fakeEnvelope('e1')],
      ['e2', 'receipt', fakeEnvelope('e2')],
    ]);
    expect(store.setOutboxHeld('alice', true)).toBe(2);
    expect(store.nextOutboxDue()).toBeNull();
    expect(store.setOutboxHeld('alice', false)).toBe(2);
    store.replaceOutboxEnvelope('e1', fakeEnvelope('e1-resealed'));
    expect(store.getOutbox('e1')).toMatchObject({ attempts: 0, lastError: null, envelope: fakeEnvelope('e1-resealed') });
    expect(() => store.replaceOutboxEnvelope('nope', fakeEnvelope('x'))).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(store.removeOutbox('e1')).toBe(true);
    expect(store.removeOutbox('e1')).toBe(false);
    // deleting the message removes its outbox item
    store.insertMessage(msg(9, 'alice', 'out'));
    store.enqueueOutbox({ envelopeId: 'm9', contact: 'alice', kind: 'message', messageId: 'm9', envelope: fakeEnvelope('m9') });
    store.deleteMessage('m9');
    expect(store.getOutbox('m9')).toBeNull();
  });

  it('settings hold JSON values', () => {
    expect(store.getSetting('theme')).toBeUndefined();
    store.setSetting('theme', 'dark');
    store.setSetting('prefs', { notifications: 'sender', n: 3 });
    store.setSetting('theme', 'light');
    expect(store.getSetting('theme')).toBe('light');
    expect(store.getSetting('prefs')).toEqual({ notifications: 'sender', n: 3 });
    store.deleteSetting('theme');
    expect(store.getSetting('theme')).toBeUndefined();
    expect(() => store.setSetting('x', undefined)).toThrow(expect.objectContaining({ code: 'INVALID' }));
  });

  it('a closed store throws a typed error instead of crashing', () => {
    store.close();
    expect(() => store.getContact('alice')).toThrow(expect.objectContaining({ code: 'INVALID' }));
    store.close(); // idempotent
  });
});
