/**
 * The client's acknowledgements (electron/core/messenger/acks.ts): one ack request at a time; what is committed
 * while one is in flight goes out together in the next; a failed ack reports 0 acknowledged and makes the client
 * fetch again, so the relay redelivers and everything ends up acknowledged once stored.
 * Bob's real client (Messenger, encrypted SQLite, crypto workers, RelayClient) against the scriptable relay of
 * tests/helpers/fake-relay.ts, which here leaves the first ack request unanswered.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadIdentity, type IdentityKeys } from '../../electron/core/crypto/index.js';
import type { IdentitySecret } from '../../electron/core/crypto/types.js';
import { cleanupAll, waitUntil } from '../helpers/core.js';
import { FakeRelay, receiver, sealFrom } from '../helpers/fake-relay.js';
import { fixtureIdentity, fixtureKeys } from '../helpers/identities.js';

let alice: IdentityKeys;
let bobSecret: IdentitySecret;
let bobKeys: IdentityKeys;

beforeAll(async () => {
  alice = await fixtureKeys(0);
  bobSecret = await fixtureIdentity(1);
  bobKeys = await loadIdentity(bobSecret);
}, 120_000);

afterAll(cleanupAll);

test('one ack request at a time: what commits meanwhile goes out together; a failed ack counts 0 and is made good', async () => {
  const relay = await FakeRelay.start();
  relay.publish('alice', alice);
  // The first ack request is never answered (the client gives up after its request timeout); later ones are.
  const requests: string[][] = [];
  relay.hooks.ack = (items) => {
    requests.push(items.map((i) => i.id));
    return requests.length > 1;
  };
  const bob = await receiver(relay.url, bobSecret, { requestTimeoutMs: 4000 });
  await bob.messenger.addContact('alice');
  const shown: string[] = [];
  bob.messenger.on('message-received', (m) => shown.push(m.id));
  const stored: Array<{ stored: number; acked: number }> = [];
  bob.messenger.on('batch-stored', (b) => stored.push(b));

  const [e1, e2, e3] = [await sealFrom(alice, bobKeys.public, 'one'), await sealFrom(alice, bobKeys.public, 'two'), await sealFrom(alice, bobKeys.public, 'three')];
  relay.deliver([e1]);
  await waitUntil(() => requests.length === 1, 20_000, 'first ack request');
  expect(requests[0]).toEqual([e1.id]);
  // committed while that request hangs: their acks wait for it
  relay.deliver([e2]);
  relay.deliver([e3]);
  await waitUntil(() => shown.includes(e2.id) && shown.includes(e3.id), 20_000, 'two more stored');
  expect(requests).toHaveLength(1);

  // the hanging request fails; the waiting items go out in one request, then the refetch redelivers e1
  await relay.waitAcks(() => [e1, e2, e3].every((e) => relay.isAcked(e.from, e.id)));
  expect([...requests[1]!].sort()).toEqual([e2.id, e3.id].sort());
  expect(requests.slice(2).flat()).toContain(e1.id);
  await waitUntil(() => stored.length >= 4, 20_000, 'every batch reported');
  // the failed request acknowledged nothing; the others all they carried; e1 shown once however often delivered
  expect(stored[0]).toEqual({ stored: 1, acked: 0 });
  expect(stored.slice(1, 3)).toEqual([
    { stored: 1, acked: 1 },
    { stored: 1, acked: 1 },
  ]);
  expect(stored.slice(3).some((b) => b.stored === 0 && b.acked >= 1)).toBe(true);
  expect(shown.filter((id) => id === e1.id)).toHaveLength(1);
  expect(bob.messenger.loadMessages('alice', null, 10).messages.map((m) => m.body)).toEqual(['one', 'two', 'three']);
});
