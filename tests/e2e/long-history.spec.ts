/**
 * A conversation with 100 000 messages (real encrypted history store, real core behind the bridge) stays smooth:
 * it opens at the newest message quickly, keeps fewer than 200 message nodes in the DOM while scrolling through
 * older pages, and no animation frame stalls for long while scrolling.
 */
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { removeDir, runScript, startPerson, startRelayProcess, tempDir } from './harness.js';
import type { Person, Relay } from './harness.js';
import { shot } from './steps.js';

const COUNT = 100_000;
const PASSPHRASE = 'long history passphrase';

let root = '';
let relay: Relay | null = null;
let carol: Person | null = null;

test.afterAll(async () => {
  await carol?.stop();
  await relay?.close();
  if (root) removeDir(root);
});

test(`a conversation of ${COUNT.toLocaleString('en')} messages stays smooth`, async ({ page }) => {
  test.setTimeout(180_000);
  root = tempDir('long');
  relay = await startRelayProcess(path.join(root, 'relay'));
  const seeded = JSON.parse(await runScript(['tests/e2e/seed-history.ts', root, relay.url, String(COUNT), PASSPHRASE], 'SEEDED ')) as { total: number };
  expect(seeded.total).toBe(COUNT);
  carol = await startPerson('carol', root, { env: { PARLEY_PASSPHRASE: PASSPHRASE } });

  await page.goto(carol.url);
  const t0 = Date.now();
  await page.getByTestId('conversation').filter({ hasText: 'dave' }).click();
  const newest = page.getByTestId('message').filter({ hasText: `#${COUNT - 1} ` });
  await expect(newest).toBeVisible();
  const openMs = Date.now() - t0;
  console.log(`long history: opened ${COUNT} messages at the newest in ${openMs} ms`);
  // No wall-clock gate here (it flaked on a loaded 2-core machine): `npm run bench` (bench/renderer.ts) measures
  // first paint and long tasks against a baseline; this test checks the structure that keeps it fast.
  const nodes = () => page.getByTestId('message').count();
  expect(await nodes()).toBeLessThan(200);

  // Scroll up through several pages (each page load fetches 200 older messages) while measuring frame gaps.
  const result = await page.evaluate(async (count) => {
    const el = document.querySelector<HTMLElement>('[data-testid="messages"]')!;
    const gaps: number[] = [];
    let last = performance.now();
    let maxNodes = 0;
    let running = true;
    const tick = (): void => {
      const now = performance.now();
      gaps.push(now - last);
      last = now;
      maxNodes = Math.max(maxNodes, document.querySelectorAll('[data-testid="message"]').length);
      if (running) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    // 4 s of flicks, and on until a message 400 rows above the newest is on screen: on a loaded machine 4 s held as
    // few as 33 frames, which did not get that far. Bounded at 30 s either way (the check below then fails).
    const shownOldest = (): number =>
      Math.min(...Array.from(document.querySelectorAll('[data-testid="message"]'), (m) => Number(/#(\d+)/.exec(m.textContent ?? '')?.[1] ?? count)));
    const start = performance.now();
    while ((performance.now() < start + 4000 || shownOldest() >= count - 400) && performance.now() < start + 30_000) {
      el.scrollTop = Math.max(0, el.scrollTop - 400); // a fast wheel flick, every frame
      await new Promise((r) => requestAnimationFrame(() => r(null)));
    }
    running = false;
    gaps.sort((a, b) => a - b);
    const q = (p: number): number => gaps[Math.min(gaps.length - 1, Math.floor(p * gaps.length))] ?? 0;
    return { frames: gaps.length, median: q(0.5), p95: q(0.95), worst: gaps[gaps.length - 1] ?? 0, maxNodes };
  }, COUNT);
  console.log(
    `long history: ${result.frames} frames of scrolling; frame gap median ${result.median.toFixed(1)} ms, ` +
      `p95 ${result.p95.toFixed(1)} ms, worst ${result.worst.toFixed(1)} ms; at most ${result.maxNodes} message nodes`,
  );
  expect(result.maxNodes).toBeLessThan(200);
  // Frame gaps are printed, not gated (a shared 2-core machine makes any bound flaky; bench/renderer.ts measures
  // them against a baseline). The scroll must still have rendered frames continuously while moving.
  expect(result.frames).toBeGreaterThan(20);
  // We really moved into older history: some message well before the newest page is on screen now.
  const visibleIds = await page.getByTestId('message').allInnerTexts();
  const oldest = Math.min(...visibleIds.map((t) => Number(/#(\d+)/.exec(t)?.[1] ?? COUNT)));
  expect(oldest).toBeLessThan(COUNT - 400);

  // Scroll anchoring: scroll up slowly (a steady wheel, 150 px every other frame) across page boundaries. Whatever loads
  // or gets measured above the viewport, a message on screen must move by exactly the distance scrolled: content
  // never jumps when an older page is prepended (placeholders turning into real rows of other heights, the first
  // row of the previous page gaining a day separator).
  const anchoring = await page.evaluate(async () => {
    const el = document.querySelector<HTMLElement>('[data-testid="messages"]')!;
    const box = (): DOMRect => el.getBoundingClientRect();
    const frame = (): Promise<unknown> => new Promise((r) => requestAnimationFrame(() => r(null)));
    const idOf = (t: string): number => Number(/#(\d+)/.exec(t)?.[1] ?? NaN);
    // A message fully in the lower half of the viewport, to follow.
    const pick = (): HTMLElement | null => {
      const b = box();
      for (const m of Array.from(document.querySelectorAll<HTMLElement>('[data-testid="message"]'))) {
        const r = m.getBoundingClientRect();
        if (r.top > b.top + b.height / 2 && r.bottom < b.bottom) return m;
      }
      return null;
    };
    const startOldest = Math.min(...Array.from(document.querySelectorAll('[data-testid="message"]')).map((m) => idOf(m.textContent ?? '')));
    let worst = 0;
    let checked = 0;
    let oldest = startOldest;
    // Until it is well past a page boundary (pages are 200 rows), not for a fixed time: on a loaded machine 8 s held
    // 78 steps, 195 rows. Bounded at 30 s.
    const end = performance.now() + 30_000;
    while (performance.now() < end && startOldest - oldest <= 260) {
      const target = pick();
      const id = target?.dataset.id;
      const before = target?.getBoundingClientRect().top;
      const top0 = el.scrollTop;
      el.scrollTop = Math.max(0, top0 - 150);
      const moved = top0 - el.scrollTop;
      await frame();
      await frame();
      for (const m of Array.from(document.querySelectorAll('[data-testid="message"]'))) oldest = Math.min(oldest, idOf(m.textContent ?? ''));
      if (!id || before === undefined) continue;
      const after = document.querySelector<HTMLElement>(`[data-testid="message"][data-id="${id}"]`);
      if (!after) continue;
      // On screen the message must have moved down by exactly the distance scrolled: rows above it that changed
      // height in between were compensated by the virtualizer moving scrollTop with them.
      const shift = after.getBoundingClientRect().top - before - moved;
      worst = Math.max(worst, Math.abs(shift));
      checked++;
    }
    return { worst, checked, rowsScrolled: startOldest - oldest };
  });
  console.log(
    `long history: slow scroll over ${anchoring.rowsScrolled} older rows, ${anchoring.checked} steps checked; worst jump ${anchoring.worst.toFixed(1)} px`,
  );
  expect(anchoring.checked).toBeGreaterThan(50);
  expect(anchoring.rowsScrolled).toBeGreaterThan(200); // crossed at least one page boundary (pages are 200 rows)
  expect(anchoring.worst).toBeLessThanOrEqual(2);
  await shot(page, 'long-history');
});
