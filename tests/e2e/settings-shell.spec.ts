/**
 * Settings in the browser against a real core (dev/test bridge, real relay): a plain relay address off this
 * computer is refused until "Allow relays without encryption" is chosen (and the choice is saved), and "Copy debug
 * log" puts the recent diagnostics on the clipboard without the page token. A mistyped address is explained in words.
 */
import path from 'node:path';
import { expect, test } from '@playwright/test';
import type { BrowserContext, Page } from '@playwright/test';
import { onboard, shot } from './steps.js';
import { removeDir, startPerson, startRelayProcess, tempDir } from './harness.js';
import type { Person, Relay } from './harness.js';

let root = '';
let relay: Relay;
let fay: Person | null = null;
let ctx: BrowserContext | null = null;
let page: Page;

test.beforeAll(async ({ browser }) => {
  root = tempDir('settings-shell');
  relay = await startRelayProcess(path.join(root, 'relay'));
  fay = await startPerson('fay', root);
  ctx = await browser.newContext();
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: `http://127.0.0.1:${fay.port}` });
  page = await ctx.newPage();
  await page.goto(fay.url);
});

test.afterAll(async () => {
  await ctx?.close();
  await fay?.stop();
  await relay?.close();
  if (root) removeDir(root);
});

test('insecure relay choice and Copy debug log', async () => {
  await onboard(page, 'fay', relay.url, false);
  await page.getByRole('button', { name: 'Settings' }).click();

  await test.step('a mistyped address is explained next to the field, in words, before it is sent anywhere', async () => {
    await page.getByLabel('Use another relay').fill('relay.example.org:7447/parley');
    await page.getByRole('button', { name: 'Test and switch' }).click();
    const problem = page.getByTestId('relay-problem');
    await expect(problem).toContainText('A relay address is only the host and port, without a path');
    await expect(problem).toContainText('Details: ADDRESS_PATH');
    // No internal text anywhere on the page (the old toast read "testRelay: 0.url: relay address: …").
    await expect(page.locator('body')).not.toContainText('testRelay');
    await expect(page.locator('body')).not.toContainText('relay address:');
    await shot(page, '13-settings-address-problem');
  });

  await test.step('a plain remote relay needs the explicit choice', async () => {
    const allow = page.getByLabel('Allow relays without encryption');
    await expect(allow).not.toBeChecked();
    await page.getByLabel('Use another relay').fill('http://192.0.2.10:7070');
    await page.getByRole('button', { name: 'Test and switch' }).click();
    const problem = page.getByTestId('relay-problem');
    await expect(problem).toContainText('This relay is on another computer and its address has no encryption');
    await expect(problem).toContainText('Details: INSECURE_RELAY');
    await allow.check();
    await expect(allow).toBeChecked();
    // Saved in the core: a reload shows it still on.
    await page.reload();
    await page.getByRole('button', { name: 'Settings' }).click();
    await expect(page.getByLabel('Allow relays without encryption')).toBeChecked();
    await page.getByLabel('Allow relays without encryption').uncheck();
    await expect(page.getByLabel('Allow relays without encryption')).not.toBeChecked();
  });

  await test.step('Copy debug log', async () => {
    await page.getByRole('button', { name: 'Copy debug log' }).click();
    await expect(page.getByText(/Debug log copied/)).toBeVisible();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied).toContain('"msg":"page connected"');
    expect(copied).toContain('"msg":"relay online"');
    expect(copied).not.toContain(fay!.token);
  });
});
