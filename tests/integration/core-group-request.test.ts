/**
 * Being added to a group by someone who is not a contact is a message request, over the in-memory relay (real
 * SQLite, real crypto workers, real Messenger; only the relay is in memory): accepting shows the group; blocking
 * refuses it, its later messages and changes (from anyone), and blocks whoever added us.
 */
import { describe, expect, it } from 'vitest';
import type { MemoryRelay } from '../helpers/memory-relay.js';
import { groupBodies as bodies, groupOfThree, until, type GroupUser } from '../helpers/group-users.js';

/** Alice adds bob and carol, who have never added anyone: to them, the group is a request from a stranger. */
async function strangers() {
  const { relay, alice, bob, carol, g } = await groupOfThree('strangers');
  await alice.messenger.groups.sendText(g, 'hello from alice');
  await until([bob.messenger], () => bodies(bob, g).includes('alice: hello from alice'));
  return { relay, alice, bob, carol, g };
}

/** Everything sent to `u` so far has been processed and acknowledged. */
async function settled(relay: MemoryRelay, u: GroupUser, senders: GroupUser[]): Promise<void> {
  for (const s of senders) await s.messenger.groups.flush();
  await until([u.messenger], () => relay.queueOf(u.current().keys.fingerprint).length === 0);
  await u.messenger.idle();
}

describe('a group request (added by someone who is not a contact)', () => {
  it('is a request until accepted; accepting shows the group and its messages', async () => {
    const { alice, bob, carol, g } = await strangers();
    expect(bob.messenger.groups.info(g)).toMatchObject({ request: true, blocked: false, active: true, name: 'strangers' });
    expect(bob.store.getContact('alice')).toMatchObject({ request: true, blocked: false });
    expect(bob.messenger.groups.info(g).events.map((e) => e.text)).toEqual(['alice added you to “strangers”']);

    expect(bob.messenger.groups.acceptRequest(g)).toMatchObject({ request: false, active: true });
    expect(bob.messenger.groups.list().map((i) => [i.id, i.request])).toEqual([[g, false]]);
    await carol.messenger.groups.sendText(g, 'hi from carol');
    await alice.messenger.groups.rename(g, 'friends');
    await until([bob.messenger], () => bodies(bob, g).includes('carol: hi from carol') && bob.messenger.groups.info(g).name === 'friends');
    expect(bodies(bob, g)).toEqual(['alice: hello from alice', 'carol: hi from carol']);
    await bob.messenger.groups.sendText(g, 'thanks');
    await until([alice.messenger], () => bodies(alice, g).includes('bob: thanks'));
  }, 120_000);

  it('blocking refuses the group, its later messages and changes from anyone, and blocks whoever added us', async () => {
    const { relay, alice, bob, carol, g } = await strangers();
    // Carol, an admin bob never blocked, can change the group and re-add him: the block must hold against her too.
    await alice.messenger.groups.makeAdmin(g, ['carol']);
    await until([bob.messenger, carol.messenger], () => bob.messenger.groups.info(g).version === 2 && carol.messenger.groups.info(g).version === 2);
    const blocked = bob.messenger.groups.blockRequest(g);
    expect(blocked).toMatchObject({ blocked: true, active: false, request: false });
    expect(bob.store.getContact('alice')).toMatchObject({ blocked: true });

    await alice.messenger.groups.sendText(g, 'are you there?');
    await carol.messenger.groups.rename(g, 'renamed after the block');
    await carol.messenger.groups.sendText(g, 'carol, whom bob never blocked');
    await settled(relay, bob, [alice, carol]);
    expect(bodies(bob, g)).toEqual(['alice: hello from alice']);
    expect(bob.messenger.groups.info(g)).toMatchObject({ name: 'strangers', version: 2, blocked: true, active: false });
    // A snapshot re-adding bob (carol removes and adds him again) does not bring the group back either.
    await carol.messenger.groups.remove(g, ['bob']);
    await carol.messenger.groups.add(g, ['bob']);
    await settled(relay, bob, [carol]);
    expect(bob.messenger.groups.info(g)).toMatchObject({ name: 'strangers', version: 2, blocked: true, active: false });
    expect(() => bob.messenger.groups.acceptRequest(g)).toThrow(expect.objectContaining({ code: 'BLOCKED' }));
    await expect(bob.messenger.groups.sendText(g, 'let me back in')).rejects.toMatchObject({ code: 'INVALID' });
  }, 120_000);
});
