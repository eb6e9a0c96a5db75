/**
 * How the conversation list names its rows: a direct conversation by its contact's username (as it always has, so a
 * remembered selection survives), a group by its conversation id `g:<id>`. Usernames never contain ':', so the two
 * cannot collide.
 */
import type { ConversationSummary } from '../../../../electron/contract/api.js';

export const rowKeyOf = (c: ConversationSummary): string => (c.kind === 'group' ? c.id : c.contact.username);

export const isGroupKey = (key: string): key is `g:${string}` => /^g:[0-9a-f]{32}$/.test(key);
