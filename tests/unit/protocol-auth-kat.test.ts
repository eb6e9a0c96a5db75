/**
 * Known-answer test for the relay login signature (PROTOCOL.md, "Connection and authentication"): the bytes an
 * `auth` response signs, frame("parley/v1/auth", relayFp, serverNonce, clientNonce, clientFp), built from fixed
 * inputs with relay/protocol's own functions, must equal literal values computed independently (Python: struct.pack
 * '>I' length prefixes, hashlib, and the `cryptography` package's Ed25519 with RFC 8032's test key 1). Ed25519 is
 * deterministic, so the signature is pinned too. A change to the label, the part order, the framing or the encoding
 * of any part fails here before it breaks another client's login.
 */
import { createHash, webcrypto } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signLabeled, type IdentityKeys } from '../../electron/core/crypto/index.js';
import {
  authInput,
  fromHex,
  LABELS,
  signingInput,
  toB64u,
  toHex,
  verifyLabeled,
  type PublicIdentity,
} from '../../relay/protocol/index.js';

const RELAY_FP = '0123456789abcdef'.repeat(4);
const SERVER_NONCE = Uint8Array.from({ length: 32 }, (_, i) => i); // 00 01 … 1f
const CLIENT_NONCE = Uint8Array.from({ length: 32 }, (_, i) => 0xe0 + i); // e0 e1 … ff
const CLIENT_FP = '274f513964dca36cab23e693481047cc9172520e98c829d6c8ccdd9400618c8a';

/** frame(label, relayFp, serverNonce, clientNonce, clientFp): 4-byte big-endian length, then the bytes, per part. */
const EXPECTED_INPUT_HEX =
  '0000000e' + '7061726c65792f76312f61757468' + // "parley/v1/auth"
  '00000040' + '30313233343536373839616263646566'.repeat(4) + // relay fingerprint as 64 ASCII hex characters
  '00000020' + '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f' + // server nonce, raw
  '00000020' + 'e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff' + // client nonce, raw
  '00000040' + // client fingerprint as 64 ASCII hex characters:
  '32373466353133393634646361333663616232336536393334383130343763633931373235323065393863383239643663386363646439343030363138633861';
const EXPECTED_INPUT_SHA256 = 'cca78cbb3029de251c9cf8f3590fc4f2f63e0edf8ebe56ca4c33f9175cee8fdd';

// RFC 8032 section 7.1, TEST 1
const RFC8032_SEED = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
const RFC8032_PUBLIC = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
const EXPECTED_SIG =
  'd5cb26da12085fe92f36bfb045ae259a0b92c13a18aeca2edefea17a615ff81c817bf9c9b58bcb5b94084be56ecc85fb10cd682a06ebde830bf350ad4cf65c0d';

/** A public identity whose signing key is RFC 8032's (only `sig` matters to verifyLabeled). */
const signer: PublicIdentity = { v: 1, enc: 'AAAA', sig: toB64u(fromHex(RFC8032_PUBLIC)) };

async function rfc8032Keys(): Promise<IdentityKeys> {
  // PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410): fixed 16-byte prefix, then the 32-byte seed
  const pkcs8 = fromHex(`302e020100300506032b657004220420${RFC8032_SEED}`);
  const sigKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, false, ['sign']);
  return { sigKey } as unknown as IdentityKeys; // signLabeled uses only the signing key
}

const input = (over: Partial<{ relayFp: string; serverNonce: Uint8Array; clientNonce: Uint8Array; clientFp: string }> = {}) =>
  authInput(over.relayFp ?? RELAY_FP, over.serverNonce ?? SERVER_NONCE, over.clientNonce ?? CLIENT_NONCE, over.clientFp ?? CLIENT_FP);

describe('relay auth signed input (known answer)', () => {
  it('authInput has the four parts in protocol order, fingerprints as ASCII hex and nonces raw', () => {
    const parts = input();
    expect(parts.map((p) => p.byteLength)).toEqual([64, 32, 32, 64]);
    expect(new TextDecoder().decode(parts[0])).toBe(RELAY_FP);
    expect(toHex(parts[1]!)).toBe(toHex(SERVER_NONCE));
    expect(toHex(parts[2]!)).toBe(toHex(CLIENT_NONCE));
    expect(new TextDecoder().decode(parts[3])).toBe(CLIENT_FP);
  });

  it('the signed bytes are exactly the pinned frame', () => {
    expect(LABELS.auth).toBe('parley/v1/auth');
    const bytes = signingInput(LABELS.auth, ...input());
    expect(bytes.byteLength).toBe(226);
    expect(toHex(bytes)).toBe(EXPECTED_INPUT_HEX);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(EXPECTED_INPUT_SHA256);
  });

  it('the app signs it to the pinned Ed25519 signature, and the relay-side check accepts exactly that', async () => {
    const sig = await signLabeled(await rfc8032Keys(), LABELS.auth, ...input());
    expect(toHex(sig)).toBe(EXPECTED_SIG);
    // the relay verifies with verifyLabeled(identity, sig, LABELS.auth, ...authInput(...)) (relay/server/relay.ts)
    expect(await verifyLabeled(signer, fromHex(EXPECTED_SIG), LABELS.auth, ...input())).toBe(true);
  });

  it('the signature binds every part, their order and the label', async () => {
    const sig = fromHex(EXPECTED_SIG);
    const flipped = (b: Uint8Array) => Uint8Array.from(b, (x, i) => (i === b.byteLength - 1 ? x ^ 1 : x));
    const variants: Array<[string, Uint8Array[], string]> = [
      ['another relay', input({ relayFp: RELAY_FP.replace(/^0/, '1') }), LABELS.auth],
      ['another server nonce', input({ serverNonce: flipped(SERVER_NONCE) }), LABELS.auth],
      ['another client nonce', input({ clientNonce: flipped(CLIENT_NONCE) }), LABELS.auth],
      ['another client', input({ clientFp: CLIENT_FP.replace(/a$/, 'b') }), LABELS.auth],
      ['nonces swapped', input({ serverNonce: CLIENT_NONCE, clientNonce: SERVER_NONCE }), LABELS.auth],
      ['fingerprints swapped', input({ relayFp: CLIENT_FP, clientFp: RELAY_FP }), LABELS.auth],
      ['another label', input(), LABELS.envelope],
    ];
    for (const [what, parts, label] of variants) {
      expect(await verifyLabeled(signer, sig, label, ...parts), what).toBe(false);
    }
  });
});
