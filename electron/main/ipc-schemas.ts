/**
 * One zod schema per ParleyApi method: the argument tuple the main process accepts from the renderer (and the
 * browser bridge accepts from the page). Objects are strict, so an unexpected key is a validation error rather
 * than something passed through to the core. A compile-time check below keeps these in step with the contract.
 * Electron-free: imported by the main process, the bridge host and unit tests.
 */
import { z } from 'zod';
import type { ConversationId, MethodName, ParleyApi } from '../contract/api.js';
import { CONVERSATION_ID_RE } from '../contract/api.js';
import { LIMITS, USERNAME_RE } from '../../relay/protocol/limits.js';
import { parseRelayUrl } from '../core/transport/relay-url.js';
import { GROUP_IPC_SCHEMAS } from './ipc-schemas-groups.js';
import { ATTACHMENT_IPC_SCHEMAS } from './ipc-schemas-attachments.js';
import { BLOCKING_IPC_SCHEMAS } from './ipc-schemas-blocking.js';

const username = z.string().regex(USERNAME_RE, 'username: 3–32 characters a-z 0-9 _ . - starting with a letter or digit');

/**
 * Relay addresses: the form only (parseRelayUrl, the one validator every entry point uses). Whether a plain address
 * off this machine is acceptable depends on the user's insecureRelay setting, which the core checks.
 */
export const relayUrl = z.string().max(2048).refine((s) => {
  try {
    parseRelayUrl(s, { allowInsecure: true });
    return true;
  } catch {
    return false;
  }
}, 'relay address: an http(s):// or ws(s):// URL such as https://192.168.1.20:7447 (scheme, host and port only)');

const conversation = z
  .string()
  .regex(CONVERSATION_ID_RE, 'conversation: d:<username> or g:<group id, 32 hex characters>')
  .transform((s) => s as ConversationId);
const passphrase = z.string().min(8, 'passphrase: at least 8 characters').max(1024);
/** The core checks the UTF-8 byte size; this bounds the string before it is even looked at. */
const text = z.string().min(1, 'message is empty').max(LIMITS.maxTextBytes);
const messageId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'message id: base64url');
const none = z.tuple([]);
/** An invite code as the relay makes them (base64url); the relay checks it, this only bounds what crosses IPC. */
const inviteCode = z.string().trim().regex(/^[A-Za-z0-9_-]{8,128}$/, 'invite code: letters, digits, - and _');
const one = <T extends z.ZodRawShape>(shape: T) => z.tuple([z.strictObject(shape)]);

export const IPC_SCHEMAS = {
  getState: none,
  testRelay: one({ url: relayUrl }),
  discoverRelays: none,
  createIdentity: z.tuple([
    z
      .strictObject({
        username,
        relayUrl,
        vault: z.enum(['keychain', 'file']),
        passphrase: passphrase.optional(),
        invite: inviteCode.optional(),
      })
      .refine((r) => r.vault !== 'file' || r.passphrase !== undefined, {
        message: 'a passphrase is required for the passphrase-protected key file',
        path: ['passphrase'],
      }),
  ]),
  unlock: one({ passphrase: z.string().min(1).max(1024) }),
  startEmbeddedRelay: one({ lan: z.boolean(), inviteOnly: z.boolean().optional() }),
  stopEmbeddedRelay: none,
  createRelayInvite: none,
  setRelay: one({ url: relayUrl }),
  listConversations: z.tuple([z.strictObject({ filter: z.string().max(200).optional() })]),
  loadMessages: one({
    conversation,
    before: z.number().int().nonnegative().nullable().optional(),
    limit: z.number().int().min(1).max(500).optional(),
  }),
  sendMessage: one({ conversation, text, replyTo: messageId.optional() }),
  reactToMessage: one({ id: messageId, emoji: z.string().min(1).max(64).nullable(), conversation: conversation.optional() }),
  editMessage: one({ id: messageId, text, conversation: conversation.optional() }),
  messageInfo: one({ id: messageId, conversation: conversation.optional() }),
  retryMessage: one({ id: messageId }),
  markRead: one({ conversation }),
  deleteMessage: one({ id: messageId, everyone: z.boolean().optional(), conversation: conversation.optional() }),
  deleteConversation: one({ conversation }),
  searchMessages: one({ query: z.string().max(256), conversation: conversation.optional(), limit: z.number().int().min(1).max(200).optional() }),
  loadMessagesAround: one({
    conversation,
    seq: z.number().int().nonnegative().optional(),
    id: messageId.optional(),
    context: z.number().int().min(1).max(200).optional(),
  }),
  saveDraft: one({ conversation, text: z.string().max(64 * 1024) }),
  getDraft: one({ conversation }),
  addContact: one({ username }),
  getContact: one({ username }),
  setVerified: one({ username, verified: z.boolean() }),
  acceptKeyChange: one({ username, fingerprint: z.string().regex(/^[0-9a-f]{64}$/, 'fingerprint: 64 lowercase hex characters') }),
  rejectKeyChange: one({ username }),
  acceptRequest: one({ username }),
  setBlocked: one({ username, blocked: z.boolean() }),
  exportIdentity: one({ passphrase }),
  importIdentity: one({ passphrase: z.string().min(1).max(1024), relayUrl }),
  updateSettings: z.tuple([
    z.strictObject({
      notifications: z.enum(['full', 'sender', 'off']).optional(),
      theme: z.enum(['system', 'light', 'dark']).optional(),
      insecureRelay: z.boolean().optional(),
      displayName: z.string().max(256).optional(),
      readReceipts: z.boolean().optional(),
      autoDownloadImages: z.boolean().optional(),
      autoDownloadMaxBytes: z.number().int().min(0).max(32 * 1024 * 1024).optional(),
    }),
  ]),
  getDebugLog: none,
  ...GROUP_IPC_SCHEMAS,
  ...ATTACHMENT_IPC_SCHEMAS,
  ...BLOCKING_IPC_SCHEMAS,
} as const satisfies Record<MethodName, z.ZodType<unknown[]>>;

// Compile-time: every schema's output is assignable to the method's parameters, so a validated call type-checks.
type SchemaMatches = {
  [M in MethodName]: z.output<(typeof IPC_SCHEMAS)[M]> extends Parameters<ParleyApi[M]> ? true : M;
};
const _schemasMatch: SchemaMatches[MethodName] extends true ? true : SchemaMatches[MethodName] = true;
void _schemasMatch;
