/**
 * IPC argument schemas of the blocking methods (contract/blocking.ts), merged into IPC_SCHEMAS (ipc-schemas.ts).
 * `unblock` takes exactly one of a username or a group id: a strict object each, so both at once (or neither, or an
 * extra key) is a validation error before the core is reached. The core checks again (the CLI calls it directly).
 */
import { z } from 'zod';
import type { BlockingApi } from '../contract/blocking.js';
import { USERNAME_RE } from '../../relay/protocol/limits.js';

const username = z.string().regex(USERNAME_RE, 'username: 3–32 characters a-z 0-9 _ . - starting with a letter or digit');
const group = z.string().regex(/^[0-9a-f]{32}$/, 'group: 32 lowercase hex characters');

export const BLOCKING_IPC_SCHEMAS = {
  listBlocked: z.tuple([]),
  unblock: z.tuple([z.union([z.strictObject({ username }), z.strictObject({ group })])]),
} as const satisfies Record<keyof BlockingApi, z.ZodType<unknown[]>>;
