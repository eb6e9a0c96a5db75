/**
 * Group membership changes while the relay is down, through ParleyService over a real relay (stopped and started
 * again on the same port and data): a change whose members' keys we hold is applied here and queued, and reaches
 * everyone once the relay is back (nothing lost); one that needs a key lookup fails with the typed OFFLINE error
 * and changes nothing.
 */
import { afterAll, describe, expect, test } from 'vitest';
import type { ParleyService } from '../../electron/core/service.js';
import { dispatch } from '../../electron/main/ipc-validate.js';
import { cleanupAll, fixtureService, startTestRelay, waitUntil } from '../helpers/core.js';

afterAll(cleanupAll);

const T = 30_000;
const members = async (s: ParleyService, id: string) => (await s.groupInfo({ group: id })).members.map((m) => m.username);

describe('membership changes while the relay is offline', () => {
  test('queued and delivered once the relay is back; a change needing a key lookup fails with OFFLINE', { timeout: 120_000 }, async () => {
    let relay = await startTestRelay();
    const alice = await fixtureService(0, 'alice', relay.url);
    const bob = await fixtureService(1, 'bob', relay.url);
    const carol = await fixtureService(2, 'carol', relay.url);
    await Promise.all([alice.waitOnline(), bob.waitOnline(), carol.waitOnline()]);
    await alice.addContact({ username: 'bob' });
    await alice.addContact({ username: 'carol' });
    await bob.addContact({ username: 'alice' });
    await carol.addContact({ username: 'alice' });
    const g = await alice.createGroup({ name: 'Offline', members: ['bob', 'carol'] });
    for (const s of [bob, carol]) await waitUntil(async () => s.groupInfo({ group: g.id }).catch(() => null), T, 'the group everywhere');

    const { dataDir } = relay;
    const port = relay.relay.port;
    await relay.close();
    for (const s of [alice, bob]) await waitUntil(async () => (await s.getState()).connection.status !== 'online', T, 'offline');

    // Alice holds every member's key: the removal is applied here, signed and queued.
    const removed = await dispatch(alice, 'removeGroupMembers', [{ group: g.id, members: ['carol'] }], null, null);
    expect(removed).toMatchObject({ ok: true, value: { version: 2 } });
    expect(await members(alice, g.id)).toEqual(['alice', 'bob']);
    // Bob never talked to carol: leaving would need her key from the relay. A typed error, and nothing changed.
    expect(await dispatch(bob, 'leaveGroup', [{ group: g.id }], null, null)).toMatchObject({ ok: false, error: { code: 'OFFLINE' } });
    expect(await bob.groupInfo({ group: g.id })).toMatchObject({ active: true, version: 1 });

    relay = await startTestRelay({ dataDir, port });
    await Promise.all([alice.waitOnline(T), bob.waitOnline(T), carol.waitOnline(T)]);
    // The queued removal reaches both: nothing was lost while the relay was down.
    await waitUntil(async () => (await bob.groupInfo({ group: g.id })).version === 2, T, 'bob gets the removal');
    expect(await members(bob, g.id)).toEqual(['alice', 'bob']);
    await waitUntil(async () => !(await carol.groupInfo({ group: g.id })).active, T, 'carol learns she was removed');
    // Online again, bob's leave goes through (carol is no longer a member: no lookup needed).
    expect(await dispatch(bob, 'leaveGroup', [{ group: g.id }], null, null)).toMatchObject({ ok: true, value: { active: false } });
    await waitUntil(async () => (await members(alice, g.id)).length === 1, T, 'alice sees bob leave');
  });
});
