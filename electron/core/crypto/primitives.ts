/**
 * The cryptographic primitives Parley uses, each in exactly one place, all Web Crypto (`node:crypto` webcrypto).
 * seal/open, the identity backup and the Wycheproof tests all go through these functions, so the vectors test
 * the code paths the app runs.
 *
 * Byte values are always `Uint8Array`s that own exactly their bytes (never `Buffer#buffer`, which may be a
 * shared pool): Web Crypto receives views, which honour byteOffset/byteLength, and results are fresh copies.
 */
import { webcrypto } from 'node:crypto';
import { ED25519, ed25519Verify, LIMITS, RSA_OAEP_PARAMS, utf8 } from '../../../relay/protocol/index.js';

export const subtle = webcrypto.subtle;
export type CryptoKey = webcrypto.CryptoKey;
export { ed25519Verify };

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

export const AES_GCM = 'AES-GCM';

/** Import a raw 256-bit AES-GCM key (non-extractable). Rejects any other length. */
export async function importAesKey(raw: Uint8Array): Promise<CryptoKey> {
  if (raw.byteLength !== LIMITS.aesKeyBytes) throw new TypeError(`AES key must be ${LIMITS.aesKeyBytes} bytes`);
  return subtle.importKey('raw', own(raw), { name: AES_GCM }, false, ['encrypt', 'decrypt']);
}

function checkIv(iv: Uint8Array): void {
  if (iv.byteLength !== LIMITS.ivBytes) throw new TypeError(`AES-GCM IV must be ${LIMITS.ivBytes} bytes`);
}

/** AES-256-GCM encrypt; returns ciphertext || 16-byte tag. */
export async function aesGcmEncrypt(key: CryptoKey, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
  checkIv(iv);
  const out = await subtle.encrypt(
    { name: AES_GCM, iv: own(iv), additionalData: own(aad), tagLength: LIMITS.tagBytes * 8 },
    key,
    own(plaintext),
  );
  return new Uint8Array(out);
}

/** AES-256-GCM decrypt of ciphertext || tag. Throws (OperationError) when the tag does not verify. */
export async function aesGcmDecrypt(key: CryptoKey, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
  checkIv(iv);
  if (sealed.byteLength < LIMITS.tagBytes) throw new TypeError('AES-GCM ciphertext shorter than its tag');
  const out = await subtle.decrypt(
    { name: AES_GCM, iv: own(iv), additionalData: own(aad), tagLength: LIMITS.tagBytes * 8 },
    key,
    own(sealed),
  );
  return new Uint8Array(out);
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

/** RSA-OAEP decrypt (unwrap). Throws on any padding or size error, without saying which. */
export async function rsaOaepDecrypt(privateKey: CryptoKey, ciphertext: Uint8Array, label?: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await subtle.decrypt(oaepParams(label), privateKey, own(ciphertext)));
}

// ---------------------------------------------------------------------------------------------------------------
// Ed25519

/** Import a PKCS#8 DER Ed25519 private key for signing. */
export async function importEd25519PrivateKey(pkcs8: Uint8Array): Promise<CryptoKey> {
  return subtle.importKey('pkcs8', own(pkcs8), ED25519, false, ['sign']);
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
