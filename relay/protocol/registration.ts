/**
 * Proof of key possession at registration (PROTOCOL.md "Registration proof"). Without it anyone could register
 * someone else's public identity under a free name and lock the owner out with IDENTITY_TAKEN.
 *
 * - Ed25519: the identity's signing key signs frame(LABELS.register, username, canonicalIdentity, relayFp).
 * - RSA: the relay wraps 32 random bytes to the identity's RSA-OAEP-SHA256 key (`register-challenge`); the client
 *   decrypts them and returns SHA-256(frame(LABELS.registerKey, relayFp, fingerprint, value)). Returning a labelled
 *   hash rather than the value means a relay cannot use the client as a decryption oracle for wrapped message keys.
 */
import { LABELS } from './labels.js';
import { LIMITS } from './limits.js';
import { frame, utf8 } from './encoding.js';
import { canonicalIdentity, sha256, type PublicIdentity } from './identity.js';

/** Bytes of the random value a relay wraps in a registration challenge. */
export const REGISTRATION_SECRET_BYTES = 32;

/** Parts the registration signature covers, after LABELS.register: username, canonical identity, relay fp (hex text). */
export function registrationInput(username: string, identity: PublicIdentity, relayFingerprint: string): Uint8Array[] {
  return [utf8(username), canonicalIdentity(identity), utf8(relayFingerprint)];
}

/** The RSA proof: SHA-256(frame(LABELS.registerKey, relayFp, identityFp, value)); fingerprints as hex text. */
export async function registrationKeyProof(relayFingerprint: string, identityFingerprint: string, value: Uint8Array): Promise<Uint8Array> {
  if (value.byteLength !== REGISTRATION_SECRET_BYTES) throw new TypeError(`registration value must be ${REGISTRATION_SECRET_BYTES} bytes`);
  return sha256(frame(LABELS.registerKey, relayFingerprint, identityFingerprint, value));
}

/** RSA-OAEP-4096 ciphertext size of the wrapped registration value. */
export const REGISTRATION_WRAPPED_BYTES = LIMITS.wrappedKeyBytes;
