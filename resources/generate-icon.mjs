#!/usr/bin/env node
// Renders resources/icon.svg to resources/icon.png (512x512, transparent corners) with the system Chromium.
// Run after editing the SVG: node resources/generate-icon.mjs   (needs /usr/bin/chromium or $PARLEY_CHROMIUM)
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const dir = path.dirname(new URL(import.meta.url).pathname);
const svg = readFileSync(path.join(dir, 'icon.svg'), 'utf8');
const browser = await chromium.launch({
  executablePath: process.env.PARLEY_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu'],
});
const page = await browser.newPage({ viewport: { width: 512, height: 512 }, deviceScaleFactor: 1 });
await page.setContent(`<html><body style="margin:0;background:transparent">${svg}</body></html>`);
await page.locator('svg').screenshot({ path: path.join(dir, 'icon.png'), omitBackground: true });
await browser.close();
console.log('wrote resources/icon.png');
