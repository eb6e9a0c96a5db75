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
  return t.kind === 'group' ? m.groups.loadPage(t.groupId, before, limit) : m.loadMessages(t.username, before, limit);
}

export function sendIn(m: Messenger, conversation: unknown, text: string): Promise<MessageView> {
  const t = target(conversation);
  return t.kind === 'group' ? m.groups.sendText(t.groupId, text) : m.sendText(t.username, text);
}

export function markReadIn(m: Messenger, conversation: unknown): void {
  const t = target(conversation);
  if (t.kind === 'group') m.groups.markRead(t.groupId);
  else m.markRead(t.username);
}
