export * from './types.js';
export { openHistoryStore, toContactView, toMessageView, DEFAULT_PAGE, MAX_PAGE } from './history.js';
export { MIGRATIONS, LATEST_VERSION } from './schema.js';
