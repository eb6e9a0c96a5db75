/**
 * Blocking and unblocking in real Chromium, two people each with a real core behind the browser bridge and a real
 * relay: Ann (not Ben's contact) adds Ben to a group; Ben blocks the request, which blocks the group and Ann;
 * Settings → Blocked lists both; Ben unblocks them; Ann's next group message arrives as a request again. Then Ann
 * removes Ben: it asks first, and made while the relay is down it is queued, said so, and reaches Ben later.
 */
import path from 'node:path';
import { expect, test } from '@playwright/test';
import type { BrowserContext, Page } from '@playwright/test';
import { audit } from './a11y.js';
import { addContact, bubbles, onboard, send, shot } from './steps.js';
import { removeDir, startPerson, startRelayProcess, tempDir } from './harness.js';
import type { Person, Relay } from './harness.js';

let root = '';
let relay: Relay;
let people: Person[] = [];
const contexts: BrowserContext[] = [];

test.beforeAll(async () => {
  test.setTimeout(120_000);
  root = tempDir('blocking');
  relay = await startRelayProcess(path.join(root, 'relay'));
  people = await Promise.all([startPerson('ann', root), startPerson('ben', root)]);
});

test.afterAll(async () => {
  for (const c of contexts) await c.close();
  for (const p of people) await p.stop();
  await relay?.close();
  if (root) removeDir(root);
});

const GROUP = 'Book club';

test('block a group request, see it in Settings → Blocked, unblock; remove asks first and queues offline', async ({ browser }) => {
  // Two onboardings (RSA-4096 each) and two cores on 2 shared cores.
  test.setTimeout(600_000);
  const pages: Page[] = [];
  for (const p of people) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
    contexts.push(ctx);
    const page = await ctx.newPage();
    await page.goto(p.url);
    pages.push(page);
  }
  const [ann, ben] = pages as [Page, Page];
  await onboard(ann, 'ann', relay.url, false);
  await onboard(ben, 'ben', relay.url, false);
  await addContact(ann, 'ben');

  await test.step('Ann adds Ben (who never added her) to a group; Ben blocks the request', async () => {
    await ann.getByTestId('new-group').click();
    const dialog = ann.getByTestId('new-group-dialog');
    await dialog.getByLabel('Group name').fill(GROUP);
    await dialog.getByRole('checkbox', { name: 'ben' }).check();
    await dialog.getByRole('button', { name: 'Create group' }).click();
    await expect(ann.getByTestId('group-chat').getByRole('heading', { name: GROUP })).toBeVisible();
    await send(ann, 'Welcome to the club');

    await ben.getByTestId('conversation').filter({ hasText: GROUP }).click();
    await expect(bubbles(ben).filter({ hasText: 'Welcome to the club' })).toBeVisible();
    await expect(ben.getByRole('region', { name: `You were added to ${GROUP}` })).toBeVisible();
    await ben.getByTestId('block-group-request').click();
    await expect(ben.getByTestId('conversation').filter({ hasText: GROUP })).toHaveCount(0);
  });

  await test.step('Settings → Blocked lists the group and Ann; unblocking each brings it back', async () => {
    await ben.getByRole('button', { name: 'Settings' }).click();
    const card = ben.getByTestId('blocked-card');
    await expect(card.getByTestId('blocked-user')).toHaveText([/ann/]);
    await expect(card.getByTestId('blocked-group')).toHaveText([new RegExp(`${GROUP}.*added by ann`)]);
    await card.scrollIntoViewIfNeeded();
    await shot(ben, '40-settings-blocked');
    await audit(ben, 'settings: blocked list');

    await card.getByRole('button', { name: `Unblock ${GROUP}` }).click();
    await expect(ben.getByText(`Unblocked ${GROUP}: their next messages arrive as a message request`)).toBeVisible();
    await expect(card.getByTestId('blocked-group')).toHaveCount(0);
    await expect(card.getByTestId('blocked-user')).toHaveCount(1);
    await card.getByRole('button', { name: 'Unblock ann' }).click();
    await expect(card.getByTestId('blocked-empty')).toBeVisible();
    await ben.getByRole('button', { name: 'Close settings' }).click();
  });

  await test.step("Ann's next group message arrives as a request again", async () => {
    await ann.getByTestId('conversation').filter({ hasText: GROUP }).click();
    await send(ann, 'Are you back?');
    const row = ben.getByTestId('conversation').filter({ hasText: GROUP });
    await expect(row).toBeVisible();
    await row.click();
    await expect(bubbles(ben).filter({ hasText: 'Are you back?' })).toBeVisible();
    await expect(ben.getByRole('region', { name: `You were added to ${GROUP}` })).toBeVisible();
  });

  await test.step('Removing asks first; made while the relay is down, it is queued (said so) and arrives later', async () => {
    await ann.getByTestId('group-members-button').click();
    const panel = ann.getByTestId('members-panel');
    await panel.getByTestId('remove-ben').click();
    await expect(panel.getByTestId('confirm-remove')).toContainText(`Remove ben from ${GROUP}?`);
    await panel.getByTestId('confirm-remove-no').click();
    await expect(panel.getByTestId('member')).toHaveCount(2);

    await relay.close();
    await expect(ann.getByTestId('connection')).not.toHaveAttribute('data-status', 'online');
    await panel.getByTestId('remove-ben').click();
    await panel.getByTestId('confirm-remove-yes').click();
    await expect(panel.getByTestId('member')).toHaveCount(1);
    const queued = panel.getByTestId('members-queued');
    await expect(queued).toContainText('You are offline. The change is saved on this computer');
    await expect(queued.getByTestId('error-note')).toHaveAttribute('data-code', 'QUEUED_OFFLINE');
    await shot(ann, '41-group-change-queued-offline');
    await audit(ann, 'groups: change queued while offline');
    await ann.keyboard.press('Escape');

    relay = await relay.restart();
    await expect(ann.getByTestId('connection')).toHaveAttribute('data-status', 'online', { timeout: 60_000 });
    await expect(ben.getByTestId('group-line').filter({ hasText: 'ann removed ben' })).toBeVisible({ timeout: 60_000 });
    await expect(ben.getByTestId('composer-disabled')).toHaveText('You are no longer a member of this group');
  });
});
