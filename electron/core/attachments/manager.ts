/**
 * Sending and saving attachments for the core (main process and CLI; the renderer path comes later).
 *
 * Sending: the message row ('sending', body = caption) and one attachments row per file are written first, so an
 * upload's state (blob, key, nonce prefix) is kept in the encrypted database as soon as the relay assigns the blob,
 * and a restart continues the upload from the relay's offset (resumeUploads). JPEG and PNG files lose their
 * metadata on the way (streamed; the size sent is the stripped size). Once every blob is complete the files
 * payload is sealed and queued like a text message. An upload the relay refuses for good fails the message with
 * the reason; a lost connection leaves it waiting for the next one.
 *
 * Saving: the ciphertext is downloaded into the profile's attachment cache (encrypted at rest, resumable), verified
 * completely as it arrives (its size and the SHA-256 the signed descriptor names: the bytes are exactly the ones the
 * sender encrypted), and only then decrypted to the path the user chose (every chunk's tag checked again on the way). A blob that does not verify fails the attachment
 * with the reason and keeps the message.
 */
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { LIMITS, utf8 } from '../../../relay/protocol/index.js';
import { parseConversationId, type MessageView } from '../../contract/api.js';
import type { Messenger } from '../messenger/messenger.js';
import { CoreError } from '../messenger/errors.js';
import type { AttachmentPreview, AttachmentRecord } from '../store/attachments.js';
import type { HistoryStore, MessageRecord } from '../store/types.js';
import { TransportError } from '../transport/errors.js';
import { attachmentDescriptorSchema, fileNameSchema, MAX_ATTACHMENTS, type AttachmentDescriptor } from './descriptor.js';
import { mediaTypeFor } from './media-type.js';
import { ATTACHMENT_CHUNK_BYTES, AttachmentStreamError, ciphertextSize } from './stream.js';
import { MetadataStripError, stripMetadata, strippableType } from './strip-metadata.js';
import { ackBlob, AttachmentTransferError, downloadBlob, READ_BYTES, saveBlobFile, uploadAttachment, type BlobChannel } from './transfer.js';

export interface AttachmentManagerOptions {
  store: HistoryStore;
  messenger: Messenger;
  /** The authenticated relay connection, or null while there is none. */
  channel: () => (BlobChannel & { readonly online: boolean }) | null;
  /** Where downloaded ciphertext is cached (inside the profile folder). */
  cacheDir: string;
  log: (msg: string) => void;
  /** Transfer progress (the app's progress bars), per piece of ciphertext moved. */
  progress?: (p: { message: MessageRecord; index: number; direction: 'upload' | 'download'; done: number; total: number }) => void;
  /** An outgoing file is no longer needed (uploaded, or its message failed for good): the app removes its staged copy. */
  released?: (source: string) => void;
}

/** The download of one attachment into the cache, verified; what saving and showing it need. */
export interface CachedAttachment {
  message: MessageRecord;
  record: AttachmentRecord;
  file: string;
  check: { key: string; size: number; chunk: number; sha256: string };
}

/**
 * How often an upload's progress is written to the database, at most: each write is a synchronous commit (fsync) on
 * the thread that encrypts; every 4 MiB it cost ~2 ms per MiB sent (~8 % of a 100 MiB upload, measured).
 */
const PERSIST_PROGRESS_MS = 1000;

/** How far one file's upload or download is, in ciphertext bytes (the CLI's --progress; the app gets `o.progress`). */
export interface TransferProgress {
  messageId: string;
  index: number;
  direction: 'up' | 'down';
  done: number;
  total: number;
}

export class AttachmentManager {
  private readonly running = new Map<number, Promise<void>>();
  private readonly progressListeners = new Set<(p: TransferProgress) => void>();
  /** Stops the running upload of a message (by seq) or download of an attachment (`seq:index`). */
  private readonly aborts = new Map<string, AbortController>();

  constructor(private readonly o: AttachmentManagerOptions) {}

  /** Calls `fn` as transfers move on; returns the unsubscribe function. */
  onProgress(fn: (p: TransferProgress) => void): () => void {
    this.progressListeners.add(fn);
    return () => this.progressListeners.delete(fn);
  }

  private progress(m: MessageRecord, index: number, direction: 'up' | 'down', done: number, total: number): void {
    this.o.progress?.({ message: m, index, direction: direction === 'up' ? 'upload' : 'download', done, total });
    for (const fn of this.progressListeners) fn({ messageId: m.id, index, direction, done, total });
  }

  /**
   * Queues a message with files to a direct conversation (`d:<username>`) or a group (`g:<id>`); resolves once it is
   * stored ('sending'), the uploads continue in the background.
   */
  async sendFiles(conversation: unknown, paths: unknown, caption: unknown = '', previews: ReadonlyArray<AttachmentPreview | null> = []): Promise<MessageView> {
    const target = typeof conversation === 'string' ? parseConversationId(conversation) : null;
    if (!target) throw new CoreError('INVALID', 'Invalid conversation: expected d:<username> or g:<32 hex characters>');
    if (!Array.isArray(paths) || paths.length === 0 || paths.length > MAX_ATTACHMENTS) {
      throw new CoreError('INVALID', `A message carries 1 to ${MAX_ATTACHMENTS} files`);
    }
    if (typeof caption !== 'string') throw new CoreError('INVALID', 'The caption must be text');
    if (utf8(caption).byteLength > LIMITS.maxTextBytes) throw new CoreError('INVALID', `A caption can be at most ${LIMITS.maxTextBytes} bytes`);
    const files: Array<{ source: string; name: string; type: string; size: number; preview: AttachmentPreview | null }> = [];
    for (const [i, p] of paths.entries()) {
      if (typeof p !== 'string' || p.length === 0) throw new CoreError('INVALID', 'A file path must be text');
      const source = path.resolve(p);
      const st = await fs.stat(source).catch(() => null);
      if (!st?.isFile()) throw new CoreError('INVALID', `Not a readable file: ${path.basename(source)}`);
      const name = fileNameSchema.safeParse(path.basename(source));
      if (!name.success) throw new CoreError('INVALID', `Unsupported file name: ${name.error.issues[0]?.message ?? 'invalid'}`);
      const type = mediaTypeFor(name.data);
      files.push({ source, name: name.data, type, size: st.size, preview: checkPreview(previews[i] ?? null, type) });
    }
    const addFiles = (seq: number) => files.forEach((f, i) => this.o.store.attachments.insertOutgoing(seq, i, f));
    const m =
      target.kind === 'group'
        ? this.o.messenger.groupFiles.insert(target.groupId, caption, addFiles)
        : this.o.messenger.insertFilesMessage(await this.o.messenger.sendableContact(target.username), caption, addFiles);
    void this.upload(m);
    return this.o.messenger.withAttachments(m);
  }

  /** Continues every upload a restart or a lost connection interrupted (call when the relay is reachable). */
  resumeUploads(): void {
    for (const seq of this.o.store.attachments.unfinishedUploads()) {
      const m = this.messageBySeq(seq);
      if (m && m.state === 'sending') void this.upload(m);
    }
  }

  /** Resolves when every upload started so far has finished (or stopped). */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  /** Downloads (if needed), verifies and writes one attachment of a message to `dest`. */
  async saveAttachment(messageId: unknown, index: unknown, dest: unknown): Promise<void> {
    if (typeof dest !== 'string' || dest.length === 0) throw new CoreError('INVALID', 'saveAttachment needs a message id, a file index and a path');
    const c = await this.cached(messageId, index);
    await this.decrypting(c, () => saveBlobFile(c.file, c.check, path.resolve(dest)));
  }

  /**
   * Runs `f`, which decrypts the cached attachment `c`: a chunk that fails its tag (a sender's blob that matches its
   * SHA-256 but not its key) or a cache altered on disk fails the attachment with the reason, as a download would.
   */
  async decrypting<T>(c: CachedAttachment, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      throw this.failure(c.message, c.record, c.file, err);
    }
  }

  /** Stops a running upload (the message fails as cancelled) or download (it can start again); false if none ran. */
  cancel(messageId: string, index: number): boolean {
    const m = this.o.store.getMessage(messageId, { direction: 'in' }) ?? this.o.store.getMessage(messageId, { direction: 'out' });
    if (!m) return false;
    const ctl = this.aborts.get(`${m.seq}:${index}`) ?? this.aborts.get(String(m.seq));
    ctl?.abort();
    return ctl !== undefined;
  }

  /**
   * The attachment's ciphertext in the profile's cache, downloaded (resuming what is there) and verified completely
   * when it is not there yet. One download per attachment at a time: a second caller waits for the first.
   */
  async cached(messageId: unknown, index: unknown): Promise<CachedAttachment> {
    if (typeof messageId !== 'string' || !Number.isInteger(index)) throw new CoreError('INVALID', 'An attachment is named by a message id and a file index');
    const m = this.o.store.getMessage(messageId, { direction: 'in' }) ?? this.o.store.getMessage(messageId, { direction: 'out' });
    if (!m) throw new CoreError('NOT_FOUND', 'No such message');
    const a = this.o.store.attachments.get(m.seq, index as number);
    if (!a?.descriptor) throw new CoreError('NOT_FOUND', a ? 'This file has not been uploaded yet' : 'No such attachment');
    const d = a.descriptor;
    const cache = a.cachePath ?? path.join(this.o.cacheDir, `${d.blob}.blob`);
    const check = { key: d.key, size: d.size, chunk: d.chunk, sha256: d.sha256 };
    const result = { message: m, record: a, file: cache, check };
    if (a.state === 'complete' && a.cachePath !== null && (await exists(cache))) return result;
    const key = `${m.seq}:${a.index}`;
    const running = this.downloads.get(key);
    if (running) return running;
    const ctl = new AbortController();
    const p = this.download(result, d.blob, ctl.signal).finally(() => {
      this.downloads.delete(key);
      this.aborts.delete(key);
    });
    this.aborts.set(key, ctl);
    this.downloads.set(key, p);
    return p;
  }

  private readonly downloads = new Map<string, Promise<CachedAttachment>>();

  private async download(c: CachedAttachment, blob: string, signal: AbortSignal): Promise<CachedAttachment> {
    const { message: m, record: a, file, check } = c;
    try {
      const ch = this.online();
      await fs.mkdir(this.o.cacheDir, { recursive: true, mode: 0o700 });
      this.o.store.attachments.update(m.seq, a.index, { cachePath: file });
      // Verified while it downloads (size and SHA-256), not in a second pass over the file.
      await downloadBlob(ch, blob, file, {
        signal,
        expect: { blobSize: ciphertextSize(check.size, check.chunk), sha256: check.sha256 },
        onProgress: (done, total) => this.progress(m, a.index, 'down', done, total),
      });
      this.o.store.attachments.update(m.seq, a.index, { state: 'complete', error: null, offset: check.size });
      if (m.direction === 'in') await ackBlob(ch, blob).catch(() => false); // the relay may delete it now
      return { ...c, record: { ...a, state: 'complete', error: null, cachePath: file } };
    } catch (err) {
      throw this.failure(m, a, file, err);
    }
  }

  /** Records why an attachment failed (when it failed for good) and returns the typed error for the caller. */
  private failure(m: MessageRecord, a: AttachmentRecord, cache: string, err: unknown): CoreError {
    if (err instanceof AttachmentStreamError) {
      const reason = `the file does not verify (${err.reason}): it was damaged or altered`;
      this.o.store.attachments.update(m.seq, a.index, { state: 'failed', error: reason });
      void fs.rm(cache, { force: true });
      return new CoreError('INVALID', `Attachment ${a.index} of message ${m.id}: ${reason}`);
    }
    if (err instanceof AttachmentTransferError && err.code === 'cancelled') {
      return new CoreError('CANCELLED', 'The download was stopped');
    }
    if (err instanceof TransportError) {
      if (!err.retryable) {
        // NOT_FOUND: the relay has no complete blob this key may read (expired, deleted once everyone had it, or
        // completed for the recipient's previous key and not re-shared). Its own code: the generic NOT_FOUND
        // sentence is about usernames.
        const reason =
          err.code === 'NOT_FOUND'
            ? 'the file is no longer on the relay, or was not shared with this key (BLOB_UNAVAILABLE)'
            : `the relay refused the download (${err.code})`;
        this.o.store.attachments.update(m.seq, a.index, { state: 'failed', error: reason });
        return new CoreError('RELAY', `Attachment ${a.index} of message ${m.id}: ${reason}`, { cause: err });
      }
      return new CoreError('OFFLINE', `Downloading needs the relay: ${err.message}`, { cause: err });
    }
    if (err instanceof CoreError) return err;
    return new CoreError('STORAGE', `Saving the attachment failed: ${(err as Error).message}`, { cause: err });
  }

  private online(): BlobChannel {
    const ch = this.o.channel();
    if (!ch?.online) throw new CoreError('OFFLINE', 'Moving files needs the relay, which is not reachable');
    return ch;
  }

  private messageBySeq(seq: number): MessageRecord | null {
    return this.o.store.getMessageBySeq(seq);
  }

  /** One upload run per message at a time. */
  private upload(m: MessageRecord): Promise<void> {
    const running = this.running.get(m.seq);
    if (running) return running;
    const ctl = new AbortController();
    const p = this.uploadAll(m, ctl.signal).finally(() => {
      this.running.delete(m.seq);
      this.aborts.delete(String(m.seq));
    });
    this.aborts.set(String(m.seq), ctl);
    this.running.set(m.seq, p);
    return p;
  }

  private async uploadAll(m: MessageRecord, signal: AbortSignal): Promise<void> {
    const { store } = this.o;
    try {
      const group = groupOf(m);
      // Who may download: the contact, or every other member of the group (checked again at each resume). A contact
      // whose key change waits for the user: the new key, the only one the relay still serves for them (the old one is
      // unregistered and refused). The blob alone is ciphertext; its key travels in the message, held until accepted.
      const c = group ? null : this.o.messenger.requireContact(m.contact);
      const recipients = group ? this.o.messenger.groupFiles.recipients(group) : [c!.pendingFingerprint ?? c!.fingerprint];
      const descriptors: AttachmentDescriptor[] = [];
      for (const a of store.attachments.list(m.seq)) descriptors.push(a.descriptor ?? (await this.uploadOne(m, a, recipients, signal)));
      if (group) await this.o.messenger.groupFiles.queue(group, m.id, descriptors);
      else await this.o.messenger.queueFiles(m.id, descriptors);
    } catch (err) {
      const retry = (err instanceof TransportError && err.retryable) || (err instanceof CoreError && err.code === 'OFFLINE');
      if (retry) {
        this.o.log(`upload of message ${m.id} waits for the relay: ${(err as Error).message}`);
        return;
      }
      const reason = failureReason(err);
      this.o.log(`upload of message ${m.id} failed: ${reason}`);
      try {
        const group = groupOf(m);
        if (group) this.o.messenger.groupFiles.fail(group, m.id, reason);
        else this.o.messenger.failMessage(m.id, reason);
        for (const a of store.attachments.list(m.seq)) if (a.source) this.o.released?.(a.source);
      } catch (storeErr) {
        // The store closed under us (the profile is locking): the row stays 'sending' and resumes next time.
        this.o.log(`upload of message ${m.id}: could not record the failure: ${(storeErr as Error).message}`);
      }
    }
  }

  private async uploadOne(m: MessageRecord, a: AttachmentRecord, recipients: string[], signal: AbortSignal): Promise<AttachmentDescriptor> {
    const { store } = this.o;
    const source = a.source!;
    const kind = strippableType(a.type);
    const read = () => createReadStream(source, { highWaterMark: READ_BYTES });
    const open = kind ? () => stripMetadata(kind, read()) : read;
    let plainSize: number;
    try {
      plainSize = kind ? await countBytes(open()) : (await fs.stat(source)).size;
    } catch (err) {
      if (err instanceof MetadataStripError) throw err;
      throw new AttachmentFileError(`${a.name} cannot be read: ${(err as Error).message}`);
    }
    store.attachments.update(m.seq, a.index, { state: 'uploading', size: plainSize });
    const ch = this.online();
    let persistedAt = performance.now();
    const up = await uploadAttachment(ch, {
      open,
      plainSize,
      recipients,
      ...(a.upload ? { resume: a.upload } : {}),
      signal,
      onBegin: (s) => store.attachments.update(m.seq, a.index, { upload: s }),
      onProgress: (sent, total) => {
        this.progress(m, a.index, 'up', sent, total);
        // The stored offset is informational (a resumed upload asks the relay): a synchronous commit, so not often.
        if (performance.now() - persistedAt < PERSIST_PROGRESS_MS) return;
        persistedAt = performance.now();
        store.attachments.update(m.seq, a.index, { offset: sent });
      },
    });
    const descriptor = attachmentDescriptorSchema.parse({
      blob: up.blob,
      key: up.key,
      size: plainSize,
      chunk: up.chunk,
      sha256: up.sha256,
      name: a.name,
      type: a.type,
      ...(a.preview ?? {}),
    });
    const upload = { blob: up.blob, key: up.key, noncePrefix: up.noncePrefix, sharedWith: recipients };
    store.attachments.update(m.seq, a.index, { descriptor, upload, state: 'complete', offset: up.blobSize, error: null });
    this.o.released?.(source);
    return descriptor;
  }
}

class AttachmentFileError extends Error {}

/** The group of one of our messages, or null for a direct one. */
function groupOf(m: MessageRecord): string | null {
  const c = parseConversationId(m.conversation);
  return c?.kind === 'group' ? c.groupId : null;
}

/** A renderer-made preview, checked against the descriptor's rules (images only, thumbnail ≤ 8 KiB). */
function checkPreview(p: AttachmentPreview | null, type: string): AttachmentPreview | null {
  if (p === null) return null;
  if (!type.startsWith('image/')) throw new CoreError('INVALID', 'Only images carry a preview');
  const probe = attachmentDescriptorSchema.safeParse({ ...PREVIEW_PROBE, ...p });
  if (!probe.success) throw new CoreError('INVALID', `Bad image preview: ${probe.error.issues[0]?.message ?? 'invalid'}`);
  return {
    ...(p.thumb !== undefined ? { thumb: p.thumb } : {}),
    ...(p.width !== undefined && p.height !== undefined ? { width: p.width, height: p.height } : {}),
  };
}

/** Placeholder descriptor fields, to check a preview with the descriptor's own schema. */
const PREVIEW_PROBE = {
  blob: 'A'.repeat(22),
  key: 'A'.repeat(43),
  size: 0,
  chunk: ATTACHMENT_CHUNK_BYTES,
  sha256: 'A'.repeat(43),
  name: 'x',
  type: 'image/png',
};

function failureReason(err: unknown): string {
  if (err instanceof AttachmentTransferError && err.code === 'cancelled') return 'cancelled: the upload was stopped';
  if (err instanceof TransportError) return `the relay refused a file (${err.code}): ${err.message}`;
  if (err instanceof AttachmentTransferError) return `a file could not be sent: ${err.message}`;
  if (err instanceof MetadataStripError) return `an image could not be cleaned of its metadata: ${err.message}`;
  if (err instanceof AttachmentFileError) return err.message;
  return `a file could not be sent: ${(err as Error).message}`;
}

async function countBytes(src: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const c of src) n += c.byteLength;
  return n;
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}
