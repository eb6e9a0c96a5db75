/**
 * Known-answer tests for protocol v1's canonical bytes. Every expected value here was computed independently
 * (a few lines of Python over hashlib/struct, following PROTOCOL.md), so a change to the encoding, the
 * fingerprint, the safety number or the signed bytes fails here before it breaks interoperability.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  authInput,
  canonicalHeader,
  registrationInput,
  registrationKeyProof,
  rotationInput,
  canonicalIdentity,
  envelopeSignedParts,
  fingerprint,
  formatFingerprint,
  formatSafetyNumber,
  frame,
  fromB64u,
  isB64u,
  LABELS,
  publicIdentitySchema,
  safetyNumber,
  safetyQrPayload,
  signingInput,
  toB64u,
  toHex,
  unframe,
  type PublicIdentity,
} from '../../relay/protocol/index.js';

const fx = JSON.parse(readFileSync(path.join(__dirname, '../fixtures/kat-identities.json'), 'utf8')) as {
  alice: PublicIdentity;
  bob: PublicIdentity;
};
const alice = publicIdentitySchema.parse(fx.alice);
const bob = publicIdentitySchema.parse(fx.bob);

const ALICE_FP = '274f513964dca36cab23e693481047cc9172520e98c829d6c8ccdd9400618c8a';
const BOB_FP = 'ec66815f40dbd901dbc7e610446fa15c02c76bfc4e0700addcbdbc2589188db2';
const SAFETY = '506132137974071236169668398173582445237237097302402681548660';

const sha256hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('frame()', () => {
  it('is u32be(length) || bytes for each part, strings as UTF-8', () => {
    expect(toHex(frame('ab', new Uint8Array([1, 2, 3]), ''))).toBe('0000000261620000000301020300000000');
    expect(toHex(frame())).toBe('');
    expect(toHex(frame('é'))).toBe('00000002c3a9');
  });

  it('is injective where plain concatenation is not', () => {
    expect(toHex(frame('ab', 'c'))).not.toBe(toHex(frame('a', 'bc')));
    expect(toHex(frame('ab', ''))).not.toBe(toHex(frame('ab')));
  });

  it('unframe() inverts it and rejects truncation', () => {
    const parts = [new Uint8Array([9]), new Uint8Array(0), new Uint8Array([1, 2, 3, 4, 5])];
    expect(unframe(frame(...parts)).map((p) => toHex(p))).toEqual(['09', '', '0102030405']);
    const f = frame(...parts);
    expect(() => unframe(f.subarray(0, f.byteLength - 1))).toThrow(TypeError);
    expect(() => unframe(f.subarray(0, 2))).toThrow(TypeError);
  });

  it('signingInput(label, ...parts) is frame(label, ...parts)', () => {
    expect(toHex(signingInput(LABELS.auth, 'x'))).toBe(toHex(frame('parley/v1/auth', 'x')));
  });
});

describe('base64url', () => {
  it('encodes without padding in the URL alphabet', () => {
    expect(toB64u(new Uint8Array([0xfb, 0xff]))).toBe('-_8');
    expect(toB64u(new Uint8Array(Array.from({ length: 16 }, (_, i) => i)))).toBe('AAECAwQFBgcICQoLDA0ODw');
    expect(toB64u(new Uint8Array(0))).toBe('');
  });

  it('toB64u encodes only the view, not its whole buffer', () => {
    const big = new Uint8Array([0xaa, 1, 2, 3, 0xbb]);
    expect(toB64u(big.subarray(1, 4))).toBe('AQID');
  });

  it('rejects padding, the standard alphabet, bad lengths, whitespace and non-canonical trailing bits', () => {
    for (const bad of ['AQ==', 'AQ=', 'AQID=', '+_8', '-/8', 'A', 'AQIDB', ' AQ', 'AQ\n', 'AR', 'AQJ', '-_9', 'Zg=', 'ö']) {
      expect(() => fromB64u(bad), JSON.stringify(bad)).toThrow(TypeError);
      expect(isB64u(bad)).toBe(false);
    }
    expect(() => fromB64u(42 as unknown as string)).toThrow(TypeError);
  });

  it('fromB64u returns exactly the decoded bytes (own buffer, offset 0)', () => {
    for (const [text, hex] of [['AQID', '010203'], ['-_8', 'fbff'], ['', ''], ['AAECAwQFBgcICQoLDA0ODw', '000102030405060708090a0b0c0d0e0f']] as const) {
      const b = fromB64u(text);
      expect(toHex(b)).toBe(hex);
      expect(b.byteOffset).toBe(0);
      expect(b.byteLength).toBe(hex.length / 2);
      expect(b.buffer.byteLength).toBe(hex.length / 2); // not Node's 8 KiB Buffer pool
    }
  });

  it('isB64u checks the decoded length', () => {
    expect(isB64u('AQID', 3)).toBe(true);
    expect(isB64u('AQID', 4)).toBe(false);
  });

  it('isB64u (no decoding) accepts exactly what fromB64u accepts, with the same length', () => {
    const decodes = (s: string): number => {
      try {
        return fromB64u(s).byteLength;
      } catch {
        return -1;
      }
    };
    // Near-valid strings: mostly the alphabet, sometimes a character from outside it, any length.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const char = fc.oneof(
      { weight: 20, arbitrary: fc.constantFrom(...alphabet) },
      { weight: 1, arbitrary: fc.constantFrom('=', '+', '/', ' ', '\n', 'é', '\u0000', '.') },
    );
    fc.assert(
      fc.property(fc.array(char, { maxLength: 30 }), fc.integer({ min: 0, max: 24 }), (chars, len) => {
        const s = chars.join('');
        const n = decodes(s);
        expect(isB64u(s)).toBe(n >= 0);
        expect(isB64u(s, len)).toBe(n === len);
      }),
      { numRuns: 20_000 },
    );
    // Every spelling of every one- and two-byte value: only the canonical one passes.
    for (let i = 0; i < 64 * 64; i++) {
      const s = alphabet[i >> 6]! + alphabet[i & 63]!;
      expect(isB64u(s, 1)).toBe(decodes(s) === 1);
    }
  });
});

describe('identity and fingerprint', () => {
  it('canonical identity is frame(label, SPKI DER, raw Ed25519 key)', () => {
    const c = canonicalIdentity(alice);
    expect(toHex(c.subarray(0, 4 + LABELS.identity.length))).toBe(toHex(frame(LABELS.identity)));
    expect(fromB64u(alice.enc).byteLength).toBe(550);
    expect(c.byteLength).toBe(4 + 18 + 4 + 550 + 4 + 32);
  });

  it('fingerprint of the fixed identities (SHA-256 of the canonical encoding, lowercase hex)', async () => {
    expect(await fingerprint(alice)).toBe(ALICE_FP);
    expect(await fingerprint(bob)).toBe(BOB_FP);
    expect(sha256hex(canonicalIdentity(alice))).toBe(ALICE_FP);
  });

  it('formatFingerprint shows 16 groups of 4', () => {
    const f = formatFingerprint(ALICE_FP);
    expect(f.split(' ')).toHaveLength(16);
    expect(f.startsWith('274f 5139 64dc a36c ')).toBe(true);
    expect(f.replaceAll(' ', '')).toBe(ALICE_FP);
  });
});

describe('safety number', () => {
  it('is the fixed 60 digits for the fixed pair, identical from both sides', async () => {
    const ab = await safetyNumber(alice, bob);
    expect(ab).toBe(SAFETY);
    expect(ab).toMatch(/^\d{60}$/);
    expect(await safetyNumber(bob, alice)).toBe(ab);
  });

  it('changes when either identity changes', async () => {
    expect(await safetyNumber(alice, alice)).not.toBe(SAFETY);
    expect(await safetyNumber(bob, bob)).not.toBe(SAFETY);
  });

  it('formatSafetyNumber shows 12 groups of 5', () => {
    expect(formatSafetyNumber(SAFETY)).toBe('50613 21379 74071 23616 96683 98173 58244 52372 37097 30240 26815 48660');
  });

  it('QR payload is parley:v1:sn:<digits>:<lower fp>:<higher fp>', async () => {
    const expected = `parley:v1:sn:${SAFETY}:${ALICE_FP}:${BOB_FP}`;
    expect(await safetyQrPayload(alice, bob)).toBe(expected);
    expect(await safetyQrPayload(bob, alice)).toBe(expected);
  });
});

describe('envelope canonical bytes', () => {
  const id = 'AAECAwQFBgcICQoLDA0ODw';
  const [a, b, c] = ['a', 'b', 'c'].map((ch) => ch.repeat(64)) as [string, string, string];

  it('canonicalHeader = frame("parley/v1/header", "1", id, from, ...to)', () => {
    const h = canonicalHeader({ v: 1, id, from: a, to: [b, c] });
    expect(h.byteLength).toBe(255);
    expect(toHex(h)).toBe(
      '000000107061726c65792f76312f68656164657200000001310000001641414543417751464267634943516f4c4441304f4477' +
        `00000040${'61'.repeat(64)}00000040${'62'.repeat(64)}00000040${'63'.repeat(64)}`,
    );
    expect(sha256hex(h)).toBe('98d6cc42ab9cc7a87a562196b6ede2b480ee202d829e5a3adbe6a5bfb1ac1be3');
  });

  it('signed bytes = frame("parley/v1/envelope", header, iv, ct, frame(to_i, k_i, …))', () => {
    const unsigned = {
      v: 1 as const,
      id,
      from: a,
      to: [b, c],
      iv: toB64u(new Uint8Array(Array.from({ length: 12 }, (_, i) => i))),
      ct: toB64u(new Uint8Array(272).fill(7)),
      keys: [
        { to: b, k: toB64u(new Uint8Array(512).fill(1)) },
        { to: c, k: toB64u(new Uint8Array(512).fill(2)) },
      ],
    };
    const input = signingInput(LABELS.envelope, ...envelopeSignedParts(unsigned));
    expect(input.byteLength).toBe(1745);
    expect(sha256hex(input)).toBe('14d76bfb105bc6a147b4273a402982581f39f4756a34b1fc28f15168ad9cfd63');
  });

  it('labels are the v1 strings', () => {
    expect(LABELS).toEqual({
      identity: 'parley/v1/identity',
      header: 'parley/v1/header',
      envelope: 'parley/v1/envelope',
      auth: 'parley/v1/auth',
      rotate: 'parley/v1/rotate',
      register: 'parley/v1/register',
      registerKey: 'parley/v1/register-key',
      safetyNumber: 'parley/v1/safety-number',
      backup: 'parley/v1/backup',
      relayIdentity: 'parley/v1/relay',
      attachmentChunk: 'parley/v1/attachment-chunk',
    });
  });
});

/** Relay-protocol signed inputs (PROTOCOL.md "Relay events"): the same values are in the document's appendix. */
describe('relay signed inputs', () => {
  const RELAY_FP = '0f'.repeat(32);

  it('auth: frame(auth, relayFp as hex text, serverNonce bytes, clientNonce bytes, clientFp as hex text)', () => {
    const input = signingInput(LABELS.auth, ...authInput(RELAY_FP, new Uint8Array(32).fill(1), new Uint8Array(32).fill(2), ALICE_FP));
    expect(input.byteLength).toBe(226);
    expect(toHex(input)).toBe(
      '0000000e7061726c65792f76312f6175746800000040' +
        '30663066'.repeat(16) +
        '00000020' +
        '01'.repeat(32) +
        '00000020' +
        '02'.repeat(32) +
        '00000040' +
        Buffer.from(ALICE_FP, 'utf8').toString('hex'),
    );
    expect(sha256hex(input)).toBe('b8c9d7c6fc7fd9444c58bc628e200126ef98d5485cf7efdba8e16667c8f15611');
  });

  it('rotation: frame(rotate, username, currentFp as hex text, canonical new identity)', () => {
    const input = signingInput(LABELS.rotate, ...rotationInput('alice', ALICE_FP, bob));
    expect(input.byteLength).toBe(713);
    expect(sha256hex(input)).toBe('e112e525c233aaab643e0b2c5aec025db0574b9e3bb759536c907d20e83fc144');
  });

  it('registration: frame(register, username, canonical identity, relayFp as hex text)', () => {
    const input = signingInput(LABELS.register, ...registrationInput('alice', alice, RELAY_FP));
    expect(input.byteLength).toBe(715);
    expect(toHex(input.subarray(0, 40))).toBe('000000127061726c65792f76312f726567697374657200000005616c696365000002640000001270');
    expect(toHex(input.subarray(input.byteLength - 68))).toBe('00000040' + '30663066'.repeat(16));
    expect(sha256hex(input)).toBe('ec65c60fe496ca130cc98c126db8f89e4bf22df677140f12e267e7bb0f0e618e');
  });

  it('registration RSA proof: SHA-256(frame(register-key, relayFp, identityFp, value))', async () => {
    const value = new Uint8Array(Array.from({ length: 32 }, (_, i) => i));
    expect(toHex(await registrationKeyProof(RELAY_FP, ALICE_FP, value))).toBe('fc7d45c23088c39a2f65ea25eee0f1257cafe5dbdcb553d3eb49c7b136fc6c12');
    await expect(registrationKeyProof(RELAY_FP, ALICE_FP, value.subarray(1))).rejects.toThrow(TypeError);
  });
});

describe('PROTOCOL.md appendix', () => {
  const doc = readFileSync(path.join(__dirname, '../../relay/protocol/PROTOCOL.md'), 'utf8');
  const appendix = doc.slice(doc.indexOf('## Appendix: known-answer values'));

  it('states the input identities exactly as the fixture has them', () => {
    const json = /```json\n([\s\S]*?)\n```/.exec(appendix)?.[1];
    expect(JSON.parse(json ?? 'null')).toEqual({ alice: fx.alice, bob: fx.bob });
  });

  it('states the outputs this file checks', () => {
    for (const value of [
      ALICE_FP,
      BOB_FP,
      formatSafetyNumber(SAFETY),
      'b8c9d7c6fc7fd9444c58bc628e200126ef98d5485cf7efdba8e16667c8f15611',
      'e112e525c233aaab643e0b2c5aec025db0574b9e3bb759536c907d20e83fc144',
      'ec65c60fe496ca130cc98c126db8f89e4bf22df677140f12e267e7bb0f0e618e',
      'fc7d45c23088c39a2f65ea25eee0f1257cafe5dbdcb553d3eb49c7b136fc6c12',
    ]) {
      expect(appendix).toContain(value);
    }
  });
});
