// `npm run relay`: run the bundled relay (dist/relay/cli.js). In a development checkout (esbuild installed) the bundle
// is rebuilt first, so it always matches the sources; a production install (`npm ci --omit=dev`) runs the bundle it
// ships with.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const require = createRequire(import.meta.url);
let haveEsbuild = true;
try {
  require.resolve('esbuild');
} catch {
  haveEsbuild = false;
}
if (haveEsbuild && existsSync(path.join(root, 'relay/cli.ts'))) await import('./build-relay.mjs');
const bundle = path.join(root, 'dist/relay/cli.js');
if (!existsSync(bundle)) {
  process.stderr.write('parley-relay: dist/relay/cli.js is missing; build it with `npm run build:relay`\n');
  process.exit(2);
}
require(bundle);
