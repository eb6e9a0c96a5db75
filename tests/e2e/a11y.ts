/**
 * Accessibility audit with axe-core: the page as it is now, in the light and in the dark theme. Only critical and
 * serious violations count (the bar); each is reported with its rule, the elements and axe's summary, so a
 * failure says what to fix. The theme is switched through prefers-color-scheme (what the app follows by default)
 * and restored afterwards, so the journey continues in the theme it was in.
 */
import AxeBuilder from '@axe-core/playwright';
import { expect } from '@playwright/test';
import type { Page } from '@playwright/test';

const COUNTED = new Set(['critical', 'serious']);

export interface AuditFinding {
  state: string;
  theme: 'light' | 'dark';
  rule: string;
  impact: string;
  targets: string[];
  summary: string;
}

/** Runs axe once in the current theme; the findings that count, described for a failure message. */
async function scan(page: Page, state: string, theme: 'light' | 'dark'): Promise<AuditFinding[]> {
  const result = await new AxeBuilder({ page }).analyze();
  return result.violations
    .filter((v) => v.impact && COUNTED.has(v.impact))
    .map((v) => ({
      state,
      theme,
      rule: v.id,
      impact: v.impact!,
      targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
      summary: v.nodes[0]?.failureSummary?.split('\n').slice(0, 3).join(' ') ?? v.help,
    }));
}

/**
 * Audits the current screen in both themes and fails (softly: the journey goes on, every state is reported) on any
 * critical or serious violation. Returns the findings for callers that collect them.
 */
export async function audit(page: Page, state: string): Promise<AuditFinding[]> {
  const findings: AuditFinding[] = [];
  for (const theme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: theme });
    // Both themes are plain CSS custom properties: one frame applies them (no transitions on colours).
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    findings.push(...(await scan(page, state, theme)));
  }
  await page.emulateMedia({ colorScheme: 'light' });
  expect.soft(findings, `axe: critical/serious violations on "${state}"`).toEqual([]);
  return findings;
}
