/**
 * A group of 10 000 messages (real encrypted history store, real core behind the bridge, the group created by the
 * core) uses the same virtualized timeline as a direct chat: it opens at the newest message with only a window of
 * rows in the DOM, stays bounded while scrolling through older pages, keeps what is on screen still when an older
 * page loads, and still shows sender names and system lines ("carol added erin") inside the virtual list.
 */
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { removeDir, runScript, startPerson, startRelayProcess, tempDir } from './harness.js';
import type { Person, Relay } from './harness.js';
import { shot } from './steps.js';
import { readUp, slowScrollUp } from './timeline-scroll.js';

const COUNT = 10_000;
const PASSPHRASE = 'long group passphrase';
/** Far fewer than one page (200): only the rows in view plus overscan are rendered. */
const MAX_NODES = 120;

let root = '';
let relay: Relay | null = null;
let carol: Person | null = null;

test.afterAll(async () => {
  await carol?.stop();
  await relay?.close();
  if (root) removeDir(root);
});

test(`a group of ${COUNT.toLocaleString('en')} messages is virtualized`, async ({ page }) => {
  test.setTimeout(420_000);
  root = tempDir('long-group');
  relay = await startRelayProcess(path.join(root, 'relay'));
  const seeded = JSON.parse(await runScript(['tests/e2e/seed-group-history.ts', root, relay.url, String(COUNT), PASSPHRASE], 'SEEDED ')) as { total: number };
  expect(seeded.total).toBe(COUNT);
  carol = await startPerson('carol', root, { env: { PARLEY_PASSPHRASE: PASSPHRASE } });

  await page.goto(carol.url);
  await page.getByTestId('conversation').filter({ hasText: 'Big group' }).click();
  const chat = page.getByTestId('group-chat');
  await expect(chat.getByTestId('message').filter({ hasText: `#${COUNT - 1} ` })).toBeVisible();
  // System lines and sender names render inside the virtual rows.
  await expect(chat.getByTestId('group-line').filter({ hasText: 'carol added erin' })).toBeVisible();
  const fromDave = chat.getByTestId('message').filter({ hasText: `#${COUNT - 1} ` }); // every third message is dave's
  await expect(fromDave.getByTestId('message-sender')).toHaveText('dave');
  const nodes = await chat.getByTestId('message').count();
  console.log(`long group: opened ${COUNT} messages with ${nodes} message nodes`);
  expect(nodes).toBeLessThan(MAX_NODES);
  // The newest line sits after the newest message (the tail row): "carol created" happened after the seeded ones.
  await expect(chat.getByTestId('group-line').filter({ hasText: 'carol created “Big group”' })).toBeVisible();
  await shot(page, 'long-group');

  // Scroll anchoring first (the reader near the newest pages): older pages prepend without moving what is on screen.
  // Steps, not seconds: a busy machine renders fewer frames, never a different result.
  const anchoring = await slowScrollUp(page, 120, 150_000);
  console.log(`long group: slow scroll over ${anchoring.rowsScrolled} older rows, ${anchoring.checked} steps; worst jump ${anchoring.worst.toFixed(1)} px; at most ${anchoring.maxNodes} nodes`);
  expect(anchoring.checked).toBeGreaterThan(60);
  expect(anchoring.rowsScrolled).toBeGreaterThan(200); // crossed at least one page boundary (pages are 200 rows)
  expect(anchoring.worst).toBeLessThanOrEqual(2);
  expect(anchoring.maxNodes).toBeLessThan(MAX_NODES);

  // Reading on up through several more pages: the DOM stays bounded; the line a few pages back shows on the way.
  const read = await readUp(page, 100, 150_000, ['carol made dave admin']);
  console.log(`long group: read up ${read.steps} steps; at most ${read.maxNodes} message nodes`);
  expect(read.steps).toBe(100);
  expect(read.maxNodes).toBeLessThan(MAX_NODES);
  expect(read.seen).toEqual(['carol made dave admin']);
  const ids = await chat.getByTestId('message').allInnerTexts();
  expect(Math.min(...ids.map((t) => Number(/#(\d+)/.exec(t)?.[1] ?? COUNT)))).toBeLessThan(COUNT - 400); // two older pages loaded and read
});
