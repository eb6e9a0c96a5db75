/**
 * The group methods of ParleyApi through ParleyService (what the Electron main process and the browser bridge call):
 * a real relay on 127.0.0.1 with its SQLite file, three real ParleyServices on encrypted SQLite files with real
 * crypto workers. Each method, the events the renderer listens to, the conversation list's group rows, and the
 * typed errors for bad input (through ipc-validate's dispatch too, as the renderer's calls go).
 */
import { afterAll, describe, expect, test } from 'vitest';
import type { ConversationSummary, GroupConversationSummary, GroupView } from '../../electron/contract/api.js';
import type { ParleyService } from '../../electron/core/service.js';
import { dispatch } from '../../electron/main/ipc-validate.js';
import { cleanupAll, collect, fixtureService, startTestRelay, unackedFor, waitUntil } from '../helpers/core.js';

afterAll(cleanupAll);

const T = 30_000;

async function trio() {
  const relay = await startTestRelay();
  const alice = await fixtureService(0, 'alice', relay.url);
  const bob = await fixtureService(1, 'bob', relay.url);
  const carol = await fixtureService(2, 'carol', relay.url);
  await Promise.all([alice.waitOnline(), bob.waitOnline(), carol.waitOnline()]);
  for (const [a, b] of [
    [alice, 'bob'],
    [alice, 'carol'],
    [bob, 'alice'],
    [carol, 'alice'],
  ] as const) {
    await a.addContact({ username: b });
  }
  return { relay, alice, bob, carol };
}

const groupRow = (list: ConversationSummary[], id: string): GroupConversationSummary | undefined =>
  list.find((c): c is GroupConversationSummary => c.kind === 'group' && c.group.id === id);

const bodies = async (s: ParleyService, g: GroupView) => (await s.loadMessages({ conversation: g.conversation })).messages.map((m) => `${m.sender ?? 'me'}: ${m.body}`);

async function known(s: ParleyService, id: string, pred: (g: GroupView) => boolean = () => true): Promise<GroupView> {
  const found = await waitUntil(async () => {
    try {
      const g = await s.groupInfo({ group: id });
      return pred(g) ? g : null;
    } catch {
      return null;
    }
  }, T, `group state on ${s.profile.meta.username}`);
  return found!;
}

describe('groups through ParleyService', () => {
  test('create, list, talk with senders, delivery per member, unread counts, events to the renderer', { timeout: 90_000 }, async () => {
    const { alice, bob, carol } = await trio();
    const bobChanged = collect(bob, 'group-changed');
    const aliceDelivery = collect(alice, 'group-delivery');

    const g = await alice.createGroup({ name: '  Team  ', members: ['bob', 'carol', 'alice'] });
    expect(g).toMatchObject({ name: 'Team', version: 1, active: true, request: false, myRole: 'admin', conversation: `g:${g.id}` });
    expect(g.members.map((m) => [m.username, m.role])).toEqual([
      ['alice', 'admin'],
      ['bob', 'member'],
      ['carol', 'member'],
    ]);
    const atBob = await known(bob, g.id);
    expect(atBob).toMatchObject({ name: 'Team', myRole: 'member', active: true });
    await known(carol, g.id);
    expect(bobChanged.some((e) => e.group === g.id && e.conversation === g.conversation)).toBe(true);

    // A fresh group (no messages yet) is listed first, with its name and member count.
    const listed = await alice.listConversations({});
    expect(listed[0]).toMatchObject({ kind: 'group', id: g.conversation, group: { id: g.id, name: 'Team', memberCount: 3, active: true }, unread: 0, lastMessage: null });

    const a1 = await alice.sendMessage({ conversation: g.conversation, text: 'hello team' });
    await bob.sendMessage({ conversation: g.conversation, text: 'hi from bob' });
    for (const s of [alice, bob, carol]) {
      await waitUntil(async () => (await bodies(s, g)).length === 2, T, 'both messages everywhere');
    }
    expect(await bodies(carol, g)).toEqual(['alice: hello team', 'bob: hi from bob']);
    expect(await bodies(alice, g)).toEqual(['me: hello team', 'bob: hi from bob']);

    // Carol's list: the group row with its unread count and the last message's sender; read clears it.
    const row = groupRow(await carol.listConversations({}), g.id);
    expect(row).toMatchObject({ unread: 2, lastMessage: { body: 'hi from bob', sender: 'bob', direction: 'in' } });
    await carol.markRead({ conversation: g.conversation });
    expect(groupRow(await carol.listConversations({}), g.id)?.unread).toBe(0);
    expect(groupRow(await carol.listConversations({ filter: 'tea' }), g.id)).toBeDefined();
    expect(groupRow(await carol.listConversations({ filter: 'nomatch' }), g.id)).toBeUndefined();

    await waitUntil(async () => (await alice.groupDeliveries({ id: a1.id })).delivered === 2, T, 'delivered to both');
    // Nobody has marked the group read yet: no reads (service-group-reads.test.ts covers them).
    expect(await alice.groupDeliveries({ id: a1.id })).toEqual({
      delivered: 2,
      total: 2,
      read: 0,
      members: [
        { username: 'bob', state: 'delivered', read: false },
        { username: 'carol', state: 'delivered', read: false },
      ],
    });
    expect(aliceDelivery.some((e) => e.id === a1.id && e.group === g.id && e.conversation === g.conversation)).toBe(true);
  });

  test('add, make admin, rename, remove (nothing reaches the removed afterwards), leave; system lines everywhere', { timeout: 120_000 }, async () => {
    const { relay, alice, bob, carol } = await trio();
    const g = await alice.createGroup({ name: 'Team', members: ['bob'] });
    await known(bob, g.id);

    const added = await alice.addGroupMembers({ group: g.id, members: ['carol'] });
    expect(added.members.map((m) => m.username)).toEqual(['alice', 'bob', 'carol']);
    expect(added.version).toBe(2);
    await known(carol, g.id, (x) => x.active);
    await known(bob, g.id, (x) => x.members.length === 3);

    const promoted = await alice.setGroupAdmin({ group: g.id, username: 'bob' });
    expect(promoted.members.find((m) => m.username === 'bob')?.role).toBe('admin');
    await known(bob, g.id, (x) => x.myRole === 'admin');

    const renamed = await bob.renameGroup({ group: g.id, name: 'Crew' });
    expect(renamed.name).toBe('Crew');
    await known(alice, g.id, (x) => x.name === 'Crew');

    const removed = await bob.removeGroupMembers({ group: g.id, members: ['carol'] });
    expect(removed.members.map((m) => m.username)).toEqual(['alice', 'bob']);
    const atCarol = await known(carol, g.id, (x) => !x.active);
    expect(atCarol.myRole).toBeNull();
    expect(atCarol.events.map((e) => e.text)).toContain('bob removed carol');
    await known(alice, g.id, (x) => x.members.length === 2);

    await alice.sendMessage({ conversation: g.conversation, text: 'after carol left' });
    await waitUntil(async () => (await bodies(bob, g)).includes('alice: after carol left'), T, 'bob gets it');
    await carol.idle();
    expect(unackedFor(relay, 'carol')).toBe(0);
    expect(await bodies(carol, g)).not.toContain('alice: after carol left');
    await expect(carol.sendMessage({ conversation: g.conversation, text: 'still here?' })).rejects.toMatchObject({ code: 'INVALID' });
    await expect(carol.leaveGroup({ group: g.id })).rejects.toMatchObject({ code: 'NOT_MEMBER' });

    const left = await alice.leaveGroup({ group: g.id });
    expect(left).toMatchObject({ active: false, myRole: null });
    const atBob = await known(bob, g.id, (x) => x.members.length === 1);
    expect(atBob.events.map((e) => e.text)).toEqual(
      expect.arrayContaining(['alice added carol', 'alice made bob admin', 'bob renamed the group to “Crew”', 'bob removed carol', 'alice left']),
    );
    expect(groupRow(await alice.listConversations({}), g.id)?.group).toMatchObject({ active: false, name: 'Crew', memberCount: 1 });
  });

  test('typed errors: non-admin, unknown group, more than 256 members, bad names, bad ids', { timeout: 90_000 }, async () => {
    const { alice, bob } = await trio();
    const g = await alice.createGroup({ name: 'Team', members: ['bob'] });
    await known(bob, g.id);
    const unknown = 'ab'.repeat(16);

    await expect(bob.addGroupMembers({ group: g.id, members: ['carol'] })).rejects.toMatchObject({ code: 'NOT_ADMIN' });
    await expect(bob.removeGroupMembers({ group: g.id, members: ['alice'] })).rejects.toMatchObject({ code: 'NOT_ADMIN' });
    await expect(bob.setGroupAdmin({ group: g.id, username: 'bob' })).rejects.toMatchObject({ code: 'NOT_ADMIN' });
    for (const call of [
      () => alice.groupInfo({ group: unknown }),
      () => alice.addGroupMembers({ group: unknown, members: ['bob'] }),
      () => alice.leaveGroup({ group: unknown }),
      () => alice.renameGroup({ group: unknown, name: 'x' }),
      () => alice.groupDeliveries({ id: 'AAAAAAAAAAAAAAAAAAAAAA' }),
      () => alice.removeGroupMembers({ group: g.id, members: ['carol'] }),
      () => alice.setGroupAdmin({ group: g.id, username: 'carol' }),
    ]) {
      await expect(call()).rejects.toMatchObject({ code: 'NOT_FOUND' });
    }
    await expect(alice.createGroup({ name: 'Team', members: ['nobody1'] })).rejects.toMatchObject({ code: 'NOT_FOUND' });

    const many = Array.from({ length: 256 }, (_, i) => `user${String(i).padStart(3, '0')}`);
    await expect(alice.createGroup({ name: 'Big', members: many })).rejects.toMatchObject({ code: 'INVALID', message: expect.stringContaining('256') });
    await expect(alice.addGroupMembers({ group: g.id, members: many.slice(0, 255) })).rejects.toMatchObject({ code: 'INVALID', message: expect.stringContaining('256') });

    for (const name of ['', '   ', 'x'.repeat(65), 'bell\u0007', 42 as unknown as string]) {
      await expect(alice.createGroup({ name, members: ['bob'] })).rejects.toMatchObject({ code: 'INVALID' });
      await expect(alice.renameGroup({ group: g.id, name })).rejects.toMatchObject({ code: 'INVALID' });
    }
    for (const group of ['#xyz', 'AB'.repeat(16), '', undefined as unknown as string]) {
      await expect(alice.groupInfo({ group })).rejects.toMatchObject({ code: 'INVALID' });
    }
    await expect(alice.createGroup({ name: 'Team', members: [] })).rejects.toMatchObject({ code: 'INVALID' });
    await expect(alice.createGroup({ name: 'Team', members: ['Not A Name'] })).rejects.toMatchObject({ code: 'INVALID' });
    await expect(alice.removeGroupMembers({ group: g.id, members: ['alice'] })).rejects.toMatchObject({ code: 'INVALID' });
    await expect(alice.groupDeliveries({ id: 'not an id!' })).rejects.toMatchObject({ code: 'INVALID' });
    // Nothing of that changed the group.
    expect(await alice.groupInfo({ group: g.id })).toMatchObject({ name: 'Team', version: 1 });

    // The renderer's path: the IPC schemas refuse first, with BAD_ARGUMENTS; the core's codes pass through as they are.
    const call = (method: string, arg: unknown) => dispatch(alice, method, [arg], null, null);
    expect(await call('createGroup', { name: 'Big', members: [...many, 'bob'] })).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENTS' } });
    expect(await call('createGroup', { name: 'x'.repeat(65), members: ['bob'] })).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENTS' } });
    expect(await call('renameGroup', { group: g.id, name: '\u0000' })).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENTS' } });
    expect(await call('groupInfo', { group: g.id, extra: 1 })).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENTS' } });
    expect(await call('groupInfo', { group: unknown })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await dispatch(bob, 'addGroupMembers', [{ group: g.id, members: ['carol'] }], null, null)).toMatchObject({ ok: false, error: { code: 'NOT_ADMIN' } });
    expect(await call('renameGroup', { group: g.id, name: 'Renamed' })).toMatchObject({ ok: true, value: { name: 'Renamed', version: 2 } });
  });
});
