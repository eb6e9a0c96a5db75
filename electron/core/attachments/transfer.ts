/**
 * Moving attachments between a file and the relay's blob store (PROTOCOL.md §10 and "Blobs"), streaming both ways:
 * encrypt-and-upload reads the file once per attempt; download writes the ciphertext to a local file (resuming from
 * its length) and, given the descriptor's SHA-256, checks it as the bytes arrive, so the blob is verified completely
 * before anything is decrypted for the user. The bytes move over HTTP with single-use tokens when the relay offers
 * it (transfer-http.ts), else in acknowledged socket.io pieces. The downloaded ciphertext *is* the encrypted-at-rest
 * copy: its key lives only in the message payload, inside the encrypted database.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import type { z } from 'zod';
import {
  blobBeginResultSchema,
  blobCompleteResultSchema,
  blobDeleteResultSchema,
  blobGetResultSchema,
  blobOffsetResultSchema,
  blobPutResultSchema,
  fromB64u,
  MAX_BLOB_PIECE_BYTES,
  toB64u,
  type BlobEventName,
} from '../../../relay/protocol/index.js';
import type { BlobHttp } from '../transport/blob-http.js';
import { ATTACHMENT_CHUNK_BYTES, AttachmentStreamError, ciphertextSize, decryptAttachment, encryptAttachment, newAttachmentKey, NONCE_PREFIX_BYTES } from './stream.js';
import { ByteRuns, httpDownload, httpUnavailable, httpUpload } from './transfer-http.js';
import { byteLength, WriteBehind, writevAll } from '../../../relay/protocol/write-behind.js';

/** One blob request over an authenticated relay connection; rejects with the relay's typed error. */
export interface BlobChannel {
  blobRequest<S extends z.ZodType>(event: BlobEventName, payload: object, schema: S): Promise<z.infer<S>>;
  /** The relay's HTTP blob route for this connection (RelayClient); absent or null: socket.io pieces only. */
  readonly blobHttp?: BlobHttp | null;
}

export class AttachmentTransferError extends Error {
  constructor(
    readonly code: 'changed' | 'cancelled' | 'stalled',
    message: string,
  ) {
    super(message);
    this.name = 'AttachmentTransferError';
  }
}

/** What an upload needs to resume after a restart (keep it with the outgoing message, in the encrypted database). */
export interface UploadState {
  blob: string;
  /** base64url */
  key: string;
  /** base64url, 7 bytes: the same prefix reproduces the same ciphertext, so the relay's bytes stay valid. */
  noncePrefix: string;
}

export interface UploadResult extends UploadState {
  /** Ciphertext bytes and their SHA-256 (base64url). */
  blobSize: number;
  sha256: string;
  chunk: number;
}

export interface UploadOptions {
  /** Opens the plaintext from the start (called once per attempt). */
  open: () => AsyncIterable<Uint8Array>;
  plainSize: number;
  recipients: string[];
  /** Resume this upload instead of starting one. */
  resume?: UploadState;
  /** Called once the relay assigned the blob, before any byte is sent: persist it to resume after a restart. */
  onBegin?: (s: UploadState) => void | Promise<void>;
  onProgress?: (sent: number, total: number) => void;
  signal?: AbortSignal;
  /** Pieces in flight at once. */
  window?: number;
}

const ATTEMPTS = 5;
/** Reads of files being encrypted or decrypted (the stream reads the next while the last is processed). */
export const READ_BYTES = 1024 * 1024;

/** Encrypt and upload; resolves once the relay confirmed the blob complete (only then may a message name it). */
export async function uploadAttachment(ch: BlobChannel, o: UploadOptions): Promise<UploadResult> {
  const blobSize = ciphertextSize(o.plainSize, ATTACHMENT_CHUNK_BYTES);
  let state = o.resume;
  if (!state) {
    const key = newAttachmentKey();
    const prefix = new Uint8Array(randomBytes(NONCE_PREFIX_BYTES));
    const begun = await ch.blobRequest('blob-begin', { size: blobSize }, blobBeginResultSchema);
    state = { blob: begun.blob, key: toB64u(key), noncePrefix: toB64u(prefix) };
    await o.onBegin?.(state);
  }
  const key = fromB64u(state.key);
  const noncePrefix = fromB64u(state.noncePrefix);
  const window = o.window ?? 4;
  let http = ch.blobHttp ?? null;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    checkCancelled(o.signal);
    const at = await ch.blobRequest('blob-offset', { blob: state.blob }, blobOffsetResultSchema);
    // Re-encrypt from the start (same key and prefix: the same bytes), send from what the relay holds.
    const enc = encryptAttachment(o.open(), { key, noncePrefix });
    if (http) {
      const changed = () => new AttachmentTransferError('changed', 'the file changed while it was being sent');
      const runs = new ByteRuns(enc.chunks, changed);
      let accepted: boolean;
      try {
        await runs.skip(at.complete ? blobSize : at.offset);
        accepted = at.complete || (await httpUpload(http, ch, { blob: state.blob, from: at.offset, total: blobSize, runs, signal: o.signal, onProgress: o.onProgress }));
        if (accepted) await runs.finish();
      } catch (err) {
        checkCancelled(o.signal);
        if (!httpUnavailable(err)) throw err;
        http = null; // no HTTP route to this relay: the same upload continues in socket pieces
        continue;
      }
      if (!accepted) continue; // the relay holds a different length than we assumed: ask again
      const summary = enc.summary();
      if (summary.plainSize !== o.plainSize || summary.size !== blobSize) throw changed();
      return complete(ch, o, state, blobSize, summary.sha256);
    }
    let pos = 0;
    let parts: Buffer[] = []; // bytes not sent yet, `queued` of them
    let queued = 0;
    const inflight: Array<Promise<boolean>> = [];
    let refused = false;
    const sendPiece = (offset: number, data: Buffer) =>
      ch.blobRequest('blob-put', { blob: state.blob, offset, data }, blobPutResultSchema).then((r) => {
        if (r.accepted) o.onProgress?.(r.offset, blobSize);
        return r.accepted;
      });
    const flush = async (piece: Buffer, offset: number) => {
      inflight.push(sendPiece(offset, piece));
      if (inflight.length >= window && !(await inflight.shift()!)) refused = true;
    };
    const from = at.offset; // the relay holds [0, from)
    let sendFrom = from; // offset of `parts`
    for await (const c of enc.chunks) {
      checkCancelled(o.signal);
      const start = pos;
      pos += c.byteLength;
      if (refused || at.complete || pos <= from) continue;
      const skip = Math.max(0, from - start);
      parts.push(Buffer.from(c.buffer, c.byteOffset + skip, c.byteLength - skip));
      queued += c.byteLength - skip;
      if (queued < MAX_BLOB_PIECE_BYTES) continue;
      // Joined once per piece sent (not once per chunk), the remainder kept for the next.
      let pending = Buffer.concat(parts);
      while (pending.length >= MAX_BLOB_PIECE_BYTES && !refused) {
        await flush(pending.subarray(0, MAX_BLOB_PIECE_BYTES), sendFrom);
        sendFrom += MAX_BLOB_PIECE_BYTES;
        pending = pending.subarray(MAX_BLOB_PIECE_BYTES);
      }
      parts = pending.length > 0 ? [pending] : [];
      queued = pending.length;
    }
    if (!refused && !at.complete && queued > 0) await flush(Buffer.concat(parts), sendFrom);
    for (const p of inflight) if (!(await p)) refused = true;
    const summary = enc.summary();
    if (summary.plainSize !== o.plainSize || summary.size !== blobSize) {
      throw new AttachmentTransferError('changed', 'the file changed while it was being sent');
    }
    if (refused) continue; // the relay holds a different length than we assumed: ask again
    return complete(ch, o, state, blobSize, summary.sha256);
  }
  throw new AttachmentTransferError('stalled', `the upload did not make progress in ${ATTEMPTS} attempts`);
}

/** Every byte is on the relay: complete the blob (only then may a message name it). */
async function complete(ch: BlobChannel, o: UploadOptions, state: UploadState, blobSize: number, hash: Uint8Array): Promise<UploadResult> {
  const sha256 = toB64u(hash);
  await ch.blobRequest('blob-complete', { blob: state.blob, sha256, recipients: o.recipients }, blobCompleteResultSchema);
  return { ...state, blobSize, sha256, chunk: ATTACHMENT_CHUNK_BYTES };
}

export interface DownloadOptions {
  onProgress?: (received: number, total: number) => void;
  signal?: AbortSignal;
  /** Requests in flight at once (socket pieces). */
  window?: number;
  /**
   * The blob the descriptor names: its size and SHA-256 (base64url) are checked as the bytes arrive (bytes already
   * in the file are read once to resume the hash); a blob that is not this one throws AttachmentStreamError. Without
   * it, the file is unchecked ciphertext: call verifyBlobFile before using it.
   */
  expect?: { blobSize: number; sha256: string };
}

/**
 * Download a blob's ciphertext into `file`, continuing from the bytes already there (a resumed download). The file is
 * ciphertext only, fsynced once at the end.
 */
export async function downloadBlob(ch: BlobChannel, blob: string, file: string, o: DownloadOptions = {}): Promise<void> {
  const h = await fs.open(file, 'a+', 0o600);
  try {
    let have = (await h.stat()).size;
    const info = await ch.blobRequest('blob-offset', { blob }, blobOffsetResultSchema);
    const total = info.size;
    if (o.expect && total !== o.expect.blobSize) {
      throw new AttachmentStreamError('size-mismatch', `the relay holds ${total} bytes; the descriptor means ${o.expect.blobSize}`);
    }
    if (have > total) {
      await h.truncate(0);
      have = 0;
    }
    const hash = o.expect ? await hashPrefix(file, have) : null;
    const write = async (bufs: Uint8Array[], position: number) => {
      await writevAll(h, bufs, position);
      for (const b of bufs) hash?.update(b);
    };
    const http = ch.blobHttp ?? null;
    if (http && have < total) {
      try {
        await httpDownload(http, ch, { blob, have, total, write, sync: () => h.datasync(), signal: o.signal, onProgress: o.onProgress });
        checkCancelled(o.signal);
        have = total;
      } catch (err) {
        checkCancelled(o.signal);
        if (!httpUnavailable(err)) throw err;
        have = (await h.stat()).size; // the same download continues in socket pieces
      }
    }
    const window = o.window ?? 4;
    const get = (offset: number) => ch.blobRequest('blob-get', { blob, offset, length: Math.min(MAX_BLOB_PIECE_BYTES, total - offset) }, blobGetResultSchema);
    const queue: Array<{ offset: number; p: Promise<z.infer<typeof blobGetResultSchema>> }> = [];
    let next = have;
    const fill = () => {
      while (queue.length < window && next < total) {
        const p = get(next);
        p.catch(() => undefined); // awaited in order below
        queue.push({ offset: next, p });
        next += Math.min(MAX_BLOB_PIECE_BYTES, total - next);
      }
    };
    fill();
    while (queue.length > 0) {
      checkCancelled(o.signal);
      const { offset, p } = queue.shift()!;
      const r = await p;
      const want = Math.min(MAX_BLOB_PIECE_BYTES, total - offset);
      if (r.data.byteLength !== want) throw new AttachmentTransferError('stalled', 'the relay answered a piece of the wrong length');
      await write([Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength)], offset);
      o.onProgress?.(offset + want, total);
      fill();
    }
    await h.sync();
    if (hash && !hash.digest().equals(Buffer.from(fromB64u(o.expect!.sha256)))) {
      throw new AttachmentStreamError('hash-mismatch', 'the downloaded blob does not match its declared SHA-256');
    }
  } finally {
    await h.close();
  }
}

/** A SHA-256 over the first `n` bytes of `file` (a resumed download's bytes), to continue with the rest. */
async function hashPrefix(file: string, n: number): Promise<ReturnType<typeof createHash>> {
  const hash = createHash('sha256');
  if (n > 0) for await (const c of createReadStream(file, { start: 0, end: n - 1, highWaterMark: 1024 * 1024 })) hash.update(c as Buffer);
  return hash;
}

/** The descriptor fields verification needs. */
export interface BlobCheck {
  key: string;
  size: number;
  chunk: number;
  sha256: string;
}

/** Decrypt the blob in `file` as a stream: every tag, the chunk count, the size and the SHA-256 (throws AttachmentStreamError). */
export function decryptBlobFile(file: string, d: BlobCheck): AsyncGenerator<Uint8Array> {
  return decryptAttachment(createReadStream(file, { highWaterMark: READ_BYTES }), {
    key: fromB64u(d.key),
    chunkSize: d.chunk,
    plainSize: d.size,
    sha256: fromB64u(d.sha256),
  });
}

/** Verify a downloaded blob completely without keeping any plaintext. */
export async function verifyBlobFile(file: string, d: BlobCheck): Promise<void> {
  for await (const _ of decryptBlobFile(file, d)) {
    /* each chunk authenticated; the last checks run at the end */
  }
}

/**
 * Write the plaintext of a verified blob to `dest` (the place the user chose): to a temporary file beside it first,
 * renamed only after the whole blob verified, so a bad blob never leaves a half-written file behind.
 */
export async function saveBlobFile(file: string, d: BlobCheck, dest: string): Promise<void> {
  const tmp = `${dest}.${randomBytes(4).toString('hex')}.part`;
  const h = await fs.open(tmp, 'wx', 0o600);
  try {
    // Authenticated chunks are written behind the decryption (one writev per MiB or more), so reading, decrypting
    // and writing overlap.
    let at = 0;
    const writer = new WriteBehind(async (bufs) => {
      const position = at;
      at += byteLength(bufs);
      await writevAll(h, bufs, position);
    }, { maxQueued: WRITE_BEHIND_BYTES, sync: () => h.datasync() });
    try {
      for await (const pt of decryptBlobFile(file, d)) await writer.push(pt);
      await writer.flush();
    } finally {
      await writer.settle();
    }
    await h.sync();
    await h.close();
    await fs.rename(tmp, dest);
  } catch (e) {
    await h.close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

/** Bytes queued while one write runs, at most (downloads and saves write behind the bytes arriving). */
const WRITE_BEHIND_BYTES = 2 * 1024 * 1024;

/** Tell the relay this recipient has the blob (it is deleted once every recipient has). */
export async function ackBlob(ch: BlobChannel, blob: string): Promise<boolean> {
  return (await ch.blobRequest('blob-ack', { blob }, blobDeleteResultSchema)).deleted;
}

/** A file as an async source of pieces. */
export function fileSource(file: string): () => AsyncIterable<Uint8Array> {
  return () => createReadStream(file, { highWaterMark: READ_BYTES });
}

function checkCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AttachmentTransferError('cancelled', 'cancelled');
}
