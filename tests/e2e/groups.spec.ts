/**
 * Groups in real Chromium with three people, each with a real core behind the browser bridge, and a real relay:
 * Ann creates "Weekend" with Ben, they talk (each sees the other's messages with the sender's name), Ann adds Cai,
 * all three talk, Ann sees "delivered to 2 of 2" and its details, Ann removes Cai (Cai is told and gets nothing
 * sent after), Ben leaves. axe audits the group screens; screenshots go to test-results/screenshots/.
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
  root = tempDir('groups');
  relay = await startRelayProcess(path.join(root, 'relay'));
  people = await Promise.all([startPerson('ann', root), startPerson('ben', root), startPerson('cai', root)]);
});

test.afterAll(async () => {
  for (const c of contexts) await c.close();
  for (const p of people) await p.stop();
  await relay?.close();
  if (root) removeDir(root);
});

const GROUP = 'Weekend';

function openGroup(page: Page) {
  return page.getByTestId('conversation').filter({ hasText: GROUP }).click();
}

function groupLine(page: Page, text: string | RegExp) {
  return page.getByTestId('group-line').filter({ hasText: text });
}

function from(page: Page, text: string) {
  return bubbles(page).filter({ hasText: text });
}

test('create a group, talk, add, remove, leave', async ({ browser }) => {
  // Three onboardings (RSA-4096 each) and three cores on 2 shared cores: minutes under load, not seconds.
  test.setTimeout(900_000);
  const pages: Page[] = [];
  for (const p of people) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
    contexts.push(ctx);
    const page = await ctx.newPage();
    await page.goto(p.url);
    pages.push(page);
  }
  const [ann, ben, cai] = pages as [Page, Page, Page];
  await onboard(ann, 'ann', relay.url, false);
  await onboard(ben, 'ben', relay.url, false);
  await onboard(cai, 'cai', relay.url, false);
  await addContact(ann, 'ben');
  await addContact(ann, 'cai');
  await addContact(ben, 'ann');
  await addContact(cai, 'ann');

  await test.step('Ann creates the group from her contacts', async () => {
    await ann.getByTestId('new-group').click();
    const dialog = ann.getByTestId('new-group-dialog');
    await expect(dialog.getByLabel('Group name')).toBeFocused();
    await expect(dialog.getByRole('button', { name: 'Create group' })).toBeDisabled();
    await dialog.getByLabel('Group name').fill('   ');
    await expect(dialog.getByText('The name cannot be only spaces.')).toBeVisible();
    await dialog.getByLabel('Group name').fill(GROUP);
    await dialog.getByRole('checkbox', { name: 'ben' }).check();
    await expect(dialog.getByText('1 chosen')).toBeVisible();
    await shot(ann, '20-group-new-dialog');
    await audit(ann, 'groups: new group dialog');
    await dialog.getByRole('button', { name: 'Create group' }).click();
    await expect(dialog).toBeHidden();
    const chat = ann.getByTestId('group-chat');
    await expect(chat.getByRole('heading', { name: GROUP })).toBeVisible();
    await expect(chat.getByTestId('group-members-button')).toHaveText('2 members');
    await expect(groupLine(ann, `ann created “${GROUP}”`)).toBeVisible();
  });

  await test.step('Ann and Ben talk; each sees the other by name', async () => {
    // Ben has his direct chat with Ann open (adding her opened it): her group message must not land in it.
    await expect(ben.getByTestId('chat').getByRole('heading', { name: 'ann', exact: true })).toBeVisible();
    await send(ann, 'Who is in for Saturday?');
    await expect(ben.getByTestId('conversation').filter({ hasText: GROUP })).toContainText('2 members');
    await expect(ben.getByTestId('conversation').filter({ hasText: GROUP }).getByTestId('unread')).toHaveText('1');
    await expect(ben.getByTestId('chat').getByTestId('message')).toHaveCount(0);
    await openGroup(ben);
    await expect(groupLine(ben, `ann added you to “${GROUP}”`)).toBeVisible();
    const m = from(ben, 'Who is in for Saturday?');
    await expect(m).toBeVisible();
    await expect(m.getByTestId('message-sender')).toHaveText('ann');
    await expect(m).toHaveAttribute('aria-label', /^ann, /);
    await send(ben, 'Me!');
    await expect(from(ann, 'Me!').getByTestId('message-sender')).toHaveText('ben');
  });

  await test.step('Ann adds Cai; all three talk', async () => {
    await ann.getByTestId('group-members-button').click();
    const panel = ann.getByTestId('members-panel');
    await expect(panel.getByTestId('member')).toHaveCount(2);
    await expect(panel.getByTestId('remove-ben')).toBeVisible(); // an admin sees what admins may do
    await panel.getByTestId('add-members').click();
    await panel.getByRole('checkbox', { name: 'cai' }).check();
    await panel.getByTestId('add-members-confirm').click();
    await expect(panel.getByTestId('member')).toHaveCount(3);
    await shot(ann, '22-group-members');
    await audit(ann, 'groups: members panel');
    await ann.keyboard.press('Escape');
    await expect(panel).toBeHidden();
    await expect(groupLine(ann, 'ann added cai')).toBeVisible();
    await expect(ann.getByTestId('group-members-button')).toHaveText('3 members');

    await openGroup(cai);
    await expect(groupLine(cai, `ann added you to “${GROUP}”`)).toBeVisible();
    await send(cai, 'Count me in too');
    await expect(from(ann, 'Count me in too').getByTestId('message-sender')).toHaveText('cai');
    await expect(from(ben, 'Count me in too').getByTestId('message-sender')).toHaveText('cai');
    await expect(groupLine(ben, 'ann added cai')).toBeVisible();

    // Ben is a member, not an admin: his panel has no add or remove buttons.
    await ben.getByTestId('group-members-button').click();
    const benPanel = ben.getByTestId('members-panel');
    await expect(benPanel.getByTestId('member')).toHaveCount(3);
    await expect(benPanel.getByTestId('add-members')).toHaveCount(0);
    await expect(benPanel.getByRole('button', { name: /Remove/ })).toHaveCount(0);
    await ben.keyboard.press('Escape');
  });

  await test.step('delivered to 2 of 2, with the details per member', async () => {
    await send(ann, 'Bring snacks');
    await expect(from(cai, 'Bring snacks')).toBeVisible();
    await expect(from(ben, 'Bring snacks')).toBeVisible();
    const summary = from(ann, 'Bring snacks').getByTestId('delivery-summary');
    await expect(summary).toHaveText('Delivered to 2 of 2', { timeout: 30_000 });
    await shot(ann, '21-group-chat');
    await audit(ann, 'groups: group chat');
    await summary.click();
    const details = ann.getByTestId('delivery-details');
    await expect(details.getByTestId('delivery-member')).toHaveText([/ben.*Delivered/, /cai.*Delivered/]);
    await shot(ann, '23-group-delivery');
    await audit(ann, 'groups: delivery details');
    await ann.keyboard.press('Escape');
  });

  await test.step('reactions in the group: two members react, every member sees who', async () => {
    for (const [page, emoji] of [[ben, '👍'], [cai, '❤️']] as const) {
      const m = from(page, 'Bring snacks');
      await m.hover();
      const bar = m.getByTestId('message-toolbar');
      await bar.getByRole('button', { name: 'React', exact: true }).click();
      await bar.getByRole('button', { name: `React with ${emoji}` }).click();
    }
    for (const page of [ann, ben, cai]) {
      const chips = from(page, 'Bring snacks').getByTestId('reaction');
      await expect(chips).toHaveCount(2, { timeout: 30_000 });
      await expect(from(page, 'Bring snacks').locator('[data-testid="reaction"][data-emoji="👍"]')).toHaveAttribute('title', page === ben ? 'You' : 'ben');
      await expect(from(page, 'Bring snacks').locator('[data-testid="reaction"][data-emoji="❤️"]')).toHaveAttribute('title', page === cai ? 'You' : 'cai');
    }
  });

  await test.step('Ann removes Cai: Cai is told, and gets nothing sent after', async () => {
    await ann.getByTestId('group-members-button').click();
    const panel = ann.getByTestId('members-panel');
    // Removing asks first; Cancel changes nothing.
    await panel.getByTestId('remove-cai').click();
    await expect(panel.getByTestId('confirm-remove')).toContainText(`Remove cai from ${GROUP}?`);
    await expect(panel.getByTestId('confirm-remove-no')).toBeFocused();
    await panel.getByTestId('confirm-remove-no').click();
    await expect(panel.getByTestId('confirm-remove')).toHaveCount(0);
    await expect(panel.getByTestId('member')).toHaveCount(3);
    await panel.getByTestId('remove-cai').click();
    await panel.getByTestId('confirm-remove-yes').click();
    await expect(panel.getByTestId('member')).toHaveCount(2);
    await ann.keyboard.press('Escape');
    await expect(groupLine(cai, 'ann removed cai')).toBeVisible();
    await expect(cai.getByTestId('composer-disabled')).toHaveText('You are no longer a member of this group');
    await send(ann, 'Secret plan after Cai left');
    await expect(from(ben, 'Secret plan after Cai left')).toBeVisible();
    // Cai still has what she received before, and not what came after (she is no longer a recipient).
    await expect(from(cai, 'Bring snacks')).toBeVisible();
    await expect(from(cai, 'Secret plan')).toHaveCount(0);
    await shot(cai, '24-group-removed');
    await audit(cai, 'groups: removed from the group');
  });

  await test.step('Ben leaves', async () => {
    await ben.getByTestId('group-members-button').click();
    await ben.getByTestId('members-panel').getByTestId('leave-group').click();
    await expect(ben.getByTestId('confirm-leave')).toContainText(`Leave ${GROUP}?`);
    await ben.getByTestId('confirm-leave-yes').click();
    await expect(ben.getByTestId('members-panel')).toBeHidden();
    await expect(ben.getByTestId('composer-disabled')).toBeVisible();
    await expect(groupLine(ann, 'ben left')).toBeVisible();
    await expect(ann.getByTestId('group-members-button')).toHaveText('1 member');
    await expect(ben.getByTestId('conversation').filter({ hasText: GROUP })).toContainText('Left');
  });
});
