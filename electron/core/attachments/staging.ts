/**
 * Files the app holds for sending (AttachmentApi.stageAttachment …): the sandboxed renderer has no file paths, so it
 * sends a file's bytes in order, in slices, and the core writes them to a private file in the profile's staging
 * folder (0700/0600), one folder per token so the file keeps its name. A staged copy lives only until its upload
 * has completed (AttachmentManager's `uploaded` hook removes it); copies nobody sends are removed when discarded and
 * by the sweep at unlock. Files chosen in the main process's own dialog are staged by path, without a copy, and are
 * never removed.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fromB64u, isB64u } from '../../../relay/protocol/index.js';
import { MAX_ATTACHMENT_BYTES, STAGE_CHUNK_BYTES, type StagedFile } from '../../contract/attachments.js';
import { CoreError } from '../messenger/errors.js';
import { fileNameSchema } from './descriptor.js';
import { mediaTypeFor } from './media-type.js';

/** Staged files not sent yet, at once (ten messages' worth of files being attached). */
export const MAX_STAGED_FILES = 100;

interface Entry extends StagedFile {
  path: string;
  /** A copy in the staging folder (removed after upload) or the user's own file (never removed). */
  owned: boolean;
  received: number;
  /** Writes of one file run one after the other. */
  chain: Promise<unknown>;
}

export class Staging {
  private readonly entries = new Map<string, Entry>();

  constructor(readonly dir: string) {}

  /** A new, empty staged file for `name` of `size` bytes. */
  async begin(name: unknown, size: unknown): Promise<StagedFile> {
    const n = fileNameSchema.safeParse(name);
    if (!n.success) throw new CoreError('INVALID', `Unsupported file name: ${n.error.issues[0]?.message ?? 'invalid'}`);
    if (!Number.isSafeInteger(size) || (size as number) < 0 || (size as number) > MAX_ATTACHMENT_BYTES) {
      throw new CoreError('INVALID', `A file can be at most ${MAX_ATTACHMENT_BYTES} bytes`);
    }
    this.checkRoom();
    const token = randomBytes(16).toString('base64url');
    const folder = path.join(this.dir, token);
    await fs.mkdir(folder, { recursive: true, mode: 0o700 });
    const file = path.join(folder, n.data);
    await (await fs.open(file, 'wx', 0o600)).close();
    const e: Entry = { token, name: n.data, size: size as number, type: mediaTypeFor(n.data), path: file, owned: true, received: 0, chain: Promise.resolve() };
    this.entries.set(token, e);
    return publicView(e);
  }

  /** The user's own file, chosen in the main process's dialog: staged by path. */
  async adopt(file: string): Promise<StagedFile> {
    const st = await fs.stat(file).catch(() => null);
    if (!st?.isFile()) throw new CoreError('INVALID', `Not a readable file: ${path.basename(file)}`);
    const n = fileNameSchema.safeParse(path.basename(file));
    if (!n.success) throw new CoreError('INVALID', `Unsupported file name: ${n.error.issues[0]?.message ?? 'invalid'}`);
    if (st.size > MAX_ATTACHMENT_BYTES) throw new CoreError('INVALID', `${n.data} is larger than ${MAX_ATTACHMENT_BYTES} bytes`);
    this.checkRoom();
    const token = randomBytes(16).toString('base64url');
    const e: Entry = { token, name: n.data, size: st.size, type: mediaTypeFor(n.data), path: file, owned: false, received: st.size, chain: Promise.resolve() };
    this.entries.set(token, e);
    return publicView(e);
  }

  /** Appends the next slice (base64url) at `offset`, which must be the number of bytes received so far. */
  async write(token: unknown, offset: unknown, data: unknown): Promise<{ received: number }> {
    const e = this.entry(token);
    if (!e.owned) throw new CoreError('INVALID', 'This file was chosen from disk; it takes no data');
    if (typeof data !== 'string' || !isB64u(data)) throw new CoreError('INVALID', 'A slice is base64url text');
    const bytes = fromB64u(data);
    if (bytes.byteLength === 0 || bytes.byteLength > STAGE_CHUNK_BYTES) throw new CoreError('INVALID', `A slice is 1 to ${STAGE_CHUNK_BYTES} bytes`);
    const run = e.chain.then(async () => {
      if (offset !== e.received) throw new CoreError('INVALID', `Expected the slice at ${e.received}, got ${String(offset)}`);
      if (e.received + bytes.byteLength > e.size) throw new CoreError('INVALID', 'More bytes than the file was announced with');
      const h = await fs.open(e.path, 'r+');
      try {
        let done = 0;
        while (done < bytes.byteLength) done += (await h.write(bytes, done, bytes.byteLength - done, e.received + done)).bytesWritten;
      } finally {
        await h.close();
      }
      e.received += bytes.byteLength;
      return { received: e.received };
    });
    e.chain = run.catch(() => undefined);
    return run;
  }

  /** The paths of complete staged files, in order (each token once); throws when one is unknown or incomplete. */
  paths(tokens: readonly unknown[]): string[] {
    if (new Set(tokens).size !== tokens.length) throw new CoreError('INVALID', 'A file is named twice');
    return tokens.map((t) => {
      const e = this.entry(t);
      if (e.received !== e.size) throw new CoreError('INVALID', `${e.name} has not been received completely (${e.received} of ${e.size} bytes)`);
      return e.path;
    });
  }

  /** The tokens were sent: forget them (the copies stay until their upload completes). */
  release(tokens: readonly string[]): void {
    for (const t of tokens) this.entries.delete(t);
  }

  async discard(token: unknown): Promise<void> {
    const e = this.entry(token);
    this.entries.delete(e.token);
    await e.chain;
    if (e.owned) await fs.rm(path.dirname(e.path), { recursive: true, force: true });
  }

  /** Removes a staged copy once its upload completed; leaves any other file alone. */
  async removeCopy(source: string): Promise<void> {
    const folder = path.dirname(path.resolve(source));
    if (path.dirname(folder) !== path.resolve(this.dir)) return;
    await fs.rm(folder, { recursive: true, force: true });
  }

  /** Removes staged copies that are neither being staged now nor waiting for an upload (`keep`: their paths). */
  async sweep(keep: ReadonlySet<string>): Promise<void> {
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    const live = new Set([...this.entries.values()].map((e) => path.dirname(e.path)));
    const waiting = new Set([...keep].map((p) => path.dirname(path.resolve(p))));
    for (const n of names) {
      const folder = path.join(this.dir, n);
      if (!live.has(folder) && !waiting.has(folder)) await fs.rm(folder, { recursive: true, force: true });
    }
  }

  private entry(token: unknown): Entry {
    const e = typeof token === 'string' ? this.entries.get(token) : undefined;
    if (!e) throw new CoreError('NOT_FOUND', 'No such staged file (it was sent, discarded or the app restarted)');
    return e;
  }

  private checkRoom(): void {
    if (this.entries.size >= MAX_STAGED_FILES) throw new CoreError('INVALID', `At most ${MAX_STAGED_FILES} files can wait to be sent`);
  }
}

function publicView(e: Entry): StagedFile {
  return { token: e.token, name: e.name, size: e.size, type: e.type };
}
