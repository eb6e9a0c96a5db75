/**
 * Envelope-shaped test data for the relay benchmarks. Relays cannot read ciphertext or wrapped keys, so random
 * bytes of the real sizes stand in for them; the Ed25519 signature is real when a signing key is given (the relay
 * may verify it). The smallest real envelope (256-byte bucket, one recipient + the sender's own key) is ~1.8 KB of
 * JSON: two 512-byte RSA-4096 wrapped keys dominate it.
 */
import { randomBytes, webcrypto } from 'node:crypto';
import { envelopeSignedParts, LABELS, frame, toB64u, type Envelope } from '../../relay/protocol/index.js';

const subtle = webcrypto.subtle;

export function unsignedEnvelope(from: string, to: string, bodyBytes = 256): Omit<Envelope, 'sig'> {
  const keys = [from, to].filter((x, i, a) => a.indexOf(x) === i).sort().map((fp) => ({ to: fp, k: toB64u(randomBytes(512)) }));
  return {
    v: 1,
    id: toB64u(randomBytes(16)),
    from,
    to: [to],
    iv: toB64u(randomBytes(12)),
    ct: toB64u(randomBytes(bodyBytes + 16)),
    keys,
  };
}

export async function signedEnvelope(sigKey: CryptoKey | null, from: string, to: string): Promise<Envelope> {
  const e = unsignedEnvelope(from, to);
  const sig = sigKey
    ? new Uint8Array(await subtle.sign({ name: 'Ed25519' }, sigKey, frame(LABELS.envelope, ...envelopeSignedParts(e))))
    : randomBytes(64);
  return { ...e, sig: toB64u(sig) };
}
