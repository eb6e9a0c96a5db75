/**
 * Resolves the API's ConversationId arguments to what the messenger keys on. Direct conversations are named after
 * their contact; groups are not implemented yet, so a group id is an unknown conversation (NOT_FOUND), never a crash.
 */
import { parseConversationId } from '../../contract/api.js';
import { CoreError } from './errors.js';

/** The contact of a direct conversation id; throws INVALID for a malformed id, NOT_FOUND for a group id. */
export function directContactOf(conversation: unknown): string {
  const parsed = typeof conversation === 'string' ? parseConversationId(conversation) : null;
  if (!parsed) {
    throw new CoreError('INVALID', 'Invalid conversation: expected d:<username> or g:<32 hex characters>');
  }
  if (parsed.kind === 'group') throw new CoreError('NOT_FOUND', `Unknown group ${parsed.groupId}`);
  return parsed.username;
}
