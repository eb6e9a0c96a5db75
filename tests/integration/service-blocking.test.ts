/**
 * Blocking and unblocking through ParleyService (what the Electron main process and the browser bridge call), over
 * a real relay on 127.0.0.1 with real ParleyServices (encrypted SQLite files, crypto workers): the blocked list, and
 * unblocking a user or a group brings them back as a message request while what they sent during the block stays
 * gone (it was acknowledged and dropped). Calls go through ipc-validate's dispatch, as the renderer's do.
 */
import { afterAll, describe, expect, test } from 'vitest';
import type { GroupView } from '../../electron/contract/api.js';
import type { ParleyService } from '../../electron/core/service.js';
import { dispatch } from '../../electron/main/ipc-validate.js';
import { aliceAndBob, cleanupAll, collect, fixtureService, startTestRelay, unackedFor, waitUntil, type TestRelay } from '../helpers/core.js';

afterAll(cleanupAll);

const T = 30_000;

/** A renderer call: validated by the IPC schema, then the core. */
const call = (svc: ParleyService, method: string, ...args: unknown[]) => dispatch(svc, method, args, null, null);

/** `from` sends `text`; resolves once the relay has it (the message is 'sent'). */
async function sendAndWait(from: ParleyService, conversation: `d:${string}` | `g:${string}`, text: string): Promise<void> {
  const states = collect(from, 'message-state');
  const m = await from.sendMessage({ conversation, text });
  await waitUntil(() => m.state !== 'sending' || states.some((s) => s.id === m.id && s.state !== 'sending'), T, `"${text}" reaches the relay`);
}

/** `to` has received and acknowledged everything queued for it, and processed it. */
async function settled(relay: TestRelay, to: ParleyService, username: string): Promise<void> {
  await waitUntil(() => unackedFor(relay, username) === 0, T, `${username} acknowledges everything`);
  await to.idle();
}

const bodies = async (s: ParleyService, conversation: `d:${string}` | `g:${string}`) =>
  (await s.loadMessages({ conversation })).messages.map((m) => `${m.sender ?? m.contact}: ${m.body}`);

describe('blocked users and groups', () => {
  test('unblocking a user: listed while blocked, a message request again afterwards, nothing from the block replayed', { timeout: 90_000 }, async () => {
    const relay = await startTestRelay();
    const { alice, bob } = await aliceAndBob(relay.url, { contacts: 'alice' });
    const got = collect(bob, 'message-received');
    await alice.sendMessage({ conversation: 'd:bob', text: 'hello, stranger' });
    await waitUntil(() => got.length === 1, T, 'the request arrives');
    expect(await call(bob, 'setBlocked', { username: 'alice', blocked: true })).toMatchObject({ ok: true, value: { blocked: true, request: false } });
    expect(await call(bob, 'listBlocked')).toEqual({ ok: true, value: { users: [{ username: 'alice', displayName: null }], groups: [] } });

    await sendAndWait(alice, 'd:bob', 'sent while blocked');
    await settled(relay, bob, 'bob');
    expect(got).toHaveLength(1);

    const changed = collect(bob, 'contacts-changed');
    expect(await call(bob, 'unblock', { username: 'alice' })).toEqual({ ok: true, value: { users: [], groups: [] } });
    expect(changed).toContainEqual({ username: 'alice' });
    expect(await bob.getContact({ username: 'alice' })).toMatchObject({ blocked: false, request: true });
    const row = (await bob.listConversations({})).find((c) => c.kind === 'direct' && c.contact.username === 'alice');
    expect(row).toMatchObject({ contact: { request: true, blocked: false } });

    await alice.sendMessage({ conversation: 'd:bob', text: 'after the unblock' });
    await waitUntil(() => got.length === 2, T, 'the message after the unblock');
    expect(await bodies(bob, 'd:alice')).toEqual(['alice: hello, stranger', 'alice: after the unblock']);
    // Answering accepts the request, as for any message request.
    await bob.sendMessage({ conversation: 'd:alice', text: 'hi again' });
    expect(await bob.getContact({ username: 'alice' })).toMatchObject({ request: false });

    // Typed errors: not blocked, unknown, and malformed requests (refused by the schema before the core).
    expect(await call(bob, 'unblock', { username: 'alice' })).toMatchObject({ ok: false, error: { code: 'INVALID' } });
    expect(await call(bob, 'unblock', { username: 'nobody1' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await call(bob, 'unblock', { group: 'ab'.repeat(16) })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    for (const bad of [{}, { username: 'alice', group: 'ab'.repeat(16) }, { username: 'Not A Name!' }, { group: 'xyz' }, { username: 'alice', extra: 1 }]) {
      expect(await call(bob, 'unblock', bad)).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENTS' } });
    }
    expect(await call(bob, 'listBlocked', {})).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENTS' } });
    // The core checks again for callers without the schema (the CLI).
    await expect(bob.unblock({} as { username: string })).rejects.toMatchObject({ code: 'INVALID' });
    await expect(bob.unblock({ username: 'alice', group: 'ab'.repeat(16) } as { username: string })).rejects.toMatchObject({ code: 'INVALID' });
  });

  test('unblocking a group: it comes back as a request; its adder stays blocked until unblocked too', { timeout: 120_000 }, async () => {
    const relay = await startTestRelay();
    const alice = await fixtureService(0, 'alice', relay.url);
    const bob = await fixtureService(1, 'bob', relay.url);
    const carol = await fixtureService(2, 'carol', relay.url);
    await Promise.all([alice.waitOnline(), bob.waitOnline(), carol.waitOnline()]);
    await alice.addContact({ username: 'bob' });
    await alice.addContact({ username: 'carol' });
    await carol.addContact({ username: 'alice' });

    const g = await alice.createGroup({ name: 'Strangers', members: ['bob', 'carol'] });
    const atBob = await waitUntil(async () => bob.groupInfo({ group: g.id }).catch(() => null), T, 'bob gets the group');
    expect(atBob).toMatchObject({ request: true, active: true });
    await waitUntil(async () => carol.groupInfo({ group: g.id }).catch(() => null), T, 'carol gets the group');

    const blocked = await call(bob, 'blockGroupRequest', { group: g.id });
    expect(blocked).toMatchObject({ ok: true, value: { active: false, request: false } });
    expect(await bob.listBlocked()).toEqual({ users: [{ username: 'alice', displayName: null }], groups: [{ id: g.id, name: 'Strangers', addedBy: 'alice' }] });
    // A blocked group leaves the conversation list, as a blocked contact's conversation does.
    expect((await bob.listConversations({})).some((c) => c.id === g.conversation)).toBe(false);

    await sendAndWait(alice, g.conversation, 'alice during the block');
    await sendAndWait(carol, g.conversation, 'carol during the block');
    await settled(relay, bob, 'bob');

    const changed = collect(bob, 'group-changed');
    expect(await call(bob, 'unblock', { group: g.id })).toEqual({ ok: true, value: { users: [{ username: 'alice', displayName: null }], groups: [] } });
    expect(changed.some((e) => e.group === g.id)).toBe(true);
    const back = (await bob.groupInfo({ group: g.id })) as GroupView;
    expect(back).toMatchObject({ request: true, active: true, name: 'Strangers' });
    expect((await bob.listConversations({})).find((c) => c.id === g.conversation)).toMatchObject({ group: { request: true, active: true } });

    // Carol was never blocked: her next message arrives. Alice still is: hers is dropped until she is unblocked.
    await sendAndWait(alice, g.conversation, 'alice, still blocked');
    await carol.sendMessage({ conversation: g.conversation, text: 'carol after the unblock' });
    await waitUntil(async () => (await bodies(bob, g.conversation)).includes('carol: carol after the unblock'), T, 'carol after the unblock');
    await settled(relay, bob, 'bob');
    await bob.unblock({ username: 'alice' });
    await alice.sendMessage({ conversation: g.conversation, text: 'alice after her unblock' });
    await waitUntil(async () => (await bodies(bob, g.conversation)).includes('alice: alice after her unblock'), T, 'alice after her unblock');
    // Nothing sent during a block is replayed.
    expect(await bodies(bob, g.conversation)).toEqual(['carol: carol after the unblock', 'alice: alice after her unblock']);
    expect(await bob.listBlocked()).toEqual({ users: [], groups: [] });

    expect(await call(bob, 'acceptGroupRequest', { group: g.id })).toMatchObject({ ok: true, value: { request: false, active: true } });
    await bob.sendMessage({ conversation: g.conversation, text: 'bob is back' });
    await waitUntil(async () => (await bodies(carol, g.conversation)).includes('bob: bob is back'), T, 'bob reaches carol');
    expect(await call(bob, 'unblock', { group: g.id })).toMatchObject({ ok: false, error: { code: 'INVALID' } });
  });
});
