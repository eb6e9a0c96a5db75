/**
 * The cryptographic primitives Parley uses, each in exactly one place: Web Crypto (`node:crypto` webcrypto) for
 * RSA-OAEP wrapping, Ed25519 signing and PBKDF2; `node:crypto` KeyObjects for RSA-OAEP unwrapping (privateDecrypt),
 * AES-256-GCM and Ed25519 verification (same OpenSSL underneath, without a libuv thread-pool hop and key import per
 * call: measurably cheaper per envelope, see bench/open.ts).
 * seal/open, the identity backup and the Wycheproof tests all go through these functions, so the vectors test
 * the code paths the app runs.
 *
 * Byte values are always `Uint8Array`s that own exactly their bytes (never `Buffer#buffer`, which may be a
 * shared pool): Web Crypto receives views, which honour byteOffset/byteLength, and results are fresh copies.
 */
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  privateDecrypt,
  verify as nodeVerify,
  webcrypto,
  type KeyObject,
} from 'node:crypto';
import { ED25519, LIMITS, RSA_OAEP_PARAMS, utf8 } from '../../../relay/protocol/index.js';
import { UnwrapError } from './errors.js';

export const subtle = webcrypto.subtle;
export type CryptoKey = webcrypto.CryptoKey;

/** Cryptographically secure random bytes. */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  // getRandomValues is limited to 65536 bytes per call.
  for (let off = 0; off < n; off += 65536) webcrypto.getRandomValues(out.subarray(off, Math.min(n, off + 65536)));
  return out;
}

/** Copy into a fresh ArrayBuffer-backed Uint8Array (what Web Crypto's typings want; also detaches from pools). */
export function own(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(bytes.byteLength);
  out.set(bytes);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// AES-256-GCM, 96-bit IV, 128-bit tag. Ciphertext layout: ct || tag (Web Crypto's convention).

/** An imported AES-256-GCM key (opaque: a node:crypto secret KeyObject). */
export type AesKey = KeyObject;

const AES_GCM = 'aes-256-gcm';

/** Import a raw 256-bit AES-GCM key. Rejects any other length. */
export async function importAesKey(raw: Uint8Array): Promise<AesKey> {
  return importAesKeySync(raw);
}

/** importAesKey() without the promise (open/seal's hot path). */
export function importAesKeySync(raw: Uint8Array): AesKey {
  if (!(raw instanceof Uint8Array) || raw.byteLength !== LIMITS.aesKeyBytes) throw new TypeError(`AES key must be ${LIMITS.aesKeyBytes} bytes`);
  return createSecretKey(raw);
}

function checkIv(iv: Uint8Array): void {
  if (!(iv instanceof Uint8Array) || iv.byteLength !== LIMITS.ivBytes) throw new TypeError(`AES-GCM IV must be ${LIMITS.ivBytes} bytes`);
}

function checkKey(key: AesKey): void {
  if (key.type !== 'secret' || key.symmetricKeySize !== LIMITS.aesKeyBytes) throw new TypeError(`AES key must be ${LIMITS.aesKeyBytes} bytes`);
}

/** AES-256-GCM encrypt; returns ciphertext || 16-byte tag. */
export async function aesGcmEncrypt(key: AesKey, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
  return aesGcmEncryptSync(key, iv, plaintext, aad);
}

/** aesGcmEncrypt() without the promise. */
export function aesGcmEncryptSync(key: AesKey, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  checkKey(key);
  checkIv(iv);
  const c = createCipheriv(AES_GCM, key, iv, { authTagLength: LIMITS.tagBytes });
  c.setAAD(aad);
  const body = c.update(plaintext);
  const last = c.final();
  const tag = c.getAuthTag();
  const out = new Uint8Array(body.byteLength + last.byteLength + tag.byteLength);
  out.set(body, 0);
  out.set(last, body.byteLength);
  out.set(tag, body.byteLength + last.byteLength);
  body.fill(0);
  return out;
}

/** AES-256-GCM decrypt of ciphertext || tag. Throws when the tag does not verify (no plaintext is returned). */
export async function aesGcmDecrypt(key: AesKey, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
  return aesGcmDecryptSync(key, iv, sealed, aad);
}

/** aesGcmDecrypt() without the promise. */
export function aesGcmDecryptSync(key: AesKey, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
  checkKey(key);
  checkIv(iv);
  if (!(sealed instanceof Uint8Array) || sealed.byteLength < LIMITS.tagBytes) throw new TypeError('AES-GCM ciphertext shorter than its tag');
  const n = sealed.byteLength - LIMITS.tagBytes;
  const d = createDecipheriv(AES_GCM, key, iv, { authTagLength: LIMITS.tagBytes });
  d.setAuthTag(sealed.subarray(n));
  d.setAAD(aad);
  const body = d.update(sealed.subarray(0, n));
  try {
    const last = d.final(); // throws on a bad tag
    const out = new Uint8Array(body.byteLength + last.byteLength);
    out.set(body, 0);
    out.set(last, body.byteLength);
    return out;
  } finally {
    body.fill(0); // never leave unauthenticated (or copied) plaintext behind
  }
}

// ---------------------------------------------------------------------------------------------------------------
// RSA-OAEP-4096, SHA-256, MGF1-SHA-256, empty label (the label parameter exists for the test vectors only).

/** Import a PKCS#8 DER RSA private key for OAEP-SHA-256 decryption. */
export async function importRsaOaepPrivateKey(pkcs8: Uint8Array, extractable = false): Promise<CryptoKey> {
  return subtle.importKey('pkcs8', own(pkcs8), RSA_OAEP_PARAMS, extractable, ['decrypt', 'unwrapKey']);
}

function oaepParams(label?: Uint8Array): webcrypto.RsaOaepParams {
  return label && label.byteLength > 0 ? { name: 'RSA-OAEP', label: own(label) } : { name: 'RSA-OAEP' };
}

/** RSA-OAEP encrypt (wrap) a short secret to a public key. */
export async function rsaOaepEncrypt(publicKey: CryptoKey, plaintext: Uint8Array, label?: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await subtle.encrypt(oaepParams(label), publicKey, own(plaintext)));
}

/** An RSA private key for rsaOaepUnwrap() (opaque: a node:crypto KeyObject, one per thread that unwraps). */
export type RsaUnwrapKey = KeyObject;

const RSA_BITS = LIMITS.rsaModulusBits;
const RSA_E = 65537n;

/**
 * Import a PKCS#8 DER RSA-4096 (e = 65537) private key for rsaOaepUnwrap(). Throws TypeError for anything else.
 * KeyObjects cannot cross threads by structured clone cheaply, so each pool worker imports its own.
 */
export function importRsaOaepUnwrapKey(pkcs8: Uint8Array): RsaUnwrapKey {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(pkcs8.buffer, pkcs8.byteOffset, pkcs8.byteLength), format: 'der', type: 'pkcs8' });
  } catch (e) {
    throw new TypeError(`RSA private key does not import: ${(e as Error).message}`);
  }
  const d = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType !== 'rsa' || d?.modulusLength !== RSA_BITS || d.publicExponent !== RSA_E) {
    throw new TypeError(`RSA private key must be RSA-${RSA_BITS} with e = 65537`);
  }
  return key;
}

/**
 * RSA-OAEP (SHA-256, MGF1-SHA-256) unwrap with node:crypto privateDecrypt: the app's unwrap path (open, identity
 * check) and the one the Wycheproof vectors exercise. Synchronous: it runs on the calling thread (a pool worker)
 * rather than queueing on libuv's 4-thread pool, which is where Web Crypto's decrypt lost ~20 % (bench/open.ts).
 * Every failure, of any kind, throws the same UnwrapError; the plaintext copy OpenSSL returned is zeroed.
 */
export function rsaOaepUnwrap(key: RsaUnwrapKey, ciphertext: Uint8Array, label?: Uint8Array): Uint8Array {
  if (!(ciphertext instanceof Uint8Array) || ciphertext.byteLength !== RSA_BITS / 8) throw new UnwrapError();
  let out: Buffer;
  try {
    out = privateDecrypt(
      {
        key,
        padding: constants.RSA_PKCS1_OAEP_PADDING,
        oaepHash: 'sha256',
        ...(label && label.byteLength > 0 ? { oaepLabel: label } : {}),
      },
      ciphertext,
    );
  } catch {
    throw new UnwrapError();
  }
  const copy = new Uint8Array(out.byteLength);
  copy.set(out);
  out.fill(0);
  return copy;
}

/** RSA-OAEP decrypt with Web Crypto (the relay login challenge). Throws on any padding or size error, without saying which. */
export async function rsaOaepDecrypt(privateKey: CryptoKey, ciphertext: Uint8Array, label?: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await subtle.decrypt(oaepParams(label), privateKey, own(ciphertext)));
}

// ---------------------------------------------------------------------------------------------------------------
// Ed25519

/** Import a PKCS#8 DER Ed25519 private key for signing. */
export async function importEd25519PrivateKey(pkcs8: Uint8Array): Promise<CryptoKey> {
  return subtle.importKey('pkcs8', own(pkcs8), ED25519, false, ['sign']);
}

/** An imported Ed25519 public key (opaque: a node:crypto KeyObject). */
export type Ed25519PublicKey = KeyObject;

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING }. */
const ED25519_SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

/** Import a raw 32-byte Ed25519 public key. Throws TypeError for a wrong length or a key OpenSSL rejects. */
export function importEd25519PublicKey(raw: Uint8Array): Ed25519PublicKey {
  if (!(raw instanceof Uint8Array) || raw.byteLength !== LIMITS.signingKeyBytes) throw new TypeError(`Ed25519 public key must be ${LIMITS.signingKeyBytes} bytes`);
  const der = new Uint8Array(ED25519_SPKI_PREFIX.byteLength + raw.byteLength);
  der.set(ED25519_SPKI_PREFIX, 0);
  der.set(raw, ED25519_SPKI_PREFIX.byteLength);
  try {
    return createPublicKey({ key: Buffer.from(der.buffer, der.byteOffset, der.byteLength), format: 'der', type: 'spki' });
  } catch (e) {
    throw new TypeError(`Ed25519 public key does not import: ${(e as Error).message}`);
  }
}

/**
 * Strict RFC 8032 Ed25519 verification by OpenSSL with an imported key: 64-byte signature, S < L.
 * Returns false (never throws) for malformed signatures.
 */
export function ed25519VerifyWithKey(key: Ed25519PublicKey, signature: Uint8Array, message: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.byteLength !== LIMITS.signatureBytes) return false;
  if (key.type !== 'public' || key.asymmetricKeyType !== 'ed25519') return false;
  try {
    return nodeVerify(null, message, key, signature);
  } catch {
    return false;
  }
}

/**
 * The Ed25519 verification the crypto core uses (and the Wycheproof vectors exercise): import, then
 * ed25519VerifyWithKey. Returns false (never throws) for malformed keys or signatures.
 */
export async function ed25519Verify(publicKeyRaw: Uint8Array, signature: Uint8Array, message: Uint8Array): Promise<boolean> {
  if (!(signature instanceof Uint8Array) || signature.byteLength !== LIMITS.signatureBytes) return false;
  let key: Ed25519PublicKey;
  try {
    key = importEd25519PublicKey(publicKeyRaw);
  } catch {
    return false;
  }
  return ed25519VerifyWithKey(key, signature, message);
}

/** Ed25519 signature (64 bytes) over `message`. */
export async function ed25519Sign(privateKey: CryptoKey, message: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await subtle.sign(ED25519, privateKey, own(message)));
}

// ---------------------------------------------------------------------------------------------------------------
// PBKDF2-HMAC-SHA256

/** PBKDF2-HMAC-SHA256 of a password (bytes or a string, UTF-8 encoded) into `bytes` bytes. */
export async function pbkdf2Sha256(password: Uint8Array | string, salt: Uint8Array, iterations: number, bytes: number): Promise<Uint8Array> {
  const pw = typeof password === 'string' ? utf8(password) : password;
  const base = await subtle.importKey('raw', own(pw), 'PBKDF2', false, ['deriveBits']);
  const bits = await subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: own(salt), iterations }, base, bytes * 8);
  return new Uint8Array(bits);
}
