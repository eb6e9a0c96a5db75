/**
 * Story, over the in-memory relay (real encrypted SQLite, real crypto workers, real Messenger; only the relay is in
 * memory): Bob rotates his key and Alice's client sees it; until she decides, everything she sends him is held. She
 * edits one of her messages, deletes another for everyone, reacts to his, replies to it with a quote, and writes a
 * new message which she edits at once. When she accepts his new key, every held item leaves exactly once, in the
 * order she wrote them, sealed for the new key, and Bob's client applies each one.
 */
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../relay/protocol/index.js';
import { groupUser as user, until } from '../helpers/group-users.js';
import { MemoryRelay } from '../helpers/memory-relay.js';

describe('held message actions after a key change is accepted', () => {
  it('edits, deletes for everyone, reactions and reply quotes arrive and apply, in order', async () => {
    const relay = new MemoryRelay();
    const alice = await user(relay, 'alice', 0);
    const bob = await user(relay, 'bob', 1);
    await alice.connect();
    await bob.connect();
    await alice.messenger.addContact('bob');
    await bob.messenger.addContact('alice');

    const first = await alice.messenger.sendText('bob', 'first, to be edited');
    const second = await alice.messenger.sendText('bob', 'second, to be deleted');
    const fromBob = await bob.messenger.sendText('alice', 'a message from bob');
    await until([alice.messenger, bob.messenger], () => {
      const got = bob.messenger.loadMessages('alice').messages.filter((m) => m.direction === 'in').length;
      return got === 2 && alice.messenger.loadMessages('bob').messages.some((m) => m.id === fromBob.id);
    });

    const bobNext = await bob.rotate(3);
    await alice.messenger.checkContactKey('bob');
    expect(alice.store.getContact('bob')?.pendingFingerprint).toBe(bobNext.fingerprint);

    await alice.messenger.edit(first.id, 'first, edited while held');
    await alice.messenger.deleteForEveryone(second.id);
    await alice.messenger.react(fromBob.id, '👍');
    const reply = await alice.messenger.sendText('bob', 'replying while held', { replyTo: fromBob.id });
    const fresh = await alice.messenger.sendText('bob', 'new while held');
    await alice.messenger.edit(fresh.id, 'new while held, then edited');
    await alice.messenger.flushOutbox();
    const held = alice.store.listOutbox('bob');
    expect(held).toHaveLength(6);
    expect(held.every((i) => i.held)).toBe(true);
    const heldIds = held.map((i) => i.envelope.id);

    const sentBefore = relay.sendAttempts.length;
    await alice.messenger.acceptKeyChange('bob', bobNext.fingerprint);
    // Bounded waits: on failure they say what was still missing instead of running into the test timeout.
    await until(
      [alice.messenger, bob.messenger],
      () => alice.store.listOutbox('bob').length === 0 && bob.messenger.loadMessages('alice').messages.some((m) => m.id === fresh.id && m.edited),
      () => `alice's outbox to bob: ${alice.store.listOutbox('bob').length}; bob has: ${JSON.stringify(bob.messenger.loadMessages('alice').messages.map((m) => [m.body, m.edited, m.deleted]))}`,
      30_000,
    );
    await bob.messenger.idle();

    // Exactly once each, in the order written, all to the new key.
    const after = relay.sendAttempts.slice(sentBefore).filter((s) => s.from === alice.keys.fingerprint);
    expect(after.map((s) => s.id)).toEqual(heldIds);
    const toOld = relay.queueOf(bob.keys.fingerprint).filter((d) => heldIds.includes((d.envelope as Envelope).id));
    expect(toOld).toEqual([]);

    const page = bob.messenger.loadMessages('alice').messages;
    const byId = (id: string) => page.find((m) => m.id === id)!;
    expect(byId(first.id)).toMatchObject({ body: 'first, edited while held', edited: true });
    expect(byId(second.id)).toMatchObject({ deleted: true });
    expect(byId(fromBob.id).reactions).toEqual({ '👍': ['alice'] });
    expect(byId(reply.id)).toMatchObject({ body: 'replying while held', replyTo: { id: fromBob.id, author: 'bob', excerpt: 'a message from bob' } });
    expect(byId(fresh.id)).toMatchObject({ body: 'new while held, then edited', edited: true });
    expect(bob.messenger.diagnostics().quarantineStored).toBe(0);
  }, 120_000);
});
