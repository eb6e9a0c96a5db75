/**
 * The relay's blob store: encrypted attachments (PROTOCOL.md "Blobs") as plain files under `<data>/blobs/`, never in
 * the database. A blob is uploaded in pieces, resumable from the length the relay reports, and becomes *complete* only
 * when its bytes are fsynced, match the size and SHA-256 the uploader declares, and a metadata file saying so has been
 * atomically renamed into place (then the folder is fsynced). Only a complete blob can be read, and only by its
 * uploader and the recipients named at completion. It is deleted when every recipient has acknowledged it, at expiry,
 * or when the uploader aborts it.
 *
 * Files per blob: `<id>.data` (the ciphertext, appended in order) and `<id>.json` (BlobMeta). The relay is blind:
 * it never sees a key, only ciphertext. One process owns the folder (blobs are per relay node, even in cluster mode).
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import type { ReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ProtocolError, toB64u, type BlobTokenOp } from '../../protocol/index.js';
import type { BlobLimits } from './limits.js';
import { byteLength, WriteBehind, writevAll } from '../../protocol/write-behind.js';
import { sha256File, syncDir } from './files.js';

const ID_RE = /^[A-Za-z0-9_-]{22}$/;

const metaSchema = z
  .object({
    v: z.literal(1),
    id: z.string().regex(ID_RE),
    uploader: z.string().regex(/^[0-9a-f]{64}$/),
    size: z.number().int().nonnegative(),
    createdAt: z.number().int(),
    expiresAt: z.number().int(),
    complete: z.boolean(),
    sha256: z.string().optional(),
    recipients: z.array(z.string()).optional(),
    acked: z.array(z.string()).optional(),
  })
  .strict();
export type BlobMeta = z.infer<typeof metaSchema>;

interface Entry {
  meta: BlobMeta;
  /** Bytes appended so far (for an upload in progress). */
  written: number;
  /** Open for appending while the upload is in progress. */
  handle: fs.FileHandle | null;
  /** Writes and state changes of one blob run one after another. */
  chain: Promise<unknown>;
  /**
   * SHA-256 of the bytes written so far, kept while every byte of the upload went through this process (begun here,
   * no failed write), so completing needs no second pass over the file; null after a restart (then the file is read).
   */
  hash: Hash | null;
}

export interface BlobUsage {
  bytes: number;
  count: number;
}

export class BlobStore {
  private readonly entries = new Map<string, Entry>();
  private readonly byUploader = new Map<string, BlobUsage>();
  private totalBytes = 0;

  private constructor(
    readonly dir: string,
    private readonly limits: BlobLimits,
    private readonly now: () => number,
  ) {}

  /**
   * Open (creating) `<dataDir>/blobs`. Loads every blob's metadata; removes leftovers of interrupted writes (temporary
   * metadata, data without metadata). An upload that was in progress when the relay died continues from the bytes on
   * disk; a blob is complete only if its metadata says so.
   */
  static async open(dataDir: string, limits: BlobLimits, now: () => number = Date.now): Promise<BlobStore> {
    const dir = path.join(dataDir, 'blobs');
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const store = new BlobStore(dir, limits, now);
    const names = await fs.readdir(dir);
    const metas = new Set<string>();
    for (const name of names) {
      if (name.endsWith('.tmp')) {
        await fs.rm(path.join(dir, name), { force: true });
        continue;
      }
      if (!name.endsWith('.json')) continue;
      const id = name.slice(0, -'.json'.length);
      let meta: BlobMeta;
      try {
        meta = metaSchema.parse(JSON.parse(await fs.readFile(path.join(dir, name), 'utf8')));
      } catch {
        await fs.rm(path.join(dir, name), { force: true }); // unreadable: never serve it
        continue;
      }
      if (meta.id !== id) continue;
      let written = 0;
      try {
        written = (await fs.stat(store.dataPath(id))).size;
      } catch {
        if (meta.complete) {
          await fs.rm(path.join(dir, name), { force: true }); // data gone: the blob is gone
          continue;
        }
      }
      if (meta.complete && written !== meta.size) {
        await store.removeFiles(id);
        continue;
      }
      metas.add(id);
      store.add({ meta, written, handle: null, chain: Promise.resolve(), hash: null });
    }
    for (const name of names) {
      const id = name.endsWith('.data') ? name.slice(0, -'.data'.length) : null;
      if (id && !metas.has(id)) await fs.rm(path.join(dir, name), { force: true });
    }
    return store;
  }

  /** Start an upload of `size` bytes; reserves the size against the uploader's and the relay's quota. */
  async begin(uploader: string, size: number): Promise<{ blob: string; expiresAt: number }> {
    const { limits } = this;
    if (size > limits.maxBlobBytes) throw new ProtocolError('TOO_LARGE', `blob is ${size} bytes; limit ${limits.maxBlobBytes}`);
    const mine = this.byUploader.get(uploader) ?? { bytes: 0, count: 0 };
    if (mine.count + 1 > limits.blobQuotaCount) throw new ProtocolError('QUOTA_EXCEEDED', `uploader quota: at most ${limits.blobQuotaCount} blobs stored`);
    if (mine.bytes + size > limits.blobQuotaBytes) throw new ProtocolError('QUOTA_EXCEEDED', `uploader quota: at most ${limits.blobQuotaBytes} bytes of blobs stored`);
    if (this.totalBytes + size > limits.blobTotalBytes) throw new ProtocolError('QUOTA_EXCEEDED', 'the relay has no room for more blobs');
    const id = toB64u(new Uint8Array(randomBytes(16)));
    const now = this.now();
    const meta: BlobMeta = { v: 1, id, uploader, size, createdAt: now, expiresAt: now + limits.blobTtlMs, complete: false };
    const entry: Entry = { meta, written: 0, handle: null, chain: Promise.resolve(), hash: createHash('sha256') };
    this.add(entry); // reserved before the first await: concurrent begins see it
    try {
      entry.handle = await fs.open(this.dataPath(id), 'wx', 0o600);
      await this.writeMeta(meta);
    } catch (e) {
      await this.drop(entry);
      throw e;
    }
    return { blob: id, expiresAt: meta.expiresAt };
  }

  /**
   * How many bytes of an upload the relay holds durably (it fsyncs them before answering), and whether it is complete.
   * Only the uploader may ask about an upload in progress.
   */
  async offset(who: string, id: string): Promise<{ offset: number; size: number; complete: boolean }> {
    const e = this.get(id);
    if (!e || (!e.meta.complete && e.meta.uploader !== who) || (e.meta.complete && !this.mayRead(e.meta, who))) {
      throw new ProtocolError('NOT_FOUND', 'no such blob');
    }
    return this.serial(e, async () => {
      if (e.meta.complete) return { offset: e.meta.size, size: e.meta.size, complete: true };
      const h = await this.handleOf(e);
      await h.sync();
      return { offset: e.written, size: e.meta.size, complete: false };
    });
  }

  /**
   * Append `data` at `offset`. A piece whose offset is not the current length is not written and is answered with
   * `accepted: false` and the current length (a resent piece after a lost acknowledgement, or a gap): the client
   * continues from there.
   */
  async put(who: string, id: string, offset: number, data: Uint8Array): Promise<{ offset: number; accepted: boolean }> {
    const e = this.uploadOf(who, id);
    return this.serial(e, async () => {
      if (e.meta.complete) throw new ProtocolError('NOT_FOUND', 'no upload in progress for that blob');
      if (offset !== e.written) return { offset: e.written, accepted: false };
      if (offset + data.byteLength > e.meta.size) {
        throw new ProtocolError('TOO_LARGE', `piece ends at ${offset + data.byteLength}; the blob was declared ${e.meta.size} bytes`);
      }
      await this.append(e, data);
      return { offset: e.written, accepted: true };
    });
  }

  /**
   * Append a stream of `length` bytes at `offset` (an HTTP PUT body), with put's rules; the pieces are written as
   * they arrive, 256 KiB or more at a time. If the stream breaks off, the bytes that arrived are written and stay
   * (the upload resumes from the length the relay reports) and the stream's error is thrown.
   */
  async putStream(who: string, id: string, offset: number, length: number, body: AsyncIterable<Uint8Array>): Promise<{ offset: number; accepted: boolean }> {
    const e = this.uploadOf(who, id);
    return this.serial(e, async () => {
      if (e.meta.complete) throw new ProtocolError('NOT_FOUND', 'no upload in progress for that blob');
      if (offset !== e.written) return { offset: e.written, accepted: false };
      if (offset + length > e.meta.size) {
        throw new ProtocolError('TOO_LARGE', `the data ends at ${offset + length}; the blob was declared ${e.meta.size} bytes`);
      }
      // Written behind the socket (one writev per 256 KiB or more): the next pieces are read while earlier ones go to the
      // file, and reach the disk in the background (complete's fsync then waits for little).
      const writer = new WriteBehind((bufs) => this.append(e, bufs), { minBatch: 256 * 1024, sync: async () => (await this.handleOf(e)).datasync() });
      let accepted = offset;
      try {
        for await (const piece of body) {
          accepted += piece.byteLength;
          if (accepted > offset + length) throw new ProtocolError('TOO_LARGE', 'more bytes than announced');
          await writer.push(piece);
        }
      } catch (err) {
        await writer.flush().catch(() => undefined); // what arrived before the break stays: less to send again
        throw err;
      }
      await writer.flush();
      if (e.written !== offset + length) throw new ProtocolError('BAD_REQUEST', `the data ended after ${e.written - offset} of ${length} bytes`);
      return { offset: e.written, accepted: true };
    });
  }

  /**
   * Check that `who` may move the bytes of blob `id` in the way `op` names (the `blob-token` event): 'put' appends to
   * an upload in progress (its uploader only), 'get' reads a complete blob (its uploader and recipients). Throws the
   * error the same socket event would (NOT_FOUND, FORBIDDEN).
   */
  authorize(who: string, id: string, op: BlobTokenOp): void {
    if (op === 'put') {
      if (this.uploadOf(who, id).meta.complete) throw new ProtocolError('NOT_FOUND', 'no upload in progress for that blob');
      return;
    }
    const e = this.get(id);
    if (!e || !e.meta.complete) throw new ProtocolError('NOT_FOUND', 'no such blob (or its upload is not complete)');
    if (!this.mayRead(e.meta, who)) throw new ProtocolError('FORBIDDEN', 'this blob was not shared with you');
  }

  /**
   * Finish an upload: every byte present and fsynced, SHA-256 as declared, then the metadata naming the recipients is
   * written atomically. Until then nobody can read the blob. `BLOB_MISMATCH` when the stored bytes are not what the
   * uploader declares (the upload must start again).
   */
  async complete(who: string, id: string, sha256: string, recipients: readonly string[]): Promise<{ size: number; expiresAt: number }> {
    const e = this.get(id);
    if (e?.meta.complete && e.meta.uploader === who && e.meta.sha256 === sha256 && sameSet(e.meta.recipients ?? [], recipients)) {
      return { size: e.meta.size, expiresAt: e.meta.expiresAt }; // a retried completion
    }
    if (e?.meta.complete && e.meta.uploader === who && e.meta.sha256 === sha256) return this.reshare(e, recipients);
    const up = this.uploadOf(who, id);
    return this.serial(up, async () => {
      if (up.meta.complete) throw new ProtocolError('NOT_FOUND', 'no upload in progress for that blob');
      if (up.written !== up.meta.size) {
        throw new ProtocolError('BLOB_MISMATCH', `the relay holds ${up.written} of the declared ${up.meta.size} bytes`);
      }
      const h = await this.handleOf(up);
      await h.sync();
      await h.close();
      up.handle = null;
      const actual = up.hash ? up.hash.digest('base64url') : await sha256File(this.dataPath(id));
      up.hash = null; // a digest is final: a retried completion reads the file
      if (actual !== sha256) throw new ProtocolError('BLOB_MISMATCH', 'the stored bytes do not match the declared SHA-256');
      const now = this.now();
      const meta: BlobMeta = {
        ...up.meta,
        complete: true,
        sha256,
        recipients: [...new Set(recipients)].sort(),
        acked: [],
        expiresAt: now + this.limits.blobTtlMs,
      };
      await this.writeMeta(meta); // the commit point: from here on the blob exists
      up.meta = meta;
      return { size: meta.size, expiresAt: meta.expiresAt };
    });
  }

  /**
   * The uploader names the recipients of a complete blob again (a recipient's key changed: the message that names the
   * blob is sealed again for the new key, PROTOCOL.md §5.6): the list is replaced; acknowledgements of those still
   * named are kept. Nothing else changes (bytes, hash, expiry).
   */
  private reshare(e: Entry, recipients: readonly string[]): Promise<{ size: number; expiresAt: number }> {
    return this.serial(e, async () => {
      const named = [...new Set(recipients)].sort();
      const meta: BlobMeta = { ...e.meta, recipients: named, acked: (e.meta.acked ?? []).filter((fp) => named.includes(fp)) };
      await this.writeMeta(meta);
      e.meta = meta;
      return { size: meta.size, expiresAt: meta.expiresAt };
    });
  }

  /** Read up to `length` bytes at `offset` of a complete blob; only its uploader and recipients may. */
  async read(who: string, id: string, offset: number, length: number): Promise<{ data: Buffer; size: number; eof: boolean }> {
    const e = this.readable(who, id, offset);
    const want = Math.min(length, e.meta.size - offset);
    const data = Buffer.allocUnsafe(want);
    const h = await fs.open(this.dataPath(id), 'r');
    try {
      let got = 0;
      while (got < want) {
        const { bytesRead } = await h.read(data, got, want - got, offset + got);
        if (bytesRead === 0) throw new Error('blob file shorter than its metadata');
        got += bytesRead;
      }
    } finally {
      await h.close();
    }
    return { data, size: e.meta.size, eof: offset + want >= e.meta.size };
  }

  /**
   * A complete blob from `offset` to its end as a stream (an HTTP GET), with read's rules. The file is opened before
   * the stream is handed out, so a file that is gone fails here, while the client can still be given an answer.
   */
  async openRead(who: string, id: string, offset: number): Promise<{ size: number; stream: ReadStream }> {
    const e = this.readable(who, id, offset);
    // An open file stays readable if the blob is deleted meanwhile (the last recipient acknowledged it).
    const handle = await fs.open(this.dataPath(id), 'r');
    return { size: e.meta.size, stream: handle.createReadStream({ start: offset, highWaterMark: 1024 * 1024 }) };
  }

  /** A recipient has the blob; when every recipient has, it is deleted. Returns whether it was deleted now. */
  async ack(who: string, id: string): Promise<{ deleted: boolean }> {
    const e = this.get(id);
    if (!e || !e.meta.complete) return { deleted: false }; // already gone: acks are idempotent
    if (!(e.meta.recipients ?? []).includes(who)) throw new ProtocolError('FORBIDDEN', 'only a recipient acknowledges a blob');
    return this.serial(
      e,
      async () => {
        const acked = new Set(e.meta.acked ?? []).add(who);
        if ((e.meta.recipients ?? []).every((r) => acked.has(r))) {
          await this.drop(e);
          return { deleted: true };
        }
        const meta = { ...e.meta, acked: [...acked].sort() };
        await this.writeMeta(meta);
        e.meta = meta;
        return { deleted: false };
      },
      { deleted: false }, // gone meanwhile (a repeated ack racing the one that deleted it): acks are idempotent
    );
  }

  /** The uploader gives up an upload in progress (or withdraws a complete blob); its room is freed. */
  async abort(who: string, id: string): Promise<{ deleted: boolean }> {
    const e = this.get(id);
    if (!e) return { deleted: false };
    if (e.meta.uploader !== who) throw new ProtocolError('NOT_FOUND', 'no such blob');
    return this.serial<{ deleted: boolean }>(
      e,
      async () => {
        await this.drop(e);
        return { deleted: true };
      },
      { deleted: false }, // gone meanwhile (acknowledged by its last recipient, expired, or a repeated abort)
    );
  }

  /** Delete blobs (complete or not) past their expiry; returns how many. */
  async sweep(now = this.now()): Promise<number> {
    let n = 0;
    for (const e of [...this.entries.values()]) {
      if (e.meta.expiresAt > now) continue;
      // an ack or abort may have deleted it meanwhile: not counted, and no reason to stop the sweep
      if (await this.serial<boolean>(e, async () => (await this.drop(e), true), false)) n++;
    }
    return n;
  }

  usage(uploader?: string): BlobUsage {
    if (uploader !== undefined) return { ...(this.byUploader.get(uploader) ?? { bytes: 0, count: 0 }) };
    return { bytes: this.totalBytes, count: this.entries.size };
  }

  /** Metadata of a blob (tests and metrics); null when there is none. */
  meta(id: string): BlobMeta | null {
    return this.get(id)?.meta ?? null;
  }

  async close(): Promise<void> {
    for (const e of this.entries.values()) {
      await e.chain.catch(() => undefined);
      await e.handle?.close().catch(() => undefined);
      e.handle = null;
    }
  }

  // ---- internals -----------------------------------------------------------------------------------------------

  private get(id: string): Entry | undefined {
    return ID_RE.test(id) ? this.entries.get(id) : undefined;
  }

  private uploadOf(who: string, id: string): Entry {
    const e = this.get(id);
    if (!e || e.meta.uploader !== who) throw new ProtocolError('NOT_FOUND', 'no such upload');
    return e;
  }

  /** A complete blob `who` may read at `offset`, or the typed refusal. */
  private readable(who: string, id: string, offset: number): Entry {
    const e = this.get(id);
    if (!e || !e.meta.complete) throw new ProtocolError('NOT_FOUND', 'no such blob (or its upload is not complete)');
    if (!this.mayRead(e.meta, who)) throw new ProtocolError('FORBIDDEN', 'this blob was not shared with you');
    if (offset > e.meta.size) throw new ProtocolError('BAD_REQUEST', `offset beyond the blob's ${e.meta.size} bytes`);
    return e;
  }

  /** Write `data` (one piece, or several in order) at the end of an upload in progress (inside serial()), keeping the running hash. */
  private async append(e: Entry, data: Uint8Array | Uint8Array[]): Promise<void> {
    const h = await this.handleOf(e);
    const bufs = Array.isArray(data) ? data : [data];
    try {
      await writevAll(h, bufs, e.written);
    } catch (err) {
      e.hash = null; // the file may now hold part of these bytes: completing reads the file instead
      throw err;
    }
    for (const b of bufs) e.hash?.update(b);
    e.written += byteLength(bufs);
  }

  private mayRead(meta: BlobMeta, who: string): boolean {
    return meta.uploader === who || (meta.recipients ?? []).includes(who);
  }

  /**
   * Runs `f` after everything queued for this blob. If the blob was deleted meanwhile, `f` does not run: the answer is
   * `ifGone` when given (deletions: acks, aborts and sweeps are idempotent), else NOT_FOUND.
   */
  private serial<T>(e: Entry, f: () => Promise<T>, ifGone?: T): Promise<T> {
    const run = e.chain.then(() => {
      if (this.entries.get(e.meta.id) !== e) {
        if (ifGone !== undefined) return ifGone;
        throw new ProtocolError('NOT_FOUND', 'no such blob');
      }
      return f();
    });
    e.chain = run.catch(() => undefined);
    return run;
  }

  private async handleOf(e: Entry): Promise<fs.FileHandle> {
    e.handle ??= await fs.open(this.dataPath(e.meta.id), 'r+');
    return e.handle;
  }

  private add(e: Entry): void {
    this.entries.set(e.meta.id, e);
    const u = this.byUploader.get(e.meta.uploader) ?? { bytes: 0, count: 0 };
    u.bytes += e.meta.size;
    u.count += 1;
    this.byUploader.set(e.meta.uploader, u);
    this.totalBytes += e.meta.size;
  }

  /** Forget the blob and delete its files: metadata first, so a crash in between leaves nothing servable. */
  private async drop(e: Entry): Promise<void> {
    if (this.entries.get(e.meta.id) !== e) return;
    this.entries.delete(e.meta.id);
    const u = this.byUploader.get(e.meta.uploader);
    if (u) {
      u.bytes -= e.meta.size;
      u.count -= 1;
      if (u.count <= 0) this.byUploader.delete(e.meta.uploader);
    }
    this.totalBytes -= e.meta.size;
    await e.handle?.close().catch(() => undefined);
    e.handle = null;
    await this.removeFiles(e.meta.id);
  }

  private async removeFiles(id: string): Promise<void> {
    await fs.rm(this.metaPath(id), { force: true });
    await fs.rm(this.dataPath(id), { force: true });
  }

  /** Write metadata atomically and durably: temporary file, fsync, rename, fsync the folder. */
  private async writeMeta(meta: BlobMeta): Promise<void> {
    const tmp = `${this.metaPath(meta.id)}.${randomBytes(4).toString('hex')}.tmp`;
    const h = await fs.open(tmp, 'wx', 0o600);
    try {
      await h.writeFile(JSON.stringify(meta));
      await h.sync();
    } finally {
      await h.close();
    }
    await fs.rename(tmp, this.metaPath(meta.id));
    await syncDir(this.dir);
  }

  private dataPath(id: string): string {
    return path.join(this.dir, `${id}.data`);
  }

  private metaPath(id: string): string {
    return path.join(this.dir, `${id}.json`);
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((x) => sb.has(x));
}
