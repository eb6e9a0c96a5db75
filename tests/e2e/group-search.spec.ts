/**
 * Search results in a group open that group at the message, as direct results do: a real relay, Carol's real core
 * behind her bridge, her real encrypted store seeded with 600 messages in the group "Book club" (with Dave, whose
 * profile is registered on the relay). Ctrl+Shift+F finds a message far above the newest page: choosing it opens the
 * group there, the message highlighted and on screen, its neighbours loaded around it and the newest not (a button
 * brings them back). Ctrl+F in the open group searches only that group; a click opens a result too. axe audits the
 * results.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import type { Page } from '@playwright/test';
import { audit } from './a11y.js';
import { removeDir, runScript, startPerson, startRelayProcess, tempDir } from './harness.js';
import type { Person, Relay } from './harness.js';

const COUNT = 600;
const GROUP = 'Book club';
const PASSPHRASE = 'group search e2e passphrase';
const ROOT = path.resolve(__dirname, '../..');

let root = '';
let relay: Relay | null = null;
let carol: Person | null = null;

test.afterAll(async () => {
  await carol?.stop();
  await relay?.close();
  if (root) removeDir(root);
});

async function searchFor(page: Page, query: string): Promise<void> {
  const panel = page.getByTestId('search-panel');
  await panel.getByRole('combobox').fill(query);
  await expect(panel.getByTestId('search-status')).toHaveText(/\d+ results?|No messages match/);
}

/** Message #n of the seeded history (the space ends the number: "#12 " is not "#123 "). */
const line = (page: Page, n: number) => page.getByTestId('message').filter({ hasText: `#${n} ` });

test('a search result in a group opens the group at that message', async ({ page }) => {
  test.setTimeout(300_000);
  expect(existsSync(path.join(ROOT, 'out', 'renderer', 'index.html')), 'run `npm run build` first').toBe(true);
  root = tempDir('group-search');
  relay = await startRelayProcess(path.join(root, 'relay'));
  const seeded = JSON.parse(await runScript(['tests/e2e/seed-group.ts', root, relay.url, PASSPHRASE, GROUP, String(COUNT), 'carol', 'dave'], 'SEEDED ')) as { total: number };
  expect(seeded.total).toBe(COUNT);
  carol = await startPerson('carol', root, { env: { PARLEY_PASSPHRASE: PASSPHRASE } });
  await page.goto(carol.url);
  await expect(page.getByTestId('conversation').filter({ hasText: GROUP })).toBeVisible({ timeout: 60_000 });
  // Opened from the list, the group shows its newest messages (the bottom of the timeline).
  await page.getByTestId('conversation').filter({ hasText: GROUP }).click();
  await expect(line(page, COUNT - 1)).toBeInViewport();

  // Everything: message #123 (from Dave) lies 476 messages above the newest, far outside the group's newest page.
  await page.keyboard.press('Control+Shift+F');
  const panel = page.getByTestId('search-panel');
  await expect(panel.getByRole('heading', { name: 'Search all conversations' })).toBeVisible();
  await searchFor(page, '123');
  await expect(panel.getByRole('option')).toHaveCount(1);
  // The result names the group (not its id) and who wrote it.
  await expect(panel.getByRole('option')).toContainText(`${GROUP} · dave`);
  await expect(panel.getByRole('option').locator('mark')).toHaveText('123');
  await audit(page, 'search results with a group result');
  await page.keyboard.press('Enter');
  await expect(panel).toBeHidden();

  const chat = page.getByTestId('group-chat');
  await expect(chat.getByRole('heading', { name: GROUP })).toBeVisible();
  const target = chat.getByTestId('jump-target');
  await expect(target).toContainText('#123 ');
  await expect(target).toHaveAttribute('aria-current', 'true');
  await expect(target).toBeInViewport();
  // Its neighbours are loaded around it; the newest are not: the window ends 50 messages after it and 'Jump to the
  // latest messages' is offered. The timeline is virtualized (only rows in view are in the DOM), so the window's
  // ends are checked by scrolling to them.
  await expect(line(page, 122)).toBeVisible();
  await expect(line(page, 124)).toBeVisible();
  await expect(page.getByTestId('jump-latest')).toBeVisible();
  const messages = chat.getByTestId('messages');
  await messages.evaluate((el) => { el.scrollTop = el.scrollHeight; });
  await expect(line(page, 173)).toBeVisible();
  await expect(line(page, 174)).toHaveCount(0);
  await expect(line(page, COUNT - 1)).toHaveCount(0);
  // Earlier pages still load from the window's start as the reader scrolls up, down to the first message.
  await expect
    .poll(async () => {
      await messages.evaluate((el) => { el.scrollTop = 0; });
      return line(page, 0).count();
    }, { timeout: 60_000 })
    .toBe(1);
  await expect(line(page, 0)).toBeVisible();

  // Ctrl+F in the open group searches only this group, by its name; a click opens a result.
  await page.keyboard.press('Control+f');
  await expect(panel.getByRole('heading', { name: `Search the group “${GROUP}”` })).toBeVisible();
  await searchFor(page, '322');
  await expect(panel.getByRole('option')).toHaveCount(1);
  await expect(panel.getByRole('option')).toContainText('You');
  await panel.getByRole('option').click();
  await expect(panel).toBeHidden();
  await expect(chat.getByTestId('jump-target')).toContainText('#322 ');
  await expect(chat.getByTestId('jump-target')).toBeInViewport();
  await expect(line(page, 321)).toBeVisible();
  await expect(line(page, 123)).toHaveCount(0);

  // Back to the newest: the highlight goes, the newest message is there again.
  await page.getByTestId('jump-latest').click();
  await expect(line(page, COUNT - 1)).toBeInViewport();
  await expect(chat.getByTestId('jump-target')).toHaveCount(0);
  await expect(page.getByTestId('jump-latest')).toHaveCount(0);
});
