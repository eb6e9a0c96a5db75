/**
 * Playwright: the browser journey (tests/e2e, Debian Chromium against real cores behind the dev/test bridge) and
 * the Electron journey (tests/electron, skipped with a printed reason when the Electron binary is missing).
 * Never `npx playwright install`: Chromium comes from the system (/usr/bin/chromium or $PARLEY_CHROMIUM).
 */
import { defineConfig } from '@playwright/test';

const chromium = process.env['PARLEY_CHROMIUM'] ?? '/usr/bin/chromium';

export default defineConfig({
  testDir: 'tests',
  testMatch: ['e2e/**/*.spec.ts', 'electron/**/*.spec.ts'],
  outputDir: 'test-results/playwright',
  timeout: 150_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: process.env['CI'] ? [['list']] : [['list']],
  use: {
    browserName: 'chromium',
    headless: true,
    viewport: { width: 1200, height: 760 },
    actionTimeout: 15_000,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: chromium,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
});
