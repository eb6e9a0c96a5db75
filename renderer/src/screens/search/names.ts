/** What the search panel calls a conversation: a group by its name (from the conversation list), a contact by username. */
import type { ConversationId, ConversationSummary } from '../../../../electron/contract/api.js';

export function conversationTitle(list: ConversationSummary[] | null, id: ConversationId): string | undefined {
  const row = list?.find((c) => c.id === id);
  if (!row) return undefined;
  return row.kind === 'group' ? row.group.name : row.contact.username;
}
