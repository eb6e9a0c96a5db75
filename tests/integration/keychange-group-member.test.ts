/**
 * A group member rotates their key (PROTOCOL.md §11.9), three users (and a fourth added later) over the in-memory
 * relay (real encrypted SQLite, real crypto workers, real Messenger; the relay in memory, refusing envelopes to
 * unregistered keys as the real one does).
 *
 * Alice and Carol have Bob as a contact. Bob rotates and writes to the group with his new key. Alice accepts the new key, Carol has not decided yet. Then:
 * Bob's messages and changes count as his on Alice's side (old code: refused, "not a member", because the group
 * state lists his old key); what Alice sends reaches Bob's new key at once; what Carol sends is held for Bob alone
 * until she accepts too; files name Bob's new key; and a member Alice adds later gets a state with Bob's new key.
 */
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../relay/protocol/index.js';
import { TransportError } from '../../electron/core/transport/errors.js';
import { groupBodies as bodies, groupOfThree, groupUser, until } from '../helpers/group-users.js';

describe('a group member who rotated their key', () => {
  it('is sealed for and accepted under the new key by whoever accepted it, held only by whoever has not', async () => {
    const { relay, alice, bob, carol, g } = await groupOfThree('team', { mutual: true });
    // Carol pinned Bob's key as a contact too (a key change is a change of a pinned key).
    await carol.messenger.addContact('bob');
    relay.sendFault = (_from, env: Envelope) => {
      const registered = new Set([...relay.directory.values()].map((d) => d.fingerprint));
      return env.to.some((fp) => !registered.has(fp)) ? new TransportError('NOT_FOUND', 'recipient not registered') : null;
    };
    const oldBob = bob.keys.fingerprint;
    const bobNext = await bob.rotate(3);
    const pendingAt = (u: typeof alice) => u.store.getContact('bob')?.pendingFingerprint === bobNext.fingerprint;
    const all = [alice.messenger, bob.messenger, carol.messenger];

    await bob.messenger.groups.sendText(g, 'bob with his new key');
    await until(all, () => pendingAt(alice) && pendingAt(carol), () => 'alice and carol see the pending key', 30_000);

    await alice.messenger.acceptKeyChange('bob', bobNext.fingerprint);
    await until(all, () => bodies(alice, g).includes('bob: bob with his new key'), () => `alice: ${bodies(alice, g)}; events ${JSON.stringify(alice.messenger.groups.info(g).events)}`, 30_000);
    expect(alice.messenger.groups.info(g).events.filter((e) => e.kind === 'refused')).toEqual([]);
    expect(alice.messenger.groups.info(g).members.find((m) => m.username === 'bob')?.fingerprint).toBe(bobNext.fingerprint);

    // Alice → group: Bob's new key gets it at once, nothing is held.
    const fromAlice = await alice.messenger.groups.sendText(g, 'alice after accepting');
    await until(all, () => bodies(bob, g).includes('alice: alice after accepting') && bodies(carol, g).includes('alice: alice after accepting'), () => `bob: ${bodies(bob, g)}`, 30_000);
    await until(all, () => alice.messenger.groups.deliveries(fromAlice.id).members.every((m) => m.state === 'delivered'), () => JSON.stringify(alice.messenger.groups.deliveries(fromAlice.id)), 30_000);
    expect(alice.store.listOutbox()).toEqual([]);
    // Files from Alice name Bob's new key as a recipient (the relay refuses the old one).
    expect(alice.messenger.groupFiles.recipients(g)).toContain(bobNext.fingerprint);
    expect(alice.messenger.groupFiles.recipients(g)).not.toContain(oldBob);

    // Carol has not decided: her message goes to alice, and is held for bob alone.
    await carol.messenger.groups.sendText(g, 'carol before accepting');
    await until(all, () => bodies(alice, g).includes('carol: carol before accepting'));
    await carol.messenger.groups.flush();
    expect(carol.messenger.groups.info(g).held).toEqual(['bob']);
    expect(carol.store.listOutbox('bob').every((i) => i.held)).toBe(true);
    expect(carol.store.listOutbox('bob').length).toBeGreaterThan(0);
    expect(bodies(bob, g)).not.toContain('carol: carol before accepting');

    // A change by Bob, signed with his new key, is applied by Alice (old code: "signed by a key the group does not list").
    await bob.messenger.groups.rename(g, 'team, renamed by bob');
    await until(all, () => alice.messenger.groups.info(g).name === 'team, renamed by bob', () => JSON.stringify(alice.messenger.groups.info(g).events));

    // Carol accepts: her held message reaches Bob; his message and his rename open for her.
    await carol.messenger.acceptKeyChange('bob', bobNext.fingerprint);
    await until(
      all,
      () => bodies(bob, g).includes('carol: carol before accepting') && bodies(carol, g).includes('bob: bob with his new key') && carol.messenger.groups.info(g).name === 'team, renamed by bob',
      () => `bob: ${bodies(bob, g)}; carol: ${bodies(carol, g)}; carol events ${JSON.stringify(carol.messenger.groups.info(g).events)}`,
      30_000,
    );
    expect(carol.messenger.groups.info(g).events.filter((e) => e.kind === 'refused')).toEqual([]);
    expect(carol.messenger.groups.info(g).held).toEqual([]);

    // Dave, added by Alice afterwards, gets a state that lists Bob's new key, so Bob's messages count as his.
    const dave = await groupUser(relay, 'dave', 4);
    await dave.connect();
    await alice.messenger.addContact('dave');
    await alice.messenger.groups.add(g, ['dave']);
    await until([...all, dave.messenger], () => dave.store.groups.getGroup(g) !== null && bob.messenger.groups.info(g).members.some((m) => m.username === 'dave'));
    expect(dave.messenger.groups.info(g).members.find((m) => m.username === 'bob')?.fingerprint).toBe(bobNext.fingerprint);
    await bob.messenger.groups.sendText(g, 'welcome, dave');
    await until([...all, dave.messenger], () => bodies(dave, g).includes('bob: welcome, dave'), () => `dave: ${bodies(dave, g)}; events ${JSON.stringify(dave.messenger.groups.info(g).events)}`, 30_000);
  }, 180_000);
});
