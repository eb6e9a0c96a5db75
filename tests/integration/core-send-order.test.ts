/**
 * Story: Bob writes twice to Alice; the relay refuses the first send for now (a retryable error). His second
 * message must not overtake the first: the relay receives them in the order he wrote them, so Alice (whose client
 * stores in relay order) shows them in that order. Real Messenger, SQLite, crypto workers and RelayClient against
 * the scriptable relay of tests/helpers/fake-relay.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { IdentityKeys } from '../../electron/core/crypto/index.js';
import type { IdentitySecret } from '../../electron/core/crypto/types.js';
import { cleanupAll, waitUntil } from '../helpers/core.js';
import { FakeRelay, receiver } from '../helpers/fake-relay.js';
import { fixtureIdentity, fixtureKeys } from '../helpers/identities.js';

let alice: IdentityKeys;
let bobSecret: IdentitySecret;

beforeAll(async () => {
  alice = await fixtureKeys(0);
  bobSecret = await fixtureIdentity(1);
}, 120_000);

afterAll(cleanupAll);

describe('send order', () => {
  test('a message waiting for its retry is not overtaken by a later one to the same contact', async () => {
    const relay = await FakeRelay.start();
    relay.publish('alice', alice);
    const bob = await receiver(relay.url, bobSecret, { messenger: { retry: { baseMs: 1500, maxMs: 1500 } } });
    await bob.messenger.addContact('alice');
    let refused = 0;
    relay.hooks.send = () => {
      if (refused > 0) return undefined;
      refused++;
      return { ok: false, error: { code: 'INTERNAL', message: 'try again later' } };
    };

    const first = await bob.messenger.sendText('alice', 'first');
    // The refusal is recorded: the first message now waits for its retry (0.75–2.25 s with jitter).
    await waitUntil(() => (bob.store.getOutbox(first.id)?.attempts ?? 0) === 1, 10_000, 'the first send refused');
    const second = await bob.messenger.sendText('alice', 'second');
    await waitUntil(() => relay.sent.length === 2, 20_000, 'both sent');
    expect(relay.sent.map((e) => e.id)).toEqual([first.id, second.id]);
    expect(refused).toBe(1);
  });
});
