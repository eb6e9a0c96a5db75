/**
 * The attachments part of the renderer ↔ main contract (merged into ParleyApi in api.ts). No runtime dependencies
 * beyond constants.
 *
 * Upload without file paths (the sandboxed renderer, and the browser runtime, never see one): the renderer announces
 * a file (stageAttachment → token), sends its bytes in order in slices of at most STAGE_CHUNK_BYTES
 * (stageAttachmentChunk, base64url so the same call works over Electron IPC and the browser bridge's JSON), and
 * then sends every staged file of one message at once (sendAttachments). The core keeps a staged file in the
 * profile's staging folder only until its upload has completed. In Electron the attach button can instead ask the
 * main process to show its own "choose files" dialog (chooseAttachments): the chosen files are staged by path,
 * without copying them.
 *
 * Thumbnails are made by the renderer from the local image (canvas) and passed with sendAttachments; the main
 * process never decodes an image. Received images come back as bytes (readAttachment, images only) for a blob: URL.
 */
import type { AttachmentView, ConversationId, MessageView } from './api.js';

/** Largest file the app sends (the relay's default blob limit). */
export const MAX_ATTACHMENT_BYTES = 100 * 1024 * 1024;
/** Bytes per stageAttachmentChunk call (decoded). */
export const STAGE_CHUNK_BYTES = 128 * 1024;
/** Files in one message. */
export const MAX_ATTACHMENTS_PER_MESSAGE = 10;
/** An inline thumbnail, decoded bytes. */
export const MAX_THUMBNAIL_BYTES = 8 * 1024;
/** Largest image readAttachment returns (it is held in memory to be shown). */
export const MAX_READ_IMAGE_BYTES = 32 * 1024 * 1024;
/** Media types readAttachment serves and the renderer shows inline (never SVG: it can carry script). */
export const INLINE_IMAGE_TYPES = Object.freeze(['image/jpeg', 'image/png', 'image/gif', 'image/webp'] as const);

/** A file the core holds for sending. */
export interface StagedFile {
  token: string;
  name: string;
  size: number;
  type: string;
}

/** What the renderer made from a local image: a small preview and the pixel size. */
export interface AttachmentPreview {
  /** base64url of a JPEG, PNG or WebP of at most 8 KiB. */
  thumb?: string;
  width?: number;
  height?: number;
}

export interface SendAttachmentsRequest {
  conversation: ConversationId;
  /** Staged files, in the order they appear in the message. */
  tokens: string[];
  caption?: string;
  /** One entry per token (same order), null or absent for a file without a preview. */
  thumbnails?: Array<AttachmentPreview | null>;
}

export interface AttachmentRef {
  messageId: string;
  index: number;
}

/** Progress of one upload or download (pushed while it runs; the last one has done === total). */
export interface AttachmentProgress {
  messageId: string;
  conversation: ConversationId;
  index: number;
  direction: 'upload' | 'download';
  /** Ciphertext bytes moved so far and in total. */
  done: number;
  total: number;
}

export interface AttachmentApi {
  /** Announces a file to send; its bytes follow with stageAttachmentChunk. */
  stageAttachment(req: { name: string; size: number }): Promise<StagedFile>;
  /** The next slice of a staged file, in order (`offset` = bytes sent so far); base64url of ≤ 128 KiB. */
  stageAttachmentChunk(req: { token: string; offset: number; data: string }): Promise<{ received: number }>;
  /** Drops a staged file that will not be sent. */
  discardStaged(req: { token: string }): Promise<void>;
  /**
   * Electron: the main process's "choose files" dialog; the chosen files come back staged. `files` is null where
   * there is no such dialog (the browser runtime), and the renderer uses a file input instead.
   */
  chooseAttachments(): Promise<{ files: StagedFile[] | null }>;
  /** One message with the staged files and an optional caption; resolves once it is queued (uploads continue). */
  sendAttachments(req: SendAttachmentsRequest): Promise<MessageView>;
  /** Downloads and verifies one attachment into the profile's encrypted cache; resolves when it is complete. */
  downloadAttachment(req: AttachmentRef): Promise<AttachmentView>;
  /** Stops an upload (the message fails as cancelled) or a download (it can be started again later). */
  cancelAttachment(req: AttachmentRef): Promise<void>;
  /** The bytes of an image attachment (downloading it first if needed), base64url, for a blob: URL. Images only. */
  readAttachment(req: AttachmentRef): Promise<{ type: string; data: string }>;
  /** "Save as…": the main process asks where (Electron: its Save dialog); `saved` is false when the user cancels. */
  saveAttachment(req: AttachmentRef): Promise<{ saved: boolean; location: string | null }>;
  /**
   * Opens an attachment with the system's default app, only ever on the user's request. An executable type is not
   * opened unless `confirmed` (the UI warns first): without it the result is `{ opened: false, warning: 'executable' }`.
   */
  openAttachment(req: AttachmentRef & { confirmed?: boolean }): Promise<{ opened: boolean; warning?: 'executable' }>;
}

export const ATTACHMENT_METHODS = Object.freeze([
  'stageAttachment', 'stageAttachmentChunk', 'discardStaged', 'chooseAttachments', 'sendAttachments',
  'downloadAttachment', 'cancelAttachment', 'readAttachment', 'saveAttachment', 'openAttachment',
] as const satisfies ReadonlyArray<keyof AttachmentApi>);

/**
 * File types that run code when opened (the extension decides, as it does for the OS). "Open" warns before these.
 */
const EXECUTABLE_EXTENSIONS = new Set([
  'exe', 'msi', 'bat', 'cmd', 'com', 'scr', 'pif', 'cpl', 'vbs', 'vbe', 'js', 'jse', 'wsf', 'wsh', 'ps1', 'psm1', 'hta',
  'lnk', 'reg', 'jar', 'sh', 'bash', 'zsh', 'csh', 'ksh', 'command', 'app', 'pkg', 'dmg', 'deb', 'rpm', 'appimage',
  'desktop', 'run', 'bin', 'py', 'pyw', 'pl', 'rb', 'php', 'apk', 'msix', 'appx', 'workflow', 'action', 'url',
  'html', 'htm', 'svg', 'xhtml', 'mht', 'xml',
]);

export function isExecutableName(name: string): boolean {
  const dot = name.lastIndexOf('.');
  if (dot < 0) return true; // no extension: the OS may run it as a program
  return EXECUTABLE_EXTENSIONS.has(name.slice(dot + 1).toLowerCase());
}

export function isInlineImageType(type: string): boolean {
  return (INLINE_IMAGE_TYPES as readonly string[]).includes(type);
}
