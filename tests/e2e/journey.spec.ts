/**
 * The Parley journey in real Chromium: Alice and Bob, each with their own real core and profile behind a dev/test
 * bridge, one real relay, two browser contexts. Nothing is mocked.
 *
 *   onboarding → add each other → compare safety numbers (same on both sides) → messages both ways →
 *   relay outage (messages queue as "sending", connection state shown) → Bob offline, a message over his quota
 *   fails and is retried → Bob returns and receives what was sent meanwhile → Bob's key changes (warning banner,
 *   composer held) → Alice's core restarts and the history is still there.
 *
 * Screenshots of each main screen go to test-results/screenshots/.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import type { Browser, BrowserContext, Page } from '@playwright/test';
import { audit } from './a11y.js';
import { addContact, bubbles, onboard, safetyNumber, send, shot } from './steps.js';
import { removeDir, runScript, startPerson, startRelayProcess, tempDir } from './harness.js';
import type { Person, Relay } from './harness.js';

const ROOT = path.resolve(__dirname, '../..');
/** The relay accepts envelopes up to 16 KiB here, so an oversized message really fails at the relay (and shows Retry). */
const RELAY_LIMITS = { maxEnvelopeBytes: 16 * 1024 };
/** About 12 000 characters; the whitespace keeps the bubble to two lines in the screenshot. */
const OVERSIZED = `Pasting the whole build log here:${' '.repeat(12_000)}(end of log)`;

test.describe.configure({ mode: 'serial' });

let root: string;
let relay: Relay;
let alice: Person;
let bob: Person;
let aliceCtx: BrowserContext;
let bobCtx: BrowserContext;
let a: Page;
let b: Page;

/** Anything Chromium reports against the Content-Security-Policy, or an uncaught page error, fails the journey. */
const pageProblems: string[] = [];

async function newPage(browser: Browser, person: Person): Promise<[BrowserContext, Page]> {
  const ctx = await browser.newContext({ colorScheme: 'light' });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => pageProblems.push(`[${person.name}] page error: ${e.message}`));
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) pageProblems.push(`[${person.name}] ${m.text()}`);
  });
  await page.goto(person.url);
  return [ctx, page];
}

test.beforeAll(async ({ browser }) => {
  test.setTimeout(120_000);
  if (!existsSync(path.join(ROOT, 'out', 'renderer', 'index.html'))) {
    throw new Error('out/renderer/index.html is missing: run `npm run build` before the e2e tests (npm test does).');
  }
  root = tempDir('journey');
  relay = await startRelayProcess(path.join(root, 'relay'), RELAY_LIMITS);
  [alice, bob] = await Promise.all([startPerson('alice', root), startPerson('bob', root)]);
  [aliceCtx, a] = await newPage(browser, alice);
  [bobCtx, b] = await newPage(browser, bob);
});

test.afterAll(async () => {
  await aliceCtx?.close();
  await bobCtx?.close();
  await alice?.stop();
  await bob?.stop();
  await relay?.close();
  if (root) removeDir(root);
});

test('Alice and Bob: onboarding, contacts, safety numbers, messages, offline, key change, restart', async () => {
  // Twenty screen states are audited by axe in two themes each: seconds apiece, and much more on a shared machine.
  test.setTimeout(900_000);
  await test.step('both onboard against one relay', async () => {
    await onboard(a, 'alice', relay.url, true, (state) => audit(a, state));
    await expect(a.getByTestId('empty-state')).toContainText('No conversations yet');
    // The invite card: the address to copy, the relay's fingerprint, a QR code of both drawn as inline SVG.
    const invite = a.getByTestId('empty-state').getByRole('region', { name: 'Invite someone' });
    await expect(invite.getByTestId('invite-address')).toHaveText(`alice @ ${relay.url}`);
    await expect(invite.getByTestId('invite-fingerprint')).toBeVisible();
    expect((await invite.getByTestId('invite-fingerprint').innerText()).replace(/\s+/g, '')).toBe(relay.fingerprint);
    await expect(invite.getByRole('img', { name: 'QR code of your address and the relay fingerprint' })).toBeVisible();
    expect(await invite.getByTestId('invite-qr').locator('path').getAttribute('d')).toMatch(/^(M\d+ \d+h1v1h-1z)+$/);
    await expect(a.locator('img[src^="data:"]')).toHaveCount(0);
    // One label for adding a contact: every button that does it says exactly "Add a contact".
    for (const b of await a.getByRole('button', { name: /add/i }).all()) await expect(b).toHaveAccessibleName('Add a contact');
    await shot(a, '05-empty-state');
    await audit(a, 'empty state');
    await onboard(b, 'bob', relay.url, false);
  });

  await test.step('they add each other', async () => {
    await a.getByRole('button', { name: 'Add a contact', exact: true }).first().click();
    await expect(a.getByTestId('add-contact-dialog')).toBeVisible();
    await audit(a, 'add-contact dialog');
    await a.keyboard.press('Escape');
    await addContact(a, 'bob');
    await addContact(b, 'alice');
    await expect(a.getByTestId('conversation')).toHaveCount(1);
    await audit(a, 'new chat');
  });

  await test.step('keyboard: Ctrl+K filters the list, Esc clears, Down opens the first conversation', async () => {
    await a.keyboard.press('Control+k');
    const filter = a.getByRole('searchbox', { name: 'Filter conversations by name' });
    await expect(filter).toBeFocused();
    await a.keyboard.type('zz');
    await expect(a.getByText('No conversation matches “zz”.')).toBeVisible();
    await a.keyboard.press('Escape');
    await expect(filter).toHaveValue('');
    // The list comes back from the core after the filter is cleared: Down moves to what is shown (on a loaded
    // machine it was pressed while the list still showed no match, and did nothing).
    await expect(a.getByTestId('conversation')).toHaveCount(1);
    await a.keyboard.press('ArrowDown');
    await expect(a.getByTestId('conversation').first()).toBeFocused();
    await expect(a.getByTestId('conversation').first()).toHaveAttribute('aria-selected', 'true');
  });

  await test.step('safety numbers match on both sides; Alice marks Bob verified', async () => {
    const fromAlice = await safetyNumber(a);
    // The dialog loads its content after opening; once loaded, focus is on the action it is for.
    await expect(a.getByRole('button', { name: 'Mark as verified' })).toBeFocused();
    const fromBob = await safetyNumber(b);
    expect(fromAlice).toBe(fromBob);
    await shot(a, '06-safety-number-dialog');
    await audit(a, 'contact dialog with safety number');
    await a.getByRole('button', { name: 'Mark as verified' }).click();
    await expect(a.getByTestId('verified-pill')).toBeVisible();
    await a.keyboard.press('Escape');
    await b.keyboard.press('Escape');
    await expect(a.getByTestId('safety-dialog')).toBeHidden();
    await expect(a.getByTestId('verification')).toHaveText(/Verified/);
    await expect(a.getByTestId('conversation').getByLabel('Verified')).toBeVisible();
  });

  await test.step('messages both ways, Enter sends, Shift+Enter adds a line, delivery ticks', async () => {
    await send(a, 'Hi Bob! Parley works.');
    await expect(bubbles(b).filter({ hasText: 'Hi Bob! Parley works.' })).toBeVisible();
    const box = b.getByLabel('Message to alice');
    await box.fill('Hello Alice.');
    await box.press('Shift+Enter');
    await box.pressSequentially('Two lines, one message.');
    await expect(box).toHaveValue('Hello Alice.\nTwo lines, one message.');
    await box.press('Enter');
    // The composer grows with its text up to six lines, then scrolls.
    const composer = a.getByLabel('Message to bob');
    const h1 = (await composer.boundingBox())!.height;
    await composer.fill(Array.from({ length: 12 }, (_, i) => `line ${i + 1}`).join('\n'));
    const h6 = (await composer.boundingBox())!.height;
    expect(h6).toBeGreaterThan(h1 * 2.5);
    expect(h6).toBeLessThan(h1 * 4.2);
    await composer.fill('');
    const reply = bubbles(a).filter({ hasText: 'Two lines, one message.' });
    await expect(reply).toBeVisible();
    expect(await reply.innerText()).toContain('Hello Alice.\nTwo lines');
    await expect(bubbles(a).filter({ hasText: 'Hi Bob!' })).toHaveAttribute('data-state', 'delivered');
    await audit(a, 'chat with messages both ways');
  });

  await test.step('screen readers: named message items, new messages announced alone, ticks, listbox, headings, landmarks', async () => {
    const messages = a.getByRole('region', { name: 'Messages' }).getByRole('list');
    const mine = messages.getByRole('listitem', { name: /^You, \d{2}:\d{2}, delivered: Hi Bob! Parley works\.$/ });
    await expect(mine).toHaveCount(1);
    await expect(mine.getByRole('img', { name: 'Delivered' })).toBeVisible();
    await expect(messages.getByRole('listitem', { name: /^bob, \d{2}:\d{2}: Hello Alice\.\s+Two lines, one message\.$/ })).toHaveCount(1);
    // Only the newest incoming message sits in the polite live region; the list itself is not live.
    const announcer = a.getByTestId('message-announcer');
    await expect(announcer).toHaveAttribute('aria-live', 'polite');
    await expect(announcer).toHaveText(/^bob, \d{2}:\d{2}: Hello Alice\.\s+Two lines, one message\.$/);
    await expect(a.getByTestId('messages')).not.toHaveAttribute('aria-live', /.*/);
    await expect(a.getByTestId('messages').locator('[aria-live]')).toHaveCount(0);

    const list = a.getByRole('listbox', { name: 'Conversations' });
    await expect(list.getByRole('option', { name: /^bob\b.*Verified/ })).toHaveCount(1);
    await expect(list.getByRole('button')).toHaveCount(0);
    await expect(a.getByRole('heading', { level: 1 })).toHaveText(['Parley']);
    await expect(a.getByRole('heading', { level: 2, name: 'bob', exact: true })).toBeVisible();
    const side = a.getByRole('complementary', { name: 'Conversations' });
    await expect(side.getByRole('separator', { name: 'Resize conversation list' })).toHaveCount(1);
  });

  await test.step('unread badge while Bob looks at settings', async () => {
    await b.getByRole('button', { name: 'Settings' }).click();
    await expect(b.getByTestId('settings')).toBeVisible();
    await send(a, 'Are you there?');
    await send(a, 'Lunch at 12?');
    await expect(b.getByTestId('unread')).toHaveText('2');
    await shot(b, '07-conversation-list-unread');
    await audit(b, 'settings with unread conversation');
    await b.getByRole('button', { name: 'Close settings' }).click();
    await expect(bubbles(b).filter({ hasText: 'Lunch at 12?' })).toBeVisible();
    await expect(b.getByTestId('unread')).toHaveCount(0);
  });

  await test.step('the relay goes away: Alice can still write, the message waits as "sending"', async () => {
    await relay.close();
    await expect(a.getByTestId('relay-state')).toBeVisible();
    await send(a, 'Written while the relay was down.');
    await expect(bubbles(a).filter({ hasText: 'Written while the relay was down.' })).toHaveAttribute('data-state', 'sending');
    await shot(a, '08-chat-relay-offline-sending');
    await audit(a, 'relay offline, message sending');
    relay = await relay.restart();
    await expect(a.getByTestId('connection')).toHaveAttribute('data-status', 'online', { timeout: 45_000 });
    await expect(bubbles(b).filter({ hasText: 'Written while the relay was down.' })).toBeVisible({ timeout: 30_000 });
    await expect(b.getByTestId('message-announcer')).toHaveText(/^alice, \d{2}:\d{2}: Written while the relay was down\.$/);
  });

  await test.step('Bob goes offline; what Alice sends meanwhile waits at the relay and arrives when he returns', async () => {
    await bob.stop();
    await expect(b.getByTestId('core-link-lost')).toBeVisible();
    // The status tells the truth everywhere: without its core Bob's window is not Online anywhere.
    await expect(b.getByTestId('connection')).toHaveText('Disconnected');
    await expect(b.getByTestId('connection')).toHaveAttribute('data-status', 'offline');
    // The bar is in the layout: it pushes the app down instead of covering the top of the window.
    const bar = (await b.getByTestId('core-link-lost').boundingBox())!;
    const profile = (await b.getByTestId('me').boundingBox())!;
    expect(profile.y).toBeGreaterThanOrEqual(bar.y + bar.height);
    await shot(b, '14-core-lost-status');
    await audit(b, 'core lost bar');
    const notes = ['Offline note 1', 'Offline note 2', 'Offline note 3'];
    for (const text of notes) {
      await send(a, text);
      await expect(bubbles(a).filter({ hasText: text })).toHaveAttribute('data-state', 'sent', { timeout: 20_000 });
    }
    // Too large for this relay: refused for good, shown as failed with the reason and Retry.
    await send(a, OVERSIZED);
    const failed = bubbles(a).filter({ hasText: 'end of log' });
    await expect(failed).toHaveAttribute('data-state', 'failed', { timeout: 20_000 });
    await expect(failed.getByTestId('message-failure')).toContainText('This message is too long to send. Shorten it or split it into several messages.');
    await expect(failed.getByTestId('message-failure')).toContainText('Details: TOO_LARGE');
    await expect(failed).not.toContainText('envelope is');
    await expect(failed.getByRole('button', { name: 'Retry' })).toBeVisible();
    await shot(a, '09-chat-message-states');
    await audit(a, 'chat with a failed message');

    await bob.restart();
    await expect(b.getByTestId('core-link-lost')).toBeHidden({ timeout: 30_000 });
    for (const text of notes) await expect(bubbles(b).filter({ hasText: text })).toBeVisible({ timeout: 30_000 });
    for (const text of notes) await expect(bubbles(a).filter({ hasText: text })).toHaveAttribute('data-state', 'delivered', { timeout: 30_000 });

    // Retrying cannot make it fit: it goes out again and is refused again; Bob never gets it.
    await failed.getByRole('button', { name: 'Retry' }).click();
    await expect(failed).toHaveAttribute('data-state', 'failed', { timeout: 20_000 });
    await expect(bubbles(b).filter({ hasText: 'end of log' })).toHaveCount(0);
  });

  await test.step("Bob's key changes: Alice sees a banner she cannot miss, sending is held", async () => {
    await bob.rotate();
    await send(b, 'New laptop, new key.');
    const banner = a.getByTestId('key-change-banner');
    await expect(banner).toBeVisible({ timeout: 30_000 });
    await expect(a.getByTestId('composer-disabled')).toContainText('paused');
    await expect(a.getByLabel(/^Message to /)).toHaveCount(0);
    await expect(a.getByTestId('verification')).toContainText('Safety number changed');
    await shot(a, '10-key-change-banner');
    await audit(a, 'key-change banner');
    await banner.getByRole('button', { name: 'Compare safety numbers' }).click();
    await expect(a.getByTestId('pending-safety-number')).toBeVisible();
    await expect(a.getByTestId('pending-safety-number')).toBeFocused();
    await audit(a, 'key-change compare dialog');
    await a.getByTestId('safety-dialog').getByRole('button', { name: 'Accept new key' }).click();
    await a.keyboard.press('Escape');
    await expect(banner).toBeHidden();
    await expect(a.getByTestId('key-change-line').first()).toBeVisible();
    await expect(a.getByTestId('verification')).toContainText('Not verified');
    await send(a, 'Accepted your new key.');
    await expect(bubbles(b).filter({ hasText: 'Accepted your new key.' })).toBeVisible();
  });

  await test.step("history survives a restart of Alice's core", async () => {
    const before = await bubbles(a).count();
    await alice.restart();
    await expect(a.getByTestId('core-link-lost')).toBeHidden({ timeout: 30_000 });
    if (await a.getByRole('heading', { name: 'Unlock Parley' }).isVisible({ timeout: 10_000 }).catch(() => false)) {
      await a.getByLabel('Passphrase').fill('correct horse battery');
      await a.getByRole('button', { name: 'Unlock' }).click();
    }
    await expect(a.getByTestId('chat')).toBeVisible({ timeout: 30_000 });
    await expect(bubbles(a).filter({ hasText: 'Hi Bob! Parley works.' })).toBeVisible();
    await expect(bubbles(a).filter({ hasText: 'Accepted your new key.' })).toBeVisible();
    await expect.poll(() => bubbles(a).count()).toBeGreaterThanOrEqual(Math.min(before, 8));
    await expect(a.getByTestId('connection')).toHaveAttribute('data-status', 'online', { timeout: 30_000 });
  });

  await test.step('a stranger writes: message request, and a tampered message shown as undecryptable', async () => {
    await runScript(['tests/e2e/send-tampered.ts', relay.url, 'alice'], 'SENT ');
    const row = a.getByTestId('conversation').filter({ hasText: 'mallory' });
    await expect(row).toBeVisible({ timeout: 30_000 });
    await expect(row.getByTestId('unread')).toHaveText('2');
    await row.click();
    await expect(a.getByRole('region', { name: 'Message request' })).toBeVisible();
    await expect(a.getByTestId('composer-disabled')).toContainText('Accept mallory');
    await expect(bubbles(a).filter({ hasText: 'we met at the conference' })).toBeVisible();
    const broken = a.locator('[data-testid="message"][data-state="undecryptable"]');
    await expect(broken).toHaveCount(1);
    await expect(broken).toContainText('could not be decrypted');
    await expect(broken.locator('.bubble')).toHaveAttribute('title', /.+/);
    await shot(a, '13-message-request-undecryptable');
    await audit(a, 'message request with an undecryptable message');
    await a.getByRole('region', { name: 'Message request' }).getByRole('button', { name: 'Block' }).click();
    await expect(a.getByTestId('composer-disabled')).toContainText('You blocked mallory');
    await a.getByTestId('conversation').filter({ hasText: 'bob' }).click();
  });

  await test.step('settings and the dark theme', async () => {
    await expect(async () => {
      await a.getByRole('button', { name: 'Settings' }).click();
      await expect(a.getByTestId('settings-fingerprint')).toBeVisible({ timeout: 2000 });
    }).toPass({ timeout: 20_000 });
    await shot(a, '11-settings');
    await expect(a.getByTestId('settings').getByTestId('invite-address')).toHaveText(`alice @ ${relay.url}`);
    await audit(a, 'settings');

    // Identity backup: the bridge host decides where the file goes (the page never names a path).
    await a.getByRole('button', { name: 'Export backup…' }).click();
    await a.getByLabel('Backup passphrase').fill('backup passphrase 1');
    await a.getByLabel('Repeat passphrase').fill('backup passphrase 1');
    await a.getByRole('button', { name: 'Save backup…' }).click();
    await expect(a.getByText(/Backup saved to .*alice\.parley-backup/)).toBeVisible();
    expect(existsSync(path.join(path.dirname(alice.profileDir), 'alice.parley-backup'))).toBe(true);

    // The embedded relay starts and stops from Settings (not announced on the LAN here).
    const embedded = a.getByRole('region', { name: 'Relay on this computer' });
    await embedded.getByLabel('Announce it on the local network').uncheck();
    await embedded.getByRole('button', { name: 'Start relay' }).click();
    await expect(embedded.getByText(/Running at/)).toBeVisible({ timeout: 20_000 });
    await audit(a, 'settings with the embedded relay running');
    await embedded.getByRole('button', { name: 'Stop relay' }).click();
    await expect(embedded.getByRole('button', { name: 'Start relay' })).toBeVisible({ timeout: 20_000 });

    // Theme from Settings pins dark or light regardless of the system.
    await a.getByLabel('Dark').check();
    await expect(a.locator('html')).toHaveAttribute('data-theme', 'dark');
    await a.getByLabel('Follow the system').check();
    await expect(a.locator('html')).not.toHaveAttribute('data-theme', /.+/);
    await a.getByRole('button', { name: 'Close settings' }).click();
    await expect(a.locator('.toast')).toHaveCount(0, { timeout: 10_000 });
    await a.mouse.move(760, 420);
    await a.emulateMedia({ colorScheme: 'dark' });
    await expect(bubbles(a).first()).toBeVisible();
    await shot(a, '12-chat-dark');
    await audit(a, 'chat after the key change');
  });

  await test.step('no CSP violation or page error on the way', () => {
    expect(pageProblems).toEqual([]);
  });
});
