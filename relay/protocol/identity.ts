/**
 * Public identities, fingerprints, safety numbers and labelled signature verification.
 *
 * A public identity is two public keys: an RSA-OAEP-4096 (SHA-256) key that wraps message keys and an
 * Ed25519 key that signs. Its canonical encoding is frame(LABELS.identity, rsaSpkiDer, ed25519Raw); the
 * fingerprint is SHA-256 over that encoding, as 64 lowercase hex characters.
 */
import { webcrypto } from 'node:crypto';
import { z } from 'zod';
import { LABELS } from './labels.js';
import { LIMITS, PROTOCOL_VERSION } from './limits.js';
import { bytesEqual, compareBytes, frame, fromB64u, isB64u, toHex } from './encoding.js';

export const subtle = webcrypto.subtle;
export type CryptoKey = webcrypto.CryptoKey;

export const RSA_OAEP_PARAMS = Object.freeze({ name: 'RSA-OAEP', hash: 'SHA-256' } as const);
export const ED25519 = Object.freeze({ name: 'Ed25519' } as const);

const b64u = (len?: number, max?: number) =>
  z.string().max(max ?? 1 << 20).refine((s) => isB64u(s, len), len ? `base64url of ${len} bytes` : 'base64url');

export const fingerprintSchema = z.string().regex(/^[0-9a-f]{64}$/, 'fingerprint: 64 lowercase hex');

export const publicIdentitySchema = z
  .object({
    v: z.literal(PROTOCOL_VERSION),
    enc: b64u(undefined, Math.ceil((LIMITS.maxSpkiBytes * 4) / 3)),
    sig: b64u(LIMITS.signingKeyBytes),
  })
  .strict();

/** Wire form of a public identity. */
export type PublicIdentity = z.infer<typeof publicIdentitySchema>;

/** frame(LABELS.identity, rsaSpkiDer, ed25519Raw). */
export function canonicalIdentity(id: PublicIdentity): Uint8Array {
  return frame(LABELS.identity, fromB64u(id.enc), fromB64u(id.sig));
}

export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await subtle.digest('SHA-256', bytes));
}

/** SHA-256 over the canonical identity, lowercase hex. */
export async function fingerprint(id: PublicIdentity): Promise<string> {
  return toHex(await sha256(canonicalIdentity(id)));
}

/** Fingerprint for display: 16 groups of 4 hex characters. */
export function formatFingerprint(fp: string): string {
  return fp.match(/.{1,4}/g)!.join(' ');
}

/**
 * The safety number of a pair of identities: 60 decimal digits.
 * H = SHA-512(frame(LABELS.safetyNumber, lower, higher)) where lower/higher are the two canonical identity
 * encodings in bytewise order; digits i (0..11) = u40be(H[5i .. 5i+5]) mod 100000, zero-padded to 5.
 * Identical on both sides; ~199 bits of the hash reach the digits.
 */
export async function safetyNumber(a: PublicIdentity, b: PublicIdentity): Promise<string> {
  const ca = canonicalIdentity(a);
  const cb = canonicalIdentity(b);
  const [lo, hi] = compareBytes(ca, cb) <= 0 ? [ca, cb] : [cb, ca];
  const h = new Uint8Array(await subtle.digest('SHA-512', frame(LABELS.safetyNumber, lo, hi)));
  let out = '';
  for (let i = 0; i < 12; i++) {
    let n = 0;
    for (let j = 0; j < 5; j++) n = n * 256 + h[5 * i + j]!;
    out += String(n % 100000).padStart(5, '0');
  }
  return out;
}

/** "12345 67890 ..." (12 groups of 5). */
export function formatSafetyNumber(digits: string): string {
  return digits.match(/.{1,5}/g)!.join(' ');
}

/** QR payload for a safety number comparison: "parley:v1:sn:" + the 60 digits + ":" + both fingerprints sorted. */
export async function safetyQrPayload(a: PublicIdentity, b: PublicIdentity): Promise<string> {
  const [fa, fb] = [await fingerprint(a), await fingerprint(b)].sort();
  return `parley:v1:sn:${await safetyNumber(a, b)}:${fa}:${fb}`;
}

/**
 * Import the RSA-OAEP wrapping key; rejects anything but a 4096-bit modulus with e = 65537, and any SPKI that is not
 * exactly the canonical DER of its key: OpenSSL also reads BER forms (say, a length in more bytes than needed), and
 * every other spelling of the same key would get another fingerprint. Throws TypeError.
 */
export async function importWrappingKey(id: PublicIdentity): Promise<CryptoKey> {
  const spki = fromB64u(id.enc);
  const key = await subtle.importKey('spki', spki, RSA_OAEP_PARAMS, true, ['wrapKey', 'encrypt']);
  if (!bytesEqual(new Uint8Array(await subtle.exportKey('spki', key)), spki)) {
    throw new TypeError('wrapping key is not in canonical DER (re-encoding the key gives other bytes)');
  }
  const alg = key.algorithm as webcrypto.RsaHashedKeyAlgorithm;
  const e = alg.publicExponent;
  const e65537 = e.byteLength >= 3 && e[e.byteLength - 1] === 1 && e[e.byteLength - 2] === 0 && e[e.byteLength - 3] === 1 &&
    e.slice(0, e.byteLength - 3).every((x) => x === 0);
  if (alg.modulusLength !== LIMITS.rsaModulusBits || !e65537) {
    throw new TypeError(`wrapping key must be RSA-${LIMITS.rsaModulusBits} with e=65537`);
  }
  return key;
}

export async function importVerifyKey(rawEd25519: Uint8Array): Promise<CryptoKey> {
  return subtle.importKey('raw', rawEd25519, ED25519, true, ['verify']);
}

/** The exact bytes a signer signs for `label`: frame(label, ...parts). */
export function signingInput(label: string, ...parts: Array<Uint8Array | string>): Uint8Array {
  return frame(label, ...parts);
}

/**
 * Verify an Ed25519 signature over frame(label, ...parts) with the identity's signing key.
 * Returns false (never throws) for malformed keys or signatures.
 */
export async function verifyLabeled(
  id: PublicIdentity,
  signature: Uint8Array,
  label: string,
  ...parts: Array<Uint8Array | string>
): Promise<boolean> {
  let publicKey: Uint8Array;
  try {
    publicKey = fromB64u(id.sig);
  } catch {
    return false;
  }
  return ed25519Verify(publicKey, signature, signingInput(label, ...parts));
}

/**
 * The one Ed25519 verification primitive every Parley signature check goes through (and the one the
 * Wycheproof vectors exercise). Strict RFC 8032 verification by OpenSSL: 32-byte key, 64-byte signature,
 * S < L. Returns false (never throws) for malformed keys or signatures.
 */
export async function ed25519Verify(publicKeyRaw: Uint8Array, signature: Uint8Array, message: Uint8Array): Promise<boolean> {
  if (signature.byteLength !== LIMITS.signatureBytes || publicKeyRaw.byteLength !== LIMITS.signingKeyBytes) return false;
  try {
    const key = await importVerifyKey(publicKeyRaw);
    return await subtle.verify(ED25519, key, signature, message);
  } catch {
    return false;
  }
}

/**
 * Full validation of an identity from the network: schema, RSA size and exponent, Ed25519 key import, and both keys
 * canonical (re-encoded, they give exactly the bytes received), so one key pair has exactly one fingerprint.
 * Returns the parsed identity and its fingerprint, or throws TypeError naming the failed check.
 */
export async function validateIdentity(input: unknown): Promise<{ identity: PublicIdentity; fingerprint: string }> {
  const parsed = publicIdentitySchema.safeParse(input);
  if (!parsed.success) throw new TypeError(`malformed identity: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const identity = parsed.data;
  await importWrappingKey(identity); // includes the canonical-DER check
  const sigRaw = fromB64u(identity.sig);
  const verifyKey = await importVerifyKey(sigRaw);
  if (!bytesEqual(new Uint8Array(await subtle.exportKey('raw', verifyKey)), sigRaw)) {
    throw new TypeError('signing key is not in canonical form');
  }
  return { identity, fingerprint: await fingerprint(identity) };
}

/** Bytes a rotation signature covers: the old identity's signing key signs frame(rotate, username, oldFp, newCanonical). */
export function rotationInput(username: string, oldFingerprint: string, next: PublicIdentity): Uint8Array[] {
  return [new TextEncoder().encode(username), new TextEncoder().encode(oldFingerprint), canonicalIdentity(next)];
}

/** Bytes an auth response signature covers: frame(auth, relayFp, serverNonce, clientNonce, clientFp). */
export function authInput(relayFingerprint: string, serverNonce: Uint8Array, clientNonce: Uint8Array, clientFingerprint: string): Uint8Array[] {
  const te = new TextEncoder();
  return [te.encode(relayFingerprint), serverNonce, clientNonce, te.encode(clientFingerprint)];
}
