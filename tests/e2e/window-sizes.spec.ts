/**
 * Any window size, in real Chromium against real cores and a real relay: at 1280×800 both panes show; below 900 px
 * one pane shows at a time (the list, or the open chat with a back button); nothing is squeezed at 800×600,
 * 640×400 or at 200 % zoom (a 1280×800 window at device scale 2 is 640×400 CSS pixels). Screenshots of each size go
 * to test-results/screenshots/.
 */
import path from 'node:path';
import { expect, test } from '@playwright/test';
import type { Browser, BrowserContext, Page } from '@playwright/test';
import { addContact, onboard, send, shot } from './steps.js';
import { removeDir, startPerson, startRelayProcess, tempDir } from './harness.js';
import type { Person, Relay } from './harness.js';

let root = '';
let relay: Relay;
let people: Person[] = [];
const contexts: BrowserContext[] = [];

async function open(browser: Browser, p: Person, o: { width: number; height: number; scale?: number }): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: o.width, height: o.height }, deviceScaleFactor: o.scale ?? 1, colorScheme: 'light' });
  contexts.push(ctx);
  const page = await ctx.newPage();
  await page.goto(p.url);
  return page;
}

test.beforeAll(async () => {
  test.setTimeout(120_000);
  root = tempDir('window-sizes');
  relay = await startRelayProcess(path.join(root, 'relay'));
  people = await Promise.all([startPerson('wendy', root), startPerson('xavier', root)]);
});

test.afterAll(async () => {
  for (const c of contexts) await c.close();
  for (const p of people) await p.stop();
  await relay?.close();
  if (root) removeDir(root);
});

/** Neither pane is squeezed: the visible one is at least as wide as the window minus a scrollbar. */
async function fillsWidth(page: Page, testId: string): Promise<void> {
  const vw = page.viewportSize()!.width;
  const box = await page.getByTestId(testId).boundingBox();
  expect(box, testId).not.toBeNull();
  expect(box!.width).toBeGreaterThanOrEqual(vw - 20);
}

test('one pane below 900 px with a back button; two panes on a wide window', async ({ browser }) => {
  const [wendy, xavier] = people as [Person, Person];
  const w = await open(browser, wendy, { width: 1280, height: 800 });
  const x = await open(browser, xavier, { width: 1280, height: 800 });
  await onboard(w, 'wendy', relay.url, false);
  await onboard(x, 'xavier', relay.url, false);
  await addContact(w, 'xavier');
  await send(w, 'Hello from a window of any size 👋');

  await test.step('1280×800: list and chat side by side, no back button', async () => {
    await expect(w.getByTestId('conversation-list')).toBeVisible();
    await expect(w.getByTestId('chat')).toBeVisible();
    await expect(w.getByTestId('back-to-list')).toBeHidden();
    await shot(w, 'size-1280x800');
  });

  for (const size of [
    { name: 'size-800x600', width: 800, height: 600 },
    { name: 'size-640x400', width: 640, height: 400 },
  ]) {
    await test.step(`${size.width}×${size.height}: one pane at a time`, async () => {
      await w.setViewportSize({ width: size.width, height: size.height });
      await expect(w.getByTestId('chat')).toBeVisible();
      await expect(w.getByTestId('conversation-list')).toBeHidden();
      await fillsWidth(w, 'chat');
      await expect(w.getByLabel(/^Message to /)).toBeVisible();
      await shot(w, `${size.name}-chat`);
      await w.getByTestId('back-to-list').click();
      await expect(w.getByTestId('conversation-list')).toBeVisible();
      await expect(w.getByTestId('chat')).toBeHidden();
      await shot(w, `${size.name}-list`);
      await w.getByTestId('conversation').filter({ hasText: 'xavier' }).click();
      await expect(w.getByTestId('chat')).toBeVisible();
    });
  }

  await test.step('a dialog keeps its actions in view on a short window', async () => {
    await w.getByTestId('verification').click();
    const dialog = w.getByTestId('safety-dialog');
    await expect(dialog.getByTestId('safety-number')).toBeVisible();
    await expect(dialog.getByRole('button', { name: 'Mark as verified' })).toBeInViewport();
    await shot(w, 'size-640x400-safety-dialog');
    await w.keyboard.press('Escape');
    await expect(dialog).toBeHidden();
  });

  await test.step('emoji in colour: the font stack names the platform emoji fonts, and Chromium draws 👋 with one', async () => {
    await w.setViewportSize({ width: 1280, height: 800 });
    const fonts = await w.evaluate(() => getComputedStyle(document.body).fontFamily);
    for (const f of ['Apple Color Emoji', 'Segoe UI Emoji', 'Noto Color Emoji']) expect(fonts).toContain(f);
    const bubble = w.getByTestId('message').filter({ hasText: '👋' }).locator('.bubble');
    await expect(bubble).toBeVisible();
    // Which fonts really drew the bubble's glyphs (Chromium's own answer, over the DevTools protocol).
    const cdp = await w.context().newCDPSession(w);
    await cdp.send('DOM.enable');
    await cdp.send('CSS.enable');
    const { root } = await cdp.send('DOM.getDocument', { depth: -1 });
    const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector: '[data-testid="message"] .bubble' });
    const used = await cdp.send('CSS.getPlatformFontsForNode', { nodeId });
    expect(used.fonts.map((f) => f.familyName)).toContain('Noto Color Emoji');
    await cdp.detach();
    await shot(w, 'emoji-colour');
  });

  await test.step('200 % zoom: the same one-pane layout, sharp', async () => {
    const z = await open(browser, xavier, { width: 640, height: 400, scale: 2 });
    await z.getByTestId('conversation').filter({ hasText: 'wendy' }).click();
    await expect(z.getByTestId('chat')).toBeVisible();
    await fillsWidth(z, 'chat');
    await expect(z.getByTestId('message').filter({ hasText: 'Hello from a window of any size' })).toBeVisible();
    await shot(z, 'size-200-percent-zoom');
  });
});
