/**
 * The messenger against the in-memory relay (Transport seam): real encrypted SQLite, real crypto workers, real
 * Messenger; only the relay is in memory. Checks the seam carries a whole conversation: add, send, receive, receipt,
 * and a message queued while the recipient was offline.
 */
import { describe, expect, it } from 'vitest';
import { groupUser as user, next } from '../helpers/group-users.js';
import { MemoryRelay } from '../helpers/memory-relay.js';

describe('messenger over the in-memory relay (Transport seam)', () => {
  it('carries a conversation: add, send, receive, receipt, and offline catch-up', async () => {
    const relay = new MemoryRelay();
    const alice = await user(relay, 'alice', 0);
    const bob = await user(relay, 'bob', 1);
    await alice.connect();
    await alice.messenger.addContact('bob');

    // Bob is offline: the message waits in his queue and arrives when he connects.
    const sent = await alice.messenger.sendText('bob', 'queued while you were away');
    const received = next(bob.messenger, 'message-received', (m) => m.id === sent.id);
    const delivered = next(alice.messenger, 'message-state', (s) => s.id === sent.id && s.state === 'delivered');
    await bob.connect();
    expect(await received).toMatchObject({ conversation: 'd:alice', sender: 'alice', body: 'queued while you were away' });
    expect(await delivered).toMatchObject({ conversation: 'd:bob', contact: 'bob' });
    await bob.messenger.idle();
    expect(relay.queueOf(bob.keys.fingerprint)).toEqual([]); // acknowledged after storing

    // Online both ways: a reply arrives pushed.
    const replyIn = next(alice.messenger, 'message-received', (m) => m.body === 'back now');
    await bob.messenger.sendText('alice', 'back now');
    expect(await replyIn).toMatchObject({ conversation: 'd:bob', sender: 'bob', direction: 'in' });
    expect(bob.messenger.loadMessages('alice').messages.map((m) => [m.direction, m.body])).toEqual([
      ['in', 'queued while you were away'],
      ['out', 'back now'],
    ]);
  });
});
