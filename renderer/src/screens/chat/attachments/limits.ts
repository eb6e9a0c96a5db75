/**
 * The attachment limits the renderer needs, repeated from electron/contract/attachments.ts because the renderer
 * imports only types from the contract (tests/unit/renderer-attachment-limits.test.ts keeps them equal).
 */
export const MAX_ATTACHMENT_BYTES = 100 * 1024 * 1024;
export const STAGE_CHUNK_BYTES = 128 * 1024;
export const MAX_ATTACHMENTS_PER_MESSAGE = 10;
export const MAX_THUMBNAIL_BYTES = 8 * 1024;
