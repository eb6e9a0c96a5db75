/**
 * A group member whose key change is pending, over the in-memory relay (real SQLite, real crypto workers, real
 * Messenger; only the relay is in memory): what alice sends to the group is held back for that member only (the
 * others get it at once), the group's data says who is held, and accepting the key sends everything held —
 * group messages and group control messages (changes) alike — re-sealed for the new key.
 */
import { describe, expect, it } from 'vitest';
import { groupBodies as bodies, groupOfThree, until } from '../helpers/group-users.js';


describe('a group member with a pending key change', () => {
  it('is held back alone, is shown as held, and gets the held messages and changes once the key is accepted', async () => {
    const { relay, alice, bob, carol, g } = await groupOfThree('team', { mutual: true });
    // Bob rotates his key; alice's next key check sees the new key: a key change waits for her decision.
    const bobNext = await bob.rotate(3);
    await alice.messenger.checkContactKey('bob');
    expect(alice.store.getContact('bob')?.pendingFingerprint).toBe(bobNext.fingerprint);

    const m = await alice.messenger.groups.sendText(g, 'while your key is pending');
    await alice.messenger.groups.rename(g, 'team 2');
    // Carol is not held back: she has both at once.
    await until([carol.messenger], () => bodies(carol, g).includes('alice: while your key is pending') && carol.messenger.groups.info(g).name === 'team 2');
    await alice.messenger.groups.flush();
    // Bob's envelopes wait in alice's outbox, each on its own (nothing reached his new key on the relay).
    const held = alice.store.listOutbox('bob');
    expect(held).toHaveLength(2);
    expect(held.every((i) => i.held)).toBe(true);
    expect(held.every((i) => i.envelope.to.length === 1)).toBe(true);
    expect(relay.queueOf(bobNext.fingerprint).filter((d) => (d.envelope as { from: string }).from === alice.keys.fingerprint)).toEqual([]);
    // The group's data says who is held: in the member list and in the message's delivery details.
    expect(alice.messenger.groups.info(g).held).toEqual(['bob']);
    await until([alice.messenger], () => alice.messenger.groups.deliveries(m.id).members.some((x) => x.username === 'carol' && x.state !== 'sending'));
    expect(alice.messenger.groups.deliveries(m.id).members.find((x) => x.username === 'bob')).toEqual({ username: 'bob', state: 'held' });

    // Alice accepts the key she reviewed: the held message and the held rename go to bob's new key, in order.
    await alice.messenger.acceptKeyChange('bob', bobNext.fingerprint);
    // Everything held left alice's outbox (old code: the rename was dropped here, silently) and bob has read it all.
    await until([bob.messenger, alice.messenger], () => alice.store.listOutbox('bob').length === 0 && bodies(bob, g).includes('alice: while your key is pending'));
    await bob.messenger.idle();
    expect(bob.messenger.groups.info(g)).toMatchObject({ name: 'team 2', version: 2 });
    expect(bob.messenger.groups.info(g).events.map((e) => e.text)).toContain('alice renamed the group to “team 2”');
    expect(bob.messenger.groups.info(g).events.filter((e) => e.kind === 'refused')).toEqual([]);
    expect(alice.messenger.groups.info(g).held).toEqual([]);
  }, 120_000);
});
