/**
 * IPC argument schemas of the group methods (contract/groups.ts), merged into IPC_SCHEMAS (ipc-schemas.ts). Strict
 * objects; bounds as the core's (at most 256 members, names 1 to 64 printable characters); the core checks again.
 */
import { z } from 'zod';
import type { GroupApi } from '../contract/groups.js';
import { USERNAME_RE } from '../../relay/protocol/limits.js';

const username = z.string().regex(USERNAME_RE, 'username: 3–32 characters a-z 0-9 _ . - starting with a letter or digit');
const group = z.string().regex(/^[0-9a-f]{32}$/, 'group: 32 lowercase hex characters');
const name = z
  .string()
  .min(1, 'name: 1 to 64 characters')
  .max(64, 'name: 1 to 64 characters')
  .refine((s) => s.trim().length > 0 && !/\p{Surrogate}|\p{Cc}/u.test(s), 'name: printable, not blank');
const members = z.array(username).min(1, 'members: at least one').max(256, 'members: a group has at most 256 members');
const messageId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'message id: base64url');
const one = <T extends z.ZodRawShape>(shape: T) => z.tuple([z.strictObject(shape)]);

export const GROUP_IPC_SCHEMAS = {
  createGroup: one({ name, members }),
  addGroupMembers: one({ group, members }),
  removeGroupMembers: one({ group, members }),
  setGroupAdmin: one({ group, username }),
  renameGroup: one({ group, name }),
  leaveGroup: one({ group }),
  groupInfo: one({ group }),
  acceptGroupRequest: one({ group }),
  blockGroupRequest: one({ group }),
  groupDeliveries: one({ id: messageId }),
} as const satisfies Record<keyof GroupApi, z.ZodType<unknown[]>>;
