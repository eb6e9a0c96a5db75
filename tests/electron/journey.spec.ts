/**
 * The same Parley journey in the real Electron app (`_electron.launch` on out/main/index.js): Alice and Bob as two
 * app instances with their own userData and profile, one real relay.
 *
 * The Electron binary is not installed everywhere (it is not in this sandbox: node_modules/electron has no dist/).
 * Then the test is SKIPPED, and says why, instead of pretending to pass. We never `require('electron')` to find out,
 * because that starts a download.
 *
 * Native modules: when the binary is present they are built for Electron (`node scripts/native-abi.mjs electron`),
 * so the relay and the CLI run under Electron in Node mode (ELECTRON_RUN_AS_NODE=1) to load the same binaries.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { _electron as electron, expect, test } from '@playwright/test';
import type { ElectronApplication, Page } from '@playwright/test';
import { removeDir, tempDir } from '../e2e/harness.js';
import { addContact, bubbles, onboard, safetyNumber, send, shot } from '../e2e/steps.js';

const ROOT = path.resolve(__dirname, '../..');
const TSX_CLI = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');

function electronBinary(): { path: string } | { missing: string } {
  const dir = path.join(ROOT, 'node_modules', 'electron');
  const pathFile = path.join(dir, 'path.txt');
  if (process.env['ELECTRON_OVERRIDE_DIST_PATH']) {
    const p = path.join(process.env['ELECTRON_OVERRIDE_DIST_PATH'], 'electron');
    return existsSync(p) ? { path: p } : { missing: `ELECTRON_OVERRIDE_DIST_PATH is set but ${p} does not exist` };
  }
  if (!existsSync(pathFile)) return { missing: `${pathFile} does not exist (the Electron binary was never downloaded; ELECTRON_SKIP_BINARY_DOWNLOAD?)` };
  const bin = path.join(dir, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(bin) ? { path: bin } : { missing: `${bin} does not exist` };
}

const bin = electronBinary();
if ('missing' in bin) {
  console.log(`tests/electron: SKIPPED — Electron binary missing: ${bin.missing}. Install it with \`npx install-electron\` (network) to run the Electron journey.`);
}

/** Runs a TypeScript entry (relay, CLI) under Electron's Node mode; returns the first stdout line matching `want`. */
function runNodeMode(args: string[], want: RegExp): Promise<{ line: string; stop: () => Promise<void> }> {
  const child = spawn((bin as { path: string }).path, [TSX_CLI, ...args], { cwd: ROOT, env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
  return new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`${args[0]}: no ${want} after 60 s\n${out}`)), 60_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => want.test(l));
      if (line) {
        clearTimeout(t);
        resolve({
          line,
          stop: async () => {
            if (child.exitCode !== null) return;
            const done = new Promise((r) => child.once('exit', r));
            child.kill('SIGTERM');
            await done;
          },
        });
      }
    });
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`${args[0]} exited with ${code}\n${out}`));
    });
  });
}

/** Runs a TypeScript CLI under Electron's Node mode to completion. */
function runToEnd(args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn((bin as { path: string }).path, [TSX_CLI, ...args], { cwd: ROOT, env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })));
}

async function launch(userData: string): Promise<[ElectronApplication, Page]> {
  mkdirSync(userData, { recursive: true });
  const app = await electron.launch({
    executablePath: (bin as { path: string }).path,
    args: [path.join(ROOT, 'out', 'main', 'index.js'), '--no-sandbox'],
    env: { ...process.env, PARLEY_USER_DATA: userData, ELECTRON_ENABLE_LOGGING: '1' },
  });
  const page = await app.firstWindow();
  await page.waitForLoadState('domcontentloaded');
  return [app, page];
}

test.describe('Electron journey', () => {
  test.skip('missing' in bin, 'missing' in bin ? `Electron binary missing: ${bin.missing}` : '');

  let root = '';
  const apps: ElectronApplication[] = [];
  let stopRelay: (() => Promise<void>) | null = null;

  test.afterAll(async () => {
    for (const app of apps) await app.close().catch(() => undefined);
    await stopRelay?.();
    if (root) removeDir(root);
  });

  test('Alice and Bob in the Electron app', async () => {
    test.setTimeout(240_000);
    expect(existsSync(path.join(ROOT, 'out', 'main', 'index.js')), 'run `npm run build` first').toBe(true);
    root = tempDir('electron');
    const relay = await runNodeMode(['relay/cli.ts', '--port', '0', '--data', path.join(root, 'relay'), '--no-advertise'], /"relay listening"/);
    stopRelay = relay.stop;
    const relayUrl = (JSON.parse(relay.line) as { url: string }).url;

    let [aliceApp, a] = await launch(path.join(root, 'alice'));
    let [bobApp, b] = await launch(path.join(root, 'bob'));
    apps.push(aliceApp, bobApp);

    // The renderer sees only the contract: window.parley with the named methods, no ipcRenderer, no Node.
    const surface = await a.evaluate(() => ({
      keys: Object.keys((window as unknown as { parley: object }).parley).sort(),
      hasRequire: typeof (window as unknown as { require?: unknown }).require !== 'undefined',
      hasProcess: typeof (window as unknown as { process?: unknown }).process !== 'undefined',
    }));
    expect(surface.keys).toContain('sendMessage');
    expect(surface.keys).toContain('on');
    expect(surface.keys).not.toContain('ipcRenderer');
    expect(surface.hasRequire).toBe(false);
    expect(surface.hasProcess).toBe(false);
    await onboard(a, 'alice', relayUrl, false);
    await onboard(b, 'bob', relayUrl, false);
    await addContact(a, 'bob');
    await addContact(b, 'alice');
    expect(await safetyNumber(a)).toBe(await safetyNumber(b));
    await a.keyboard.press('Escape');
    await b.keyboard.press('Escape');

    await send(a, 'Hello from Electron');
    await expect(bubbles(b).filter({ hasText: 'Hello from Electron' })).toBeVisible();
    await send(b, 'Hi Alice');
    await expect(bubbles(a).filter({ hasText: 'Hi Alice' })).toBeVisible();
    await shot(a, 'electron-chat');

    // Bob quits; Alice writes; Bob's key changes while he is away (CLI on his profile); he comes back.
    await bobApp.close();
    apps.splice(apps.indexOf(bobApp), 1);
    await send(a, 'While you were away');
    await expect(bubbles(a).filter({ hasText: 'While you were away' })).toHaveAttribute('data-state', 'sent');
    const rotated = await runToEnd(['electron/cli/index.ts', '--profile', path.join(root, 'bob', 'profile'), 'rotate-identity']);
    expect(rotated.code, rotated.out).toBe(0);
    [bobApp, b] = await launch(path.join(root, 'bob'));
    apps.push(bobApp);
    await expect(bubbles(b).filter({ hasText: 'While you were away' })).toBeVisible({ timeout: 30_000 });
    await send(b, 'New key here');
    await expect(a.getByTestId('key-change-banner')).toBeVisible({ timeout: 30_000 });
    await expect(a.getByTestId('composer-disabled')).toBeVisible();

    // History survives a restart of Alice's app.
    await aliceApp.close();
    apps.splice(apps.indexOf(aliceApp), 1);
    [aliceApp, a] = await launch(path.join(root, 'alice'));
    apps.push(aliceApp);
    await a.getByTestId('conversation').first().click();
    await expect(bubbles(a).filter({ hasText: 'Hello from Electron' })).toBeVisible({ timeout: 30_000 });
  });
});
