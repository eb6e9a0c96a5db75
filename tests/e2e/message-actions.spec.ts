/**
 * Acting on messages in real Chromium against real cores and a real relay (two people, Ann and Ben): reply with a
 * quote that jumps to the original, reactions from the toolbar and from the context menu (keyboard too), edit,
 * info with delivered and read times, read ticks, delete for everyone, links that ask before opening, delete a
 * conversation; axe audit; screenshot of a message with a reply and reactions (test-results/screenshots/, copied to
 * docs/screenshots/20-message-actions.png).
 */
import path from 'node:path';
import { expect, test } from '@playwright/test';
import type { BrowserContext, Page } from '@playwright/test';
import { audit } from './a11y.js';
import { addContact, bubbles, onboard, send, shot } from './steps.js';
import { removeDir, startPerson, startRelayProcess, tempDir } from './harness.js';
import type { Person, Relay } from './harness.js';

let root = '';
let relay: Relay;
let people: Person[] = [];
const contexts: BrowserContext[] = [];

test.beforeAll(async () => {
  test.setTimeout(120_000);
  root = tempDir('message-actions');
  relay = await startRelayProcess(path.join(root, 'relay'));
  people = await Promise.all([startPerson('ann', root), startPerson('ben', root)]);
});

test.afterAll(async () => {
  for (const c of contexts) await c.close();
  for (const p of people) await p.stop();
  await relay?.close();
  if (root) removeDir(root);
});

const message = (page: Page, text: string) => bubbles(page).filter({ hasText: text });
/** Ann's question before the edit (the reply quotes its text too, so the one without a quote). */
const original = (page: Page) => message(page, 'Dinner tonight?').filter({ hasNot: page.getByTestId('message-quote') });

/** The toolbar of a message: shown on hover (and when focus is inside it). */
async function toolbar(page: Page, text: string) {
  const m = text === 'Dinner tonight?' ? original(page) : message(page, text);
  await m.hover();
  const bar = m.getByTestId('message-toolbar');
  await expect(bar).toBeVisible();
  return bar;
}

test('reply, react, edit, info, read ticks, delete, links and delete conversation', async ({ browser }) => {
  test.setTimeout(300_000);
  const [ann, ben] = people as [Person, Person];
  const pages: Page[] = [];
  for (const p of [ann, ben]) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
    contexts.push(ctx);
    const page = await ctx.newPage();
    await page.goto(p.url);
    pages.push(page);
  }
  const [a, b] = pages as [Page, Page];
  await onboard(a, 'ann', relay.url, false);
  await onboard(b, 'ben', relay.url, false);
  await addContact(a, 'ben');
  await addContact(b, 'ann');

  const question = 'Dinner tonight? Menu at https://example.org/menu.';
  await send(a, question);
  await expect(original(b)).toBeVisible({ timeout: 30_000 });

  await test.step('reply: the composer shows the quote, both sides show it, clicking it jumps to the original', async () => {
    await (await toolbar(b, 'Dinner tonight?')).getByRole('button', { name: 'Reply' }).click();
    await expect(b.getByTestId('reply-bar')).toContainText('Replying to ann');
    await expect(b.getByTestId('reply-bar')).toContainText('Dinner tonight?');
    await audit(b, 'composer with the reply bar');
    await send(b, 'Yes, count me in!');
    await expect(b.getByTestId('reply-bar')).toHaveCount(0);
    const mine = message(b, 'Yes, count me in!');
    await expect(mine.getByTestId('message-quote')).toContainText('ann');
    const theirs = message(a, 'Yes, count me in!');
    await expect(theirs.getByTestId('message-quote')).toContainText('Dinner tonight?', { timeout: 30_000 });
    await expect(theirs.getByTestId('message-quote')).toContainText('You');
    await theirs.getByTestId('message-quote').click();
    await expect(original(a)).toBeFocused();
  });

  await test.step('reactions: from the toolbar, from the context menu by keyboard; counts and who', async () => {
    const bar = await toolbar(b, 'Dinner tonight?');
    await bar.getByRole('button', { name: 'React', exact: true }).click();
    await expect(bar.getByRole('button', { name: 'React with 👍' })).toBeVisible();
    await audit(b, 'message toolbar with the reaction choices');
    await bar.getByRole('button', { name: 'React with 👍' }).click();
    const chip = original(a).getByTestId('reaction');
    await expect(chip).toHaveAttribute('data-emoji', '👍', { timeout: 30_000 });
    await expect(chip).toHaveAttribute('title', 'ben');
    await expect(chip).toContainText('1');

    // Ann by keyboard: focus the message, Shift+F10 opens its menu, arrows move, Enter chooses.
    await original(a).focus();
    await a.keyboard.press('Shift+F10');
    const menu = a.getByTestId('message-menu');
    await expect(menu).toBeVisible();
    await expect(menu.getByRole('menuitem').first()).toBeFocused();
    await audit(a, 'message context menu');
    await a.keyboard.press('ArrowDown');
    await expect(menu.getByRole('menuitem', { name: 'React with ❤️' })).toBeFocused();
    await a.keyboard.press('Enter');
    await expect(menu).toHaveCount(0);
    await expect(original(b).locator('[data-emoji="❤️"]')).toHaveAttribute('title', 'ann', { timeout: 30_000 });
    // Escape closes a menu opened with the mouse and gives focus back.
    await message(a, 'Yes, count me in!').click({ button: 'right' });
    await expect(menu).toBeVisible();
    await a.keyboard.press('Escape');
    await expect(menu).toHaveCount(0);
    await shot(a, '20-message-actions');
    await audit(a, 'chat with a reply and reactions');
  });

  await test.step('edit: own text within 24 h, shown as edited on both sides; not offered on the other side', async () => {
    await expect((await toolbar(b, 'Dinner tonight?')).getByRole('button', { name: 'Edit' })).toHaveCount(0);
    await (await toolbar(a, 'Dinner tonight?')).getByRole('button', { name: 'Edit' }).click();
    const dialog = a.getByTestId('edit-dialog');
    await dialog.getByRole('textbox').fill('Dinner tonight at 8? Menu at https://example.org/menu.');
    await audit(a, 'edit dialog');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expect(dialog).toHaveCount(0);
    await expect(message(a, 'Dinner tonight at 8?').getByTestId('message-edited')).toBeVisible();
    await expect(message(b, 'Dinner tonight at 8?').getByTestId('message-edited')).toBeVisible({ timeout: 30_000 });
  });

  await test.step('read receipts: read in the accent tick; info shows delivered and read times and the versions', async () => {
    await expect(message(a, 'Dinner tonight at 8?').getByTestId('message-state')).toHaveAttribute('data-tick', 'read', { timeout: 30_000 });
    await (await toolbar(a, 'Dinner tonight at 8?')).getByRole('button', { name: 'Info' }).click();
    const info = a.getByTestId('info-dialog');
    const row = info.locator('tr[data-member="ben"]');
    await expect(row.getByTestId('info-delivered')).not.toHaveText('not yet');
    await expect(row.getByTestId('info-read')).not.toHaveText('not yet');
    await expect(info.getByTestId('info-versions').locator('li')).toHaveCount(2);
    await audit(a, 'message info');
    await info.getByRole('button', { name: 'Close' }).first().click();
  });

  await test.step('links: the full address is shown first; only then it opens', async () => {
    const link = message(b, 'Dinner tonight at 8?').getByTestId('message-link');
    await expect(link).toHaveText('https://example.org/menu');
    await link.click();
    const dialog = b.getByTestId('link-dialog');
    await expect(dialog.getByTestId('link-address')).toHaveText('https://example.org/menu');
    await audit(b, 'link confirmation');
    // No internet here: the page the browser opens is answered locally (in Electron the main process hands it to
    // the system browser after checking the scheme again, electron/main/links.ts).
    await b.context().route('https://example.org/**', (r) => r.fulfill({ contentType: 'text/plain', body: 'menu' }));
    const popup = b.context().waitForEvent('page');
    await dialog.getByRole('button', { name: 'Open in browser' }).click();
    const opened = await popup;
    await opened.waitForURL('https://example.org/menu');
    await opened.close();
    // Cancel opens nothing.
    await link.click();
    await b.getByTestId('link-dialog').getByRole('button', { name: 'Cancel' }).click();
    await expect(b.getByTestId('link-dialog')).toHaveCount(0);
  });

  await test.step('delete for everyone: the other side shows "This message was deleted"', async () => {
    await (await toolbar(b, 'Yes, count me in!')).getByRole('button', { name: 'Delete' }).click();
    await b.getByTestId('delete-dialog').getByTestId('delete-for-everyone').click();
    await expect(b.locator('[data-testid="message"][data-deleted="true"]')).toHaveCount(1);
    const gone = a.locator('[data-testid="message"][data-deleted="true"]');
    await expect(gone).toContainText('This message was deleted', { timeout: 30_000 });
    await expect(message(a, 'Yes, count me in!')).toHaveCount(0);
  });

  await test.step('delete a whole conversation, after confirming', async () => {
    await b.getByTestId('delete-conversation').click();
    const dialog = b.getByTestId('delete-conversation-dialog');
    await audit(b, 'delete conversation confirmation');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(message(b, 'Dinner tonight at 8?')).toBeVisible();
    await b.getByTestId('delete-conversation').click();
    await b.getByTestId('delete-conversation-dialog').getByTestId('delete-conversation-confirm').click();
    await expect(bubbles(b)).toHaveCount(0);
    await expect(message(a, 'Dinner tonight at 8?')).toBeVisible();
  });
});
