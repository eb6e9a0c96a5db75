/**
 * Edge cases of relay/protocol that mutation testing (npm run mutation) showed no test pinned down: the envelope
 * schema's cross-field rules, the RSA exponent check, the encoding helpers' refusals and messages, validateIdentity,
 * relay certificate fingerprints and ProtocolError's wire form. Each assertion here failed under a mutant that
 * survived the rest of the suite.
 */
import { createHash, generateKeyPair, generateKeyPairSync } from 'node:crypto';
import { promisify } from 'node:util';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadIdentity, seal, type IdentityKeys } from '../../electron/core/crypto/index.js';
import {
  bytesEqual,
  compareBytes,
  concat,
  ed25519Verify,
  envelopeSchema,
  envelopeSize,
  frame,
  fromB64u,
  fromHex,
  importWrappingKey,
  isB64u,
  ProtocolError,
  relayFingerprintFromCert,
  relayFingerprintFromSpki,
  RelayPinError,
  toB64u,
  unframe,
  validateIdentity,
  verifyLabeled,
  type Envelope,
  type PublicIdentity,
} from '../../relay/protocol/index.js';
import { fixtureIdentities } from '../helpers/identities.js';

const generate = promisify(generateKeyPair);
let alice: IdentityKeys;
let bob: IdentityKeys;
let carol: IdentityKeys;
let env: Envelope; // alice → [bob, carol]

/**
 * Loaded inside each test, not in beforeAll: a fixture that fails to load (say, under a mutant of the key checks)
 * must fail the tests, and a failing beforeAll only marks them skipped, which mutation testing counts as a pass.
 */
let loaded: Promise<void> | null = null;
function fixtures(): Promise<void> {
  loaded ??= (async () => {
    const secrets = await fixtureIdentities(3);
    [alice, bob, carol] = (await Promise.all(secrets.map((s) => loadIdentity(s)))) as [IdentityKeys, IdentityKeys, IdentityKeys];
    env = await seal({ sender: alice, recipients: [bob.public, carol.public], payload: { v: 1, type: 'text', ts: 1, body: 'x' } });
  })();
  return loaded;
}
beforeEach(fixtures);

function issues(candidate: unknown): string[] {
  const r = envelopeSchema.safeParse(candidate);
  return r.success ? [] : r.error.issues.map((i) => i.message);
}

describe('envelope schema: cross-field rules', () => {
  it('accepts the sealed envelope as is', () => {
    expect(issues(env)).toEqual([]);
    expect(env.to).toHaveLength(2);
    expect(env.keys).toHaveLength(3); // bob, carol and alice's own copy
  });

  it('refuses a duplicate recipient', () => {
    const to = [env.to[0]!, env.to[0]!];
    expect(issues({ ...env, to })).toContain('duplicate recipient');
  });

  it('refuses unsorted recipients', () => {
    expect(issues({ ...env, to: [...env.to].reverse() })).toContain('recipients not sorted');
  });

  it('refuses a duplicate or unsorted wrapped key', () => {
    const dup = [env.keys[0]!, ...env.keys];
    expect(issues({ ...env, keys: dup })).toContain('duplicate wrapped key');
    expect(issues({ ...env, keys: [...env.keys].reverse() })).toContain('wrapped keys not sorted');
  });

  it('refuses a recipient without a wrapped key, and a wrapped key for someone who is not a recipient', () => {
    const withoutCarol = env.keys.filter((k) => k.to !== carol.fingerprint);
    expect(issues({ ...env, keys: withoutCarol })).toEqual(['recipient without wrapped key']);
    const toBobOnly = { ...env, to: [bob.fingerprint] };
    expect(issues(toBobOnly)).toEqual(['wrapped key for a non-recipient']);
    // the sender's own copy is allowed although the sender is not in `to`
    expect(env.to).not.toContain(alice.fingerprint);
    expect(env.keys.map((k) => k.to)).toContain(alice.fingerprint);
  });

  it('envelopeSize is the UTF-8 length of the JSON, 0 for what JSON cannot represent', () => {
    expect(envelopeSize({ a: 'é' })).toBe(Buffer.byteLength('{"a":"é"}'));
    expect(envelopeSize(env)).toBe(Buffer.byteLength(JSON.stringify(env)));
    expect(envelopeSize(undefined)).toBe(0);
  });
});

describe('RSA wrapping key: 4096 bits and e = 65537 exactly', () => {
  /** An identity whose RSA key has the given public exponent (4096 bits, so only the exponent is wrong). */
  async function withExponent(publicExponent: number): Promise<PublicIdentity> {
    const { publicKey } = await generate('rsa', { modulusLength: 4096, publicExponent });
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    return { ...alice.public, enc: toB64u(new Uint8Array(spki)) };
  }

  it('refuses every other exponent, byte by byte', async () => {
    // 3: too short; 0x010003, 0x010101, 0x030001: one of the three low bytes differs; 0x01010001: a non-zero high byte
    const exponents = [3, 0x010003, 0x010101, 0x030001, 0x01010001];
    const ids = await Promise.all(exponents.map((e) => withExponent(e)));
    for (const [i, id] of ids.entries()) {
      await expect(importWrappingKey(id), `e = ${exponents[i]}`).rejects.toThrow('wrapping key must be RSA-4096 with e=65537');
    }
    await expect(importWrappingKey(alice.public)).resolves.toMatchObject({ type: 'public', algorithm: { name: 'RSA-OAEP', modulusLength: 4096 } });
  }, 120_000);

  it('validateIdentity names the failed check and returns the fingerprint of a good identity', async () => {
    await expect(validateIdentity({ v: 1 })).rejects.toThrow(/^malformed identity: \S/);
    await expect(validateIdentity('nope')).rejects.toThrow(TypeError);
    const ok = await validateIdentity(bob.public);
    expect(ok).toEqual({ identity: bob.public, fingerprint: bob.fingerprint });
  });
});

describe('signature verification never throws on malformed input', () => {
  it('wrong key or signature length, or an identity whose key is not base64url → false', async () => {
    const msg = new Uint8Array([1, 2, 3]);
    const key = fromB64u(alice.public.sig);
    expect(await ed25519Verify(key, new Uint8Array(63), msg)).toBe(false);
    expect(await ed25519Verify(key, new Uint8Array(65), msg)).toBe(false);
    expect(await ed25519Verify(key.slice(0, 31), new Uint8Array(64), msg)).toBe(false);
    expect(await verifyLabeled({ ...alice.public, sig: '***' }, new Uint8Array(64), 'label', msg)).toBe(false);
  });
});

describe('encoding helpers', () => {
  it('fromB64u refuses with a reason: wrong type, alphabet or length, and non-canonical spellings', () => {
    expect(() => fromB64u(42 as unknown as string)).toThrow('not base64url');
    expect(() => fromB64u('ab+c')).toThrow('not base64url');
    expect(() => fromB64u('AAAAA')).toThrow('not base64url'); // 5 chars: no byte length has that
    expect(() => fromB64u('AB')).toThrow('non-canonical base64url'); // unused low bits set
    expect(Array.from(fromB64u('AA'))).toEqual([0]);
    expect(isB64u('AB')).toBe(false);
    expect(isB64u('AA', 1)).toBe(true);
    expect(isB64u('AA', 2)).toBe(false);
    expect(isB64u('AAA', 2)).toBe(true); // 3 chars: 2 bytes
    expect(isB64u('AAB', 2)).toBe(false); // 3 chars: the low 2 bits must be zero
    expect(isB64u(7 as unknown as string)).toBe(false);
  });

  it('fromHex accepts only whole lowercase hex', () => {
    expect(Array.from(fromHex('00ff10'))).toEqual([0, 255, 16]);
    expect(fromHex('')).toHaveLength(0);
    for (const bad of ['abc', 'AB', 'zz', 'x00', '00x', '0 0']) expect(() => fromHex(bad), bad).toThrow('not lowercase hex');
  });

  it('unframe: an empty part, a truncated header and a truncated body', () => {
    expect(unframe(frame('')).map((p) => p.byteLength)).toEqual([0]);
    expect(unframe(frame('a', '', 'bc')).map((p) => Buffer.from(p).toString())).toEqual(['a', '', 'bc']);
    expect(() => unframe(new Uint8Array([0, 0, 0]))).toThrow('truncated frame header');
    expect(() => unframe(new Uint8Array([0, 0, 0, 2, 9]))).toThrow('truncated frame body');
  });

  it('concat, bytesEqual and compareBytes', () => {
    expect(Array.from(concat(new Uint8Array([1, 2]), new Uint8Array([]), new Uint8Array([3])))).toEqual([1, 2, 3]);
    expect(bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(bytesEqual(new Uint8Array([1]), new Uint8Array([1, 0]))).toBe(false);
    const cmp = (a: number[], b: number[]) => Math.sign(compareBytes(new Uint8Array(a), new Uint8Array(b)));
    expect(cmp([1, 2], [1, 2])).toBe(0);
    expect(cmp([1, 2], [1, 2, 3])).toBe(-1); // a prefix sorts first
    expect(cmp([1, 2, 3], [1, 2])).toBe(1);
    expect(cmp([1, 3], [1, 2, 9])).toBe(1); // the first differing byte decides, not the length
    expect(cmp([0, 9], [1])).toBe(-1);
  });
});

describe('relay identity helpers and errors', () => {
  it('the relay fingerprint is SHA-256 of the SubjectPublicKeyInfo; a certificate that does not parse is a BAD_REQUEST', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
    expect(relayFingerprintFromSpki(spki)).toBe(createHash('sha256').update(spki).digest('hex'));
    let err: unknown;
    try {
      relayFingerprintFromCert(new Uint8Array([1, 2, 3]));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe('BAD_REQUEST');
    expect((err as ProtocolError).message).toBe('not an X.509 certificate');
  });

  it('RelayPinError names both fingerprints', () => {
    const e = new RelayPinError('a'.repeat(64), 'b'.repeat(64));
    expect(e.name).toBe('RelayPinError');
    expect(e.expected).toBe('a'.repeat(64));
    expect(e.actual).toBe('b'.repeat(64));
    expect(e.message).toContain(`pinned ${'a'.repeat(64)} but the relay presented ${'b'.repeat(64)}`);
  });

  it('ProtocolError: its wire form carries retryAfterMs only when set', () => {
    const plain = new ProtocolError('NOT_FOUND', 'no such user');
    expect(plain.name).toBe('ProtocolError');
    expect(plain.toWire()).toEqual({ code: 'NOT_FOUND', message: 'no such user' });
    expect(Object.keys(plain.toWire())).toEqual(['code', 'message']);
    expect(new ProtocolError('RATE_LIMITED', 'slow down', 250).toWire()).toEqual({ code: 'RATE_LIMITED', message: 'slow down', retryAfterMs: 250 });
    expect(new ProtocolError('RATE_LIMITED', 'slow down', 0).toWire()).toEqual({ code: 'RATE_LIMITED', message: 'slow down', retryAfterMs: 0 });
  });
});
