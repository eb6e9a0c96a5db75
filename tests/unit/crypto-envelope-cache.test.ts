/**
 * open()'s cache of validated senders (electron/core/crypto/envelope.ts): bounded, least recently used out first,
 * never holding a sender that failed validation, and never in the way of a refusal. open() answers the same with or
 * without the cache, so these tests read its keys (public identity strings only) through senderCacheKeys().
 * Real keys (fixture identities); the other senders are syntactically valid identities with random key bytes, which
 * open() validates and then refuses as 'wrong-sender' for this envelope.
 */
import { randomBytes } from 'node:crypto';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { open, OpenError, seal, type IdentityKeys } from '../../electron/core/crypto/index.js';
import { SENDER_CACHE_MAX, senderCacheKeys } from '../../electron/core/crypto/envelope.js';
import { toB64u, type Envelope, type PublicIdentity } from '../../relay/protocol/index.js';
import { fixtureKeys } from '../helpers/identities.js';

let alice: IdentityKeys;
let bob: IdentityKeys;
let env: Envelope; // alice → bob

beforeAll(async () => {
  [alice, bob] = await Promise.all([fixtureKeys(0), fixtureKeys(1)]);
}, 60_000);

// Sealed once but awaited in beforeEach (from beforeAll a broken seal() would only skip the tests).
let sealed: Promise<Envelope> | undefined;
beforeEach(async () => {
  env = await (sealed ??= seal({ sender: alice, recipients: [bob.public], payload: { v: 1, type: 'text', ts: 1_700_000_000_000, body: 'hi' } }));
});

/** A structurally valid public identity of random key bytes (validates; not the envelope's sender). */
function stranger(): PublicIdentity {
  return { v: 1, enc: toB64u(randomBytes(64)), sig: toB64u(randomBytes(32)) };
}
const keyOf = (id: PublicIdentity): string => `${id.enc}.${id.sig}`;

/** open() with `sender` pinned: must refuse as wrong-sender (the envelope is alice's). */
async function openAs(sender: unknown): Promise<void> {
  const e = await open({ envelope: env, me: bob, sender: sender as PublicIdentity }).then(
    () => new Error('opened'),
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(OpenError);
  expect((e as OpenError).reason).toBe('wrong-sender');
}

describe('the sender cache', () => {
  it('keeps the most recent 256 validated senders, least recently used first, and refreshes a sender it serves', async () => {
    expect(SENDER_CACHE_MAX).toBe(256);
    const senders = Array.from({ length: SENDER_CACHE_MAX + 44 }, stranger);
    for (const s of senders) await openAs(s);
    expect(senderCacheKeys()).toEqual(senders.slice(44).map(keyOf));

    // A hit moves the sender to the most recent end; the next new sender then evicts the one after it.
    await openAs(senders[44]);
    const fresh = stranger();
    await openAs(fresh);
    expect(senderCacheKeys()).toEqual([...senders.slice(46), senders[44]!, fresh].map(keyOf));

    // The real sender is cached too, and opening with it works.
    expect((await open({ envelope: env, me: bob, sender: alice.public })).payload).toMatchObject({ body: 'hi' });
    expect(senderCacheKeys().at(-1)).toBe(keyOf(alice.public));
    expect(senderCacheKeys()).toHaveLength(SENDER_CACHE_MAX);
  });

  it('does not keep a sender that fails validation, nor anything that is not an identity object', async () => {
    const before = senderCacheKeys();
    const shortSig: PublicIdentity = { v: 1, enc: toB64u(randomBytes(64)), sig: toB64u(randomBytes(3)) }; // right shape, wrong key size
    await openAs(shortSig);
    const after = senderCacheKeys();
    expect(after).not.toContain(keyOf(shortSig));
    // (Its place was made before the validation failed: at most the least recently used sender went.)
    expect(after.every((k) => before.includes(k))).toBe(true);
    expect(after.length).toBeGreaterThanOrEqual(before.length - 1);
    for (const notIdentity of [null, undefined, 'alice', 42, [], [1, 2, 3], { ...stranger(), extra: 1 }, { v: 1, enc: 5, sig: 'x' }, { v: 2, enc: 'AA', sig: 'AA' }]) {
      await openAs(notIdentity);
    }
    expect(senderCacheKeys()).toEqual(after);
  });
});
