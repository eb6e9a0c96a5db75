/**
 * Payload types for acting on messages (PROTOCOL.md §6.1): reactions, edits, deletes for everyone, read receipts,
 * and the optional `reply` quote of a text. Kept apart from payload.ts (padding and the union) so each stays small.
 *
 * Every one of these may carry `g`, the group the action belongs to (32 lowercase hex); absent means the direct
 * conversation with the sender. A message is named by its id AND its author's username, because ids are chosen by
 * their authors and are only unique per author.
 */
import { z } from 'zod';
import { LIMITS, USERNAME_RE, messageIdSchema, utf8 } from '../../../relay/protocol/index.js';

/** Lone UTF-16 surrogates cannot be encoded as UTF-8, so they would not round-trip: reject them. */
const LONE_SURROGATE = /\p{Surrogate}/u;

/** Message ids per read receipt, like delivery receipts. */
export const MAX_READ_IDS = 1024;
/** A reply's excerpt: at most this many UTF-8 bytes (senders cut the quoted text to EXCERPT_CHARS characters). */
export const MAX_EXCERPT_BYTES = 512;
export const EXCERPT_CHARS = 120;
/** A reaction: one grapheme of at most this many UTF-8 bytes (a flag or a family emoji fits). */
export const MAX_EMOJI_BYTES = 32;

export const tsSchema = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
export const textBodySchema = z
  .string()
  .refine((s) => !LONE_SURROGATE.test(s), 'body: lone surrogate')
  .refine((s) => utf8(s).byteLength <= LIMITS.maxTextBytes, `body: more than ${LIMITS.maxTextBytes} UTF-8 bytes`);
export const groupIdSchema = z.string().regex(/^[0-9a-f]{32}$/, 'g: 32 lowercase hex characters');
const authorSchema = z.string().regex(USERNAME_RE, 'author: a username');

const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });
const PICTOGRAPHIC = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3/u;

/** True for one emoji: a single grapheme cluster that contains a pictographic character (or a flag or keycap). */
export function isSingleEmoji(s: string): boolean {
  if (s.length === 0 || LONE_SURROGATE.test(s) || utf8(s).byteLength > MAX_EMOJI_BYTES) return false;
  if ([...segmenter.segment(s)].length !== 1) return false;
  return PICTOGRAPHIC.test(s);
}

export const emojiSchema = z.string().refine(isSingleEmoji, 'emoji: one emoji');

export const replySchema = z
  .object({
    id: messageIdSchema,
    author: authorSchema,
    excerpt: z
      .string()
      .refine((s) => !LONE_SURROGATE.test(s), 'excerpt: lone surrogate')
      .refine((s) => utf8(s).byteLength <= MAX_EXCERPT_BYTES, `excerpt: more than ${MAX_EXCERPT_BYTES} UTF-8 bytes`),
  })
  .strict();

export type ReplyRef = z.infer<typeof replySchema>;

const base = { v: z.literal(1), ts: tsSchema, g: groupIdSchema.optional() };

export const reactionSchema = z
  .object({ ...base, type: z.literal('reaction'), target: messageIdSchema, author: authorSchema, emoji: emojiSchema.nullable() })
  .strict();
export const editSchema = z.object({ ...base, type: z.literal('edit'), target: messageIdSchema, body: textBodySchema }).strict();
export const deleteSchema = z.object({ ...base, type: z.literal('delete'), target: messageIdSchema }).strict();
export const readSchema = z.object({ ...base, type: z.literal('read'), ids: z.array(messageIdSchema).min(1).max(MAX_READ_IDS) }).strict();

export type ReactionPayload = { v: 1; type: 'reaction'; ts: number; g?: string; target: string; author: string; emoji: string | null };
export type EditPayload = { v: 1; type: 'edit'; ts: number; g?: string; target: string; body: string };
export type DeletePayload = { v: 1; type: 'delete'; ts: number; g?: string; target: string };
export type ReadPayload = { v: 1; type: 'read'; ts: number; g?: string; ids: string[] };
/** Payloads that act on an earlier message (they name it by `target`). */
export type ActionPayload = ReactionPayload | EditPayload | DeletePayload;

/** The canonical key order of every payload type (PROTOCOL.md §6.1); absent optional keys are left out. */
const KEY_ORDER = ['v', 'type', 'ts', 'g', 'target', 'author', 'emoji', 'body', 'reply', 'ids'] as const;
const REPLY_ORDER = ['id', 'author', 'excerpt'] as const;

function ordered(o: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/** Canonical JSON of any payload: the keys in KEY_ORDER, a reply's in REPLY_ORDER, no whitespace. */
export function canonicalJson(p: Record<string, unknown>): string {
  const top = ordered(p, KEY_ORDER);
  if (top.reply && typeof top.reply === 'object') top.reply = ordered(top.reply as Record<string, unknown>, REPLY_ORDER);
  return JSON.stringify(top);
}

/** A reply's excerpt: the first EXCERPT_CHARS characters (whole code points) of the quoted text, one line. */
export function excerptOf(body: string): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  const chars = [...flat];
  return chars.length <= EXCERPT_CHARS ? flat : `${chars.slice(0, EXCERPT_CHARS - 1).join('')}…`;
}
