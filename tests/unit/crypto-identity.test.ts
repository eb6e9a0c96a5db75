/** Identity generation, loading (private/public match) and labelled signatures. */
import { webcrypto } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  generateIdentity,
  IdentityError,
  loadIdentity,
  newMessageId,
  seal,
  signLabeled,
  type IdentityKeys,
  type IdentitySecret,
} from '../../electron/core/crypto/index.js';
import { fingerprint, fromB64u, LABELS, toB64u, validateIdentity, verifyLabeled } from '../../relay/protocol/index.js';
import { fixtureIdentities } from '../helpers/identities.js';

let a: IdentitySecret;
let b: IdentitySecret;
let keysA: IdentityKeys;

beforeAll(async () => {
  [a, b] = (await fixtureIdentities(2)) as [IdentitySecret, IdentitySecret];
  keysA = await loadIdentity(a);
});

async function identityError(p: Promise<unknown>, code: 'malformed' | 'mismatch', message?: RegExp): Promise<void> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(IdentityError);
  expect((e as IdentityError).code).toBe(code);
  if (message) expect((e as IdentityError).message).toMatch(message);
}

describe('identity', () => {
  it('generateIdentity: RSA-OAEP-4096 e=65537 SHA-256 + Ed25519, valid on the wire, loads', async () => {
    const id = await generateIdentity();
    expect(id.v).toBe(1);
    expect(fromB64u(id.public.enc).byteLength).toBe(550);
    expect(fromB64u(id.public.sig).byteLength).toBe(32);
    const pub = await webcrypto.subtle.importKey('spki', fromB64u(id.public.enc), { name: 'RSA-OAEP', hash: 'SHA-256' }, true, ['encrypt']);
    const alg = pub.algorithm as webcrypto.RsaHashedKeyAlgorithm;
    expect(alg.modulusLength).toBe(4096);
    expect(Array.from(alg.publicExponent)).toEqual([1, 0, 1]);
    expect(alg.hash.name).toBe('SHA-256');
    const v = await validateIdentity(id.public);
    const keys = await loadIdentity(id);
    expect(keys.fingerprint).toBe(v.fingerprint);
    expect(keys.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(keys.encKey.extractable).toBe(false);
    expect(keys.sigKey.extractable).toBe(false);
  }, 30_000);

  it('loadIdentity computes the fingerprint', async () => {
    expect(keysA.fingerprint).toBe(await fingerprint(a.public));
    expect(keysA.public).toEqual(a.public);
  });

  it('loadIdentity refuses private keys that do not match the public identity', async () => {
    const rsa = /^RSA private key does not match the public identity$/;
    const ed = /^Ed25519 private key does not match the public identity$/;
    await identityError(loadIdentity({ ...a, public: { ...a.public, enc: b.public.enc } }), 'mismatch', rsa);
    await identityError(loadIdentity({ ...a, public: { ...a.public, sig: b.public.sig } }), 'mismatch', ed);
    await identityError(loadIdentity({ ...a, encPrivate: b.encPrivate }), 'mismatch', rsa);
    await identityError(loadIdentity({ ...a, sigPrivate: b.sigPrivate }), 'mismatch', ed);
  });

  it('loadIdentity refuses malformed secrets', async () => {
    // the shape check names zod's first issue (not a generic word), before any key is imported
    await identityError(loadIdentity(null as unknown as IdentitySecret), 'malformed', /^malformed identity secret: (?!invalid$)\S/);
    await identityError(loadIdentity({ ...a, v: 2 } as unknown as IdentitySecret), 'malformed', /^malformed identity secret: (?!invalid$)\S/);
    await identityError(loadIdentity({ ...a, extra: 1 } as unknown as IdentitySecret), 'malformed', /^malformed identity secret: .*extra/);
    await identityError(loadIdentity({ ...a, encPrivate: 'AAAA' }), 'malformed', /^identity keys do not import: \S/);
    await identityError(loadIdentity({ ...a, sigPrivate: a.encPrivate }), 'malformed');
    await identityError(loadIdentity({ ...a, encPrivate: a.encPrivate + '=' }), 'malformed');
    await identityError(loadIdentity({ ...a, extra: 1 } as unknown as IdentitySecret), 'malformed');
  });

  it('an RSA key of another size is refused, as identity and as recipient', async () => {
    const small = (await webcrypto.subtle.generateKey(
      { name: 'RSA-OAEP', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      true,
      ['encrypt', 'decrypt'],
    )) as webcrypto.CryptoKeyPair;
    const enc = toB64u(new Uint8Array(await webcrypto.subtle.exportKey('spki', small.publicKey)));
    const encPrivate = toB64u(new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', small.privateKey)));
    await identityError(loadIdentity({ ...a, public: { ...a.public, enc }, encPrivate }), 'malformed');
    await expect(validateIdentity({ ...a.public, enc })).rejects.toThrow(/4096/);
    await expect(seal({ sender: keysA, recipients: [{ ...b.public, enc }], payload: { v: 1, type: 'text', ts: 1, body: 'x' } })).rejects.toThrow(TypeError);
  });

  it('signLabeled signs frame(label, ...parts); verifyLabeled checks label, parts and key', async () => {
    const sig = await signLabeled(keysA, LABELS.auth, 'relay', new Uint8Array([1, 2, 3]));
    expect(sig.byteLength).toBe(64);
    expect(await verifyLabeled(a.public, sig, LABELS.auth, 'relay', new Uint8Array([1, 2, 3]))).toBe(true);
    expect(await verifyLabeled(a.public, sig, LABELS.rotate, 'relay', new Uint8Array([1, 2, 3]))).toBe(false);
    expect(await verifyLabeled(a.public, sig, LABELS.auth, 'relay', new Uint8Array([1, 2, 4]))).toBe(false);
    expect(await verifyLabeled(a.public, sig, LABELS.auth, 'rela', 'y', new Uint8Array([1, 2, 3]))).toBe(false);
    expect(await verifyLabeled(b.public, sig, LABELS.auth, 'relay', new Uint8Array([1, 2, 3]))).toBe(false);
    expect(await verifyLabeled(a.public, sig.subarray(0, 63), LABELS.auth, 'relay', new Uint8Array([1, 2, 3]))).toBe(false);
    expect(await verifyLabeled({ ...a.public, sig: 'not-a-key' }, sig, LABELS.auth, 'relay', new Uint8Array([1, 2, 3]))).toBe(false);
  });

  it('newMessageId: 16 random bytes, base64url', () => {
    const ids = new Set(Array.from({ length: 100 }, () => newMessageId()));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(fromB64u(id).byteLength).toBe(16);
  });
});
