/** The history store's schema: its migrations (one file per version under migrations/) and the latest version. */
import { MIGRATIONS } from './migrations/index.js';

export { MIGRATIONS, type Migration } from './migrations/index.js';

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
