/**
 * The API's conversation-scoped calls routed by ConversationId: `d:<username>` to the direct conversation, `g:<id>`
 * to the group (groups.ts). A malformed id is a typed INVALID error.
 */
import { parseConversationId, type MessagePage, type MessageView } from '../../contract/api.js';
import { CoreError } from './errors.js';
import type { Messenger } from './messenger.js';

function target(conversation: unknown): { kind: 'direct'; username: string } | { kind: 'group'; groupId: string } {
  const parsed = typeof conversation === 'string' ? parseConversationId(conversation) : null;
  if (!parsed) throw new CoreError('INVALID', 'Invalid conversation: expected d:<username> or g:<32 hex characters>');
  return parsed;
}

export function loadIn(m: Messenger, conversation: unknown, before?: number | null, limit?: number): MessagePage {
  const t = target(conversation);
  if (t.kind === 'direct') return m.loadMessages(t.username, before, limit);
  const page = m.groups.loadPage(t.groupId, before, limit);
  return { ...page, messages: page.messages.map((x) => m.withAttachments(x)) }; // a group message's files
}

export function sendIn(m: Messenger, conversation: unknown, text: string, opts: { replyTo?: string } = {}): Promise<MessageView> {
  const t = target(conversation);
  // Replies in groups come with group actions (the group side of actions-apply.ts); a direct reply quotes here.
  return t.kind === 'group' ? m.groups.sendText(t.groupId, text) : m.sendText(t.username, text, opts);
}

export async function markReadIn(m: Messenger, conversation: unknown): Promise<void> {
  const t = target(conversation);
  if (t.kind === 'group') m.groups.markRead(t.groupId);
  else await m.markRead(t.username);
}
