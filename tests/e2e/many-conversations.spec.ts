/**
 * A profile with hundreds of conversations (real encrypted history store, real core behind the bridge, a real relay)
 * keeps its conversation list virtualized: only a screenful of rows is in the DOM, assistive tech is told the
 * list's full length, and the keyboard still reaches every row (End, Home, arrows scroll the row into view).
 */
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { removeDir, runScript, startPerson, startRelayProcess, tempDir } from './harness.js';
import type { Person, Relay } from './harness.js';

const COUNT = 600;
const PASSPHRASE = 'many conversations passphrase';
const name = (i: number): string => `contact${String(i).padStart(4, '0')}`;

let root = '';
let relay: Relay | null = null;
let erin: Person | null = null;

test.afterAll(async () => {
  await erin?.stop();
  await relay?.close();
  if (root) removeDir(root);
});

test(`a list of ${COUNT} conversations renders only the rows in view and the keyboard reaches them all`, async ({ page }) => {
  test.setTimeout(120_000);
  root = tempDir('many');
  relay = await startRelayProcess(path.join(root, 'relay'));
  const seeded = JSON.parse(await runScript(['tests/e2e/seed-conversations.ts', root, relay.url, String(COUNT), PASSPHRASE], 'SEEDED ')) as {
    conversations: number;
  };
  expect(seeded.conversations).toBe(COUNT);
  erin = await startPerson('erin', root, { env: { PARLEY_PASSPHRASE: PASSPHRASE } });

  await page.goto(erin.url);
  const rows = page.getByTestId('conversation');
  const first = rows.filter({ hasText: name(0) });
  await expect(first).toBeVisible();
  await expect(page.getByTestId('conversation-list')).toHaveAttribute('aria-busy', 'false');
  // Before virtualization every one of the 600 rows was in the DOM.
  expect(await rows.count()).toBeLessThan(60);
  await expect(first).toHaveAttribute('aria-setsize', String(COUNT));
  await expect(first).toHaveAttribute('aria-posinset', '1');
  await expect(page.locator(`[data-username="${name(COUNT - 1)}"]`)).toHaveCount(0);

  // End: the last conversation (the oldest message) is opened, rendered, focused.
  await first.click();
  await first.focus(); // the opened chat puts the focus in its composer
  await page.keyboard.press('End');
  const last = page.locator(`[data-testid="conversation"][data-username="${name(COUNT - 1)}"]`);
  await expect(last).toBeVisible();
  await expect(last).toBeFocused();
  await expect(last).toHaveAttribute('aria-selected', 'true');
  await expect(last).toHaveAttribute('aria-posinset', String(COUNT));
  await expect(page.getByTestId('chat')).toHaveAttribute('aria-label', new RegExp(`${name(COUNT - 1)}$`));
  expect(await rows.count()).toBeLessThan(60);

  // ArrowUp moves one row; Home goes back to the top.
  await page.keyboard.press('ArrowUp');
  await expect(page.locator(`[data-testid="conversation"][data-username="${name(COUNT - 2)}"]`)).toBeFocused();
  await page.keyboard.press('Home');
  await expect(first).toBeFocused();
  await expect(first).toHaveAttribute('aria-selected', 'true');
});
