/**
 * Group chats in the core over the in-memory relay (real SQLite, real crypto workers, real Messenger): create, talk,
 * delivery per member, offline catch-up, removal, refusals of a non-admin's change and of a non-member's message.
 */
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../relay/protocol/index.js';
import { toB64u } from '../../relay/protocol/index.js';
import { LABEL_CHANGE, canonicalJson, type GroupChange } from '../../electron/core/crypto/group-payload.js';
import { groupBodies as bodies, groupOfThree, groupUser, until, type GroupUser } from '../helpers/group-users.js';


describe('groups over the in-memory relay', () => {
  it('creates a group; each member’s messages reach the other two in order, with delivery per member', async () => {
    const { relay, alice, bob, carol, g } = await groupOfThree();
    expect(g).toMatch(/^[0-9a-f]{32}$/);
    for (const u of [bob, carol]) {
      const i = u.messenger.groups.info(g);
      expect(i).toMatchObject({ name: 'team', version: 1, active: true });
      expect(i.members).toEqual([
        { username: 'alice', role: 'admin', fingerprint: alice.keys.fingerprint },
        { username: 'bob', role: 'member', fingerprint: bob.keys.fingerprint },
        { username: 'carol', role: 'member', fingerprint: carol.keys.fingerprint },
      ]);
    }
    const a1 = await alice.messenger.groups.sendText(g, 'a1');
    await alice.messenger.groups.sendText(g, 'a2');
    await bob.messenger.groups.sendText(g, 'b1');
    await carol.messenger.groups.sendText(g, 'c1');
    const has = (u: GroupUser, n: number) => () => u.messenger.groups.loadPage(g).messages.length === n;
    const shown = () =>
      [alice, bob, carol].map((u) => `${u.username} has [${bodies(u, g).join(', ')}], ${relay.queueOf(u.keys.fingerprint).length} unacknowledged`).join('; ');
    await until([alice.messenger, bob.messenger, carol.messenger], () => has(alice, 4)() && has(bob, 4)() && has(carol, 4)(), shown);
    for (const u of [alice, bob, carol]) {
      const lines = bodies(u, g);
      expect(lines.filter((l) => l.startsWith('alice:'))).toEqual(['alice: a1', 'alice: a2']);
      expect(lines).toContain('bob: b1');
      expect(lines).toContain('carol: c1');
    }
    await until(
      [alice.messenger],
      () => alice.messenger.groups.deliveries(a1.id).delivered === 2,
      () => `deliveries of a1: ${JSON.stringify(alice.messenger.groups.deliveries(a1.id))}; unacknowledged at the relay for alice ${relay.queueOf(alice.keys.fingerprint).length}, bob ${relay.queueOf(bob.keys.fingerprint).length}, carol ${relay.queueOf(carol.keys.fingerprint).length}`,
    );
    expect(alice.messenger.groups.deliveries(a1.id)).toEqual({
      delivered: 2,
      total: 2,
      members: [
        { username: 'bob', state: 'delivered' },
        { username: 'carol', state: 'delivered' },
      ],
    });
    expect(alice.messenger.groups.loadPage(g).messages.find((m) => m.id === a1.id)?.state).toBe('delivered');
  });

  it('carol offline catches up; after her removal nothing sent later reaches her', async () => {
    const { relay, alice, bob, carol, g } = await groupOfThree();
    carol.disconnect();
    await alice.messenger.groups.sendText(g, 'while carol is away');
    await until([bob.messenger], () => bodies(bob, g).includes('alice: while carol is away'));
    await carol.connect();
    await until([carol.messenger], () => bodies(carol, g).includes('alice: while carol is away'));

    await alice.messenger.groups.remove(g, ['carol']);
    await until([bob.messenger, carol.messenger], () => !bob.messenger.groups.info(g).members.some((m) => m.username === 'carol') && !carol.messenger.groups.info(g).active);
    expect(carol.messenger.groups.info(g).events.map((e) => e.text)).toContain('alice removed carol');
    const before = relay.queueOf(carol.keys.fingerprint).length;
    await alice.messenger.groups.sendText(g, 'after the removal');
    await until([bob.messenger], () => bodies(bob, g).includes('alice: after the removal'));
    await carol.messenger.idle();
    expect(relay.queueOf(carol.keys.fingerprint).length).toBe(before); // no envelope addressed to her
    expect(bodies(carol, g)).not.toContain('alice: after the removal');
    // A late message from a member that still lists carol is refused by her: she is no longer a member.
    await expect(carol.messenger.groups.sendText(g, 'can I still talk?')).rejects.toMatchObject({ code: 'INVALID' });
  });

  it('refuses a non-admin’s membership change and a non-member’s message on every client', async () => {
    const { relay, alice, bob, carol, g } = await groupOfThree();
    // The core refuses to make it…
    await expect(bob.messenger.groups.remove(g, ['carol'])).rejects.toMatchObject({ code: 'INVALID' });
    // …and a client refuses it when a modified client sends it anyway: a correctly signed change from bob.
    const s = bob.store.groups.getGroup(g)!.state;
    const change: GroupChange = { op: 'remove', g, prev: s.head, version: s.version + 1, author: 'bob', ts: Date.now(), users: ['carol'] };
    const sig = toB64u(await bob.pool.sign(LABEL_CHANGE, utf8(canonicalJson(change))));
    const env = await bob.pool.seal({ recipients: [alice.keys.public, carol.keys.public], payload: { v: 1, type: 'group-change', ts: Date.now(), change, sig } });
    await bob.transport()!.send(env);
    // A message into the group from dave, who is not a member.
    const dave = await groupUser(relay, 'dave', 3);
    await dave.connect();
    const forged = await dave.pool.seal({ recipients: [alice.keys.public, bob.keys.public, carol.keys.public], payload: { v: 1, type: 'text', ts: Date.now(), body: 'let me in', g } });
    await dave.transport()!.send(forged);
    const refused = (u: GroupUser) => u.messenger.groups.info(g).events.filter((e) => e.kind === 'refused').map((e) => e.text);
    await until([alice.messenger, carol.messenger], () => refused(alice).length === 2 && refused(carol).length === 2 && refused(bob).length === 1);
    for (const u of [alice, carol]) {
      expect(refused(u)).toEqual(['a group change (remove) from bob refused: bob is not an admin (only admins remove members)', 'a message from dave refused: not a member of this group']);
      expect(u.messenger.groups.info(g).members.map((m) => m.username)).toEqual(['alice', 'bob', 'carol']);
      expect(bodies(u, g)).toEqual([]);
    }
    expect(refused(bob)).toEqual(['a message from dave refused: not a member of this group']);
  });
});
