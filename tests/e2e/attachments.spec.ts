/**
 * Attachments in real Chromium against two real cores and a real relay (nothing mocked): Alice attaches files by the
 * attach button (the browser runtime's file input), by dragging them onto the chat and by pasting; Bob sees the image
 * inline (downloaded by itself: it is small), opens the full view, and saves the file (the browser runtime's
 * "download" lands in his downloads folder, byte for byte). Progress bars show while a large file is staged and
 * downloaded. No CSP violation (images are blob: URLs), axe clean in both themes. Screenshots go to
 * docs/screenshots/ (the README shows them) and test-results/screenshots/.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { expect, test } from '@playwright/test';
import type { BrowserContext, Page } from '@playwright/test';
import { audit } from './a11y.js';
import { addContact, bubbles, onboard, shot } from './steps.js';
import { removeDir, startPerson, startRelayProcess, tempDir } from './harness.js';
import type { Person, Relay } from './harness.js';

const DOCS = path.resolve(__dirname, '../../docs/screenshots');
let root = '';
let relay: Relay;
let people: Person[] = [];
const contexts: BrowserContext[] = [];
const problems: string[] = [];

test.beforeAll(async () => {
  test.setTimeout(120_000);
  root = tempDir('attachments');
  relay = await startRelayProcess(path.join(root, 'relay'));
  people = await Promise.all([startPerson('alice', root), startPerson('bob', root)]);
});

test.afterAll(async () => {
  for (const c of contexts) await c.close();
  for (const p of people) await p.stop();
  await relay?.close();
  if (root) removeDir(root);
});

/** A PNG drawn in the page (a sunset of sorts): real image bytes without a fixture file. */
async function drawPng(page: Page, w: number, h: number): Promise<Buffer> {
  const b64 = await page.evaluate(
    ([w, h]) => {
      const c = document.createElement('canvas');
      c.width = w;
      c.height = h;
      const g = c.getContext('2d')!;
      const sky = g.createLinearGradient(0, 0, 0, h);
      sky.addColorStop(0, '#1f56d6');
      sky.addColorStop(1, '#f6a04d');
      g.fillStyle = sky;
      g.fillRect(0, 0, w, h);
      g.fillStyle = '#ffd54a';
      g.beginPath();
      g.arc(w * 0.7, h * 0.62, h * 0.16, 0, Math.PI * 2);
      g.fill();
      g.fillStyle = '#14324a';
      g.fillRect(0, h * 0.72, w, h * 0.28);
      return c.toDataURL('image/png').split(',')[1]!;
    },
    [w, h] as const,
  );
  return Buffer.from(b64, 'base64');
}

/** Records whether an element matching `selector` was ever in the page from now on (progress bars come and go). */
async function watchFor(page: Page, selector: string): Promise<() => Promise<boolean>> {
  const key = `seen_${Math.random().toString(36).slice(2)}`;
  await page.evaluate(
    ([sel, key]) => {
      const w = window as unknown as Record<string, boolean>;
      w[key] = document.querySelector(sel) !== null;
      new MutationObserver((_m, obs) => {
        if (document.querySelector(sel)) {
          w[key] = true;
          obs.disconnect();
        }
      }).observe(document.body, { subtree: true, childList: true });
    },
    [selector, key] as const,
  );
  return () => page.evaluate((k) => (window as unknown as Record<string, boolean>)[k] === true, key);
}

/** Drops files onto an element as a person dragging them from the file manager would. */
async function dropFiles(page: Page, testId: string, files: Array<{ name: string; type: string; b64: string }>, event: 'drop' | 'paste'): Promise<void> {
  await page.getByTestId(testId).evaluate(
    (el, [files, event]) => {
      const dt = new DataTransfer();
      for (const f of files) {
        const bin = atob(f.b64);
        const bytes = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
        dt.items.add(new File([bytes], f.name, { type: f.type }));
      }
      if (event === 'paste') {
        el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
      } else {
        el.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true, cancelable: true }));
        el.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
        el.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      }
    },
    [files, event] as const,
  );
}

test('attach by button, drag and drop and paste; the image inline and in full view; a file saved; progress', async ({ browser }) => {
  test.setTimeout(300_000);
  const [alice, bob] = people as [Person, Person];
  const pages: Page[] = [];
  for (const p of [alice, bob]) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
    contexts.push(ctx);
    const page = await ctx.newPage();
    page.on('pageerror', (e) => problems.push(`[${p.name}] page error: ${e.message}`));
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`[${p.name}] ${m.text()}`);
    });
    await page.goto(p.url);
    pages.push(page);
  }
  const [a, b] = pages as [Page, Page];
  await onboard(a, 'alice', relay.url, false);
  await onboard(b, 'bob', relay.url, false);
  await addContact(b, 'alice');
  await addContact(a, 'bob');

  const photo = await drawPng(a, 960, 640);
  const notes = Buffer.from('%PDF-1.4\n% Parley meeting notes\n' + 'lorem ipsum '.repeat(400));

  await test.step('attach button: an image and a PDF with a caption', async () => {
    const chooser = a.waitForEvent('filechooser');
    await a.getByRole('button', { name: 'Attach files' }).click();
    await (await chooser).setFiles([
      { name: 'sunset.png', mimeType: 'image/png', buffer: photo },
      { name: 'meeting-notes.pdf', mimeType: 'application/pdf', buffer: notes },
    ]);
    const tray = a.getByTestId('attach-tray');
    await expect(tray.getByTestId('attach-item')).toHaveCount(2);
    await a.getByLabel('Add a caption (optional)').fill('Sunset from the balcony, and the notes');
    await audit(a, 'attachment tray');
    await tray.getByRole('button', { name: 'Send 2 files' }).click();
    await expect(tray).toBeHidden();
  });

  const msg = bubbles(b).filter({ hasText: 'Sunset from the balcony' });
  await test.step('bob: the image inline (small: downloaded by itself), the file with name, type and size', async () => {
    await expect(msg).toBeVisible({ timeout: 30_000 });
    const image = msg.locator('[data-kind="image"]');
    await expect(image).toHaveAttribute('data-loaded', 'full', { timeout: 30_000 });
    await expect(image.getByRole('img', { name: 'sunset.png' })).toHaveAttribute('src', /^blob:/);
    const file = msg.locator('[data-kind="file"]');
    await expect(file).toContainText('meeting-notes.pdf');
    await expect(file).toContainText('application/pdf');
    await expect(file).toContainText(/\d+(\.\d)? KB/);
    // Alice's own bubble shows her thumbnail from the start.
    await expect(bubbles(a).filter({ hasText: 'Sunset from the balcony' }).locator('[data-kind="image"] img')).toHaveAttribute('src', /^blob:/);
    mkdirSync(DOCS, { recursive: true });
    await b.screenshot({ path: path.join(DOCS, '20-chat-attachments.png') });
    await shot(b, '20-chat-attachments');
    await audit(b, 'chat with an image and a file');
  });

  await test.step('bob: the full view of the image', async () => {
    await msg.getByRole('button', { name: 'View sunset.png' }).click();
    const viewer = b.getByTestId('image-viewer');
    const full = viewer.getByTestId('image-full');
    await expect(full).toBeVisible();
    await expect.poll(() => full.evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight])).toEqual([960, 640]);
    await b.screenshot({ path: path.join(DOCS, '21-image-full-view.png') });
    await shot(b, '21-image-full-view');
    await audit(b, 'image full view');
    await b.keyboard.press('Escape');
    await expect(viewer).toBeHidden();
  });

  await test.step('bob saves the PDF: it lands in his downloads, byte for byte', async () => {
    await msg.getByRole('button', { name: 'Save as… (meeting-notes.pdf)' }).click();
    await expect(b.getByText('Saved meeting-notes.pdf')).toBeVisible({ timeout: 30_000 });
    const saved = path.join(root, 'bob-downloads', 'meeting-notes.pdf');
    expect(existsSync(saved)).toBe(true);
    expect(readFileSync(saved).equals(notes)).toBe(true);
  });

  await test.step('drag and drop onto the chat', async () => {
    await dropFiles(a, 'chat', [{ name: 'dropped.txt', type: 'text/plain', b64: Buffer.from('dropped onto the chat\n').toString('base64') }], 'drop');
    const tray = a.getByTestId('attach-tray');
    await expect(tray.getByTestId('attach-item')).toHaveText(/dropped\.txt/);
    await tray.getByRole('button', { name: 'Send 1 file' }).click();
    await expect(bubbles(b).locator('[data-kind="file"]').filter({ hasText: 'dropped.txt' })).toBeVisible({ timeout: 30_000 });
  });

  await test.step('paste from the clipboard', async () => {
    const small = await drawPng(a, 120, 80);
    await a.getByLabel('Message to bob').focus();
    await dropFiles(a, 'chat', [{ name: 'image.png', type: 'image/png', b64: small.toString('base64') }], 'paste');
    const tray = a.getByTestId('attach-tray');
    await expect(tray.getByTestId('attach-item')).toHaveText(/image\.png/);
    await tray.getByRole('button', { name: 'Send 1 file' }).click();
    const pasted = bubbles(b).locator('[data-kind="image"]').filter({ hasText: 'image.png' });
    await expect(pasted).toHaveAttribute('data-loaded', 'full', { timeout: 30_000 });
  });

  await test.step('progress: staging a large file on alice, downloading it on bob', async () => {
    const big = randomBytes(16 * 1024 * 1024);
    const bigFile = path.join(root, 'archive.zip');
    writeFileSync(bigFile, big);
    const staging = await watchFor(a, '[data-testid="attach-progress"]');
    const chooser = a.waitForEvent('filechooser');
    await a.getByRole('button', { name: 'Attach files' }).click();
    await (await chooser).setFiles(bigFile);
    await a.getByTestId('attach-tray').getByRole('button', { name: 'Send 1 file' }).click();
    await expect(a.getByTestId('attach-tray')).toBeHidden({ timeout: 120_000 });
    expect(await staging()).toBe(true);
    const file = bubbles(b).locator('[data-kind="file"]').filter({ hasText: 'archive.zip' });
    await expect(file).toBeVisible({ timeout: 120_000 });
    const download = await watchFor(b, '[data-testid="attachment-progress"][data-direction="download"]');
    await file.getByRole('button', { name: 'Save as… (archive.zip)' }).click();
    await expect(b.getByText('Saved archive.zip')).toBeVisible({ timeout: 120_000 });
    expect(await download()).toBe(true);
    expect(readFileSync(path.join(root, 'bob-downloads', 'archive.zip')).equals(big)).toBe(true);
  });

  expect(problems).toEqual([]);
});
