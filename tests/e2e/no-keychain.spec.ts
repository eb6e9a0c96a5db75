/**
 * Without a system keychain (no Secret Service on the session bus) onboarding explains why and offers the
 * passphrase-protected key file; after a restart the app asks for that passphrase before it opens anything.
 */
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { removeDir, startPerson, startRelayProcess, tempDir } from './harness.js';
import type { Person, Relay } from './harness.js';
import { shot } from './steps.js';

let root = '';
let relay: Relay | null = null;
let frank: Person | null = null;
const PASS = 'a long enough passphrase';
/** A session bus address where nothing listens: keytar cannot reach any keychain. */
const NO_KEYCHAIN = { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/parley-no-bus' };

test.afterAll(async () => {
  await frank?.stop();
  await relay?.close();
  if (root) removeDir(root);
});

test('no keychain: explained, passphrase file offered, unlock after restart', async ({ page }) => {
  test.setTimeout(120_000);
  root = tempDir('nokeychain');
  relay = await startRelayProcess(path.join(root, 'relay'));
  frank = await startPerson('frank', root, { env: NO_KEYCHAIN });
  await page.goto(frank.url);

  await page.getByRole('button', { name: 'Get started' }).click();
  await page.getByRole('textbox', { name: 'Username' }).fill('frank');
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Relay address').fill(relay.url);
  await page.getByRole('button', { name: 'Test connection' }).click();
  await expect(page.getByTestId('relay-ok')).toBeVisible();
  await page.getByRole('button', { name: 'Continue' }).click();

  const note = page.getByTestId('keychain-unavailable');
  await expect(note).toContainText('No system keychain is available');
  await expect(page.getByRole('button', { name: 'Create my keys' })).toBeDisabled();
  await page.getByLabel('Passphrase', { exact: true }).fill(PASS);
  await page.getByLabel('Repeat passphrase').fill(PASS.toUpperCase());
  await expect(page.getByText('The two passphrases differ.')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Create my keys' })).toBeDisabled();
  await page.getByLabel('Repeat passphrase').fill(PASS);
  await shot(page, '03b-onboarding-no-keychain');
  await page.getByRole('button', { name: 'Create my keys' }).click();
  await expect(page.getByRole('heading', { name: 'You are frank' })).toBeVisible({ timeout: 60_000 });
  await page.getByRole('button', { name: 'Start messaging' }).click();
  await expect(page.getByTestId('empty-state')).toBeVisible();

  await frank.restart();
  await expect(page.getByRole('heading', { name: 'Unlock Parley' })).toBeVisible({ timeout: 30_000 });
  await page.getByLabel('Passphrase').fill('not the passphrase');
  await page.getByRole('button', { name: 'Unlock' }).click();
  await expect(page.getByRole('alert').first()).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Unlock Parley' })).toBeVisible();
  await page.getByLabel('Passphrase').fill(PASS);
  await page.getByRole('button', { name: 'Unlock' }).click();
  await expect(page.getByTestId('me')).toHaveText('frank');
  await expect(page.getByTestId('connection')).toHaveAttribute('data-status', 'online', { timeout: 30_000 });
});
