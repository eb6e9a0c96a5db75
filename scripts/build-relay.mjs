// Bundle the standalone relay into dist/relay/ (cli.js + relay-writer.js, the SQLite writer thread) so that running it
// needs only production dependencies: `npm ci --omit=dev && node dist/relay/cli.js` (the Dockerfile does this).
// Native and optional modules stay external and load from node_modules.
import { build } from 'esbuild';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  logLevel: 'warning',
  // better-sqlite3 is native; pg-native is pg's optional libpq binding (unused); bufferutil/utf-8-validate are ws's
  external: ['better-sqlite3', 'pg-native', 'bufferutil', 'utf-8-validate'],
  // sources use import.meta.url (createRequire); in a CommonJS bundle it is this file's URL
  define: { 'import.meta.url': '__parleyImportMetaUrl' },
  banner: { js: "const __parleyImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
};
await build({ ...common, entryPoints: [path.join(root, 'relay/cli.ts')], outfile: path.join(root, 'dist/relay/cli.js') });
await build({
  ...common,
  entryPoints: [path.join(root, 'relay/server/store/writer-worker.ts')],
  outfile: path.join(root, 'dist/relay/relay-writer.js'),
});
console.log('relay bundle: dist/relay/cli.js, dist/relay/relay-writer.js');
