/**
 * Read receipts with three people, each a real core behind the browser bridge, and a real relay: Ann, Ben and Cai
 * (seeded profiles, all contacts, Ann's group "Readers" with both). Ann's ticks go sent (the others' cores are
 * stopped: the relay holds her envelopes) → delivered (their cores come back) → read (they open the chat), in a
 * direct chat and in the group, where "Delivered to n of 2" and "Read by n of 2" count and the details list each
 * member's state. Then Cai turns read receipts off: Ann never sees "read" from her again (direct or group), and
 * Cai sees no read ticks and nothing failing. A negative ("no receipt came") is checked only after a later envelope
 * from the same person has arrived (one sender's envelopes arrive in order), never after a pause.
 */
import path from 'node:path';
import { expect, test } from '@playwright/test';
import type { BrowserContext, Page } from '@playwright/test';
import { audit } from './a11y.js';
import { removeDir, runScript, startPerson, startRelayProcess, tempDir } from './harness.js';
import type { Person, Relay } from './harness.js';
import { send, shot } from './steps.js';

const GROUP = 'Readers';
const PASSPHRASE = 'read receipts e2e passphrase';
const T = { timeout: 60_000 };

let root = '';
let relay: Relay | null = null;
let people: Person[] = [];
const contexts: BrowserContext[] = [];

test.afterAll(async () => {
  for (const c of contexts) await c.close();
  for (const p of people) await p.stop();
  await relay?.close();
  if (root) removeDir(root);
});

const message = (page: Page, text: string) => page.getByTestId('message').filter({ hasText: text });
const tick = (page: Page, text: string) => message(page, text).getByTestId('message-state');

async function openConversation(page: Page, name: string): Promise<void> {
  // A contact's row by its username (the group's row also shows "ann:" before its last message).
  const row = name === GROUP ? page.getByTestId('conversation').filter({ hasText: GROUP }) : page.locator(`[data-testid="conversation"][data-username="${name}"]`);
  await row.click();
  await expect(page.getByRole('heading', { name, exact: true })).toBeVisible();
}

test('read receipts: sent, delivered, read; per member in a group; the setting off', async ({ browser }) => {
  test.setTimeout(600_000);
  root = tempDir('read-receipts');
  relay = await startRelayProcess(path.join(root, 'relay'));
  await runScript(['tests/e2e/seed-group.ts', root, relay.url, PASSPHRASE, GROUP, '0', 'ann', 'ben', 'cai'], 'SEEDED ');
  people = await Promise.all(['ann', 'ben', 'cai'].map((n) => startPerson(n, root, { env: { PARLEY_PASSPHRASE: PASSPHRASE } })));
  const [, benP, caiP] = people as [Person, Person, Person];
  const pages: Page[] = [];
  for (const p of people) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
    contexts.push(ctx);
    const page = await ctx.newPage();
    await page.goto(p.url);
    await expect(page.getByTestId('connection')).toHaveAttribute('data-status', 'online', T);
    pages.push(page);
  }
  const [ann, ben, cai] = pages as [Page, Page, Page];
  for (const page of [ben, cai]) await expect(page.getByTestId('conversation').filter({ hasText: GROUP })).toBeVisible(T);

  await test.step('sent: Ben and Cai are offline, the relay holds what Ann sends', async () => {
    await Promise.all([benP.stop(), caiP.stop()]);
    await openConversation(ann, 'ben');
    await send(ann, 'D1 direct to Ben');
    await expect(tick(ann, 'D1 direct to Ben')).toHaveAttribute('data-tick', 'sent', T);
    await expect(tick(ann, 'D1 direct to Ben')).toHaveAttribute('aria-label', 'Sent');
    await openConversation(ann, GROUP);
    await send(ann, 'G1 to the group');
    await expect(tick(ann, 'G1 to the group')).toHaveAttribute('data-tick', 'sent', T);
    await expect(message(ann, 'G1 to the group').getByTestId('delivery-summary')).toHaveText('Delivered to 0 of 2', T);
    await openConversation(ann, 'cai');
    await send(ann, 'D2 direct to Cai');
    await expect(tick(ann, 'D2 direct to Cai')).toHaveAttribute('data-tick', 'sent', T);
  });

  await test.step('delivered: their cores come back (their pages show the list, no chat open)', async () => {
    await Promise.all([benP.restart(), caiP.restart()]);
    await expect(tick(ann, 'D2 direct to Cai')).toHaveAttribute('data-tick', 'delivered', T);
    await openConversation(ann, 'ben');
    await expect(tick(ann, 'D1 direct to Ben')).toHaveAttribute('data-tick', 'delivered', T);
    await expect(tick(ann, 'D1 direct to Ben')).toHaveAttribute('aria-label', 'Delivered');
    await openConversation(ann, GROUP);
    await expect(message(ann, 'G1 to the group').getByTestId('delivery-summary')).toHaveText('Delivered to 2 of 2', T);
    await expect(tick(ann, 'G1 to the group')).toHaveAttribute('data-tick', 'delivered', T);
    await expect(message(ann, 'G1 to the group').getByTestId('read-summary')).toHaveCount(0);
  });

  await test.step('read: Ben opens the chat and the group; then Cai opens the group', async () => {
    for (const page of [ben, cai]) await expect(page.getByTestId('connection')).toHaveAttribute('data-status', 'online', T);
    await openConversation(ben, 'ann');
    await expect(message(ben, 'D1 direct to Ben')).toBeVisible();
    await openConversation(ben, GROUP);
    await expect(message(ben, 'G1 to the group')).toBeVisible();
    // The group: read by one of two, the tick still "delivered" (read means read by everyone).
    await expect(message(ann, 'G1 to the group').getByTestId('read-summary')).toHaveText('Read by 1 of 2', T);
    await expect(tick(ann, 'G1 to the group')).toHaveAttribute('data-tick', 'delivered');
    await openConversation(cai, GROUP);
    await expect(message(cai, 'G1 to the group')).toBeVisible();
    await expect(message(ann, 'G1 to the group').getByTestId('read-summary')).toHaveText('Read by 2 of 2', T);
    await expect(tick(ann, 'G1 to the group')).toHaveAttribute('data-tick', 'read');
    await expect(tick(ann, 'G1 to the group')).toHaveAttribute('aria-label', 'Delivered and read');
    await message(ann, 'G1 to the group').getByTestId('read-summary').click();
    const details = ann.getByTestId('delivery-details');
    await expect(details.getByTestId('delivery-member')).toHaveText([/ben.*Delivered.*Read/, /cai.*Delivered.*Read/]);
    await shot(ann, '30-group-read-details');
    await audit(ann, 'read receipts: group delivery details');
    await ann.keyboard.press('Escape');
    // The direct chat: Ben read D1.
    await openConversation(ann, 'ben');
    await expect(tick(ann, 'D1 direct to Ben')).toHaveAttribute('data-tick', 'read', T);
  });

  await test.step('Cai turns read receipts off: Ann never sees "read" from her, direct or group', async () => {
    await cai.getByRole('button', { name: 'Settings', exact: true }).click();
    const toggle = cai.getByTestId('read-receipts-toggle');
    await expect(toggle).toBeChecked();
    await toggle.uncheck();
    await expect(toggle).not.toBeChecked();
    // Direct: Cai reads D2 and answers; her answer reaching Ann means any receipt sent before it has arrived too.
    await openConversation(cai, 'ann');
    await expect(message(cai, 'D2 direct to Cai')).toBeVisible();
    await send(cai, 'C1 answer from Cai');
    await openConversation(ann, 'cai');
    await expect(message(ann, 'C1 answer from Cai')).toBeVisible(T);
    await expect(tick(ann, 'D2 direct to Cai')).toHaveAttribute('data-tick', 'delivered');
    await message(ann, 'D2 direct to Cai').click({ button: 'right' });
    await ann.getByRole('menuitem', { name: 'Info' }).click();
    const info = ann.getByTestId('info-dialog');
    await expect(info.getByTestId('info-receipts').getByRole('row').filter({ hasText: 'cai' }).getByTestId('info-read')).toHaveText('not yet');
    await ann.keyboard.press('Escape');
    // Ann (receipts on) has read C1 and answers; once Cai has the answer, she has Ann's receipt too: she shows no
    // read tick (off shows none), and her message is simply delivered, nothing failed.
    await send(ann, 'D3 ok from Ann');
    await expect(message(cai, 'D3 ok from Ann')).toBeVisible(T);
    await expect(tick(cai, 'C1 answer from Cai')).toHaveAttribute('data-tick', 'delivered', T);
    await expect(message(cai, 'C1 answer from Cai')).toHaveAttribute('data-state', 'delivered');
    await expect(cai.getByTestId('message-failure')).toHaveCount(0);

    // Group: Ben and Cai both have the group open and read G2; Cai then writes to the group.
    await openConversation(ann, GROUP);
    await openConversation(cai, GROUP);
    await send(ann, 'G2 second to the group');
    await expect(message(ben, 'G2 second to the group')).toBeVisible(T);
    await expect(message(cai, 'G2 second to the group')).toBeVisible(T);
    await expect(message(ann, 'G2 second to the group').getByTestId('read-summary')).toHaveText('Read by 1 of 2', T);
    await send(cai, 'C2 Cai in the group');
    await expect(message(ann, 'C2 Cai in the group')).toBeVisible(T);
    await expect(message(ann, 'G2 second to the group').getByTestId('read-summary')).toHaveText('Read by 1 of 2');
    await expect(message(ann, 'G2 second to the group').getByTestId('delivery-summary')).toHaveText('Delivered to 2 of 2');
    await message(ann, 'G2 second to the group').getByTestId('read-summary').click();
    const details = ann.getByTestId('delivery-details');
    await expect(details.getByTestId('delivery-member')).toHaveText([/ben.*Delivered.*Read/, /cai.*Delivered$/]);
    await ann.keyboard.press('Escape');
    // Cai's own group message: delivered to both, and no "read by" however many read it (off shows none).
    await expect(message(ben, 'C2 Cai in the group')).toBeVisible(T);
    await expect(message(cai, 'C2 Cai in the group').getByTestId('delivery-summary')).toHaveText('Delivered to 2 of 2', T);
    await send(ben, 'B1 Ben after reading');
    await expect(message(cai, 'B1 Ben after reading')).toBeVisible(T);
    await expect(message(cai, 'C2 Cai in the group').getByTestId('read-summary')).toHaveCount(0);
    await expect(cai.getByTestId('message-failure')).toHaveCount(0);
    await shot(cai, '31-receipts-off');
  });
});
