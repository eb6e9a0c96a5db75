// Lint that enforces Parley's process boundaries: a folder's name says where its code may run.
import tseslint from 'typescript-eslint';
import globals from 'globals';

const nodeBuiltins = ['node:*', 'fs', 'path', 'os', 'child_process', 'crypto', 'net', 'http', 'https', 'worker_threads'];

export default tseslint.config(
  { ignores: ['.tmp/**', '**/*.tmp.ts', 'out/**', 'dist/**', 'node_modules/**', 'test-results/**', 'playwright-report/**', 'bench-results/**', '.stryker-tmp/**', 'reports/**'] },
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Renderer: browser code. It may import only *types* from the renderer–main contract; never Node,
    // Electron, the core or the relay.
    files: ['renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        paths: [{ name: 'electron', message: 'The renderer never imports Electron; use window.parley.' }],
        patterns: [
          { group: nodeBuiltins, message: 'The renderer is sandboxed browser code: no Node modules.' },
          { group: ['**/electron/main/**', '**/electron/preload/**', '**/electron/core/**', '**/electron/cli/**', '**/relay/**'],
            message: 'The renderer talks to the main process only through the contract (window.parley).' },
          { group: ['**/electron/contract/**'], allowTypeImports: true,
            message: 'The renderer may import only types from the contract.' },
        ],
      }],
    },
  },
  {
    // Relay: a standalone server. It imports nothing from the app.
    files: ['relay/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        paths: [{ name: 'electron', message: 'The relay runs without Electron.' }],
        patterns: [{ group: ['**/electron/**', '**/renderer/**'], message: 'The relay imports nothing from electron/ or renderer/.' }],
      }],
    },
  },
  {
    // Protocol: dependency-light, shared by relay and core.
    files: ['relay/protocol/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        paths: [{ name: 'electron', message: 'The protocol module is runtime-neutral.' }],
        patterns: [
          { group: ['../*', '**/electron/**', '**/renderer/**'], message: 'relay/protocol imports only zod, node:crypto and itself.' },
          { group: ['socket.io*', 'better-sqlite3*', 'pino', 'keytar'], message: 'relay/protocol stays dependency-light (zod at most).' },
        ],
      }],
    },
  },
  {
    // Electron-free core, CLI and contract: never Electron, never the renderer.
    files: ['electron/core/**/*.ts', 'electron/cli/**/*.ts', 'electron/contract/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        paths: [{ name: 'electron', message: 'electron/core is Electron-free: it runs under plain Node, in the CLI and tests.' }],
        patterns: [{ group: ['**/renderer/**', '**/electron/main/**', '**/electron/preload/**'], message: 'The core does not depend on the shell or the UI.' }],
      }],
    },
  },
  {
    // Contract: types and a frozen channel list, no runtime dependencies.
    files: ['electron/contract/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        paths: [{ name: 'electron', message: 'The contract has no runtime dependencies.' }],
        patterns: [{ regex: '^(?!\\./[a-z-]+\\.js$)', message: 'The contract imports nothing but itself (its sibling files).' }],
      }],
    },
  },
  {
    // Preload: sandboxed; only electron's contextBridge/ipcRenderer and the contract.
    files: ['electron/preload/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [
          { group: nodeBuiltins, message: 'A sandboxed preload cannot use Node modules.' },
          { group: ['**/electron/core/**', '**/electron/main/**', '**/relay/**', '**/renderer/**'], message: 'The preload exposes the contract only.' },
        ],
      }],
    },
  },
);
