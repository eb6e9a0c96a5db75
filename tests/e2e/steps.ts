/**
 * The steps of the Parley journey as a person does them in the UI. Shared by the browser journey (tests/e2e) and
 * the Electron journey (tests/electron): the same renderer, driven the same way.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { expect } from '@playwright/test';
import type { Page } from '@playwright/test';

const SHOTS = path.resolve(__dirname, '../../test-results/screenshots');

export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

/** Called at each onboarding step with the step's name (the journey audits accessibility there). */
export type StepCheck = (state: string) => Promise<unknown>;

export async function onboard(page: Page, username: string, relayUrl: string, screenshots: boolean, check?: StepCheck): Promise<string> {
  await expect(page.getByRole('heading', { name: 'Welcome to Parley' })).toBeVisible();
  if (screenshots) await shot(page, '01-onboarding-welcome');
  await check?.('onboarding: welcome');
  await page.getByRole('button', { name: 'Get started' }).click();

  const name = page.getByRole('textbox', { name: 'Username' });
  await name.fill('Al');
  await expect(page.locator('#onb-username-hint')).toHaveText('Use lower-case letters only.');
  await check?.('onboarding: username with a hint');
  await name.fill(username);
  await expect(page.locator('#onb-username-hint')).toHaveText('Looks good.');
  await page.getByRole('button', { name: 'Continue' }).click();

  await page.getByRole('radio', { name: /Enter an address/ }).click();
  await page.getByLabel('Relay address').fill('http://127.0.0.1:1');
  await page.getByRole('button', { name: 'Test connection' }).click();
  // Nothing listens there: a sentence that says what to do, the code only on the details line, no socket jargon.
  const alert = page.getByRole('alert');
  await expect(alert).toContainText('Parley cannot reach the relay at that address');
  await expect(alert).toContainText('Details: UNREACHABLE');
  await expect(alert).not.toContainText(/websocket|xhr|poll error/i);
  await expect(page.getByRole('button', { name: 'Continue' })).toBeDisabled();
  await check?.('onboarding: relay unreachable');
  await page.getByLabel('Relay address').fill(relayUrl);
  await page.getByRole('button', { name: 'Test connection' }).click();
  await expect(page.getByTestId('relay-ok')).toContainText(relayUrl);
  if (screenshots) await shot(page, '02-onboarding-relay');
  await check?.('onboarding: relay tested');
  await page.getByRole('button', { name: 'Continue' }).click();

  // Key storage: the system keychain when there is one, otherwise the passphrase file (the UI explains why).
  if (await page.getByTestId('keychain-unavailable').isVisible()) {
    await page.getByLabel('Passphrase', { exact: true }).fill('correct horse battery');
    await page.getByLabel('Repeat passphrase').fill('correct horse battery');
  }
  if (screenshots) await shot(page, '03-onboarding-key');
  await check?.('onboarding: key storage');
  await page.getByRole('button', { name: 'Create my keys' }).click();
  await expect(page.getByRole('progressbar')).toBeVisible();
  await expect(page.getByRole('heading', { name: `You are ${username}` })).toBeVisible({ timeout: 60_000 });
  const fp = (await page.getByTestId('own-fingerprint').innerText()).replace(/\s+/g, '');
  expect(fp).toMatch(/^[0-9a-f]{64}$/);
  if (screenshots) await shot(page, '04-onboarding-done');
  await check?.('onboarding: done');
  await page.getByRole('button', { name: 'Start messaging' }).click();
  await expect(page.getByTestId('me')).toHaveText(username);
  await expect(page.getByTestId('connection')).toHaveAttribute('data-status', 'online');
  return fp;
}

export async function addContact(page: Page, username: string): Promise<void> {
  await page.getByRole('button', { name: 'Add a contact', exact: true }).first().click();
  const dialog = page.getByTestId('add-contact-dialog');
  await dialog.getByLabel('Username').fill(username);
  await dialog.getByRole('button', { name: 'Add' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByTestId('chat').getByRole('heading', { name: username, exact: true })).toBeVisible();
}

export async function send(page: Page, text: string): Promise<void> {
  const box = page.getByLabel(/^Message to /);
  await box.fill(text);
  await box.press('Enter');
  await expect(box).toHaveValue('');
}

export function bubbles(page: Page) {
  return page.getByTestId('message');
}

export async function safetyNumber(page: Page): Promise<string> {
  await page.getByTestId('verification').click();
  const dialog = page.getByTestId('safety-dialog');
  await expect(dialog.getByTestId('safety-number')).toBeVisible();
  await expect(dialog.getByRole('img', { name: /QR code/ })).toBeVisible();
  const groups = await dialog.getByTestId('safety-number').locator('span').allInnerTexts();
  expect(groups).toHaveLength(12);
  for (const g of groups) expect(g).toMatch(/^\d{5}$/);
  return groups.join(' ');
}

