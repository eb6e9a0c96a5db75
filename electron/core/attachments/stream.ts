/**
 * Attachments: the chunked AEAD format ("STREAM", Hoang–Reyhanitabar–Rogaway–Vizár 2015) that encrypts a file of
 * any size under a fresh AES-256-GCM key without ever holding the whole file in memory. PROTOCOL.md §10 is the spec;
 * tests/unit/attachment-stream*.test.ts pin the bytes.
 *
 *   blob     = noncePrefix (7 bytes) ‖ chunk_0 ‖ … ‖ chunk_{n-1}
 *   chunk_i  = AES-256-GCM(key, nonce_i, plaintext_i, aad_i)  (ciphertext ‖ 16-byte tag)
 *   nonce_i  = noncePrefix ‖ u32be(i) ‖ u8(last)             (12 bytes; last = 1 only for i = n-1)
 *   aad_i    = frame("parley/v1/attachment-chunk", u32be(chunkSize), u32be(i), u8(last))
 *
 * Every chunk but the last holds exactly chunkSize plaintext bytes; the last holds 1…chunkSize (0 only for an empty
 * file, which is one empty last chunk), so one file has exactly one encoding. Because the index and the last flag are
 * in the nonce and the AAD, a reordered, duplicated, dropped or appended chunk, a truncation at a chunk boundary and a
 * chunk from another file all fail authentication.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { frame, LABELS } from '../../../relay/protocol/index.js';

/** Plaintext bytes per chunk that senders use (PROTOCOL.md §10). */
export const ATTACHMENT_CHUNK_BYTES = 64 * 1024;
/** Chunk sizes a receiver accepts (inclusive): bounds the memory one chunk can make a receiver hold. */
export const MIN_CHUNK_BYTES = 1024;
export const MAX_CHUNK_BYTES = 1024 * 1024;
export const NONCE_PREFIX_BYTES = 7;
export const CHUNK_TAG_BYTES = 16;
const KEY_BYTES = 32;
const MAX_CHUNKS = 2 ** 32; // the index is a u32

export const ATTACHMENT_STREAM_ERROR_REASONS = ['bad-params', 'bad-chunk', 'truncated', 'size-mismatch', 'hash-mismatch'] as const;
export type AttachmentStreamErrorReason = (typeof ATTACHMENT_STREAM_ERROR_REASONS)[number];

/**
 * The one error of this format: the stream is not the attachment its descriptor names. `reason` says which check
 * failed first; no plaintext of a chunk that failed is ever yielded.
 */
export class AttachmentStreamError extends Error {
  constructor(
    readonly reason: AttachmentStreamErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'AttachmentStreamError';
  }
}

/** Ciphertext (blob) size of a plaintext of `plainSize` bytes. */
export function ciphertextSize(plainSize: number, chunkSize = ATTACHMENT_CHUNK_BYTES): number {
  checkChunkSize(chunkSize);
  if (!Number.isSafeInteger(plainSize) || plainSize < 0) throw new AttachmentStreamError('bad-params', 'plaintext size must be a non-negative integer');
  return NONCE_PREFIX_BYTES + chunkCount(plainSize, chunkSize) * CHUNK_TAG_BYTES + plainSize;
}

/** Number of chunks of a plaintext: at least one (an empty file is one empty last chunk). */
export function chunkCount(plainSize: number, chunkSize: number): number {
  return Math.max(1, Math.ceil(plainSize / chunkSize));
}

/** The 12-byte nonce of chunk `index`. */
export function chunkNonce(prefix: Uint8Array, index: number, last: boolean): Buffer {
  const n = Buffer.alloc(12);
  n.set(prefix, 0);
  n.writeUInt32BE(index, NONCE_PREFIX_BYTES);
  n[11] = last ? 1 : 0;
  return n;
}

/** The additional data of chunk `index`. */
export function chunkAad(chunkSize: number, index: number, last: boolean): Uint8Array {
  const u32 = (v: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, false);
    return b;
  };
  return frame(LABELS.attachmentChunk, u32(chunkSize), u32(index), Uint8Array.of(last ? 1 : 0));
}

export interface EncryptOptions {
  /** 32-byte AES-256 key: fresh for every attachment (newAttachmentKey). */
  key: Uint8Array;
  /** 7 bytes; random by default. Fixed only in known-answer tests. */
  noncePrefix?: Uint8Array;
  chunkSize?: number;
}

export interface EncryptedSummary {
  /** Ciphertext (blob) bytes. */
  size: number;
  plainSize: number;
  /** SHA-256 of the whole blob, noncePrefix included. */
  sha256: Uint8Array;
}

export interface AttachmentEncryption {
  /** The blob, in pieces (the prefix, then each chunk's ciphertext and its tag). Consume once. */
  chunks: AsyncIterable<Uint8Array>;
  /** Available once `chunks` is exhausted; throws before. */
  summary(): EncryptedSummary;
}

/** A fresh 32-byte attachment key. */
export function newAttachmentKey(): Uint8Array {
  return new Uint8Array(randomBytes(KEY_BYTES));
}

/** Encrypt a plaintext stream (pieces of any size) into the chunked format, holding at most one chunk. */
export function encryptAttachment(source: AsyncIterable<Uint8Array>, o: EncryptOptions): AttachmentEncryption {
  const chunkSize = o.chunkSize ?? ATTACHMENT_CHUNK_BYTES;
  checkChunkSize(chunkSize);
  checkKey(o.key);
  const prefix = o.noncePrefix ?? new Uint8Array(randomBytes(NONCE_PREFIX_BYTES));
  if (prefix.byteLength !== NONCE_PREFIX_BYTES) throw new AttachmentStreamError('bad-params', `nonce prefix must be ${NONCE_PREFIX_BYTES} bytes`);
  let result: EncryptedSummary | null = null;

  async function* run(): AsyncGenerator<Uint8Array> {
    const hash = createHash('sha256');
    let size = 0;
    let plainSize = 0;
    const emit = (bytes: Uint8Array) => {
      hash.update(bytes);
      size += bytes.byteLength;
      return bytes;
    };
    yield emit(Uint8Array.from(prefix));
    // A chunk is yielded as its ciphertext and its tag (two pieces: no copy into one buffer).
    const seal = (pt: Uint8Array, index: number, last: boolean): [Buffer, Buffer] => {
      if (index >= MAX_CHUNKS) throw new AttachmentStreamError('bad-params', 'file too large for this chunk size');
      const c = createCipheriv('aes-256-gcm', o.key, chunkNonce(prefix, index, last));
      c.setAAD(chunkAad(chunkSize, index, last));
      const body = c.update(pt);
      c.final(); // GCM returns no bytes here
      return [body, c.getAuthTag()];
    };
    // Hold back one full chunk: whether it is the last is known only when the source ends.
    const reader = new Accumulator();
    let index = 0;
    for await (const piece of source) {
      reader.push(piece);
      plainSize += piece.byteLength;
      while (reader.length > chunkSize) {
        const [body, tag] = seal(reader.take(chunkSize), index++, false);
        yield emit(body);
        yield emit(tag);
      }
    }
    const [body, tag] = seal(reader.take(reader.length), index, true);
    yield emit(body);
    yield emit(tag);
    result = { size, plainSize, sha256: new Uint8Array(hash.digest()) };
  }

  return {
    chunks: run(),
    summary() {
      if (!result) throw new Error('encryption has not finished');
      return result;
    },
  };
}

export interface DecryptOptions {
  key: Uint8Array;
  chunkSize: number;
  /** The plaintext size the descriptor declares. */
  plainSize: number;
  /** SHA-256 of the blob the descriptor declares. */
  sha256: Uint8Array;
}

/**
 * Decrypt and verify a blob stream. Yields each chunk's plaintext once that chunk authenticated; the size and the
 * whole-blob hash are known only at the end, so a consumer MUST treat the output as the file only after the iterator
 * finished without error (write to a temporary file, commit after). Any failure is an AttachmentStreamError.
 */
export async function* decryptAttachment(source: AsyncIterable<Uint8Array>, o: DecryptOptions): AsyncGenerator<Uint8Array> {
  checkChunkSize(o.chunkSize);
  checkKey(o.key);
  if (!Number.isSafeInteger(o.plainSize) || o.plainSize < 0) throw new AttachmentStreamError('bad-params', 'declared size must be a non-negative integer');
  if (o.sha256.byteLength !== 32) throw new AttachmentStreamError('bad-params', 'declared SHA-256 must be 32 bytes');
  const encChunk = o.chunkSize + CHUNK_TAG_BYTES;
  const expectedChunks = chunkCount(o.plainSize, o.chunkSize);
  const hash = createHash('sha256');
  const reader = new Accumulator();
  let prefix: Uint8Array | null = null;
  let index = 0;
  let plain = 0;

  const open = (ct: Uint8Array, last: boolean): Uint8Array => {
    if (index >= expectedChunks || (last && index !== expectedChunks - 1)) {
      throw new AttachmentStreamError('size-mismatch', `the blob does not have the declared ${expectedChunks} chunks`);
    }
    if (ct.byteLength < CHUNK_TAG_BYTES) throw new AttachmentStreamError('truncated', `chunk ${index} is shorter than its tag`);
    const d = createDecipheriv('aes-256-gcm', o.key, chunkNonce(prefix!, index, last));
    d.setAAD(chunkAad(o.chunkSize, index, last));
    d.setAuthTag(ct.subarray(ct.byteLength - CHUNK_TAG_BYTES));
    let pt: Buffer;
    try {
      pt = d.update(ct.subarray(0, ct.byteLength - CHUNK_TAG_BYTES));
      d.final(); // checks the tag (GCM returns no bytes here); pt is never yielded if it throws
    } catch {
      throw new AttachmentStreamError('bad-chunk', `chunk ${index} failed authentication`);
    }
    index++;
    plain += pt.byteLength;
    return pt;
  };

  for await (const piece of source) {
    hash.update(piece);
    reader.push(piece);
    if (!prefix) {
      if (reader.length < NONCE_PREFIX_BYTES) continue;
      prefix = reader.take(NONCE_PREFIX_BYTES);
    }
    // A full chunk with more bytes after it is not the last one.
    while (reader.length > encChunk) yield open(reader.take(encChunk), false);
  }
  if (!prefix) throw new AttachmentStreamError('truncated', 'the blob ends inside its nonce prefix');
  yield open(reader.take(reader.length), true);
  if (plain !== o.plainSize) throw new AttachmentStreamError('size-mismatch', `decrypted ${plain} bytes; the descriptor says ${o.plainSize}`);
  if (!Buffer.from(hash.digest()).equals(Buffer.from(o.sha256))) {
    throw new AttachmentStreamError('hash-mismatch', 'the blob does not match its declared SHA-256');
  }
}

function checkChunkSize(chunkSize: number): void {
  if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_BYTES || chunkSize > MAX_CHUNK_BYTES) {
    throw new AttachmentStreamError('bad-params', `chunk size must be ${MIN_CHUNK_BYTES}…${MAX_CHUNK_BYTES} bytes`);
  }
}

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.byteLength !== KEY_BYTES) throw new AttachmentStreamError('bad-params', 'key must be 32 bytes');
}

/** A byte queue over incoming pieces: takes exact-size slices without re-copying everything on every push. */
class Accumulator {
  private pieces: Buffer[] = [];
  length = 0;

  push(piece: Uint8Array): void {
    if (piece.byteLength === 0) return;
    this.pieces.push(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength));
    this.length += piece.byteLength;
  }

  /**
   * The next n bytes (n ≤ length): a view of the first piece when it holds them all (no copy: pieces are never
   * written to after they were pushed), else a fresh Buffer.
   */
  take(n: number): Buffer {
    const first = this.pieces[0];
    if (first && first.byteLength >= n) {
      const out = first.subarray(0, n);
      if (first.byteLength === n) this.pieces.shift();
      else this.pieces[0] = first.subarray(n);
      this.length -= n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const head = this.pieces[0]!;
      const want = n - off;
      if (head.byteLength <= want) {
        head.copy(out, off);
        off += head.byteLength;
        this.pieces.shift();
      } else {
        head.copy(out, off, 0, want);
        this.pieces[0] = head.subarray(want);
        off += want;
      }
    }
    this.length -= n;
    return out;
  }
}
