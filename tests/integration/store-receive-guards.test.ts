/**
 * The receive path's guard tables on a real encrypted SQLite file: quarantined envelopes are kept with their reason,
 * bounded in number and in size, and the hourly failure windows keep only the current window per contact.
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, test } from 'vitest';
import { openHistoryStore } from '../../electron/core/store/index.js';
import { QUARANTINE_KEEP, QUARANTINE_MAX_ENVELOPE_CHARS } from '../../electron/core/store/receive-guards.js';
import { cleanupAll, tmpDir } from '../helpers/core.js';

afterAll(cleanupAll);

const FP = 'ab'.repeat(32);

function freshStore() {
  const store = openHistoryStore({ path: path.join(tmpDir('guards'), 'history.db'), key: randomBytes(32).toString('hex') });
  return store;
}

describe('quarantine', () => {
  test('keeps the reason and the raw envelope, drops oversized bytes, and only the newest QUARANTINE_KEEP rows', () => {
    const store = freshStore();
    try {
      store.quarantineEnvelope({ at: 1, contact: null, senderFingerprint: FP, envelopeId: 'small', reason: 'not-stored: x', envelope: { a: 1 } });
      store.quarantineEnvelope({
        at: 2,
        contact: null,
        senderFingerprint: FP,
        envelopeId: 'big',
        reason: 'not-stored: y',
        envelope: { ct: 'x'.repeat(QUARANTINE_MAX_ENVELOPE_CHARS) },
      });
      const [big, small] = store.listQuarantined(2);
      expect(small).toMatchObject({ envelopeId: 'small', reason: 'not-stored: x', envelope: { a: 1 }, contact: null });
      expect(big).toMatchObject({ envelopeId: 'big', reason: 'not-stored: y', envelope: null });

      store.transaction(() => {
        for (let i = 0; i < QUARANTINE_KEEP + 10; i++) {
          store.quarantineEnvelope({ at: 3 + i, contact: null, senderFingerprint: FP, envelopeId: `n${i}`, reason: 'r', envelope: null });
        }
      });
      expect(store.countQuarantined()).toBe(QUARANTINE_KEEP);
      expect(store.listQuarantined(1)[0]!.envelopeId).toBe(`n${QUARANTINE_KEEP + 9}`);
    } finally {
      store.close();
    }
  });
});

describe('failure windows', () => {
  test('one row per contact and window; a newer window replaces older ones', () => {
    const store = freshStore();
    try {
      store.addContact({ username: 'alice', identity: { v: 1, enc: 'e', sig: 's' }, fingerprint: FP });
      expect(store.getFailureWindow('alice', 0)).toBeNull();
      store.setFailureWindow('alice', 0, { shown: 5, collapsed: 2, summaryId: 'S' });
      expect(store.getFailureWindow('alice', 0)).toEqual({ shown: 5, collapsed: 2, summaryId: 'S' });
      store.setFailureWindow('alice', 3_600_000, { shown: 1, collapsed: 0, summaryId: null });
      expect(store.getFailureWindow('alice', 0)).toBeNull();
      expect(store.getFailureWindow('alice', 3_600_000)).toEqual({ shown: 1, collapsed: 0, summaryId: null });
    } finally {
      store.close();
    }
  });
});
