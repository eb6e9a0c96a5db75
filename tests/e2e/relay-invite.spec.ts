/**
 * Story: Gina hosts an invite-only relay inside Parley (Settings, this computer only) and shares an invite. Hank
 * tries to join that relay without a code and is told, in words, that he needs one; he enters Gina's code and gets
 * in. Two real cores behind the dev/test bridge, Gina's embedded relay, Debian Chromium.
 */
import path from 'node:path';
import { expect, test } from '@playwright/test';
import type { Browser, BrowserContext, Page } from '@playwright/test';
import { onboard, shot } from './steps.js';
import { removeDir, startPerson, startRelayProcess, tempDir } from './harness.js';
import type { Person, Relay } from './harness.js';

let root = '';
let relay: Relay;
const people: Person[] = [];
const contexts: BrowserContext[] = [];

async function open(browser: Browser, p: Person): Promise<Page> {
  const ctx = await browser.newContext();
  contexts.push(ctx);
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: `http://127.0.0.1:${p.port}` });
  const page = await ctx.newPage();
  await page.goto(p.url);
  return page;
}

test.beforeAll(async () => {
  root = tempDir('relay-invite');
  relay = await startRelayProcess(path.join(root, 'relay'));
});

test.afterAll(async () => {
  for (const c of contexts) await c.close();
  for (const p of people) await p.stop();
  await relay?.close();
  if (root) removeDir(root);
});

test('an invite-only hosted relay: share an invite, join with it', async ({ browser }) => {
  test.setTimeout(240_000);
  const gina = await startPerson('gina', root);
  people.push(gina);
  const g = await open(browser, gina);
  await onboard(g, 'gina', relay.url, false);

  let hostedUrl = '';
  let code = '';
  await test.step('Gina starts an invite-only relay on this computer and shares an invite', async () => {
    await g.getByRole('button', { name: 'Settings' }).click();
    await g.getByLabel('Announce it on the local network').uncheck(); // loopback only: no LAN traffic from tests
    await g.getByLabel(/Invite only/).check();
    await g.getByRole('button', { name: 'Start relay' }).click();
    await expect(g.getByText(/Invite only: people join with a code/)).toBeVisible();
    hostedUrl = (await g.locator('section[aria-labelledby="set-embedded"] .mono').first().innerText()).trim();
    expect(hostedUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await g.getByTestId('share-invite').click();
    const invite = g.getByTestId('relay-invite');
    await expect(invite).toBeVisible();
    code = (await invite.locator('strong.mono').innerText()).trim();
    expect(code).toMatch(/^[A-Za-z0-9_-]{8,}$/);
    await invite.getByRole('button', { name: 'Copy invite' }).click();
    const copied = await g.evaluate(() => navigator.clipboard.readText());
    expect(copied).toContain(code);
    expect(copied).toContain(hostedUrl);
    await shot(g, '14-settings-share-invite');
  });

  await test.step('Hank is told he needs an invite, enters it and is in', async () => {
    const hank = await startPerson('hank', root);
    people.push(hank);
    const h = await open(browser, hank);
    await h.getByRole('button', { name: 'Get started' }).click();
    await h.getByRole('textbox', { name: 'Username' }).fill('hank');
    await h.getByRole('button', { name: 'Continue' }).click();
    await h.getByRole('radio', { name: /Enter an address/ }).click();
    await h.getByLabel('Relay address').fill(hostedUrl);
    await h.getByRole('button', { name: 'Test connection' }).click();
    await expect(h.getByTestId('relay-ok')).toContainText(hostedUrl);
    await h.getByRole('button', { name: 'Continue' }).click();
    if (await h.getByTestId('keychain-unavailable').isVisible()) {
      await h.getByLabel('Passphrase', { exact: true }).fill('correct horse battery');
      await h.getByLabel('Repeat passphrase').fill('correct horse battery');
    }
    await h.getByRole('button', { name: 'Create my keys' }).click();
    const alert = h.getByRole('alert');
    await expect(alert).toContainText('This relay admits new users by invite only', { timeout: 60_000 });
    await expect(alert).toContainText('Details: INVITE_REQUIRED');
    await h.getByLabel('Invite code').fill(code);
    await shot(h, '15-onboarding-invite-code');
    await h.getByRole('button', { name: 'Create my keys' }).click();
    await expect(h.getByRole('heading', { name: 'You are hank' })).toBeVisible({ timeout: 60_000 });
  });
});
