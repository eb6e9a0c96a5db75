/**
 * The plaintext inside an envelope: a versioned JSON object, length-prefixed and zero-padded to a size bucket
 * so the ciphertext length reveals only the bucket.
 *
 *   padded = u32be(len(json)) || json (UTF-8) || zero bytes, total = smallest power of two ≥ LIMITS.minBucket
 *            (256) that holds 4 + len(json), at most LIMITS.maxBucket (131072).
 *
 * Decoding is strict: the total must be exactly that bucket, the padding all zeros, the JSON valid UTF-8 and
 * valid against the schema, and a text body at most LIMITS.maxTextBytes UTF-8 bytes.
 */
import { z } from 'zod';
import { fromUtf8, LIMITS, messageIdSchema, toB64u, utf8 } from '../../../relay/protocol/index.js';
import { PayloadError } from './errors.js';
import { attachmentListSchema, canonicalDescriptor, type AttachmentDescriptor } from '../attachments/descriptor.js';
import {
  canonicalJson as groupCanonicalJson,
  groupChangePayloadSchema,
  groupScopeFields,
  groupStatePayloadSchema,
  type GroupChangePayload,
  type GroupStatePayload,
} from './group-payload.js';
import {
  canonicalJson,
  deleteSchema,
  editSchema,
  reactionSchema,
  readSchema,
  replySchema,
  textBodySchema,
  tsSchema,
  type DeletePayload,
  type EditPayload,
  type ReactionPayload,
  type ReadPayload,
  type ReplyRef,
} from './payload-actions.js';
import { randomBytes } from './primitives.js';

/** `g`: the group (absent = the direct conversation with the sender); `m`: the group message id (group-payload.ts). */
interface GroupScope {
  g?: string;
  m?: string;
}

export type Payload =
  /** `name`: the sender's display name (optional, PROTOCOL.md §6.1); `reply`: the quoted message. */
  | ({ v: 1; type: 'text'; ts: number; body: string; name?: string; reply?: ReplyRef } & GroupScope)
  | { v: 1; type: 'receipt'; ts: number; ids: string[] }
  /** Files with an optional caption (`body` may be empty); PROTOCOL.md §10.2. */
  | ({ v: 1; type: 'files'; ts: number; body: string; attachments: AttachmentDescriptor[] } & GroupScope)
  | GroupChangePayload
  | GroupStatePayload
  | ReactionPayload
  | EditPayload
  | DeletePayload
  | ReadPayload;

/** Lone UTF-16 surrogates cannot be encoded as UTF-8, so they would not round-trip: reject them. */
const LONE_SURROGATE = /\p{Surrogate}/u;

/** Message ids per read receipt (≈ 25 KiB of JSON: the 32 KiB bucket). */
export const MAX_RECEIPT_IDS = 1024;


/** Characters in a display name (Unicode code points). */
export const MAX_DISPLAY_NAME = 64;

/**
 * A display name: 1 … 64 code points, no control characters, no lone surrogates, no leading or trailing white
 * space. It travels only inside the encrypted payload, so the relay never sees it.
 */
export const displayNameSchema = z
  .string()
  .refine((s) => s.length > 0 && s === s.trim(), 'name: empty or padded with spaces')
  .refine((s) => [...s].length <= MAX_DISPLAY_NAME, `name: more than ${MAX_DISPLAY_NAME} characters`)
  .refine((s) => !/\p{Cc}/u.test(s) && !LONE_SURROGATE.test(s), 'name: control character or lone surrogate');

export const payloadSchema = z.discriminatedUnion('type', [
  z.object({ v: z.literal(1), type: z.literal('text'), ts: tsSchema, body: textBodySchema, reply: replySchema.optional(), ...groupScopeFields, name: displayNameSchema.optional() }).strict(),
  z.object({ v: z.literal(1), type: z.literal('receipt'), ts: tsSchema, ids: z.array(messageIdSchema).min(1).max(MAX_RECEIPT_IDS) }).strict(),
  z.object({ v: z.literal(1), type: z.literal('files'), ts: tsSchema, body: textBodySchema, attachments: attachmentListSchema, ...groupScopeFields }).strict(),
  groupChangePayloadSchema,
  groupStatePayloadSchema,
  reactionSchema,
  editSchema,
  deleteSchema,
  readSchema,
]);

/** Smallest bucket (power of two, ≥ minBucket) holding `n` bytes, or null when n > maxBucket. */
export function bucketFor(n: number): number | null {
  let b = LIMITS.minBucket;
  while (b < n) b *= 2;
  return b <= LIMITS.maxBucket ? b : null;
}

/** True when `n` is one of the padded sizes: a power of two in [minBucket, maxBucket]. */
export function isBucket(n: number): boolean {
  return n >= LIMITS.minBucket && n <= LIMITS.maxBucket && (n & (n - 1)) === 0;
}

/** Canonical JSON of a payload (fixed key order, see payload-actions.ts). */
function toJson(p: Payload): string {
  if (p.type === 'text' || p.type === 'files') {
    // Optional fields only when present, in this order: without them exactly the v1 text encoding (older clients'
    // strict decoders keep working for direct messages).
    const o: Record<string, unknown> = { v: p.v, type: p.type, ts: p.ts, body: p.body };
    if (p.type === 'text' && p.reply !== undefined) o.reply = { id: p.reply.id, author: p.reply.author, excerpt: p.reply.excerpt };
    if (p.type === 'files') o.attachments = p.attachments.map(canonicalDescriptor);
    if (p.g !== undefined) o.g = p.g;
    if (p.m !== undefined) o.m = p.m;
    if (p.type === 'text' && p.name !== undefined) o.name = p.name;
    return JSON.stringify(o);
  }
  if (p.type === 'receipt') return JSON.stringify({ v: p.v, type: p.type, ts: p.ts, ids: p.ids });
  if (p.type === 'group-change' || p.type === 'group-state') return groupCanonicalJson(p);
  return canonicalJson(p);
}

/**
 * Encode and pad a payload. Throws PayloadError('malformed') for a payload off-schema and
 * PayloadError('too-large') when the JSON does not fit the largest bucket (possible only for a body near the
 * text limit made mostly of characters JSON must escape, such as control characters or quotes).
 */
export function encodePayload(p: Payload): Uint8Array {
  const parsed = payloadSchema.safeParse(p);
  if (!parsed.success) {
    const tooLong = parsed.error.issues.some((i) => i.message.startsWith('body: more than'));
    throw new PayloadError(tooLong ? 'too-large' : 'malformed', `payload: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  }
  const json = utf8(toJson(parsed.data as Payload));
  const size = bucketFor(4 + json.byteLength);
  if (size === null) throw new PayloadError('too-large', `payload: ${json.byteLength} bytes of JSON exceed the ${LIMITS.maxBucket}-byte bucket`);
  const out = new Uint8Array(size);
  new DataView(out.buffer).setUint32(0, json.byteLength, false);
  out.set(json, 4);
  return out;
}

/** Strict inverse of encodePayload(). Throws PayloadError('malformed') naming the failed check. */
export function decodePayload(bytes: Uint8Array): Payload {
  if (!(bytes instanceof Uint8Array) || !isBucket(bytes.byteLength)) throw new PayloadError('malformed', 'payload: not a bucket size');
  const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, false);
  if (len > bytes.byteLength - 4) throw new PayloadError('malformed', 'payload: length beyond the padded size');
  if (bucketFor(4 + len) !== bytes.byteLength) throw new PayloadError('malformed', 'payload: padded beyond its bucket');
  for (let i = 4 + len; i < bytes.byteLength; i++) {
    if (bytes[i] !== 0) throw new PayloadError('malformed', 'payload: non-zero padding');
  }
  let value: unknown;
  try {
    value = JSON.parse(fromUtf8(bytes.subarray(4, 4 + len)));
  } catch {
    throw new PayloadError('malformed', 'payload: not UTF-8 JSON');
  }
  const parsed = payloadSchema.safeParse(value);
  if (!parsed.success) throw new PayloadError('malformed', `payload: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data as Payload;
}

/** A fresh message id: 16 random bytes, base64url (22 characters). */
export function newMessageId(): string {
  return toB64u(randomBytes(LIMITS.idBytes));
}
