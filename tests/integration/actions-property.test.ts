/**
 * Property tests of who may act on a message (electron/core/messenger/actions-apply.ts) on a real encrypted SQLite
 * store: edits, deletes and reactions from anyone but the allowed sender are refused, and the end state does not
 * depend on the order in which the message and its actions arrive. Deliveries go through the same functions the
 * receive path calls inside its transaction (the envelope crypto is covered elsewhere; here the sender is taken as
 * authenticated, as the receive path does after open()).
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { directConversation } from '../../electron/contract/api.js';
import type { ActionPayload } from '../../electron/core/crypto/payload-actions.js';
import { EDIT_WINDOW_MS, afterIncomingText, applyIncoming, conversationOf, type ApplyContext } from '../../electron/core/messenger/actions-apply.js';
import { openHistoryStore } from '../../electron/core/store/index.js';
import type { HistoryStore } from '../../electron/core/store/types.js';
import { cleanupAll, tmpDir } from '../helpers/core.js';
import { fixtureKeys } from '../helpers/identities.js';

afterAll(cleanupAll);

const ME = 'me';
const BOB = 'bob';
const MALLORY = 'mallory';
const T0 = 1_700_000_000_000;
const BOB_MSG = 'Ym9iLW1lc3NhZ2UtaWQtMQ'; // 22 chars b64url = 16 bytes
const MY_MSG = 'bXktbWVzc2FnZS1pZC0xMQ';

async function freshStore(): Promise<HistoryStore> {
  const store = openHistoryStore({ path: path.join(tmpDir('actions-prop'), 'h.db'), key: randomBytes(32).toString('hex') });
  for (const [n, u] of [BOB, MALLORY].entries()) {
    const k = await fixtureKeys(n + 1);
    store.addContact({ username: u, identity: k.public, fingerprint: k.fingerprint });
  }
  return store;
}

type Delivery =
  | { kind: 'bob-message' }
  | { kind: 'action'; actor: string; envelopeId: string; payload: ActionPayload };

const envId = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('base64url'));
const actor = fc.constantFrom(BOB, MALLORY);
/** Offsets inside and outside the 24-hour window. */
const ts = fc.oneof(fc.integer({ min: 0, max: EDIT_WINDOW_MS }), fc.integer({ min: EDIT_WINDOW_MS + 1, max: 2 * EDIT_WINDOW_MS })).map((d) => T0 + d);
const target = fc.constantFrom(BOB_MSG, MY_MSG);
const emoji = fc.constantFrom('👍', '❤️', '😂', null);

const action: fc.Arbitrary<Delivery> = fc.oneof(
  fc.record({ actor, envelopeId: envId, payload: fc.record({ ts, target, body: fc.string({ minLength: 1, maxLength: 20 }) }) }).map((a) => ({
    kind: 'action' as const,
    actor: a.actor,
    envelopeId: a.envelopeId,
    payload: { v: 1 as const, type: 'edit' as const, ...a.payload },
  })),
  fc.record({ actor, envelopeId: envId, payload: fc.record({ ts, target }) }).map((a) => ({
    kind: 'action' as const,
    actor: a.actor,
    envelopeId: a.envelopeId,
    payload: { v: 1 as const, type: 'delete' as const, ...a.payload },
  })),
  fc
    .record({ actor, envelopeId: envId, payload: fc.record({ ts, target, author: fc.constantFrom(BOB, ME, MALLORY), emoji }) })
    .map((a) => ({ kind: 'action' as const, actor: a.actor, envelopeId: a.envelopeId, payload: { v: 1 as const, type: 'reaction' as const, ...a.payload } })),
);

/** What the rules say the end state must be, computed without the store. */
function expected(actions: Array<Extract<Delivery, { kind: 'action' }>>) {
  const byBob = actions.filter((a) => a.actor === BOB);
  const newest = <T extends { payload: { ts: number }; envelopeId: string }>(xs: T[]): T | undefined =>
    [...xs].sort((a, b) => a.payload.ts - b.payload.ts || (a.envelopeId < b.envelopeId ? -1 : a.envelopeId > b.envelopeId ? 1 : 0)).at(-1);
  const inWindow = (t: number) => t - T0 <= EDIT_WINDOW_MS;
  const onBobMsg = byBob.filter((a) => a.payload.target === BOB_MSG);
  const deleted = onBobMsg.some((a) => a.payload.type === 'delete' && inWindow(a.payload.ts));
  const edit = newest(onBobMsg.filter((a) => a.payload.type === 'edit' && inWindow(a.payload.ts)));
  const reactionOn = (msg: string, author: string) => {
    const r = newest(byBob.filter((a) => a.payload.type === 'reaction' && a.payload.target === msg && a.payload.author === author));
    return r && r.payload.type === 'reaction' && r.payload.emoji !== null ? [{ reactor: BOB, emoji: r.payload.emoji }] : [];
  };
  return {
    bob: deleted
      ? { body: null, deleted: true, reactions: [] }
      : { body: edit && edit.payload.type === 'edit' ? edit.payload.body : 'original', deleted: false, reactions: reactionOn(BOB_MSG, BOB) },
    mine: { body: 'mine', reactions: reactionOn(MY_MSG, ME) },
  };
}

function deliver(store: HistoryStore, ctx: ApplyContext, d: Delivery): void {
  store.transaction(() => {
    if (d.kind === 'bob-message') {
      const m = store.insertMessage({ id: BOB_MSG, contact: BOB, direction: 'in', senderFingerprint: null, body: 'original', sentAt: T0, state: 'delivered' });
      afterIncomingText(ctx, m, { v: 1, type: 'text', ts: T0, body: 'original' });
      return;
    }
    const conversation = conversationOf(ctx, d.actor, d.payload.g);
    if (conversation) applyIncoming(ctx, { conversation, actor: d.actor, envelopeId: d.envelopeId, payload: d.payload, receivedAt: T0 });
  });
}

describe('message actions: only the allowed sender, in any delivery order', () => {
  it('edits and deletes only from the author, reactions only from members; order does not matter', async () => {
    const store = await freshStore();
    const ctx: ApplyContext = { store, me: ME, log: () => {} };
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 8 }), fc.nat(), async (actions, pos) => {
        // A fresh pair of conversations per run: our message is there first (we sent it), Bob's arrives at `pos`.
        round++;
        store.deleteConversation(BOB);
        store.deleteConversation(MALLORY);
        store.actions.clearPending(directConversation(BOB));
        store.actions.clearPending(directConversation(MALLORY));
        store.insertMessage({ id: MY_MSG, contact: BOB, direction: 'out', senderFingerprint: null, body: 'mine', sentAt: T0, state: 'delivered' });
        const seq: Delivery[] = [...actions];
        seq.splice(pos % (actions.length + 1), 0, { kind: 'bob-message' });
        for (const d of seq) deliver(store, ctx, d);

        const want = expected(actions as Array<Extract<Delivery, { kind: 'action' }>>);
        const bob = store.actions.findMessage(directConversation(BOB), 'in', BOB, BOB_MSG)!;
        const bobDetails = store.actions.detailsOf(bob);
        expect(bob.body).toBe(want.bob.body);
        expect(bobDetails.deletedAt !== null).toBe(want.bob.deleted);
        expect(bobDetails.reactions.map(({ reactor, emoji }) => ({ reactor, emoji }))).toEqual(want.bob.reactions);
        const mine = store.actions.findMessage(directConversation(BOB), 'out', null, MY_MSG)!;
        const myDetails = store.actions.detailsOf(mine);
        expect(mine.body).toBe(want.mine.body);
        expect(myDetails.deletedAt).toBeNull();
        expect(myDetails.versions).toEqual([]);
        expect(myDetails.reactions.map(({ reactor, emoji }) => ({ reactor, emoji }))).toEqual(want.mine.reactions);
        // Nothing of Mallory's ever lands anywhere: her conversation has no messages to act on.
        expect(store.countMessages(MALLORY)).toBe(0);
      }),
      { numRuns: 150 },
    );
    expect(round).toBeGreaterThanOrEqual(150);
    store.close();
  });

  it('keeps at most PENDING_ACTIONS_PER_ACTOR actions per actor for messages never seen', async () => {
    const { PENDING_ACTIONS_PER_ACTOR } = await import('../../electron/core/store/actions.js');
    const store = await freshStore();
    const ctx: ApplyContext = { store, me: ME, log: () => {} };
    for (let i = 0; i < PENDING_ACTIONS_PER_ACTOR + 50; i++) {
      const id = Buffer.alloc(16, 0).fill(i % 256, 0, 1).fill(Math.floor(i / 256), 1, 2).toString('base64url');
      deliver(store, ctx, { kind: 'action', actor: MALLORY, envelopeId: id, payload: { v: 1, type: 'delete', ts: T0, target: id } });
    }
    deliver(store, ctx, { kind: 'action', actor: BOB, envelopeId: BOB_MSG, payload: { v: 1, type: 'delete', ts: T0 + 1, target: BOB_MSG } });
    expect(store.actions.countPending(directConversation(MALLORY))).toBe(PENDING_ACTIONS_PER_ACTOR);
    // Mallory's flood does not evict Bob's waiting delete: it applies when his message arrives.
    deliver(store, ctx, { kind: 'bob-message' });
    expect(store.actions.detailsOf(store.actions.findMessage(directConversation(BOB), 'in', BOB, BOB_MSG)!).deletedAt).toBe(T0 + 1);
    store.close();
  });
});
