/**
 * A sender the user had not added yet, added while the receive path waited for the relay's answer about them (in a
 * group, sending to a member who is not a contact adds them too): the envelope is theirs with the key just pinned,
 * so it is shown, not held as if their key had changed. Found in CI as a group message that never appeared
 * (acknowledged to the relay, held as a "key change" to the same key). In-memory relay with a gated lookup; real
 * SQLite, crypto workers and Messenger.
 */
import { expect, it } from 'vitest';
import { groupUser, until } from '../helpers/group-users.js';
import { MemoryRelay } from '../helpers/memory-relay.js';

it('a sender added with the same key during the sender lookup is current: the message is shown, nothing held', async () => {
  const relay = new MemoryRelay();
  const bob = await groupUser(relay, 'bob', 1);
  const carol = await groupUser(relay, 'carol', 2);
  await bob.connect();
  await carol.connect();
  await bob.messenger.addContact('carol');
  let raced = false;
  relay.lookupGate = async (asker, q) => {
    // Carol's receive path asks who signed bob's envelope; before the answer arrives, Carol adds Bob herself.
    if (asker === carol.keys.fingerprint && 'fingerprint' in q && q.fingerprint === bob.keys.fingerprint && !raced) {
      raced = true;
      await carol.messenger.addContact('bob');
    }
  };
  await bob.messenger.sendText('carol', 'hello before you added me');
  const shown = () => !!carol.store.getContact('bob') && carol.messenger.loadMessages('bob').messages.some((m) => m.body === 'hello before you added me');
  await until([carol.messenger], shown, () => `raced ${raced}; carol's contact bob: ${JSON.stringify(carol.store.getContact('bob')?.pendingFingerprint ?? null)}; held ${carol.store.listPendingEnvelopes('bob').length}`);
  expect(raced).toBe(true);
  expect(carol.store.getContact('bob')!.pendingFingerprint).toBeNull();
  expect(carol.store.listPendingEnvelopes('bob')).toEqual([]);
}, 120_000);
