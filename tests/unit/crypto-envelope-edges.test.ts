/**
 * seal() and open() at their edges, refusal by refusal, with the exact reason and message (electron/core/crypto/
 * envelope.ts): what a caller or a log sees must name the failed check, and each check must refuse on its own.
 * Envelopes the tests re-address are re-signed with the sender's real key, so only the check under test can refuse.
 * Real keys (fixture identities).
 */
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { open, OpenError, seal, signLabeled, type IdentityKeys, type OpenErrorReason, type Payload } from '../../electron/core/crypto/index.js';
import { envelopeSignedParts, fromB64u, LABELS, LIMITS, toB64u, type Envelope, type PublicIdentity } from '../../relay/protocol/index.js';
import { fixtureKeys } from '../helpers/identities.js';

let alice: IdentityKeys;
let bob: IdentityKeys;
let carol: IdentityKeys;
let base: Envelope; // alice → [bob, carol]

const text = (body: string): Payload => ({ v: 1, type: 'text', ts: 1_700_000_000_000, body });
const TAMPERED = 'envelope does not decrypt (tampered or damaged)';

beforeAll(async () => {
  [alice, bob, carol] = await Promise.all([fixtureKeys(0), fixtureKeys(1), fixtureKeys(2)]);
}, 60_000);

// Sealed once but awaited in beforeEach: a broken seal() fails every test (from beforeAll they would be skipped,
// which Stryker's vitest runner counts as passing).
let sealed: Promise<Envelope> | undefined;
beforeEach(async () => {
  base = await (sealed ??= seal({ sender: alice, recipients: [bob.public, carol.public], payload: text('hello') }));
});

/** The OpenError open() refuses with, as { reason, message }. */
async function refusal(envelope: unknown, me: IdentityKeys, sender: unknown = alice.public): Promise<{ reason: OpenErrorReason; message: string }> {
  const e = await open({ envelope, me, sender: sender as PublicIdentity }).then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(OpenError);
  return { reason: (e as OpenError).reason, message: (e as OpenError).message };
}

/** `env` with its fields changed by `edit`, signed again by alice (so the signature is valid). */
async function resigned(env: Envelope, edit: (u: Omit<Envelope, 'sig'>) => Omit<Envelope, 'sig'>): Promise<Envelope> {
  const { sig: _sig, ...unsigned } = env;
  const changed = edit(structuredClone(unsigned));
  const sig = await signLabeled(alice, LABELS.envelope, ...envelopeSignedParts(changed));
  return { ...changed, sig: toB64u(sig) };
}

describe('seal refusals', () => {
  it('names what is wrong', async () => {
    await expect(seal({ sender: alice, recipients: [bob.public], payload: text('x'), id: 'short' })).rejects.toThrow(
      new TypeError('seal: id must be 16 bytes of base64url'),
    );
    await expect(seal({ sender: alice, recipients: [], payload: text('x') })).rejects.toThrow(new TypeError('seal: at least one recipient'));
    await expect(seal({ sender: alice, recipients: bob.public as unknown as PublicIdentity[], payload: text('x') })).rejects.toThrow(
      new TypeError('seal: at least one recipient'),
    );
    await expect(seal({ sender: alice, recipients: [{ ...bob.public, v: 2 } as unknown as PublicIdentity], payload: text('x') })).rejects.toThrow(
      new TypeError('seal: malformed recipient identity'),
    );
  });

  it('wraps the key for each distinct recipient and the sender, sorted; the same recipient twice counts once', async () => {
    const env = await seal({ sender: alice, recipients: [carol.public, bob.public, carol.public], payload: text('x') });
    expect(env.to).toEqual([bob.fingerprint, carol.fingerprint].sort());
    // sorted whatever order they come in (one of the two orders is not sorted already)
    expect((await seal({ sender: alice, recipients: [bob.public, carol.public], payload: text('x') })).to).toEqual(env.to);
    expect(env.keys.map((k) => k.to)).toEqual([alice.fingerprint, bob.fingerprint, carol.fingerprint].sort());
    expect(env.from).toBe(alice.fingerprint);
    for (const me of [alice, bob, carol]) expect((await open({ envelope: env, me, sender: alice.public })).payload).toEqual(text('x'));
  });
});

describe('open refusals', () => {
  it('not an object, another version, a schema failure', async () => {
    for (const junk of [null, [], 'x', 7]) expect(await refusal(junk, bob)).toEqual({ reason: 'malformed', message: 'envelope is not an object' });
    expect(await refusal({ ...base, v: 2 }, bob)).toEqual({ reason: 'unknown-version', message: 'envelope version 2 is not supported' });
    // a non-numeric version is a schema failure, not a version question
    expect((await refusal({ ...base, v: '2' }, bob)).reason).toBe('malformed');
    const extra = await refusal({ ...base, extra: 1 }, bob);
    expect(extra.reason).toBe('malformed');
    expect(extra.message).toMatch(/^malformed envelope: .*extra/); // zod's own issue, not a generic word
  });

  it('a ciphertext that is not a padded bucket is malformed, before any signature check', async () => {
    const ct = fromB64u(base.ct);
    const short = { ...base, ct: toB64u(ct.subarray(0, ct.byteLength - 1)) };
    expect(await refusal(short, bob)).toEqual({ reason: 'malformed', message: 'malformed envelope: ciphertext is not a padded bucket' });
    // the same length check holds for the sealed part: tag bytes are not counted
    const noTag = { ...base, ct: toB64u(ct.subarray(0, ct.byteLength - LIMITS.tagBytes)) };
    expect((await refusal(noTag, bob)).message).toBe('malformed envelope: ciphertext is not a padded bucket');
  });

  it('a pinned sender that is not exactly an identity, or another identity, is the wrong sender', async () => {
    const wrong = { reason: 'wrong-sender', message: 'envelope is not from the expected sender' };
    expect(await refusal(base, bob, carol.public)).toEqual(wrong);
    expect(await refusal(base, bob, { ...alice.public, extra: 1 })).toEqual(wrong);
    expect(await refusal(base, bob, { ...alice.public, v: 2 })).toEqual(wrong);
    expect(await refusal(base, bob, { v: 1, enc: alice.public.enc })).toEqual(wrong);
    expect(await refusal(base, bob, null)).toEqual(wrong);
    expect(await refusal(base, bob, [alice.public])).toEqual(wrong);
    // and after all of these, the real sender still opens (nothing bad was cached)
    expect((await open({ envelope: base, me: bob, sender: alice.public })).payload).toEqual(text('hello'));
  });

  it('a bad signature, a non-recipient, a damaged wrapped key and a damaged ciphertext, each with its message', async () => {
    const sig = fromB64u(base.sig);
    sig[0]! ^= 1;
    expect(await refusal({ ...base, sig: toB64u(sig) }, bob)).toEqual({ reason: 'bad-signature', message: 'envelope signature does not verify' });
    expect(await refusal(base, (await fixtureKeys(3)) as IdentityKeys)).toEqual({
      reason: 'not-recipient',
      message: 'envelope is not addressed to this identity',
    });
    // re-signed, so only the unwrap or the decryption can notice
    const badKey = await resigned(base, (u) => {
      const k = u.keys.find((x) => x.to === bob.fingerprint)!;
      const bytes = fromB64u(k.k);
      bytes[10]! ^= 1;
      k.k = toB64u(bytes);
      return u;
    });
    expect(await refusal(badKey, bob)).toEqual({ reason: 'tampered', message: TAMPERED });
    expect((await open({ envelope: badKey, me: carol, sender: alice.public })).payload).toEqual(text('hello')); // carol's key is intact
    const badCt = await resigned(base, (u) => {
      const bytes = fromB64u(u.ct);
      bytes[3]! ^= 1;
      return { ...u, ct: toB64u(bytes) };
    });
    expect(await refusal(badCt, bob)).toEqual({ reason: 'tampered', message: TAMPERED });
    // the header is the AAD: a re-signed envelope with another id does not decrypt
    const otherId = await resigned(base, (u) => ({ ...u, id: 'AAECAwQFBgcICQoLDA0ODw' }));
    expect(await refusal(otherId, bob)).toEqual({ reason: 'tampered', message: TAMPERED });
  });

  it('the sender opens its own copy; a recipient dropped from `to` (re-signed) is no recipient, the rest cannot decrypt', async () => {
    expect((await open({ envelope: base, me: alice, sender: alice.public })).payload).toEqual(text('hello'));
    const withoutCarol = await resigned(base, (u) => ({
      ...u,
      to: u.to.filter((fp) => fp !== carol.fingerprint),
      keys: u.keys.filter((k) => k.to !== carol.fingerprint),
    }));
    expect(await refusal(withoutCarol, carol)).toEqual({ reason: 'not-recipient', message: 'envelope is not addressed to this identity' });
    // the sender without a wrapped key of its own (re-signed): its own copy is not addressed to it
    const noSelf = await resigned(base, (u) => ({ ...u, keys: u.keys.filter((k) => k.to !== alice.fingerprint) }));
    expect(await refusal(noSelf, alice)).toEqual({ reason: 'not-recipient', message: 'envelope is not addressed to this identity' });
    expect((await open({ envelope: noSelf, me: bob, sender: alice.public })).payload).toEqual(text('hello'));
    // `to` is in the header, the AAD: for bob, still addressed, it no longer decrypts
    expect(await refusal(withoutCarol, bob)).toEqual({ reason: 'tampered', message: TAMPERED });
  });
});
