/**
 * The API's conversation-scoped calls routed by ConversationId: `d:<username>` to the direct conversation, `g:<id>`
 * to the group (groups.ts). A malformed id is a typed INVALID error.
 */
import { groupConversation, parseConversationId, type MessagePage, type MessageView } from '../../contract/api.js';
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
  // Group messages carry their files, reply quote, reactions and edit/delete/read state like direct ones.
  const page = m.groups.loadPage(t.groupId, before, limit);
  return { ...page, messages: page.messages.map((x) => m.view(x)) };
}

export async function sendIn(m: Messenger, conversation: unknown, text: string, opts: { replyTo?: string } = {}): Promise<MessageView> {
  const t = target(conversation);
  if (t.kind === 'direct') return m.sendText(t.username, text, opts);
  const reply = opts.replyTo === undefined ? undefined : m.actions.replyRef(opts.replyTo, groupConversation(t.groupId));
  return m.view(await m.groups.sendText(t.groupId, text, reply));
}

export async function markReadIn(m: Messenger, conversation: unknown): Promise<void> {
  const t = target(conversation);
  // A group's read receipts go to the authors of what was read (actions.ts).
  if (t.kind === 'group') await m.actions.markRead(groupConversation(t.groupId));
  else await m.markRead(t.username);
}
