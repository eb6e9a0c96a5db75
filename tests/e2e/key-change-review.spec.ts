/**
 * Key-change review in real Chromium against real cores and a real relay: Kim's key changes and she writes twice
 * with the new key. Lee sees how many messages wait for his review (the count comes from his core), the compare
 * dialog keeps its actions in view at 800×600 and 640×400 (screenshots in test-results/screenshots/), and after he
 * accepts, the key-change notice stands before the messages it held back.
 */
import path from 'node:path';
import { expect, test } from '@playwright/test';
import type { BrowserContext, Page } from '@playwright/test';
import { addContact, bubbles, onboard, send, shot } from './steps.js';
import { removeDir, startPerson, startRelayProcess, tempDir } from './harness.js';
import type { Person, Relay } from './harness.js';

let root = '';
let relay: Relay;
let people: Person[] = [];
const contexts: BrowserContext[] = [];

test.beforeAll(async () => {
  test.setTimeout(120_000);
  root = tempDir('key-change-review');
  relay = await startRelayProcess(path.join(root, 'relay'));
  people = await Promise.all([startPerson('kim', root), startPerson('lee', root)]);
});

test.afterAll(async () => {
  for (const c of contexts) await c.close();
  for (const p of people) await p.stop();
  await relay?.close();
  if (root) removeDir(root);
});

/** The vertical position of an element on the page: the notice must stand above the messages it held. */
async function top(page: Page, testId: string, text?: string): Promise<number> {
  const el = text ? page.getByTestId(testId).filter({ hasText: text }) : page.getByTestId(testId).first();
  return (await el.boundingBox())!.y;
}

test('held messages are counted, the compare dialog fits any height, the notice precedes what it held', async ({ browser }) => {
  test.setTimeout(240_000);
  const [kim, lee] = people as [Person, Person];
  const pages: Page[] = [];
  for (const p of [kim, lee]) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
    contexts.push(ctx);
    const page = await ctx.newPage();
    await page.goto(p.url);
    pages.push(page);
  }
  const [k, l] = pages as [Page, Page];
  await onboard(k, 'kim', relay.url, false);
  await onboard(l, 'lee', relay.url, false);
  await addContact(l, 'kim');
  await addContact(k, 'lee');
  await send(l, 'Before the change.');
  await expect(bubbles(k).filter({ hasText: 'Before the change.' })).toBeVisible();

  await kim.rotate();
  await send(k, 'New laptop, new key.');
  await send(k, 'Please compare the number.');

  await test.step('the banner says how many messages wait, from the core', async () => {
    const banner = l.getByTestId('key-change-banner');
    await expect(banner).toBeVisible({ timeout: 30_000 });
    await expect(banner.getByTestId('held-count')).toHaveText('2 messages are waiting until you review.', { timeout: 30_000 });
    await expect(bubbles(l).filter({ hasText: 'New laptop' })).toHaveCount(0);
  });

  for (const size of [
    { width: 800, height: 600 },
    { width: 640, height: 400 },
  ]) {
    await test.step(`${size.width}×${size.height}: the compare dialog's actions are in view`, async () => {
      await l.setViewportSize(size);
      if (await l.getByTestId('back-to-list').isHidden()) await l.getByTestId('conversation').filter({ hasText: 'kim' }).click();
      await l.getByTestId('key-change-banner').getByRole('button', { name: 'Compare safety numbers' }).click();
      const dialog = l.getByTestId('safety-dialog');
      await expect(dialog.getByTestId('pending-safety-number')).toBeVisible();
      await expect(dialog.getByTestId('pending-safety-number')).toBeFocused();
      await expect(dialog.getByRole('button', { name: 'Accept new key' })).toBeInViewport({ ratio: 1 });
      await expect(dialog.getByRole('button', { name: 'Reject new key' })).toBeInViewport({ ratio: 1 });
      await shot(l, `key-change-compare-${size.width}x${size.height}`);
      await l.keyboard.press('Escape');
      await expect(dialog).toBeHidden();
    });
  }

  await test.step('after accepting, the notice stands before the messages it held', async () => {
    await l.setViewportSize({ width: 1280, height: 800 });
    await l.getByTestId('key-change-banner').getByRole('button', { name: 'Compare safety numbers' }).click();
    await l.getByTestId('safety-dialog').getByRole('button', { name: 'Accept new key' }).click();
    await l.keyboard.press('Escape');
    await expect(l.getByTestId('key-change-banner')).toBeHidden();
    await expect(bubbles(l).filter({ hasText: 'Please compare the number.' })).toBeVisible({ timeout: 30_000 });
    const notice = await top(l, 'key-change-line');
    expect(notice).toBeGreaterThan(await top(l, 'message', 'Before the change.'));
    expect(notice).toBeLessThan(await top(l, 'message', 'New laptop, new key.'));
    expect(notice).toBeLessThan(await top(l, 'message', 'Please compare the number.'));
    await shot(l, 'key-change-accepted-notice-order');
  });
});
