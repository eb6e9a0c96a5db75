/**
 * Schema migrations of the history store, one file per version, applied in order inside one transaction each;
 * PRAGMA user_version = the version of the last applied migration. To change the schema, add vN.ts and list it here.
 */
import type { Migration } from './types.js';
import { v1 } from './v1.js';
import { v2 } from './v2.js';
import { v3 } from './v3.js';
import { v4 } from './v4.js';
import { v5 } from './v5.js';
import { v6 } from './v6.js';
import { v7 } from './v7.js';
import { v8 } from './v8.js';
import { v9 } from './v9.js';
import { v10 } from './v10.js';
import { v11 } from './v11.js';
import { v12 } from './v12.js';
import { v14 } from './v14.js';
import { v17 } from './v17.js';

export type { Migration } from './types.js';

export const MIGRATIONS: readonly Migration[] = Object.freeze(
  [v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v14, v17].sort((a, b) => a.version - b.version),
);
