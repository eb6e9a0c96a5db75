/**
 * Property test of who may act on a message in a GROUP conversation (electron/core/messenger/actions-apply.ts) on a
 * real encrypted SQLite store: reactions from any member, edits and deletes only from the original sender, and
 * everyone else refused: a contact who is not a member, and a member's name signed with a key the group does not
 * list. The end state must not depend on delivery order. Deliveries go through the same functions the receive path
 * calls inside its transaction (envelope crypto is covered elsewhere; the signer's fingerprint is given as the receive
 * path has it after open()).
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { groupConversation } from '../../electron/contract/api.js';
import type { ActionPayload } from '../../electron/core/crypto/payload-actions.js';
import type { GroupState } from '../../electron/core/crypto/group-payload.js';
import { EDIT_WINDOW_MS, afterIncomingText, applyIncoming, applyRead, conversationOf, type ApplyContext } from '../../electron/core/messenger/actions-apply.js';
import { openHistoryStore } from '../../electron/core/store/index.js';
import type { HistoryStore } from '../../electron/core/store/types.js';
import { cleanupAll, tmpDir } from '../helpers/core.js';
import { fixtureKeys } from '../helpers/identities.js';

afterAll(cleanupAll);

const ME = 'me';
const BOB = 'bob';
const CAROL = 'carol';
const MALLORY = 'mallory';
/** Bob's name with Mallory's key: a forged member. */
const FORGED = 'bob-forged';
const T0 = 1_700_000_000_000;
const BOB_MSG = 'Ym9iLW1lc3NhZ2UtaWQtMQ';
const MY_MSG = 'bXktbWVzc2FnZS1pZC0xMQ';

interface World {
  store: HistoryStore;
  fp: Record<string, string>;
}

async function world(): Promise<World> {
  const store = openHistoryStore({ path: path.join(tmpDir('actions-gprop'), 'h.db'), key: randomBytes(32).toString('hex') });
  const fp: Record<string, string> = {};
  for (const [n, u] of [ME, BOB, CAROL, MALLORY].entries()) {
    const k = await fixtureKeys(n);
    fp[u] = k.fingerprint;
    if (u !== ME) store.addContact({ username: u, identity: k.public, fingerprint: k.fingerprint });
  }
  return { store, fp };
}

/** A fresh group (me, bob, carol) per run, so runs never see each other's messages. */
function newGroup(w: World): string {
  const g = randomBytes(16).toString('hex');
  const members = [ME, BOB, CAROL].sort().map((u) => ({ u, fp: w.fp[u]!, role: u === ME ? ('admin' as const) : ('member' as const) }));
  const state: GroupState = { g, name: 'team', version: 1, head: 'a'.repeat(64), adminOnlyRename: false, members };
  w.store.groups.createGroup({ id: g, base: state, request: false, at: T0 });
  return g;
}

type Action = { actor: string; envelopeId: string; payload: ActionPayload };
type Delivery = { kind: 'bob-message' } | ({ kind: 'action' } & Action);

const envId = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('base64url'));
const actor = fc.constantFrom(BOB, CAROL, MALLORY, FORGED);
const ts = fc.oneof(fc.integer({ min: 0, max: EDIT_WINDOW_MS }), fc.integer({ min: EDIT_WINDOW_MS + 1, max: 2 * EDIT_WINDOW_MS })).map((d) => T0 + d);
const target = fc.constantFrom(BOB_MSG, MY_MSG);
const emoji = fc.constantFrom('👍', '❤️', '😂', null);

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ actor, envelopeId: envId, ts, target, body: fc.string({ minLength: 1, maxLength: 20 }) }).map((a) => ({
    actor: a.actor,
    envelopeId: a.envelopeId,
    payload: { v: 1 as const, type: 'edit' as const, ts: a.ts, target: a.target, body: a.body },
  })),
  fc.record({ actor, envelopeId: envId, ts, target }).map((a) => ({
    actor: a.actor,
    envelopeId: a.envelopeId,
    payload: { v: 1 as const, type: 'delete' as const, ts: a.ts, target: a.target },
  })),
  fc.record({ actor, envelopeId: envId, ts, target, author: fc.constantFrom(BOB, ME, CAROL, MALLORY), emoji }).map((a) => ({
    actor: a.actor,
    envelopeId: a.envelopeId,
    payload: { v: 1 as const, type: 'reaction' as const, ts: a.ts, target: a.target, author: a.author, emoji: a.emoji },
  })),
);

/** The end state the rules prescribe, computed without the store. */
function expected(actions: Action[]) {
  const newest = <T extends { payload: { ts: number }; envelopeId: string }>(xs: T[]): T | undefined =>
    [...xs].sort((a, b) => a.payload.ts - b.payload.ts || (a.envelopeId < b.envelopeId ? -1 : a.envelopeId > b.envelopeId ? 1 : 0)).at(-1);
  const inWindow = (t: number) => t - T0 <= EDIT_WINDOW_MS;
  const byBobOnHisMsg = actions.filter((a) => a.actor === BOB && a.payload.target === BOB_MSG);
  const deleted = byBobOnHisMsg.some((a) => a.payload.type === 'delete' && inWindow(a.payload.ts));
  const edit = newest(byBobOnHisMsg.filter((a) => a.payload.type === 'edit' && inWindow(a.payload.ts)));
  const reactions = (msg: string, author: string) =>
    [BOB, CAROL].flatMap((reactor) => {
      const r = newest(actions.filter((a) => a.actor === reactor && a.payload.type === 'reaction' && a.payload.target === msg && a.payload.author === author));
      return r && r.payload.type === 'reaction' && r.payload.emoji !== null ? [{ reactor, emoji: r.payload.emoji }] : [];
    });
  return {
    bob: deleted ? { body: null, deleted: true, reactions: [] } : { body: edit?.payload.type === 'edit' ? edit.payload.body : 'original', deleted: false, reactions: reactions(BOB_MSG, BOB) },
    mine: { body: 'mine', reactions: reactions(MY_MSG, ME) },
  };
}

function deliver(w: World, ctx: ApplyContext, g: string, d: Delivery): void {
  w.store.transaction(() => {
    if (d.kind === 'bob-message') {
      const m = w.store.groups.insertMessage({ id: BOB_MSG, group: g, direction: 'in', sender: BOB, senderFingerprint: w.fp[BOB]!, body: 'original', sentAt: T0, state: 'delivered' });
      afterIncomingText(ctx, m, { v: 1, type: 'text', ts: T0, body: 'original', g, m: BOB_MSG });
      return;
    }
    const sender = d.actor === FORGED ? BOB : d.actor;
    const signer = d.actor === FORGED ? w.fp[MALLORY]! : w.fp[d.actor]!;
    const conversation = conversationOf(ctx, sender, g, signer);
    if (conversation) applyIncoming(ctx, { conversation, actor: sender, envelopeId: d.envelopeId, payload: { ...d.payload, g }, receivedAt: T0 });
  });
}

const sortByReactor = (xs: Array<{ reactor: string; emoji: string }>) => [...xs].sort((a, b) => (a.reactor < b.reactor ? -1 : 1));

describe('group message actions: only the allowed sender, in any delivery order', () => {
  it('reactions from any member, edits and deletes only from the author; non-members and forged keys refused', async () => {
    const w = await world();
    const ctx: ApplyContext = { store: w.store, me: ME, log: () => {} };
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 8 }), fc.nat(), async (actions, pos) => {
        runs++;
        const g = newGroup(w);
        w.store.groups.insertMessage({ id: MY_MSG, group: g, direction: 'out', sender: null, senderFingerprint: w.fp[ME]!, body: 'mine', sentAt: T0, state: 'delivered' });
        const seq: Delivery[] = actions.map((a) => ({ kind: 'action' as const, ...a }));
        seq.splice(pos % (actions.length + 1), 0, { kind: 'bob-message' });
        for (const d of seq) deliver(w, ctx, g, d);

        const want = expected(actions);
        const conv = groupConversation(g);
        const bob = w.store.actions.findMessage(conv, 'in', BOB, BOB_MSG)!;
        const bobDetails = w.store.actions.detailsOf(bob);
        expect(bob.body).toBe(want.bob.body);
        expect(bobDetails.deletedAt !== null).toBe(want.bob.deleted);
        expect(sortByReactor(bobDetails.reactions.map(({ reactor, emoji }) => ({ reactor, emoji })))).toEqual(want.bob.reactions);
        const mine = w.store.actions.findMessage(conv, 'out', null, MY_MSG)!;
        const myDetails = w.store.actions.detailsOf(mine);
        expect(mine.body).toBe('mine');
        expect(myDetails.deletedAt).toBeNull();
        expect(myDetails.versions).toEqual([]);
        expect(sortByReactor(myDetails.reactions.map(({ reactor, emoji }) => ({ reactor, emoji })))).toEqual(want.mine.reactions);
        // Nothing from a non-member or a forged key was even kept for later.
        expect(w.store.actions.countPending(conv) <= actions.filter((a) => a.actor === BOB || a.actor === CAROL).length).toBe(true);
      }),
      { numRuns: 120 },
    );
    expect(runs).toBeGreaterThanOrEqual(120);
    w.store.close();
  });

  it('refuses actions in a group we left, and read receipts from non-members', async () => {
    const w = await world();
    const ctx: ApplyContext = { store: w.store, me: ME, log: () => {} };
    const g = newGroup(w);
    const mine = w.store.groups.insertMessage({ id: MY_MSG, group: g, direction: 'out', sender: null, senderFingerprint: w.fp[ME]!, body: 'mine', sentAt: T0, state: 'sent' });
    const conv = groupConversation(g);
    expect(conversationOf(ctx, MALLORY, g, w.fp[MALLORY])).toBeNull();
    expect(conversationOf(ctx, BOB, g, w.fp[MALLORY])).toBeNull();
    expect(conversationOf(ctx, BOB, g, w.fp[BOB])).toBe(conv);
    // A read receipt from Mallory naming our message changes nothing; Carol's records her read time.
    w.store.transaction(() => applyRead(ctx, conv, MALLORY, { v: 1, type: 'read', ts: T0, g, ids: [MY_MSG] }, T0 + 5));
    expect(w.store.actions.detailsOf(mine).receipts).toEqual([]);
    w.store.transaction(() => applyRead(ctx, conv, CAROL, { v: 1, type: 'read', ts: T0, g, ids: [MY_MSG] }, T0 + 6));
    expect(w.store.actions.detailsOf(mine).receipts).toEqual([{ member: CAROL, deliveredAt: T0 + 6, readAt: T0 + 6 }]);
    // Once we are no longer a member, no one's actions apply in that group.
    w.store.groups.updateGroup(g, { active: false });
    expect(conversationOf(ctx, BOB, g, w.fp[BOB])).toBeNull();
    w.store.close();
  });
});
