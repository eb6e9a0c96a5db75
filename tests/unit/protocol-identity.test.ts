/**
 * Canonical identities: relay and client validate identities with the same function (validateIdentity in
 * relay/protocol/identity.ts), which re-encodes both keys and requires identical bytes. A real RSA-4096 key written
 * with a non-minimal DER length is the same key, so without the check it would get a second fingerprint.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fingerprint, fromB64u, importWrappingKey, publicIdentitySchema, toB64u, validateIdentity } from '../../relay/protocol/index.js';

const fx = JSON.parse(readFileSync(path.join(__dirname, '../fixtures/kat-identities.json'), 'utf8')) as { alice: unknown };
const alice = publicIdentitySchema.parse(fx.alice);
const der = fromB64u(alice.enc);

/** The same SPKI with its outer SEQUENCE length written in 3 bytes (83 00 02 22) instead of 2 (82 02 22). */
function longOuterLength(): Uint8Array {
  expect(Array.from(der.subarray(0, 4))).toEqual([0x30, 0x82, 0x02, 0x22]);
  return new Uint8Array([0x30, 0x83, 0x00, 0x02, 0x22, ...der.subarray(4)]);
}

/** The same SPKI with the BIT STRING's length (03 82 02 0f) in 3 bytes, and the outer length grown by one. */
function longBitStringLength(): Uint8Array {
  const at = 4 + 15; // outer header (4) + AlgorithmIdentifier SEQUENCE (15 bytes: 30 0d …)
  expect(Array.from(der.subarray(at, at + 4))).toEqual([0x03, 0x82, 0x02, 0x0f]);
  return new Uint8Array([0x30, 0x82, 0x02, 0x23, ...der.subarray(4, at), 0x03, 0x83, 0x00, 0x02, 0x0f, ...der.subarray(at + 4)]);
}

describe('canonical identities', () => {
  it('accepts the canonical key with its one fingerprint', async () => {
    expect(await validateIdentity(alice)).toEqual({ identity: alice, fingerprint: await fingerprint(alice) });
  });

  it.each([
    ['outer SEQUENCE', longOuterLength],
    ['BIT STRING', longBitStringLength],
  ])('refuses the same RSA key with a non-minimal DER length (%s)', async (_where, craft) => {
    const crafted = { ...alice, enc: toB64u(craft()) };
    // Same key: OpenSSL reads it (as importWrappingKey did before the check), yet the fingerprint differs.
    expect(await fingerprint(crafted)).not.toBe(await fingerprint(alice));
    await expect(validateIdentity(crafted)).rejects.toThrow(/canonical DER/);
    await expect(importWrappingKey(crafted)).rejects.toThrow(TypeError);
  });
});
