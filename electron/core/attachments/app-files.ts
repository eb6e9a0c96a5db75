/**
 * The app's side of attachments (AttachmentApi, contract/attachments.ts), over the AttachmentManager: staging files
 * the renderer sends in slices, sending them with the renderer's previews, downloading into the encrypted cache,
 * serving image bytes for display, and "Save as…" / "Open" through the shell's hooks (Electron: the main process's
 * dialogs and shell.openPath). Every argument is checked here again, whoever the caller is.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { toB64u } from '../../../relay/protocol/index.js';
import type { AttachmentView, MessageView } from '../../contract/api.js';
import {
  isExecutableName,
  isInlineImageType,
  MAX_ATTACHMENTS_PER_MESSAGE,
  MAX_READ_IMAGE_BYTES,
  type AttachmentApi,
  type AttachmentPreview,
  type AttachmentRef,
  type SendAttachmentsRequest,
  type StagedFile,
} from '../../contract/attachments.js';
import { CoreError } from '../messenger/errors.js';
import { toAttachmentView } from '../store/attachments.js';
import type { HistoryStore } from '../store/types.js';
import type { AttachmentManager } from './manager.js';
import type { Staging } from './staging.js';
import { decryptBlobFile, saveBlobFile } from './transfer.js';

/** What the shell offers (all optional: the CLI and the browser runtime have no dialogs). */
export interface AttachmentShellHooks {
  /** "Choose files" in the main process; the chosen paths, [] when cancelled. */
  pickAttachments?: () => Promise<string[]>;
  /** "Save as…" for a file named `name`; the chosen path or null when cancelled. */
  pickSavePath?: (name: string) => Promise<string | null>;
  /** Hands a file to the OS to open with its default app. */
  openPath?: (file: string) => Promise<void>;
}

export interface AppFilesOptions {
  ready: () => Promise<{ files: AttachmentManager; store: HistoryStore }>;
  staging: Staging;
  hooks: AttachmentShellHooks;
}

export class AppFiles implements AttachmentApi {
  private swept: Promise<void> | null = null;

  constructor(private readonly o: AppFilesOptions) {}

  async stageAttachment(req: { name: string; size: number }): Promise<StagedFile> {
    await this.sweepOnce();
    return this.o.staging.begin(req?.name, req?.size);
  }

  /** Once per session: staged copies left by an earlier run that no upload waits for are removed. */
  private sweepOnce(): Promise<void> {
    this.swept ??= this.o.ready().then(({ store }) => {
      const keep = new Set<string>();
      for (const seq of store.attachments.unfinishedUploads()) for (const a of store.attachments.list(seq)) if (a.source) keep.add(a.source);
      return this.o.staging.sweep(keep);
    });
    return this.swept;
  }

  stageAttachmentChunk(req: { token: string; offset: number; data: string }): Promise<{ received: number }> {
    return this.o.staging.write(req?.token, req?.offset, req?.data);
  }

  discardStaged(req: { token: string }): Promise<void> {
    return this.o.staging.discard(req?.token);
  }

  async chooseAttachments(): Promise<{ files: StagedFile[] | null }> {
    if (!this.o.hooks.pickAttachments) return { files: null };
    await this.sweepOnce();
    const paths = (await this.o.hooks.pickAttachments()).slice(0, MAX_ATTACHMENTS_PER_MESSAGE);
    const files: StagedFile[] = [];
    for (const p of paths) files.push(await this.o.staging.adopt(p));
    return { files };
  }

  async sendAttachments(req: SendAttachmentsRequest): Promise<MessageView> {
    const { files } = await this.o.ready();
    const tokens = Array.isArray(req?.tokens) ? req.tokens : [];
    if (tokens.length === 0 || tokens.length > MAX_ATTACHMENTS_PER_MESSAGE) throw new CoreError('INVALID', `A message carries 1 to ${MAX_ATTACHMENTS_PER_MESSAGE} files`);
    const thumbs: Array<AttachmentPreview | null> = req.thumbnails ?? [];
    if (thumbs.length > tokens.length) throw new CoreError('INVALID', 'More previews than files');
    const paths = this.o.staging.paths(tokens);
    const m = await files.sendFiles(req.conversation, paths, req.caption ?? '', thumbs);
    this.o.staging.release(tokens);
    return m;
  }

  async downloadAttachment(req: AttachmentRef): Promise<AttachmentView> {
    const { files } = await this.o.ready();
    const c = await files.cached(req?.messageId, req?.index);
    return toAttachmentView(c.record);
  }

  /** An upload completed or failed for good: its staged copy (if it was one) is no longer needed. */
  async released(source: string): Promise<void> {
    await this.o.staging.removeCopy(source).catch(() => undefined);
  }

  async cancelAttachment(req: AttachmentRef): Promise<void> {
    const { files } = await this.o.ready();
    if (typeof req?.messageId !== 'string' || !Number.isInteger(req?.index)) throw new CoreError('INVALID', 'An attachment is named by a message id and a file index');
    files.cancel(req.messageId, req.index);
  }

  async readAttachment(req: AttachmentRef): Promise<{ type: string; data: string }> {
    const { files, store } = await this.o.ready();
    const a = this.record(store, req);
    if (!isInlineImageType(a.type)) throw new CoreError('INVALID', 'Only JPEG, PNG, GIF and WebP images are shown in the app');
    if (a.size > MAX_READ_IMAGE_BYTES) throw new CoreError('INVALID', `Images larger than ${MAX_READ_IMAGE_BYTES} bytes are not shown; save the file instead`);
    const c = await files.cached(req.messageId, req.index);
    const parts: Uint8Array[] = [];
    await files.decrypting(c, async () => {
      for await (const pt of decryptBlobFile(c.file, c.check)) parts.push(pt);
    });
    return { type: a.type, data: toB64u(Buffer.concat(parts)) };
  }

  /** "Save as…": `path` from the CLI, otherwise the shell's dialog. */
  async saveAttachment(req: AttachmentRef & { path?: string }): Promise<{ saved: boolean; location: string | null }> {
    const { files, store } = await this.o.ready();
    let dest = req?.path;
    if (dest === undefined) {
      const a = this.record(store, req);
      if (!this.o.hooks.pickSavePath) throw new CoreError('INVALID', 'Saving needs a place to save to, and this app has no save dialog');
      dest = (await this.o.hooks.pickSavePath(a.name)) ?? undefined;
      if (dest === undefined) return { saved: false, location: null };
    }
    await files.saveAttachment(req.messageId, req.index, dest);
    return { saved: true, location: path.resolve(dest) };
  }

  async openAttachment(req: AttachmentRef & { confirmed?: boolean }): Promise<{ opened: boolean; warning?: 'executable' }> {
    const { files, store } = await this.o.ready();
    const a = this.record(store, req);
    if (isExecutableName(a.name) && req.confirmed !== true) return { opened: false, warning: 'executable' };
    if (!this.o.hooks.openPath) throw new CoreError('INVALID', 'This app cannot hand files to the system; save the file instead');
    const c = await files.cached(req.messageId, req.index);
    // Plaintext only where the OS can open it: a private temporary folder, never the profile.
    const dir = await mkdtemp(path.join(tmpdir(), 'parley-open-'));
    const dest = path.join(dir, a.name);
    await files.decrypting(c, () => saveBlobFile(c.file, c.check, dest));
    await this.o.hooks.openPath(dest);
    return { opened: true };
  }

  private record(store: HistoryStore, req: AttachmentRef) {
    if (typeof req?.messageId !== 'string' || !Number.isInteger(req?.index)) throw new CoreError('INVALID', 'An attachment is named by a message id and a file index');
    const m = store.getMessage(req.messageId, { direction: 'in' }) ?? store.getMessage(req.messageId, { direction: 'out' });
    const a = m ? store.attachments.get(m.seq, req.index) : null;
    if (!a) throw new CoreError('NOT_FOUND', 'No such attachment');
    return a;
  }
}
