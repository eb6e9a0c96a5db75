/**
 * The primitives' own contract (electron/core/crypto/primitives.ts), beside the Wycheproof vectors (wycheproof.test.ts),
 * which test the algorithms: argument checks and their messages, the layouts (ct || tag), labels, copies that own
 * their bytes, the single error for every unwrap failure, and PBKDF2 against published vectors. References are
 * independent paths of the same platform (Web Crypto beside node:crypto) or published known answers.
 */
import { createSecretKey, generateKeyPairSync, webcrypto } from 'node:crypto';
import { beforeAll, describe, expect, test } from 'vitest';
import { UnwrapError } from '../../electron/core/crypto/errors.js';
import {
  aesGcmDecrypt,
  aesGcmDecryptSync,
  aesGcmEncrypt,
  aesGcmEncryptSync,
  ed25519Sign,
  ed25519Verify,
  ed25519VerifyWithKey,
  importAesKey,
  importAesKeySync,
  importEd25519PrivateKey,
  importEd25519PublicKey,
  importRsaOaepPrivateKey,
  importRsaOaepUnwrapKey,
  own,
  pbkdf2Sha256,
  randomBytes,
  rsaOaepDecrypt,
  rsaOaepEncrypt,
  rsaOaepUnwrap,
} from '../../electron/core/crypto/primitives.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
const te = new TextEncoder();

describe('randomBytes and own', () => {
  test('every 64 KiB piece of a large request is filled (getRandomValues takes at most 65536 bytes a call)', () => {
    for (const n of [0, 1, 65_536, 65_537, 200_000]) expect(randomBytes(n).byteLength).toBe(n);
    const big = randomBytes(200_000);
    for (let off = 0; off < big.byteLength; off += 65_536) {
      const piece = big.subarray(off, Math.min(big.byteLength, off + 65_536));
      expect(piece.some((b) => b !== 0)).toBe(true);
    }
    // the last byte too (a fill that stopped one short, or at a multiple of 64 KiB, would leave the tail zero)
    expect(big.subarray(196_608).some((b) => b !== 0)).toBe(true);
    expect(hex(randomBytes(32))).not.toBe(hex(randomBytes(32)));
  });

  test('own() copies exactly the view into a buffer of its own', () => {
    const pool = Buffer.from('0011223344556677', 'hex');
    const view = pool.subarray(2, 6);
    const copy = own(view);
    expect(hex(copy)).toBe('22334455');
    expect(copy.byteOffset).toBe(0);
    expect(copy.buffer.byteLength).toBe(4);
    copy[0] = 0xff;
    expect(pool[2]).toBe(0x22);
  });
});

describe('AES-256-GCM', () => {
  const raw = bytes('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308');
  const iv = bytes('cafebabefacedbaddecaf888');
  const aad = bytes('feedfacedeadbeeffeedfacedeadbeefabaddad2');
  const pt = te.encode('attack at dawn, or a little after breakfast');

  test('ciphertext || tag, the same bytes as Web Crypto, with the additional data bound', async () => {
    const key = importAesKeySync(raw);
    const sealed = aesGcmEncryptSync(key, iv, pt, aad);
    expect(sealed.byteLength).toBe(pt.byteLength + 16);
    const wc = await webcrypto.subtle.importKey('raw', own(raw), 'AES-GCM', false, ['encrypt', 'decrypt']);
    const expected = new Uint8Array(await webcrypto.subtle.encrypt({ name: 'AES-GCM', iv: own(iv), additionalData: own(aad), tagLength: 128 }, wc, own(pt)));
    expect(hex(sealed)).toBe(hex(expected));
    expect(hex(await aesGcmEncrypt(await importAesKey(raw), iv, pt, aad))).toBe(hex(expected));
    expect(hex(aesGcmDecryptSync(key, iv, sealed, aad))).toBe(hex(pt));
    expect(hex(await aesGcmDecrypt(key, iv, sealed, aad))).toBe(hex(pt));
  });

  test('an empty plaintext is just the 16-byte tag and opens to nothing', () => {
    const key = importAesKeySync(raw);
    const sealed = aesGcmEncryptSync(key, iv, new Uint8Array(0), aad);
    expect(sealed.byteLength).toBe(16);
    expect(aesGcmDecryptSync(key, iv, sealed, aad).byteLength).toBe(0);
  });

  test('a wrong tag, additional data, IV or key throws and returns no plaintext', () => {
    const key = importAesKeySync(raw);
    const sealed = aesGcmEncryptSync(key, iv, pt, aad);
    const flipped = sealed.slice();
    flipped[flipped.byteLength - 1]! ^= 1;
    expect(() => aesGcmDecryptSync(key, iv, flipped, aad)).toThrow();
    expect(() => aesGcmDecryptSync(key, iv, sealed, new Uint8Array(0))).toThrow();
    expect(() => aesGcmDecryptSync(key, bytes('cafebabefacedbaddecaf889'), sealed, aad)).toThrow();
    expect(() => aesGcmDecryptSync(importAesKeySync(randomBytes(32)), iv, sealed, aad)).toThrow();
  });

  test('keys, IVs and ciphertexts of the wrong size are refused with what was expected', async () => {
    const key = importAesKeySync(raw);
    expect(() => importAesKeySync(raw.subarray(0, 16))).toThrow(new TypeError('AES key must be 32 bytes'));
    expect(() => importAesKeySync([...raw] as unknown as Uint8Array)).toThrow(new TypeError('AES key must be 32 bytes'));
    await expect(importAesKey(new Uint8Array(33))).rejects.toThrow(new TypeError('AES key must be 32 bytes'));
    // An AES-128 key object, and a key that is not a secret at all, never reach the cipher.
    const short = createSecretKey(new Uint8Array(16));
    expect(() => aesGcmEncryptSync(short, iv, pt, aad)).toThrow(new TypeError('AES key must be 32 bytes'));
    expect(() => aesGcmDecryptSync(short, iv, new Uint8Array(32), aad)).toThrow(new TypeError('AES key must be 32 bytes'));
    const { publicKey } = generateKeyPairSync('ed25519');
    expect(() => aesGcmEncryptSync(publicKey, iv, pt, aad)).toThrow(new TypeError('AES key must be 32 bytes'));
    for (const bad of [new Uint8Array(11), new Uint8Array(13), [...iv] as unknown as Uint8Array]) {
      expect(() => aesGcmEncryptSync(key, bad, pt, aad)).toThrow(new TypeError('AES-GCM IV must be 12 bytes'));
      expect(() => aesGcmDecryptSync(key, bad, new Uint8Array(32), aad)).toThrow(new TypeError('AES-GCM IV must be 12 bytes'));
    }
    expect(() => aesGcmDecryptSync(key, iv, new Uint8Array(15), aad)).toThrow(new TypeError('AES-GCM ciphertext shorter than its tag'));
    expect(() => aesGcmDecryptSync(key, iv, [...new Uint8Array(32)] as unknown as Uint8Array, aad)).toThrow(
      new TypeError('AES-GCM ciphertext shorter than its tag'),
    );
  });
});

describe('RSA-OAEP-4096 (SHA-256)', () => {
  let pkcs8: Uint8Array;
  let publicKey: webcrypto.CryptoKey;
  beforeAll(async () => {
    const kp = await webcrypto.subtle.generateKey(
      { name: 'RSA-OAEP', modulusLength: 4096, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      true,
      ['encrypt', 'decrypt'],
    );
    pkcs8 = new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', kp.privateKey));
    publicKey = kp.publicKey;
  }, 60_000);

  test('unwraps what Web Crypto wrapped, with and without a label; the result is a copy of its own', async () => {
    const key = importRsaOaepUnwrapKey(pkcs8);
    const secret = randomBytes(32);
    const out = rsaOaepUnwrap(key, await rsaOaepEncrypt(publicKey, secret));
    expect(hex(out)).toBe(hex(secret));
    expect(out.buffer.byteLength).toBe(32);
    const label = te.encode('a label');
    const labelled = await rsaOaepEncrypt(publicKey, secret, label);
    expect(hex(rsaOaepUnwrap(key, labelled, label))).toBe(hex(secret));
    expect(() => rsaOaepUnwrap(key, labelled)).toThrow(UnwrapError);
    // An empty label is no label.
    expect(hex(rsaOaepUnwrap(key, await rsaOaepEncrypt(publicKey, secret, new Uint8Array(0))))).toBe(hex(secret));
    // Web Crypto's decrypt (the login challenge) takes the same labels.
    const wc = await importRsaOaepPrivateKey(pkcs8);
    expect(hex(await rsaOaepDecrypt(wc, labelled, label))).toBe(hex(secret));
    await expect(rsaOaepDecrypt(wc, labelled)).rejects.toThrow();
  });

  test('every unwrap failure is the same UnwrapError: wrong size, not bytes, bad padding', async () => {
    const key = importRsaOaepUnwrapKey(pkcs8);
    const good = await rsaOaepEncrypt(publicKey, randomBytes(32));
    const flipped = good.slice();
    flipped[100]! ^= 1;
    const failures = [good.subarray(1), new Uint8Array(513), [...good] as unknown as Uint8Array, flipped, new Uint8Array(512)];
    const messages = new Set<string>();
    for (const c of failures) {
      let caught: unknown = null;
      try {
        rsaOaepUnwrap(key, c);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(UnwrapError);
      messages.add((caught as Error).message);
    }
    expect(messages.size).toBe(1);
  });

  test('only an RSA-4096 key with e = 65537 imports for unwrapping', () => {
    expect(importRsaOaepUnwrapKey(pkcs8).asymmetricKeyDetails).toMatchObject({ modulusLength: 4096, publicExponent: 65537n });
    expect(() => importRsaOaepUnwrapKey(new Uint8Array([1, 2, 3]))).toThrow(/^RSA private key does not import: \S/);
    const der = (k: { export(o: { format: 'der'; type: 'pkcs8' }): Buffer }) => new Uint8Array(k.export({ format: 'der', type: 'pkcs8' }));
    const wrong = [
      generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
      generateKeyPairSync('rsa', { modulusLength: 4096, publicExponent: 3 }).privateKey,
      generateKeyPairSync('ed25519').privateKey,
      // RSA-PSS of the right size and exponent: an RSA key, but not one for OAEP
      generateKeyPairSync('rsa-pss', { modulusLength: 4096 }).privateKey,
    ];
    for (const k of wrong) expect(() => importRsaOaepUnwrapKey(der(k))).toThrow(new TypeError('RSA private key must be RSA-4096 with e = 65537'));
  }, 60_000);
});

describe('Ed25519', () => {
  let signing: webcrypto.CryptoKey;
  let publicRaw: Uint8Array;
  beforeAll(() => {
    const kp = generateKeyPairSync('ed25519');
    publicRaw = new Uint8Array(kp.publicKey.export({ format: 'der', type: 'spki' })).subarray(12);
    return importEd25519PrivateKey(new Uint8Array(kp.privateKey.export({ format: 'der', type: 'pkcs8' }))).then((k) => {
      signing = k;
    });
  });

  test('a signature verifies with the raw key and the imported key; any change does not', async () => {
    const msg = te.encode('signed words');
    const sig = await ed25519Sign(signing, msg);
    expect(sig.byteLength).toBe(64);
    expect(await ed25519Verify(publicRaw, sig, msg)).toBe(true);
    const key = importEd25519PublicKey(publicRaw);
    expect(ed25519VerifyWithKey(key, sig, msg)).toBe(true);
    expect(ed25519VerifyWithKey(key, sig, te.encode('signed word'))).toBe(false);
    const bad = sig.slice();
    bad[0]! ^= 1;
    expect(await ed25519Verify(publicRaw, bad, msg)).toBe(false);
  });

  test('malformed signatures and keys are false, never a throw', async () => {
    const msg = te.encode('m');
    const sig = await ed25519Sign(signing, msg);
    const key = importEd25519PublicKey(publicRaw);
    for (const s of [sig.subarray(1), new Uint8Array(65), [...sig] as unknown as Uint8Array]) {
      expect(ed25519VerifyWithKey(key, s, msg)).toBe(false);
      expect(await ed25519Verify(publicRaw, s, msg)).toBe(false);
    }
    // A key of another kind, or a private key, is refused before OpenSSL is asked.
    expect(ed25519VerifyWithKey(generateKeyPairSync('x25519').publicKey, sig, msg)).toBe(false);
    expect(ed25519VerifyWithKey(generateKeyPairSync('ed25519').privateKey, sig, msg)).toBe(false);
    // Not even the signer's own private key (OpenSSL would derive the public key from it and say true).
    const own = generateKeyPairSync('ed25519');
    const ownRaw = new Uint8Array(own.publicKey.export({ format: 'der', type: 'spki' })).subarray(12);
    const ownSig = await ed25519Sign(await importEd25519PrivateKey(new Uint8Array(own.privateKey.export({ format: 'der', type: 'pkcs8' }))), msg);
    expect(await ed25519Verify(ownRaw, ownSig, msg)).toBe(true);
    expect(ed25519VerifyWithKey(own.privateKey, ownSig, msg)).toBe(false);
    expect(await ed25519Verify(publicRaw.subarray(1), sig, msg)).toBe(false);
  });

  test('public keys of the wrong size are refused with what was expected', () => {
    expect(() => importEd25519PublicKey(publicRaw.subarray(1))).toThrow(new TypeError('Ed25519 public key must be 32 bytes'));
    expect(() => importEd25519PublicKey([...publicRaw] as unknown as Uint8Array)).toThrow(new TypeError('Ed25519 public key must be 32 bytes'));
    expect(importEd25519PublicKey(publicRaw).asymmetricKeyType).toBe('ed25519');
  });
});

describe('PBKDF2-HMAC-SHA256', () => {
  // Published vectors (RFC 6070's inputs with SHA-256, as listed in RFC 7914's companion test sets and elsewhere).
  test.each([
    [1, '120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b'],
    [2, 'ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43'],
    [4096, 'c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a'],
  ])('"password" / "salt", %i iterations', async (iterations, expected) => {
    expect(hex(await pbkdf2Sha256('password', te.encode('salt'), iterations, 32))).toBe(expected);
    // the same password as bytes, and a shorter output is a prefix of the longer one
    expect(hex(await pbkdf2Sha256(te.encode('password'), te.encode('salt'), iterations, 16))).toBe(expected.slice(0, 32));
  });
});
