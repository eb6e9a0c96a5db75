/**
 * Payload padding and its strict decoder at the edges: bucket boundaries, each refusal with its own message and
 * code. Written against the survivors of `npm run mutation` in electron/core/crypto/payload.ts.
 */
import { describe, expect, it } from 'vitest';
import { bucketFor, decodePayload, encodePayload, isBucket, PayloadError, type Payload } from '../../electron/core/crypto/index.js';
import { LIMITS } from '../../relay/protocol/index.js';

function refusal(fn: () => unknown): PayloadError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PayloadError);
    return e as PayloadError;
  }
  throw new Error('expected a PayloadError');
}

/** A padded buffer of `size` bytes whose length prefix says `len` and whose content starts with `content`. */
function padded(size: number, len: number, content = ''): Uint8Array {
  const out = new Uint8Array(size);
  new DataView(out.buffer).setUint32(0, len, false);
  out.set(new TextEncoder().encode(content), 4);
  return out;
}

describe('buckets', () => {
  it('bucketFor: the smallest power of two from minBucket that holds n, null past maxBucket', () => {
    expect(LIMITS.minBucket).toBe(256);
    expect(bucketFor(1)).toBe(256);
    expect(bucketFor(256)).toBe(256);
    expect(bucketFor(257)).toBe(512);
    expect(bucketFor(LIMITS.maxBucket)).toBe(LIMITS.maxBucket);
    expect(bucketFor(LIMITS.maxBucket + 1)).toBeNull();
  });

  it('isBucket: only powers of two within [minBucket, maxBucket]', () => {
    for (const n of [256, 512, 4096, LIMITS.maxBucket]) expect(isBucket(n), String(n)).toBe(true);
    for (const n of [0, 128, 255, 257, 384, 3 * 256, LIMITS.maxBucket * 2, LIMITS.maxBucket + 256]) expect(isBucket(n), String(n)).toBe(false);
  });
});

describe('encodePayload', () => {
  it('fills a bucket exactly when the JSON is 4 bytes short of it', () => {
    const overhead = JSON.stringify({ v: 1, type: 'text', ts: 1, body: '' }).length;
    const p: Payload = { v: 1, type: 'text', ts: 1, body: 'x'.repeat(252 - overhead) };
    const bytes = encodePayload(p);
    expect(bytes.byteLength).toBe(256);
    expect(new DataView(bytes.buffer).getUint32(0, false)).toBe(252);
    expect(decodePayload(bytes)).toEqual(p); // the length may reach the end of the bucket
    const oneMore = encodePayload({ ...p, body: p.body + 'x' });
    expect(oneMore.byteLength).toBe(512);
    expect(decodePayload(oneMore)).toEqual({ ...p, body: p.body + 'x' });
  });

  it('off-schema payloads are malformed with the first issue named; an over-long body is too-large', () => {
    const bad = refusal(() => encodePayload({ v: 1, type: 'text', ts: 1 } as unknown as Payload));
    expect(bad.code).toBe('malformed');
    expect(bad.message).toMatch(/^payload: \S/);
    expect(bad.message).not.toBe('payload: invalid');
    const long = refusal(() => encodePayload({ v: 1, type: 'text', ts: 1, body: 'a'.repeat(LIMITS.maxTextBytes + 1) }));
    expect(long.code).toBe('too-large');
    expect(long.message).toBe(`payload: body: more than ${LIMITS.maxTextBytes} UTF-8 bytes`);
  });
});

describe('decodePayload refuses, each with its reason', () => {
  it('not a bucket size (or not bytes at all)', () => {
    for (const b of [new Uint8Array(255), new Uint8Array(300), [1, 2, 3] as unknown as Uint8Array]) {
      const e = refusal(() => decodePayload(b));
      expect(e.code).toBe('malformed');
      expect(e.message).toBe('payload: not a bucket size');
    }
  });

  it('a length beyond the padded size', () => {
    expect(refusal(() => decodePayload(padded(256, 253))).message).toBe('payload: length beyond the padded size');
  });

  it('padding beyond the smallest bucket that holds the content', () => {
    expect(refusal(() => decodePayload(padded(512, 2, '{}'))).message).toBe('payload: padded beyond its bucket');
  });

  it('non-zero padding', () => {
    const bytes = encodePayload({ v: 1, type: 'text', ts: 1, body: 'hi' });
    bytes[bytes.byteLength - 1] = 1;
    expect(refusal(() => decodePayload(bytes)).message).toBe('payload: non-zero padding');
  });

  it('content that is not UTF-8 JSON', () => {
    expect(refusal(() => decodePayload(padded(256, 3, 'abc'))).message).toBe('payload: not UTF-8 JSON');
    const invalidUtf8 = padded(256, 2);
    invalidUtf8.set([0xc3, 0x28], 4);
    expect(refusal(() => decodePayload(invalidUtf8)).message).toBe('payload: not UTF-8 JSON');
  });

  it('JSON off the schema, naming the first issue', () => {
    const e = refusal(() => decodePayload(padded(256, 7, '{"v":2}')));
    expect(e.code).toBe('malformed');
    expect(e.message).toMatch(/^payload: \S/);
    expect(e.message).not.toBe('payload: invalid');
  });
});
