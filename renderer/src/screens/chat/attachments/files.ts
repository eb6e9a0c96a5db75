/**
 * Attachments in the renderer, the parts without React: sending a local File to the core in slices (the sandboxed
 * renderer has no paths; a file is never read into memory whole), making a small thumbnail of a local image with a
 * canvas (the main process never decodes an image), and turning bytes from the core into blob: URLs (the CSP allows
 * blob: for images only).
 */
import type { ParleyBridge } from '../../../../../electron/contract/api.js';
import type { AttachmentPreview, StagedFile } from '../../../../../electron/contract/attachments.js';
import { MAX_THUMBNAIL_BYTES, STAGE_CHUNK_BYTES } from './limits.js';

export function toB64u(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromB64u(text: string): Uint8Array<ArrayBuffer> {
  const bin = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** An image type shown inline, by the name's extension (the core names a file's type by its extension too). */
export function isInlineImageName(name: string): boolean {
  return /\.(jpe?g|png|gif|webp)$/i.test(name);
}

export function isInlineImageType(type: string): boolean {
  return type === 'image/jpeg' || type === 'image/png' || type === 'image/gif' || type === 'image/webp';
}

export class StagingCancelled extends Error {}

/** Sends `file` to the core slice by slice; `onProgress(bytes sent)`; `cancelled()` stops it (the copy is dropped). */
export async function stageFile(bridge: ParleyBridge, file: File, onProgress: (done: number) => void, cancelled: () => boolean): Promise<StagedFile> {
  const staged = await bridge.stageAttachment({ name: file.name, size: file.size });
  try {
    for (let at = 0; at < file.size; at += STAGE_CHUNK_BYTES) {
      if (cancelled()) throw new StagingCancelled('cancelled');
      const slice = new Uint8Array(await file.slice(at, at + STAGE_CHUNK_BYTES).arrayBuffer());
      const r = await bridge.stageAttachmentChunk({ token: staged.token, offset: at, data: toB64u(slice) });
      onProgress(r.received);
    }
    return staged;
  } catch (e) {
    await bridge.discardStaged({ token: staged.token }).catch(() => undefined);
    throw e;
  }
}

/** Longest edge and JPEG quality, tried in order until the thumbnail fits in 8 KiB. */
const THUMB_STEPS: ReadonlyArray<readonly [number, number]> = [
  [200, 0.7],
  [160, 0.6],
  [120, 0.5],
  [80, 0.5],
  [48, 0.4],
];

/** A thumbnail (≤ 8 KiB JPEG) and the pixel size of a local image; null when it is not an image or does not decode. */
export async function makeThumbnail(file: File): Promise<AttachmentPreview | null> {
  if (!isInlineImageName(file.name)) return null;
  let bmp: ImageBitmap;
  try {
    bmp = await createImageBitmap(file);
  } catch {
    return null;
  }
  try {
    const { width, height } = bmp;
    if (width < 1 || height < 1 || width > 65_535 || height > 65_535) return null;
    for (const [edge, quality] of THUMB_STEPS) {
      const scale = Math.min(1, edge / Math.max(width, height));
      const canvas = document.createElement('canvas');
      canvas.width = Math.max(1, Math.round(width * scale));
      canvas.height = Math.max(1, Math.round(height * scale));
      const ctx = canvas.getContext('2d');
      if (!ctx) return { width, height };
      ctx.drawImage(bmp, 0, 0, canvas.width, canvas.height);
      const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/jpeg', quality));
      if (blob && blob.size <= MAX_THUMBNAIL_BYTES) return { thumb: toB64u(new Uint8Array(await blob.arrayBuffer())), width, height };
    }
    return { width, height };
  } finally {
    bmp.close();
  }
}

/** A blob: URL for image bytes (base64url from the core); revoke it when it is no longer shown. */
export function imageUrl(data: string, type: string): string {
  return URL.createObjectURL(new Blob([fromB64u(data)], { type }));
}

/** "1.4 MB", "320 KB", "12 bytes" (decimal units, as file managers show them). */
export function formatSize(bytes: number, lang: string): string {
  const n = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });
  if (bytes < 1000) return `${n.format(bytes)} B`;
  if (bytes < 1_000_000) return `${n.format(bytes / 1000)} KB`;
  if (bytes < 1_000_000_000) return `${n.format(bytes / 1_000_000)} MB`;
  return `${n.format(bytes / 1_000_000_000)} GB`;
}
