/**
 * What a message says about each attached file (PROTOCOL.md §10.2): where the blob is, how to decrypt and verify it,
 * and what to show before downloading it. Travels inside the end-to-end encrypted payload only; the relay never sees
 * it. Strict: a descriptor that fails any rule makes the whole payload `malformed`.
 */
import { z } from 'zod';
import { isB64u, utf8 } from '../../../relay/protocol/index.js';
import { ATTACHMENT_CHUNK_BYTES, MAX_CHUNK_BYTES, MIN_CHUNK_BYTES } from './stream.js';

/** Files per message. */
export const MAX_ATTACHMENTS = 10;
/** Inline thumbnail, decoded bytes. */
export const MAX_THUMBNAIL_BYTES = 8 * 1024;
/** File name, UTF-8 bytes. */
export const MAX_FILE_NAME_BYTES = 255;

const b64u = (len: number) => z.string().refine((s) => isB64u(s, len), `base64url of ${len} bytes`);

/**
 * A file name a receiver can show and offer to save: 1…255 UTF-8 bytes, no path separators, NUL or other control
 * characters, no lone surrogates, not "." or "..". (Saving still goes through a dialog; this only keeps the name
 * from steering where it lands.)
 */
export const fileNameSchema = z
  .string()
  .min(1)
  .refine((s) => !/[/\\\u0000-\u001f\u007f]/.test(s) && !/\p{Surrogate}/u.test(s), 'file name: no separators or control characters')
  .refine((s) => s !== '.' && s !== '..', 'file name: not . or ..')
  .refine((s) => utf8(s).byteLength <= MAX_FILE_NAME_BYTES, `file name: at most ${MAX_FILE_NAME_BYTES} UTF-8 bytes`);

/** A media type `type/subtype` (RFC 6838 characters, lowercase), at most 127 characters, no parameters. */
export const mediaTypeSchema = z
  .string()
  .max(127)
  .regex(/^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}$/, 'media type: type/subtype');

const dimension = z.number().int().min(1).max(65_535);

export const attachmentDescriptorSchema = z
  .object({
    /** The relay's blob id (16 bytes). */
    blob: b64u(16),
    /** The attachment's AES-256-GCM key (32 bytes). */
    key: b64u(32),
    /** Plaintext bytes. */
    size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    /** Plaintext bytes per chunk. */
    chunk: z.number().int().min(MIN_CHUNK_BYTES).max(MAX_CHUNK_BYTES),
    /** SHA-256 of the whole blob (32 bytes). */
    sha256: b64u(32),
    name: fileNameSchema,
    type: mediaTypeSchema,
    /** Pixel size of an image, both or neither. */
    width: dimension.optional(),
    height: dimension.optional(),
    /** A small JPEG, PNG or WebP preview of an image, at most 8 KiB. */
    thumb: z.string().max(Math.ceil((MAX_THUMBNAIL_BYTES * 4) / 3)).refine((s) => isB64u(s), 'base64url').optional(),
  })
  .strict()
  .refine((d) => (d.width === undefined) === (d.height === undefined), 'width and height: both or neither');

export type AttachmentDescriptor = z.infer<typeof attachmentDescriptorSchema>;

export const attachmentListSchema = z.array(attachmentDescriptorSchema).min(1).max(MAX_ATTACHMENTS);

/** Canonical key order of a descriptor (senders emit this order, as for every payload). */
export function canonicalDescriptor(d: AttachmentDescriptor): AttachmentDescriptor {
  return {
    blob: d.blob,
    key: d.key,
    size: d.size,
    chunk: d.chunk,
    sha256: d.sha256,
    name: d.name,
    type: d.type,
    ...(d.width !== undefined ? { width: d.width, height: d.height } : {}),
    ...(d.thumb !== undefined ? { thumb: d.thumb } : {}),
  };
}

export { ATTACHMENT_CHUNK_BYTES };
