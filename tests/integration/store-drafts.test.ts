/**
 * Drafts (migration v6) in a real encrypted store: one per conversation, kept across a reopen (restart), cleared by
 * an empty text, bounded, and shown on the conversation list through the service's withDrafts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readDraft, storeDraft, withDrafts } from '../../electron/core/search-and-drafts.js';
import { openHistoryStore } from '../../electron/core/store/index.js';
import type { PublicIdentity } from '../../relay/protocol/index.js';

const ID: PublicIdentity = { v: 1, enc: 'AAAA', sig: 'BBBB' };
const KEY = 'ef'.repeat(32);
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'parley-drafts-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('drafts', () => {
  it('one per conversation, kept across a restart, cleared by empty text, listed with the conversations', () => {
    const file = path.join(dir, 'history.db');
    let store = openHistoryStore({ path: file, key: KEY });
    store.addContact({ username: 'alice', identity: ID, fingerprint: 'a'.repeat(64) });
    store.addContact({ username: 'bob', identity: ID, fingerprint: 'b'.repeat(64) });
    storeDraft(store, { conversation: 'd:alice', text: 'half-typed to alice' });
    storeDraft(store, { conversation: 'd:bob', text: 'for bob' });
    storeDraft(store, { conversation: 'd:bob', text: 'for bob, edited' });
    store.close();

    store = openHistoryStore({ path: file, key: KEY });
    try {
      expect(readDraft(store, { conversation: 'd:alice' })).toEqual({ text: 'half-typed to alice' });
      expect(readDraft(store, { conversation: 'd:bob' })).toEqual({ text: 'for bob, edited' });
      const list = withDrafts(store, store.listConversations());
      expect(Object.fromEntries(list.map((c) => [c.id, c.draft]))).toEqual({ 'd:alice': 'half-typed to alice', 'd:bob': 'for bob, edited' });

      storeDraft(store, { conversation: 'd:alice', text: '   ' });
      expect(readDraft(store, { conversation: 'd:alice' })).toEqual({ text: null });
      expect(() => storeDraft(store, { conversation: 'd:nobody', text: 'x' })).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
      expect(() => storeDraft(store, { conversation: 'bad' as 'd:x', text: 'x' })).toThrow(expect.objectContaining({ code: 'INVALID' }));
      expect(() => storeDraft(store, { conversation: 'd:bob', text: 'x'.repeat(64 * 1024 + 1) })).toThrow(expect.objectContaining({ code: 'INVALID' }));
      // Deleting the contact removes its conversation and with it the draft.
      store.deleteContact('bob');
      expect(withDrafts(store, store.listConversations()).map((c) => c.draft)).toEqual([null]);
    } finally {
      store.close();
    }
  });
});
