/**
 * open()'s fast path: the per-thread sender cache (validated identity, fingerprint, imported Ed25519 key) must
 * never let a sender through that the full schema + fingerprint check would refuse, and the node:crypto
 * Ed25519 / AES-GCM primitives behave like the Web Crypto ones they replaced (typed errors, no plaintext on a
 * bad tag, byteOffset views honoured). Real fixture keys; nothing mocked.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { CryptoPool, loadIdentity, open, OpenError, seal, type IdentityKeys, type IdentitySecret, type Payload } from '../../electron/core/crypto/index.js';
import {
  aesGcmDecrypt,
  aesGcmEncrypt,
  ed25519Verify,
  ed25519VerifyWithKey,
  importAesKey,
  importEd25519PublicKey,
  randomBytes,
} from '../../electron/core/crypto/primitives.js';
import { toB64u, type Envelope } from '../../relay/protocol/index.js';
import { fixtureIdentities } from '../helpers/identities.js';

let secrets: IdentitySecret[];
let alice: IdentityKeys;
let bob: IdentityKeys;
let carol: IdentityKeys;
let fromAlice: Envelope; // alice → bob
let fromCarol: Envelope; // carol → bob

const text = (body: string): Payload => ({ v: 1, type: 'text', ts: 1_700_000_000_000, body });

async function reason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(OpenError);
    return (e as OpenError).reason;
  }
  throw new Error('open() accepted');
}

beforeAll(async () => {
  secrets = await fixtureIdentities(3);
  [alice, bob, carol] = (await Promise.all(secrets.map((s) => loadIdentity(s)))) as [IdentityKeys, IdentityKeys, IdentityKeys];
  fromAlice = await seal({ sender: alice, recipients: [bob.public], payload: text('from alice') });
  fromCarol = await seal({ sender: carol, recipients: [bob.public], payload: text('from carol') });
});

describe('open(): sender cache', () => {
  it('a cached sender does not admit look-alike identities', async () => {
    expect((await open({ envelope: fromAlice, me: bob, sender: alice.public })).payload).toEqual(text('from alice')); // now cached
    const a = alice.public;
    const lookAlikes: unknown[] = [
      { ...a, extra: 1 },
      { ...a, v: 2 },
      { v: 1, enc: a.enc },
      { enc: a.enc, sig: a.sig, x: 1 },
      { v: 1, enc: a.enc, sig: carol.public.sig }, // alice's RSA key, carol's signing key: another fingerprint
      { v: 1, enc: carol.public.enc, sig: a.sig },
      Object.assign(Object.create({ v: 1 }) as object, { enc: a.enc, sig: a.sig, y: 0 }), // v only inherited
      null,
      'alice',
    ];
    for (const sender of lookAlikes) {
      expect(await reason(open({ envelope: fromAlice, me: bob, sender: sender as typeof a }))).toBe('wrong-sender');
    }
    // Still fine afterwards (nothing bad was cached).
    expect((await open({ envelope: fromAlice, me: bob, sender: alice.public })).payload).toEqual(text('from alice'));
  });

  it('a cached sender key verifies only that sender: a re-signed envelope under another key is refused', async () => {
    await open({ envelope: fromCarol, me: bob, sender: carol.public }); // carol cached
    // carol's envelope presented as alice's: from mismatch first.
    expect(await reason(open({ envelope: fromCarol, me: bob, sender: alice.public }))).toBe('wrong-sender');
    // alice's header with carol's signature: the signature check uses alice's cached key and fails.
    expect(await reason(open({ envelope: { ...fromAlice, sig: fromCarol.sig }, me: bob, sender: alice.public }))).toBe('bad-signature');
    // ciphertext of another message under a valid sender: signature covers it.
    expect(await reason(open({ envelope: { ...fromAlice, ct: fromCarol.ct }, me: bob, sender: alice.public }))).toBe('bad-signature');
  });

  it('interleaved senders on a pool each open correctly (per-worker caches)', async () => {
    const pool = new CryptoPool({ secret: secrets[1]!, size: 2 });
    try {
      const jobs = Array.from({ length: 12 }, (_, i) =>
        i % 3 === 2 ? reason(pool.open(fromAlice, carol.public)) : pool.open(i % 3 === 0 ? fromAlice : fromCarol, i % 3 === 0 ? alice.public : carol.public),
      );
      const out = await Promise.all(jobs);
      out.forEach((r, i) => {
        if (i % 3 === 2) expect(r).toBe('wrong-sender');
        else expect((r as { payload: Payload }).payload).toEqual(text(i % 3 === 0 ? 'from alice' : 'from carol'));
      });
    } finally {
      await pool.close();
    }
  });
});

describe('primitives: node:crypto Ed25519 verify and AES-256-GCM', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(12));
  const msg = randomBytes(100);
  const sig = new Uint8Array(sign(null, msg, privateKey));

  it('Ed25519: valid verifies; wrong lengths and modified inputs are false, never a throw', async () => {
    const key = importEd25519PublicKey(raw);
    expect(ed25519VerifyWithKey(key, sig, msg)).toBe(true);
    expect(await ed25519Verify(raw, sig, msg)).toBe(true);
    const bad = sig.slice();
    bad[5]! ^= 1;
    expect(ed25519VerifyWithKey(key, bad, msg)).toBe(false);
    expect(ed25519VerifyWithKey(key, sig.subarray(0, 63), msg)).toBe(false);
    expect(ed25519VerifyWithKey(key, sig, msg.subarray(1))).toBe(false);
    expect(await ed25519Verify(raw.subarray(0, 31), sig, msg)).toBe(false);
    expect(await ed25519Verify(raw, new Uint8Array(65), msg)).toBe(false);
    expect(() => importEd25519PublicKey(new Uint8Array(33))).toThrow(TypeError);
    // A view into a larger buffer is read at its offset.
    const big = new Uint8Array(200);
    big.set(sig, 17);
    expect(ed25519VerifyWithKey(key, big.subarray(17, 81), msg)).toBe(true);
  });

  it('AES-GCM: round trip through views; a bad tag, AAD or IV throws; bad sizes are TypeErrors', async () => {
    const keyBytes = randomBytes(32);
    const key = await importAesKey(keyBytes);
    const iv = randomBytes(12);
    const pt = new TextEncoder().encode('attack at dawn, bring snacks');
    const aad = randomBytes(40);
    const sealed = await aesGcmEncrypt(key, iv, pt, aad);
    expect(sealed.byteLength).toBe(pt.byteLength + 16);
    const big = new Uint8Array(sealed.byteLength + 9);
    big.set(sealed, 9);
    expect(Buffer.from(await aesGcmDecrypt(key, iv, big.subarray(9), aad)).toString()).toBe('attack at dawn, bring snacks');
    const tagFlip = sealed.slice();
    tagFlip[tagFlip.length - 1]! ^= 1;
    await expect(aesGcmDecrypt(key, iv, tagFlip, aad)).rejects.toThrow();
    await expect(aesGcmDecrypt(key, iv, sealed, aad.subarray(1))).rejects.toThrow();
    await expect(aesGcmDecrypt(await importAesKey(randomBytes(32)), iv, sealed, aad)).rejects.toThrow();
    await expect(aesGcmDecrypt(key, randomBytes(16), sealed, aad)).rejects.toThrow(TypeError);
    await expect(aesGcmDecrypt(key, iv, sealed.subarray(0, 15), aad)).rejects.toThrow(TypeError);
    await expect(importAesKey(randomBytes(16))).rejects.toThrow(TypeError);
    // The empty message: tag only.
    const empty = await aesGcmEncrypt(key, iv, new Uint8Array(0), aad);
    expect((await aesGcmDecrypt(key, iv, empty, aad)).byteLength).toBe(0);
  });

  it('an envelope signed by an unrelated Ed25519 key is bad-signature, not a crash', async () => {
    const forged = { ...fromAlice, sig: toB64u(sig) };
    expect(await reason(open({ envelope: forged, me: bob, sender: alice.public }))).toBe('bad-signature');
  });
});
