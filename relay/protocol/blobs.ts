/**
 * Blob events of protocol v1 (PROTOCOL.md "Blobs"): upload an encrypted attachment in pieces over the authenticated
 * socket, resumable; complete it naming its recipients; download it in pieces; acknowledge it. Pieces travel as
 * socket.io binary attachments (no base64). Or move the bytes over plain HTTP with a short-lived single-use token
 * from `blob-token` (PROTOCOL.md "Blob transfers over HTTP"). Additive to events.ts, which lists these names.
 */
import { z } from 'zod';
import { isB64u } from './encoding.js';
import { fingerprintSchema } from './identity.js';
import { LIMITS } from './limits.js';

/** Bytes per `blob-put` piece and per `blob-get` answer, at most. */
export const MAX_BLOB_PIECE_BYTES = 512 * 1024;

export const BLOB_EVENTS = ['blob-begin', 'blob-offset', 'blob-put', 'blob-complete', 'blob-get', 'blob-ack', 'blob-abort', 'blob-token'] as const;
export type BlobEventName = (typeof BLOB_EVENTS)[number];

/** A blob id: 16 random bytes chosen by the relay, base64url (22 characters). */
export const blobIdSchema = z.string().length(22).refine((s) => isB64u(s, 16), 'base64url of 16 bytes');
const offsetSchema = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
/** Binary data (socket.io binary attachment; a Buffer on Node). */
const pieceSchema = z.custom<Uint8Array>(
  (v) => v instanceof Uint8Array && v.byteLength >= 1 && v.byteLength <= MAX_BLOB_PIECE_BYTES,
  `binary of 1…${MAX_BLOB_PIECE_BYTES} bytes`,
);

export const blobBeginSchema = z.object({ size: offsetSchema }).strict();
export const blobRefSchema = z.object({ blob: blobIdSchema }).strict();
export const blobPutSchema = z.object({ blob: blobIdSchema, offset: offsetSchema, data: pieceSchema }).strict();
export const blobCompleteSchema = z
  .object({
    blob: blobIdSchema,
    /** SHA-256 of the whole blob, base64url. */
    sha256: z.string().length(43).refine((s) => isB64u(s, 32), 'base64url of 32 bytes'),
    /** Who may download it besides the uploader: 1 … 32 registered fingerprints. */
    recipients: z.array(fingerprintSchema).min(1).max(LIMITS.maxRecipients),
  })
  .strict();
export const blobGetSchema = z
  .object({ blob: blobIdSchema, offset: offsetSchema, length: z.number().int().min(1).max(MAX_BLOB_PIECE_BYTES).optional() })
  .strict();

/** What a `blob-token` allows: appending to an upload in progress (HTTP PUT) or reading a complete blob (HTTP GET). */
export const BLOB_TOKEN_OPS = ['put', 'get'] as const;
export type BlobTokenOp = (typeof BLOB_TOKEN_OPS)[number];
/** A blob token is good for one HTTP request started within this time of its issue. */
export const BLOB_TOKEN_TTL_MS = 60_000;
/** Bytes one HTTP blob PUT may carry (a request finishes well inside a server's request timeout on a slow link). */
export const MAX_BLOB_HTTP_PUT_BYTES = 16 * 1024 * 1024;
export const blobTokenSchema = z.object({ blob: blobIdSchema, op: z.enum(BLOB_TOKEN_OPS) }).strict();
/** 32 random bytes, base64url (43 characters). */
export const blobTokenValueSchema = z.string().length(43).refine((s) => isB64u(s, 32), 'base64url of 32 bytes');

export type BlobBeginRequest = z.infer<typeof blobBeginSchema>;
export type BlobRefRequest = z.infer<typeof blobRefSchema>;
export type BlobPutRequest = z.infer<typeof blobPutSchema>;
export type BlobCompleteRequest = z.infer<typeof blobCompleteSchema>;
export type BlobGetRequest = z.infer<typeof blobGetSchema>;
export type BlobTokenRequest = z.infer<typeof blobTokenSchema>;

export interface BlobBeginResult { blob: string; expiresAt: number }
export interface BlobOffsetResult { offset: number; size: number; complete: boolean }
export interface BlobPutResult { offset: number; accepted: boolean }
export interface BlobCompleteResult { size: number; expiresAt: number }
export interface BlobGetResult { data: Uint8Array; size: number; eof: boolean }
export interface BlobDeleteResult { deleted: boolean }
export interface BlobTokenResult { token: string; expiresAt: number }

export const BLOB_SCHEMAS = {
  'blob-begin': blobBeginSchema,
  'blob-offset': blobRefSchema,
  'blob-put': blobPutSchema,
  'blob-complete': blobCompleteSchema,
  'blob-get': blobGetSchema,
  'blob-ack': blobRefSchema,
  'blob-abort': blobRefSchema,
  'blob-token': blobTokenSchema,
} as const satisfies Record<BlobEventName, z.ZodType>;

/** Answers of the blob events, validated by clients (binary `data` arrives as a Buffer / Uint8Array). */
export const blobBeginResultSchema = z.object({ blob: blobIdSchema, expiresAt: z.number().int() });
export const blobOffsetResultSchema = z.object({ offset: offsetSchema, size: offsetSchema, complete: z.boolean() });
export const blobPutResultSchema = z.object({ offset: offsetSchema, accepted: z.boolean() });
export const blobCompleteResultSchema = z.object({ size: offsetSchema, expiresAt: z.number().int() });
export const blobGetResultSchema = z.object({
  data: z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.byteLength <= MAX_BLOB_PIECE_BYTES, 'binary'),
  size: offsetSchema,
  eof: z.boolean(),
});
export const blobDeleteResultSchema = z.object({ deleted: z.boolean() });
export const blobTokenResultSchema = z.object({ token: blobTokenValueSchema, expiresAt: z.number().int() });
/** The JSON answer of an HTTP blob PUT that succeeded (the same fields as `blob-put`'s). */
export const blobHttpPutResultSchema = z.object({ ok: z.literal(true), offset: offsetSchema, accepted: z.boolean() });

type AckOf<T extends object> = (r: ({ ok: true } & T) | { ok: false; error: { code: string; message: string; retryAfterMs?: number } }) => void;
/** socket.io typed map of the blob events (merged into ClientToServer). */
export interface BlobClientToServer {
  'blob-begin': (p: BlobBeginRequest, ack: AckOf<BlobBeginResult>) => void;
  'blob-offset': (p: BlobRefRequest, ack: AckOf<BlobOffsetResult>) => void;
  'blob-put': (p: BlobPutRequest, ack: AckOf<BlobPutResult>) => void;
  'blob-complete': (p: BlobCompleteRequest, ack: AckOf<BlobCompleteResult>) => void;
  'blob-get': (p: BlobGetRequest, ack: AckOf<BlobGetResult>) => void;
  'blob-ack': (p: BlobRefRequest, ack: AckOf<BlobDeleteResult>) => void;
  'blob-abort': (p: BlobRefRequest, ack: AckOf<BlobDeleteResult>) => void;
  'blob-token': (p: BlobTokenRequest, ack: AckOf<BlobTokenResult>) => void;
}
