/** Every CLI command by name. A new domain adds a module here (e.g. groups.ts) and one spread line below. */
import { ACTIONS_COMMANDS } from './actions.js';
import { ATTACHMENTS_COMMANDS } from './attachments.js';
import { CONTACTS_COMMANDS } from './contacts.js';
import { GROUPS_COMMANDS } from './groups.js';
import { IDENTITY_COMMANDS } from './identity.js';
import { MESSAGES_COMMANDS } from './messages.js';
import { SEARCH_COMMANDS } from './search.js';
import type { CliCommand } from './types.js';

export type { CliCommand } from './types.js';

export const COMMANDS: Readonly<Record<string, CliCommand>> = Object.freeze({
  ...IDENTITY_COMMANDS,
  ...CONTACTS_COMMANDS,
  ...MESSAGES_COMMANDS,
  ...GROUPS_COMMANDS,
  ...ACTIONS_COMMANDS,
  ...SEARCH_COMMANDS,
  ...ATTACHMENTS_COMMANDS,
});
