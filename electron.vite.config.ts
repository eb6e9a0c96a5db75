/**
 * electron-vite build: three bundles.
 *  - main    electron/main/index.ts (+ the crypto worker when the core provides one) → out/main, CJS, native and
 *            server-side dependencies external (they are rebuilt for Electron and loaded from node_modules / app.asar.unpacked).
 *  - preload electron/preload/index.ts → out/preload/index.js, CJS, fully bundled (sandboxed preloads cannot require
 *            anything but a few Electron modules).
 *  - renderer renderer/index.html → out/renderer, plain browser bundle (no Node), also served by the dev/test bridge.
 * `npm run build` does not need the Electron binary.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import react from '@vitejs/plugin-react';
import type { Plugin } from 'vite';

const root = __dirname;
const cryptoWorker = resolve(root, 'electron/core/crypto/worker.ts');
// The embedded relay's SQLite writer thread (fsync off the main event loop); relay/server/store/sqlite.ts looks for
// relay-writer.js beside the bundle and falls back to writing inline when it is absent.
const relayWriter = resolve(root, 'relay/server/store/writer-worker.ts');

/** Native modules and servers the main process loads at runtime rather than bundling. */
const MAIN_EXTERNALS = [
  'electron',
  'keytar',
  'better-sqlite3',
  'better-sqlite3-multiple-ciphers',
  'bonjour-service',
  'socket.io',
  'socket.io-client',
  'pino',
  '@peculiar/x509',
  'zod',
];

/**
 * `npm run dev` only: the dev server injects React's refresh preamble inline and uses a WebSocket for HMR, which the
 * strict meta CSP in renderer/index.html forbids. Relax it while serving; builds keep the strict policy.
 */
function devCsp(): Plugin {
  return {
    name: 'parley-dev-csp',
    apply: 'serve',
    transformIndexHtml: (html) =>
      html
        .replace("script-src 'self';", "script-src 'self' 'unsafe-inline';")
        .replace("style-src 'self';", "style-src 'self' 'unsafe-inline';")
        .replace("connect-src 'self';", "connect-src 'self' ws: http://localhost:*;"),
  };
}

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      externalizeDeps: { include: MAIN_EXTERNALS },
      sourcemap: true,
      rolldownOptions: {
        input: {
          index: resolve(root, 'electron/main/index.ts'),
          ...(existsSync(cryptoWorker) ? { 'crypto-worker': cryptoWorker } : {}),
          ...(existsSync(relayWriter) ? { 'relay-writer': relayWriter } : {}),
        },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      externalizeDeps: false,
      rolldownOptions: {
        input: { index: resolve(root, 'electron/preload/index.ts') },
        external: ['electron'],
        output: { format: 'cjs', entryFileNames: '[name].js' },
      },
    },
  },
  renderer: {
    root: resolve(root, 'renderer'),
    plugins: [react(), devCsp()],
    base: './',
    build: {
      outDir: resolve(root, 'out/renderer'),
      emptyOutDir: true,
      minify: true,
      rolldownOptions: { input: { index: resolve(root, 'renderer/index.html') } },
    },
  },
});
