import type { Migration } from './types.js';

export const v10: Migration = {
  version: 10,
  description: 'display names: the name a contact chose, as carried inside their encrypted messages (never from the relay)',
  sql: `
    ALTER TABLE contacts ADD COLUMN display_name TEXT;
  `,
};
