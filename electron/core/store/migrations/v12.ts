import type { Migration } from './types.js';

/** v12 (attach-ui; v11 is reserved for groups-core and may land later, migrations apply in version order). */
export const v12: Migration = {
  version: 12,
  description: 'attachments: the preview an outgoing image is sent with (thumbnail and pixel size from the renderer)',
  sql: `
    -- JSON {thumb?, width?, height?}; kept until the upload completes, when it becomes part of the descriptor.
    ALTER TABLE attachments ADD COLUMN preview TEXT;
  `,
};
