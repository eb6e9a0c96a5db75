/**
 * The conversation list reads only the columns it shows (start-up, issue 16): not each contact's stored identity,
 * about 1 KB of JSON to decrypt and parse per row, for 2 000 rows at every unlock although the list shows none of
 * it. Proved by making one stored identity unreadable: the list is still served, the same as before, while the
 * contact itself (which does need the identity) reports the damage. Real encrypted SQLite file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openHistoryStore, type HistoryStore } from '../../electron/core/store/index.js';

let dir: string;
let store: HistoryStore;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'parley-list-columns-'));
  store = openHistoryStore({ path: path.join(dir, 'history.db'), key: '9a'.repeat(32) });
});
afterAll(() => {
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('conversation list', () => {
  it('never reads a contact identity: a damaged one does not stop the list, and every shown field is the same', () => {
    store.addContact({ username: 'alice', identity: { v: 1, enc: 'AAAA', sig: 'BBBB' }, fingerprint: 'a'.repeat(64) });
    store.addContact({ username: 'bob', identity: { v: 1, enc: 'CCCC', sig: 'DDDD' }, fingerprint: 'b'.repeat(64) });
    store.insertMessage({ id: 'm1', contact: 'bob', direction: 'in', senderFingerprint: null, body: 'latest words', sentAt: 5, state: 'sent' });
    const before = store.listConversations();
    expect(before.map((c) => [c.id, c.contact.username, c.lastMessage?.body ?? null])).toEqual([
      ['d:bob', 'bob', 'latest words'],
      ['d:alice', 'alice', null],
    ]);

    store.query('damage', (st) => st(`UPDATE contacts SET identity = 'not json' WHERE username = 'bob'`).run());
    expect(() => store.getContact('bob')).toThrow();
    expect(store.listConversations()).toEqual(before);
  });
});
