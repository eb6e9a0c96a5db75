/**
 * IPC argument schemas of the attachment methods (contract/attachments.ts), spread into IPC_SCHEMAS. They bound what
 * crosses the boundary (sizes, index ranges, token and base64url shapes) before the core checks the meaning again.
 * The renderer never passes a file path: saving and opening ask the main process's dialogs.
 */
import { z } from 'zod';
import { CONVERSATION_ID_RE, type ConversationId } from '../contract/api.js';
import {
  MAX_ATTACHMENT_BYTES,
  MAX_ATTACHMENTS_PER_MESSAGE,
  MAX_THUMBNAIL_BYTES,
  STAGE_CHUNK_BYTES,
} from '../contract/attachments.js';
import { LIMITS } from '../../relay/protocol/limits.js';

const conversation = z
  .string()
  .regex(CONVERSATION_ID_RE, 'conversation: d:<username> or g:<group id, 32 hex characters>')
  .transform((s) => s as ConversationId);
const messageId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'message id: base64url');
/** Tokens are 16 random bytes, base64url. */
const token = z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'token: a staged file token');
const index = z.number().int().min(0).max(MAX_ATTACHMENTS_PER_MESSAGE - 1);
const b64uMax = (bytes: number) => z.string().min(1).max(Math.ceil((bytes * 4) / 3)).regex(/^[A-Za-z0-9_-]+$/, 'base64url');
const dimension = z.number().int().min(1).max(65_535);
const preview = z
  .strictObject({ thumb: b64uMax(MAX_THUMBNAIL_BYTES).optional(), width: dimension.optional(), height: dimension.optional() })
  .refine((p) => (p.width === undefined) === (p.height === undefined), 'width and height: both or neither');
const one = <T extends z.ZodRawShape>(shape: T) => z.tuple([z.strictObject(shape)]);
const ref = { messageId, index };

export const ATTACHMENT_IPC_SCHEMAS = {
  stageAttachment: one({ name: z.string().min(1).max(255), size: z.number().int().min(0).max(MAX_ATTACHMENT_BYTES) }),
  stageAttachmentChunk: one({ token, offset: z.number().int().min(0).max(MAX_ATTACHMENT_BYTES), data: b64uMax(STAGE_CHUNK_BYTES) }),
  discardStaged: one({ token }),
  chooseAttachments: z.tuple([]),
  sendAttachments: one({
    conversation,
    tokens: z.array(token).min(1).max(MAX_ATTACHMENTS_PER_MESSAGE),
    caption: z.string().max(LIMITS.maxTextBytes).optional(),
    thumbnails: z.array(preview.nullable()).max(MAX_ATTACHMENTS_PER_MESSAGE).optional(),
  }),
  downloadAttachment: one(ref),
  cancelAttachment: one(ref),
  readAttachment: one(ref),
  saveAttachment: one(ref),
  openAttachment: one({ ...ref, confirmed: z.boolean().optional() }),
} as const;
