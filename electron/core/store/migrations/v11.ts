import type { Migration } from './types.js';

export const v11: Migration = {
  version: 11,
  description: 'group requests: who added us to a group, and whether we blocked the request (refuses the group for good)',
  sql: `
    ALTER TABLE groups ADD COLUMN added_by TEXT;
    ALTER TABLE groups ADD COLUMN blocked INTEGER NOT NULL DEFAULT 0;
  `,
};
