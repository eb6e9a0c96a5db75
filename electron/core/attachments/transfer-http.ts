/**
 * The HTTP legs of attachment transfers (PROTOCOL.md "Blob transfers over HTTP"): the ciphertext streams in a few
 * large PUT requests (at most MAX_BLOB_HTTP_PUT_BYTES each, one single-use token each) and back in one GET, instead of
 * one acknowledged socket.io piece per 512 KiB. transfer.ts decides when to use them and falls back to the socket's
 * pieces when the relay has no HTTP blob route (an older relay, or a proxy that forwards only socket.io).
 */
import { blobTokenResultSchema, MAX_BLOB_HTTP_PUT_BYTES } from '../../../relay/protocol/index.js';
import { byteLength, WriteBehind } from '../../../relay/protocol/write-behind.js';
import type { BlobHttp } from '../transport/blob-http.js';
import { TransportError } from '../transport/errors.js';
import type { BlobChannel } from './transfer.js';

/** Progress is reported about as often as the socket's 512 KiB pieces did. */
export const PROGRESS_STEP_BYTES = 512 * 1024;

/** Pulls exact-length runs of bytes from an async source of pieces of any size (the encryption's output). */
export class ByteRuns {
  private readonly it: AsyncIterator<Uint8Array>;
  private rest: Uint8Array | null = null;

  constructor(
    src: AsyncIterable<Uint8Array>,
    private readonly ended: () => Error,
  ) {
    this.it = src[Symbol.asyncIterator]();
  }

  /** The next `n` bytes, in pieces; throws `ended()` if the source ends first. */
  async *take(n: number): AsyncGenerator<Uint8Array> {
    while (n > 0) {
      let p = this.rest;
      this.rest = null;
      if (!p) {
        const r = await this.it.next();
        if (r.done) throw this.ended();
        p = r.value;
      }
      if (p.byteLength > n) {
        this.rest = p.subarray(n);
        p = p.subarray(0, n);
      }
      n -= p.byteLength;
      if (p.byteLength > 0) yield p;
    }
  }

  async skip(n: number): Promise<void> {
    for await (const _ of this.take(n)) {
      /* discarded: the relay holds these bytes already */
    }
  }

  /** Reads the source to its end; throws `ended()` if bytes were left over. */
  async finish(): Promise<void> {
    let extra = this.rest?.byteLength ?? 0;
    for (let r = await this.it.next(); !r.done; r = await this.it.next()) extra += r.value.byteLength;
    if (extra > 0) throw this.ended();
  }
}

/** A relay without the HTTP blob route (or a path that does not reach it): the caller uses the socket's pieces. */
export function httpUnavailable(err: unknown): boolean {
  if (!(err instanceof TransportError)) return false;
  // UNKNOWN_EVENT: a relay without `blob-token`. The others come from the HTTP leg itself, not from the relay's rules.
  return ['UNKNOWN_EVENT', 'OFFLINE', 'TIMEOUT', 'BAD_RESPONSE'].includes(err.code);
}

export function tokenFor(ch: BlobChannel, blob: string, op: 'put' | 'get'): Promise<string> {
  return ch.blobRequest('blob-token', { blob, op }, blobTokenResultSchema).then((r) => r.token);
}

/**
 * Upload the bytes [from, total) of a blob over HTTP, taking them from `runs`, in PUTs of at most
 * MAX_BLOB_HTTP_PUT_BYTES. Returns false when the relay holds a different length than assumed (ask it again).
 */
export async function httpUpload(
  http: BlobHttp,
  ch: BlobChannel,
  o: { blob: string; from: number; total: number; runs: ByteRuns; signal?: AbortSignal; onProgress?: (sent: number, total: number) => void },
): Promise<boolean> {
  for (let at = o.from; at < o.total; ) {
    const length = Math.min(MAX_BLOB_HTTP_PUT_BYTES, o.total - at);
    const token = await tokenFor(ch, o.blob, 'put');
    let sent = at;
    let reported = at;
    const progress = async function* (src: AsyncIterable<Uint8Array>) {
      for await (const p of src) {
        yield p;
        sent += p.byteLength;
        if (sent - reported < PROGRESS_STEP_BYTES && sent !== o.total) continue;
        reported = sent;
        o.onProgress?.(sent, o.total);
      }
    };
    const r = await http.put(o.blob, token, at, length, progress(o.runs.take(length)), o.signal);
    if (!r.accepted || r.offset !== at + length) return false;
    at += length;
  }
  return true;
}

/**
 * Download the bytes [have, total) of a blob over HTTP (one GET) through `write` (which also hashes), about 1 MiB
 * per write, while the body goes on arriving.
 */
export async function httpDownload(
  http: BlobHttp,
  ch: BlobChannel,
  o: {
    blob: string;
    have: number;
    total: number;
    write: (bufs: Uint8Array[], position: number) => Promise<void>;
    /** Hands what was written so far to the disk (in the background, while the download goes on). */
    sync?: () => Promise<void>;
    signal?: AbortSignal;
    onProgress?: (received: number, total: number) => void;
  },
): Promise<void> {
  const token = await tokenFor(ch, o.blob, 'get');
  const { length, body } = await http.get(o.blob, token, o.have);
  try {
    if (length !== o.total - o.have) throw new TransportError('BAD_RESPONSE', `the relay offered ${length} bytes from ${o.have}; the blob has ${o.total}`);
    let at = o.have;
    let reported = at;
    // Written behind the socket: the body keeps being read while earlier bytes go to the file (one writev per MiB
    // or more), at most WRITE_BEHIND_BYTES waiting.
    const writer = new WriteBehind(async (bufs) => {
      await o.write(bufs, at);
      at += byteLength(bufs);
      if (at - reported < PROGRESS_STEP_BYTES && at !== o.total) return;
      reported = at;
      o.onProgress?.(at, o.total);
    }, { maxQueued: WRITE_BEHIND_BYTES, ...(o.sync ? { sync: o.sync } : {}) });
    try {
      for await (const piece of body) {
        if (o.signal?.aborted) break;
        await writer.push(piece as Buffer);
      }
      await writer.flush();
    } finally {
      await writer.settle();
    }
    if (!o.signal?.aborted && at !== o.total) throw new TransportError('OFFLINE', `the download broke off at ${at} of ${o.total} bytes`);
  } catch (e) {
    // The connection broke mid-body: resumable from what was written, like a lost socket.
    if (!(e instanceof TransportError) && body.errored) throw new TransportError('OFFLINE', `the download broke off: ${(e as Error).message}`);
    throw e;
  } finally {
    body.destroy();
  }
}

const WRITE_BEHIND_BYTES = 2 * 1024 * 1024;
