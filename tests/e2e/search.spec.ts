/**
 * Search in the app, two people, real cores behind their bridges, one real relay: Carol has a long history with
 * Dave (seeded into her real encrypted store); Dave, in his own browser, sends her messages in Cyrillic, Japanese
 * and French. Carol searches the open conversation (Ctrl+F) and everything (Ctrl+Shift+F): a diacritic-folded
 * query, a prefix, Cyrillic and a 2-character CJK query, each with its match highlighted; Escape closes; choosing
 * a result deep in the history opens the chat there, the message highlighted and on screen, its neighbours loaded.
 * axe audits the open results; the screenshot goes to the README.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import type { Page } from '@playwright/test';
import { audit } from './a11y.js';
import { removeDir, runScript, startPerson, startRelayProcess, tempDir } from './harness.js';
import type { Person, Relay } from './harness.js';
import { addContact, send, shot } from './steps.js';

const COUNT = 3000;
const PASSPHRASE = 'search e2e passphrase';
const ROOT = path.resolve(__dirname, '../..');

let root = '';
let relay: Relay | null = null;
let carol: Person | null = null;
let dave: Person | null = null;

test.afterAll(async () => {
  await carol?.stop();
  await dave?.stop();
  await relay?.close();
  if (root) removeDir(root);
});

/** Types a query into the open search panel and waits for its results to be announced. */
async function searchFor(page: Page, query: string): Promise<void> {
  const panel = page.getByTestId('search-panel');
  await panel.getByRole('combobox').fill(query);
  await expect(panel.getByTestId('search-status')).toHaveText(/\d+ results?|No messages match/);
}

test('search one conversation and everything, then jump to a result', async ({ page, browser }) => {
  test.setTimeout(300_000);
  expect(existsSync(path.join(ROOT, 'out', 'renderer', 'index.html')), 'run `npm run build` first').toBe(true);
  root = tempDir('search');
  relay = await startRelayProcess(path.join(root, 'relay'));
  const seeded = JSON.parse(await runScript(['tests/e2e/seed-history.ts', root, relay.url, String(COUNT), PASSPHRASE], 'SEEDED ')) as { total: number };
  expect(seeded.total).toBe(COUNT);
  [carol, dave] = await Promise.all([
    startPerson('carol', root, { env: { PARLEY_PASSPHRASE: PASSPHRASE } }),
    startPerson('dave', root, { env: { PARLEY_PASSPHRASE: PASSPHRASE } }),
  ]);

  // Dave, in his own browser, writes to Carol.
  const daveCtx = await browser.newContext({ colorScheme: 'light' });
  const d = await daveCtx.newPage();
  await d.goto(dave.url);
  await expect(d.getByTestId('connection')).toHaveAttribute('data-status', 'online');
  await addContact(d, 'carol');
  const texts = ['Привет! Доставка будет завтра', '東京タワーで会いましょう', 'On se voit au Café à midi ?'];
  for (const t of texts) await send(d, t);
  await expect(d.getByTestId('message').filter({ hasText: texts[2]! })).toHaveAttribute('data-state', /sent|delivered/);

  await page.goto(carol.url);
  await page.getByTestId('conversation').filter({ hasText: 'dave' }).click();
  await expect(page.getByTestId('message').filter({ hasText: texts[2]! })).toBeVisible({ timeout: 60_000 });

  // Ctrl+F: the open conversation. A folded diacritic: "cafe" finds "Café", highlighted.
  await page.keyboard.press('Control+f');
  const panel = page.getByTestId('search-panel');
  await expect(panel.getByRole('heading', { name: 'Search the conversation with dave' })).toBeVisible();
  await expect(panel.getByRole('combobox')).toBeFocused();
  await searchFor(page, 'cafe');
  await expect(panel.getByTestId('search-status')).toHaveText('1 result');
  await expect(panel.getByRole('option')).toHaveCount(1);
  await expect(panel.getByRole('option').locator('mark')).toHaveText('Café');
  await audit(page, 'search in one conversation');
  // A prefix in Cyrillic, any case.
  await searchFor(page, 'доста');
  await expect(panel.getByRole('option').locator('mark')).toHaveText('Доставка');
  // Escape closes, and the focus goes back.
  await page.keyboard.press('Escape');
  await expect(panel).toBeHidden();

  // Ctrl+Shift+F: everything. A 2-character CJK query matches inside a word.
  await page.keyboard.press('Control+Shift+F');
  await expect(panel.getByRole('heading', { name: 'Search all conversations' })).toBeVisible();
  await searchFor(page, 'zzqx nothing like this');
  await expect(panel.getByTestId('search-status')).toHaveText('No messages match “zzqx nothing like this”.');
  await audit(page, 'search without results');
  await searchFor(page, '東京');
  await expect(panel.getByRole('option')).toHaveCount(1);
  await expect(panel.getByRole('option').locator('mark')).toHaveText('東京');
  await expect(panel.getByRole('option')).toContainText('dave');
  // A word prefix across the seeded history: many results, newest first, the first one active.
  await searchFor(page, 'buil');
  await expect(panel.getByRole('option').first()).toHaveAttribute('aria-selected', 'true');
  await expect(panel.getByTestId('search-status')).toHaveText(/^50 results or more/);
  await expect(panel.getByRole('option').first().locator('mark')).toHaveText('build');
  await audit(page, 'search results');
  await shot(page, '20-search-results'); // copied to docs/screenshots for the README

  // Jump: message #1234 lies 1 766 messages above the newest, far outside the loaded page. Arrow keys reach it
  // in the listbox too; here the query selects it alone and Enter opens it.
  await searchFor(page, '1234');
  await expect(panel.getByRole('option')).toHaveCount(1);
  await expect(panel.getByRole('combobox')).toHaveAttribute('aria-activedescendant', (await panel.getByRole('option').getAttribute('id'))!);
  await page.keyboard.press('Enter');
  await expect(panel).toBeHidden();
  const target = page.getByTestId('jump-target');
  await expect(target).toContainText('#1234 ');
  await expect(target).toBeInViewport();
  // Its neighbours are loaded and rendered around it; the newest are not (a button brings them back).
  await expect(page.getByTestId('message').filter({ hasText: '#1233 ' })).toBeVisible();
  await expect(page.getByTestId('message').filter({ hasText: '#1235 ' })).toBeVisible();
  await page.getByTestId('jump-latest').click();
  await expect(page.getByTestId('message').filter({ hasText: texts[2]! })).toBeInViewport();
  await expect(page.getByTestId('jump-target')).toHaveCount(0);
  await daveCtx.close();
});
