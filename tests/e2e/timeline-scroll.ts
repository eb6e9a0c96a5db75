/**
 * Scroll checks of a virtualized timeline, run inside the page (tests/e2e/long-group.spec.ts). Messages are found by
 * data-testid="message" and named by the `#<n>` their seeded body starts with. Every loop is bounded in time.
 */
import type { Page } from '@playwright/test';

/**
 * A reader scrolling up: 400 px per step for `steps` steps, each step waiting (at most `capMs` in all) until no
 * placeholder row is in view, i.e. the older page there has loaded. Returns the most message nodes in the DOM at any
 * step, and which of `watch` texts appeared in a system line on the way. Bounded in steps and in time.
 */
export function readUp(page: Page, steps: number, capMs: number, watch: string[]): Promise<{ steps: number; maxNodes: number; seen: string[] }> {
  return page.evaluate(
    async ({ steps, capMs, watch }) => {
      const el = document.querySelector<HTMLElement>('[data-testid="messages"]')!;
      const frame = (): Promise<unknown> => new Promise((r) => requestAnimationFrame(() => r(null)));
      const box = el.getBoundingClientRect();
      const placeholderInView = (): boolean =>
        Array.from(document.querySelectorAll('.placeholder-row')).some((p) => {
          const r = p.getBoundingClientRect();
          return r.bottom > box.top && r.top < box.bottom;
        });
      let maxNodes = 0;
      let done = 0;
      const seen = new Set<string>();
      const end = performance.now() + capMs;
      for (; done < steps && performance.now() < end; done++) {
        el.scrollTop = Math.max(0, el.scrollTop - 400);
        await frame();
        while (placeholderInView() && performance.now() < end) await frame();
        maxNodes = Math.max(maxNodes, document.querySelectorAll('[data-testid="message"]').length);
        for (const l of Array.from(document.querySelectorAll('[data-testid="group-line"]'))) {
          for (const w of watch) if (l.textContent?.includes(w)) seen.add(w);
        }
      }
      return { steps: done, maxNodes, seen: [...seen] };
    },
    { steps, capMs, watch },
  );
}

/**
 * Scroll anchoring: scroll up slowly (200 px every other frame) for `steps` steps (at most `capMs`), across page
 * boundaries. Whatever loads or gets measured above the viewport, a message on screen must move by exactly the
 * distance scrolled.
 */
export function slowScrollUp(page: Page, steps: number, capMs: number): Promise<{ worst: number; checked: number; rowsScrolled: number; maxNodes: number }> {
  return page.evaluate(async ({ steps, capMs }) => {
    const el = document.querySelector<HTMLElement>('[data-testid="messages"]')!;
    const box = (): DOMRect => el.getBoundingClientRect();
    const frame = (): Promise<unknown> => new Promise((r) => requestAnimationFrame(() => r(null)));
    const messages = (): HTMLElement[] => Array.from(document.querySelectorAll<HTMLElement>('[data-testid="message"]'));
    const idOf = (t: string): number => Number(/#(\d+)/.exec(t)?.[1] ?? NaN);
    // A message fully in the lower half of the viewport, to follow.
    const pick = (): HTMLElement | null => {
      const b = box();
      for (const m of messages()) {
        const r = m.getBoundingClientRect();
        if (r.top > b.top + b.height / 2 && r.bottom < b.bottom) return m;
      }
      return null;
    };
    const startOldest = Math.min(...messages().map((m) => idOf(m.textContent ?? '')));
    let worst = 0;
    let checked = 0;
    let oldest = startOldest;
    let maxNodes = 0;
    const end = performance.now() + capMs;
    for (let step = 0; step < steps && performance.now() < end; step++) {
      const target = pick();
      const id = target?.dataset.id;
      const before = target?.getBoundingClientRect().top;
      const top0 = el.scrollTop;
      el.scrollTop = Math.max(0, top0 - 200);
      const moved = top0 - el.scrollTop;
      await frame();
      await frame();
      const now = messages();
      maxNodes = Math.max(maxNodes, now.length);
      for (const m of now) oldest = Math.min(oldest, idOf(m.textContent ?? ''));
      if (!id || before === undefined) continue;
      const after = document.querySelector<HTMLElement>(`[data-testid="message"][data-id="${id}"]`);
      if (!after) continue;
      worst = Math.max(worst, Math.abs(after.getBoundingClientRect().top - before - moved));
      checked++;
    }
    return { worst, checked, rowsScrolled: startOldest - oldest, maxNodes };
  }, { steps, capMs });
}
