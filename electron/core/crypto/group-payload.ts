/**
 * Group payloads (PROTOCOL.md "Groups"): the signed control messages that carry group membership end to end, and
 * the optional `g`/`m` fields every conversation-scoped payload may carry. The relay sees none of it.
 *
 *   group-change: { v:1, type:'group-change', ts, change, sig }  change signed by its author (LABEL_CHANGE)
 *   group-state:  { v:1, type:'group-state',  ts, state,  sig }  a snapshot signed by its sender (LABEL_STATE)
 */
import { z } from 'zod';
import { fingerprintSchema, isB64u, messageIdSchema, usernameSchema } from '../../../relay/protocol/index.js';

export const LABEL_CHANGE = 'parley/v1/group-change';
export const LABEL_STATE = 'parley/v1/group-state';
/** Members of one group, the creator included. */
export const MAX_GROUP_MEMBERS = 256;
export const MAX_GROUP_NAME = 64;

export const groupIdSchema = z.string().regex(/^[0-9a-f]{32}$/, 'group id: 32 lowercase hex');
const hashSchema = z.string().regex(/^[0-9a-f]{64}$/, 'hash: 64 lowercase hex');
export const nameSchema = z
  .string()
  .min(1)
  .max(MAX_GROUP_NAME)
  .refine((s) => s.trim().length > 0 && !/\p{Surrogate}|\p{Cc}/u.test(s), 'name: printable, not blank');
const sigSchema = z.string().max(128).refine((s) => isB64u(s, 64), 'sig: base64url of 64 bytes');
const tsSchema = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const groupMemberSchema = z.object({ u: usernameSchema, fp: fingerprintSchema, role: z.enum(['admin', 'member']) }).strict();

/** The full state of a group at one version; `head` is the hash of the change that produced it (or of the genesis). */
export const groupStateSchema = z
  .object({
    g: groupIdSchema,
    name: nameSchema,
    version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    head: hashSchema,
    adminOnlyRename: z.boolean(),
    members: z.array(groupMemberSchema).min(1).max(MAX_GROUP_MEMBERS),
  })
  .strict()
  .refine((s) => s.members.every((m, i) => i === 0 || s.members[i - 1]!.u < m.u), 'members: sorted by username, unique');

const newMemberSchema = z.object({ u: usernameSchema, fp: fingerprintSchema }).strict();
const usersSchema = z.array(usernameSchema).min(1).max(MAX_GROUP_MEMBERS);

/** One change on top of the state whose head is `prev`; `version` = that state's version + 1. */
export const groupChangeSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('add'), g: groupIdSchema, prev: hashSchema, version: z.number().int().min(2), author: usernameSchema, ts: tsSchema, members: z.array(newMemberSchema).min(1).max(MAX_GROUP_MEMBERS) }).strict(),
  z.object({ op: z.literal('remove'), g: groupIdSchema, prev: hashSchema, version: z.number().int().min(2), author: usernameSchema, ts: tsSchema, users: usersSchema }).strict(),
  z.object({ op: z.literal('admin'), g: groupIdSchema, prev: hashSchema, version: z.number().int().min(2), author: usernameSchema, ts: tsSchema, users: usersSchema }).strict(),
  z.object({ op: z.literal('leave'), g: groupIdSchema, prev: hashSchema, version: z.number().int().min(2), author: usernameSchema, ts: tsSchema }).strict(),
  z.object({ op: z.literal('rename'), g: groupIdSchema, prev: hashSchema, version: z.number().int().min(2), author: usernameSchema, ts: tsSchema, name: nameSchema }).strict(),
  z.object({ op: z.literal('settings'), g: groupIdSchema, prev: hashSchema, version: z.number().int().min(2), author: usernameSchema, ts: tsSchema, adminOnlyRename: z.boolean() }).strict(),
]);

export type GroupMember = z.infer<typeof groupMemberSchema>;
export type GroupState = z.infer<typeof groupStateSchema>;
export type GroupChange = z.infer<typeof groupChangeSchema>;

export const groupChangePayloadSchema = z
  .object({ v: z.literal(1), type: z.literal('group-change'), ts: tsSchema, change: groupChangeSchema, sig: sigSchema })
  .strict();
export const groupStatePayloadSchema = z
  .object({ v: z.literal(1), type: z.literal('group-state'), ts: tsSchema, state: groupStateSchema, sig: sigSchema })
  .strict();

export type GroupChangePayload = z.infer<typeof groupChangePayloadSchema>;
export type GroupStatePayload = z.infer<typeof groupStatePayloadSchema>;

/** Optional fields of a conversation-scoped payload: `g` the group, `m` the message id shared by all its envelopes. */
export const groupScopeFields = { g: groupIdSchema.optional(), m: messageIdSchema.optional() };

/**
 * Canonical JSON: object keys sorted by UTF-16 code unit order, no whitespace, arrays in order. Signatures and the
 * change hash are computed over these bytes, so every implementation must produce them exactly.
 */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
