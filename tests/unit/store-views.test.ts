import { describe, expect, it } from 'vitest';
import { StoreError, toContactView, toMessageView, type ContactRecord, type MessageRecord } from '../../electron/core/store/index.js';
import { toStoreError } from '../../electron/core/store/history.js';

/** An error shaped as better-sqlite3 throws it (name 'SqliteError', string code). */
function sqliteError(code: string, message: string): Error {
  const e = new Error(message) as Error & { code: string };
  e.name = 'SqliteError';
  e.code = code;
  return e;
}

describe('store views and error mapping', () => {
  it('toContactView exposes only the UI fields; keyChangePending follows the pending fingerprint', () => {
    const rec: ContactRecord = {
      username: 'alice',
      identity: { v: 1, enc: 'AAAA', sig: 'BBBB' },
      fingerprint: 'a'.repeat(64),
      verified: true,
      blocked: false,
      request: true,
      addedAt: 5,
      pendingIdentity: null,
      pendingFingerprint: null,
      rejectedFingerprint: null,
    displayName: null,
    };
    expect(toContactView(rec)).toEqual({
      username: 'alice',
      fingerprint: 'a'.repeat(64),
      verified: true,
      blocked: false,
      request: true,
      keyChangePending: false,
      displayName: null,
    });
    expect(toContactView({ ...rec, pendingFingerprint: 'b'.repeat(64) }).keyChangePending).toBe(true);
  });

  it('toMessageView drops internal fields', () => {
    const m: MessageRecord = {
      id: 'x', conversation: 'd:alice', contact: 'alice', sender: 'alice', direction: 'in', body: 'hi', sentAt: 1, receivedAt: 2,
      state: 'delivered', error: null, seq: 7, senderFingerprint: 'f'.repeat(64), unread: true,
    };
    const v = toMessageView(m);
    expect(v).toEqual({ id: 'x', conversation: 'd:alice', contact: 'alice', sender: 'alice', direction: 'in', body: 'hi', sentAt: 1, receivedAt: 2, state: 'delivered', error: null, seq: 7 });
    expect('unread' in v || 'senderFingerprint' in v).toBe(false);
  });

  it('maps SQLite failures to typed StoreErrors and leaves other errors alone', () => {
    const cases: Array<[string, string]> = [
      ['SQLITE_CONSTRAINT_UNIQUE', 'EXISTS'],
      ['SQLITE_CONSTRAINT_PRIMARYKEY', 'EXISTS'],
      ['SQLITE_CONSTRAINT_FOREIGNKEY', 'NOT_FOUND'],
      ['SQLITE_CONSTRAINT_CHECK', 'INVALID'],
      ['SQLITE_NOTADB', 'WRONG_KEY'],
      ['SQLITE_FULL', 'IO'],
    ];
    for (const [sqlite, code] of cases) {
      const e = toStoreError(sqliteError(sqlite, 'x'), 'op');
      expect(e).toBeInstanceOf(StoreError);
      expect((e as StoreError).code).toBe(code);
      expect((e as StoreError).cause).toBeInstanceOf(Error);
    }
    const other = new TypeError('nope');
    expect(toStoreError(other, 'op')).toBe(other);
  });
});
