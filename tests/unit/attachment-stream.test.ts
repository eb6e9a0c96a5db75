/**
 * The attachment chunk format (PROTOCOL.md §10): known answers that pin the bytes, an independent decryption of one
 * chunk from the spec's nonce/AAD text alone, and properties: every truncation, reorder, duplication, bit flip and
 * cross-file splice is rejected with AttachmentStreamError, and whatever was yielded before the error is a prefix of
 * the true plaintext (a chunk that fails is never yielded).
 */
import { createDecipheriv, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AttachmentStreamError,
  ciphertextSize,
  decryptAttachment,
  encryptAttachment,
  newAttachmentKey,
  NONCE_PREFIX_BYTES,
} from '../../electron/core/attachments/stream.js';

const KAT_KEY = Uint8Array.from({ length: 32 }, (_, i) => i);
const KAT_PREFIX = Uint8Array.from({ length: 7 }, (_, i) => 0xa0 + i);
const KAT_PLAIN = Uint8Array.from({ length: 150_000 }, (_, i) => i % 251);
const SMALL = 1024; // smallest chunk size a receiver accepts: many chunks from small files

async function* once(...pieces: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const p of pieces) yield p;
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const p of it) parts.push(p);
  return Buffer.concat(parts);
}

async function encrypt(plain: Uint8Array, o: { key?: Uint8Array; prefix?: Uint8Array; chunkSize?: number } = {}) {
  const key = o.key ?? newAttachmentKey();
  const enc = encryptAttachment(once(plain), { key, noncePrefix: o.prefix, chunkSize: o.chunkSize ?? SMALL });
  const blob = await collect(enc.chunks);
  return { key, blob, ...enc.summary() };
}

/** Decrypt `blob` against the descriptor; returns the plaintext or the error plus what was yielded before it. */
async function tryDecrypt(blob: Uint8Array, d: { key: Uint8Array; plainSize: number; sha256: Uint8Array; chunkSize?: number }) {
  const out: Uint8Array[] = [];
  try {
    for await (const p of decryptAttachment(once(blob), { chunkSize: SMALL, ...d })) out.push(p);
    return { ok: true as const, plain: Buffer.concat(out) };
  } catch (e) {
    return { ok: false as const, error: e, yielded: Buffer.concat(out) };
  }
}

/** The blob split into its prefix and its encrypted chunks. */
function split(blob: Buffer, chunkSize = SMALL): { prefix: Buffer; chunks: Buffer[] } {
  const chunks: Buffer[] = [];
  for (let off = NONCE_PREFIX_BYTES; off < blob.length; off += chunkSize + 16) chunks.push(blob.subarray(off, off + chunkSize + 16));
  return { prefix: blob.subarray(0, NONCE_PREFIX_BYTES), chunks };
}

function expectRejected(r: Awaited<ReturnType<typeof tryDecrypt>>, plain: Uint8Array): void {
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.error).toBeInstanceOf(AttachmentStreamError);
  // Whatever came out before the failure is authentic: a prefix of the real file.
  expect(Buffer.from(plain).subarray(0, r.yielded.length).equals(r.yielded)).toBe(true);
}

describe('attachment STREAM format: known answers', () => {
  it('150 000 bytes under the appendix key and prefix give the pinned blob', async () => {
    const { blob, size, sha256, plainSize } = await encrypt(KAT_PLAIN, { key: KAT_KEY, prefix: KAT_PREFIX, chunkSize: 65_536 });
    expect(size).toBe(150_055);
    expect(plainSize).toBe(150_000);
    expect(blob.length).toBe(ciphertextSize(150_000));
    expect(Buffer.from(sha256).toString('hex')).toBe('f2a9e11f80390733cc5987c0df173e0210624c6c6723aeb4e7760f4364af33f5');
    expect(createHash('sha256').update(blob).digest('hex')).toBe(Buffer.from(sha256).toString('hex'));
    expect(blob.subarray(0, 23).toString('hex')).toBe('a0a1a2a3a4a5a60ad01eaa9251433a642ace8b950d5864');
    expect(blob.subarray(blob.length - 16).toString('hex')).toBe('0507a620eaf88053fc007d2f8ba271bd');
  });

  it('the empty file is one empty last chunk: the prefix and a tag', async () => {
    const { blob } = await encrypt(new Uint8Array(0), { key: KAT_KEY, prefix: KAT_PREFIX, chunkSize: 65_536 });
    expect(blob.toString('hex')).toBe('a0a1a2a3a4a5a6cde7e8698a5ae7df07258e53122df145');
  });

  it('the spec text alone decrypts the last chunk (nonce and AAD spelled out byte by byte)', async () => {
    const { blob } = await encrypt(KAT_PLAIN, { key: KAT_KEY, prefix: KAT_PREFIX, chunkSize: 65_536 });
    const last = blob.subarray(7 + 2 * (65_536 + 16));
    const nonce = Buffer.from('a0a1a2a3a4a5a6' + '00000002' + '01', 'hex');
    const label = Buffer.from('parley/v1/attachment-chunk');
    const aad = Buffer.concat([
      Buffer.from([0, 0, 0, label.length]), label,
      Buffer.from('00000004' + '00010000', 'hex'), // chunk size 65 536
      Buffer.from('00000004' + '00000002', 'hex'), // index 2
      Buffer.from('00000001' + '01', 'hex'), // last
    ]);
    const d = createDecipheriv('aes-256-gcm', KAT_KEY, nonce);
    d.setAAD(aad);
    d.setAuthTag(last.subarray(last.length - 16));
    const pt = Buffer.concat([d.update(last.subarray(0, last.length - 16)), d.final()]);
    expect(pt.equals(Buffer.from(KAT_PLAIN.subarray(2 * 65_536)))).toBe(true);
  });

  it('PROTOCOL.md states the known answers', () => {
    const spec = readFileSync(new URL('../../relay/protocol/PROTOCOL.md', import.meta.url), 'utf8');
    for (const v of ['f2a9e11f80390733cc5987c0df173e0210624c6c6723aeb4e7760f4364af33f5', 'a0a1a2a3a4a5a6cde7e8698a5ae7df07258e53122df145', '150 055']) {
      expect(spec).toContain(v);
    }
  });
});

describe('attachment STREAM format: round trips', () => {
  it('any size, any split of the input into pieces, decrypts to the same bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 5 * SMALL + 3 }), fc.array(fc.nat(), { maxLength: 6 }), async (plain, cuts) => {
        const points = [...new Set(cuts.map((c) => (plain.length === 0 ? 0 : c % plain.length)))].sort((a, b) => a - b);
        const pieces: Uint8Array[] = [];
        let prev = 0;
        for (const p of [...points, plain.length]) {
          pieces.push(plain.subarray(prev, p));
          prev = p;
        }
        const key = newAttachmentKey();
        const enc = encryptAttachment(once(...pieces), { key, chunkSize: SMALL });
        const blob = await collect(enc.chunks);
        const { sha256, size } = enc.summary();
        expect(size).toBe(ciphertextSize(plain.length, SMALL));
        // The reader may also see the blob in arbitrary pieces.
        const out = await collect(decryptAttachment(once(...[blob.subarray(0, 3), blob.subarray(3, 1500), blob.subarray(1500)]), { key, chunkSize: SMALL, plainSize: plain.length, sha256 }));
        expect(out.equals(Buffer.from(plain))).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('a file of exactly n chunks ends with a full last chunk, not an empty one', async () => {
    const { blob } = await encrypt(new Uint8Array(3 * SMALL));
    expect(blob.length).toBe(NONCE_PREFIX_BYTES + 3 * (SMALL + 16));
  });
});

describe('attachment STREAM format: every manipulation is rejected', () => {
  const plain = Uint8Array.from({ length: 3 * SMALL + 100 }, (_, i) => (i * 7) % 256); // 4 chunks
  let fx: Awaited<ReturnType<typeof encrypt>>;
  const d = () => ({ key: fx.key, plainSize: plain.length, sha256: fx.sha256 });

  it('the untouched blob decrypts', async () => {
    fx = await encrypt(plain);
    const r = await tryDecrypt(fx.blob, d());
    expect(r.ok && r.plain.equals(Buffer.from(plain))).toBe(true);
  });

  it('every truncation (each length from 0 to size − 1)', async () => {
    for (let len = 0; len < fx.blob.length; len++) expectRejected(await tryDecrypt(fx.blob.subarray(0, len), d()), plain);
  });

  it('every truncation at a chunk boundary, even against a descriptor that declares the shorter size and the shorter hash', async () => {
    const { prefix, chunks } = split(fx.blob);
    for (let n = 1; n < chunks.length; n++) {
      const cut = Buffer.concat([prefix, ...chunks.slice(0, n)]);
      const lie = { key: fx.key, plainSize: n * SMALL, sha256: new Uint8Array(createHash('sha256').update(cut).digest()) };
      expectRejected(await tryDecrypt(cut, lie), plain);
    }
  });

  it('every reorder of two chunks and every duplication of a chunk (also with a lying descriptor)', async () => {
    const { prefix, chunks } = split(fx.blob);
    const variants: Buffer[][] = [];
    for (let i = 0; i < chunks.length; i++) {
      for (let j = 0; j < chunks.length; j++) {
        if (i !== j) {
          const swapped = [...chunks];
          [swapped[i], swapped[j]] = [swapped[j]!, swapped[i]!];
          variants.push(swapped);
        }
        const dup = [...chunks];
        dup.splice(j, 0, chunks[i]!);
        variants.push(dup);
      }
    }
    for (const v of variants) {
      const blob = Buffer.concat([prefix, ...v]);
      expectRejected(await tryDecrypt(blob, d()), plain);
      const sha256 = new Uint8Array(createHash('sha256').update(blob).digest());
      const plainSize = v.reduce((n, c) => n + c.length - 16, 0);
      expectRejected(await tryDecrypt(blob, { key: fx.key, plainSize, sha256 }), plain);
    }
  });

  it('a bit flip at every byte position (bit = position mod 8), and every bit of the prefix and of the last tag', async () => {
    const flips: Array<[number, number]> = [];
    for (let byte = 0; byte < fx.blob.length; byte++) flips.push([byte, byte % 8]);
    for (const byte of [0, 1, 2, 3, 4, 5, 6, fx.blob.length - 1, fx.blob.length - 16]) for (let bit = 0; bit < 8; bit++) flips.push([byte, bit]);
    for (const [byte, bit] of flips) {
      const bad = Buffer.from(fx.blob);
      bad[byte]! ^= 1 << bit;
      const sha256 = new Uint8Array(createHash('sha256').update(bad).digest());
      expectRejected(await tryDecrypt(bad, { ...d(), sha256 }), plain);
    }
  });

  it('cross-file splices: a chunk or the prefix of another file under the same key, or the same file under another key', async () => {
    const other = await encrypt(Uint8Array.from(plain, (b) => b ^ 0x55), { key: fx.key });
    const a = split(fx.blob);
    const b = split(other.blob);
    const splices: Buffer[] = [Buffer.concat([b.prefix, ...a.chunks])];
    for (let i = 0; i < a.chunks.length; i++) {
      const mixed = [...a.chunks];
      mixed[i] = b.chunks[i]!;
      splices.push(Buffer.concat([a.prefix, ...mixed]));
    }
    for (const s of splices) {
      const sha256 = new Uint8Array(createHash('sha256').update(s).digest());
      expectRejected(await tryDecrypt(s, { ...d(), sha256 }), plain);
    }
    expectRejected(await tryDecrypt(fx.blob, { ...d(), key: newAttachmentKey() }), plain);
  });

  it('a wrong declared size or hash, or the wrong chunk size, is rejected', async () => {
    expectRejected(await tryDecrypt(fx.blob, { ...d(), plainSize: plain.length - 1 }), plain);
    expectRejected(await tryDecrypt(fx.blob, { ...d(), plainSize: plain.length + 1 }), plain);
    expectRejected(await tryDecrypt(fx.blob, { ...d(), sha256: new Uint8Array(32) }), plain);
    expectRejected(await tryDecrypt(fx.blob, { ...d(), chunkSize: 2 * SMALL }), plain);
  });

  it('random edits (fast-check: delete, insert or overwrite a byte range) are rejected', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.nat({ max: 64 }), fc.uint8Array({ maxLength: 64 }), async (at, del, ins) => {
        const pos = at % fx.blob.length;
        const edited = Buffer.concat([fx.blob.subarray(0, pos), ins, fx.blob.subarray(Math.min(fx.blob.length, pos + del))]);
        fc.pre(!edited.equals(fx.blob));
        const sha256 = new Uint8Array(createHash('sha256').update(edited).digest());
        expectRejected(await tryDecrypt(edited, { ...d(), sha256 }), plain);
      }),
      { numRuns: 500 },
    );
  });

  it('bad parameters are typed errors too', async () => {
    expect(() => encryptAttachment(once(), { key: new Uint8Array(31) })).toThrow(AttachmentStreamError);
    expect(() => encryptAttachment(once(), { key: KAT_KEY, chunkSize: 100 })).toThrow(AttachmentStreamError);
    expect(() => encryptAttachment(once(), { key: KAT_KEY, noncePrefix: new Uint8Array(8) })).toThrow(AttachmentStreamError);
    const r = await tryDecrypt(fx.blob, { ...d(), chunkSize: 1 << 30 });
    expect(r.ok === false && r.error instanceof AttachmentStreamError && r.error.reason === 'bad-params').toBe(true);
  });
});
