/**
 * Schemas for the relay's acknowledgements. The protocol module defines the request and server-event schemas;
 * the ack payloads are typed there but validated here, because types are not validation.
 */
import { z } from 'zod';
import {
  ERROR_CODES,
  fingerprintSchema,
  messageIdSchema,
  publicIdentitySchema,
  usernameSchema,
} from '../../../relay/protocol/index.js';

export const wireErrorSchema = z.object({
  code: z.enum(ERROR_CODES),
  message: z.string().max(2000),
  retryAfterMs: z.number().int().nonnegative().optional(),
});

export const ackFailureSchema = z.object({ ok: z.literal(false), error: wireErrorSchema });

/** RSA-OAEP-4096 ciphertext: 512 bytes, 683 base64url characters. */
export const registerChallengeResultSchema = z.object({ ok: z.literal(true), wrapped: z.string().max(700) });
export const registerResultSchema = z.object({ ok: z.literal(true), fingerprint: fingerprintSchema, rotated: z.boolean() });
export const lookupResultSchema = z.object({
  ok: z.literal(true),
  username: usernameSchema,
  identity: publicIdentitySchema,
  fingerprint: fingerprintSchema,
  /** Optional extension: the rotation signature the relay accepted for this identity, when it keeps one. */
  rotation: z
    .object({ from: fingerprintSchema, sig: z.string().max(200) })
    .optional()
    .nullable(),
});
export const authResultSchema = z.object({
  ok: z.literal(true),
  fingerprint: fingerprintSchema,
  username: usernameSchema.nullable(),
  queued: z.number().int().nonnegative(),
});
export const sendResultSchema = z.object({ ok: z.literal(true), id: messageIdSchema, duplicate: z.boolean() });
/** Envelopes are validated one by one by the messenger, so one bad envelope never hides the rest of a batch. */
export const looseDeliveredSchema = z.object({ envelope: z.unknown(), receivedAt: z.number().int().nonnegative() });
export const fetchResultSchema = z.object({
  ok: z.literal(true),
  envelopes: z.array(looseDeliveredSchema).max(1024),
  more: z.boolean(),
});
export const looseDeliverSchema = z.object({ envelopes: z.array(looseDeliveredSchema).min(1).max(1024) });
export const ackResultSchema = z.object({ ok: z.literal(true), removed: z.number().int().nonnegative() });
export const ackItemsSchema = z.array(z.object({ from: fingerprintSchema, id: messageIdSchema }));

export type LooseDelivered = z.infer<typeof looseDeliveredSchema>;
