import type { Migration } from './types.js';

export const v9: Migration = {
  version: 9,
  description: 'start-up indexes: dedupe marks by time, so pruning at unlock does not scan every mark',
  sql: `
    -- Every unlock deletes the marks older than the retention (DELETE FROM seen WHERE at < ?): without this index
    -- that reads the whole table, one row per message received in the last 60 days, before the list can show.
    CREATE INDEX seen_at ON seen(at);
  `,
};
