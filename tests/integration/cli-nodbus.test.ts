/**
 * Story: a headless Linux box with no D-Bus session (the CLI's environment has neither DBUS_SESSION_BUS_ADDRESS nor
 * DISPLAY). Asking for the keychain fails with the documented KEYCHAIN_UNAVAILABLE error and stores nothing; with
 * the passphrase-protected key file instead, two users set up, talk, and read their history end to end.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  childEnv,
  cleanupAll,
  fixtureFile,
  runCli,
  spawnCli,
  startTestRelay,
  tmpDir,
  type TestRelay,
} from '../helpers/core.js';

const noBus = (over: Record<string, string | undefined> = {}) =>
  childEnv({ DBUS_SESSION_BUS_ADDRESS: undefined, DISPLAY: undefined, PARLEY_PASSPHRASE: undefined, ...over });

let relay: TestRelay;
beforeAll(async () => {
  relay = await startTestRelay();
});
afterAll(cleanupAll);

describe('CLI without a D-Bus session', { timeout: 180_000 }, () => {
  test('the keychain vault fails with the documented error and leaves no identity behind', async () => {
    const dir = tmpDir('nobus-keychain');
    const r = await runCli(['--profile', dir, '--relay', relay.url, '--vault', 'keychain', 'init', 'kim', '--test-identity', await fixtureFile(6)], { env: noBus() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/OS keychain unavailable: .*Parley never stores keys in plaintext; use a passphrase-protected key file instead/);
    expect(r.stderr).toContain('[KEYCHAIN_UNAVAILABLE]');
    const who = await runCli(['--profile', dir, 'whoami'], { env: noBus() });
    expect(who.code).toBe(1);
    expect(who.stderr).toMatch(/no identity yet/);
    // Never a silent plaintext fallback: the profile holds public metadata only.
    const meta = JSON.parse(readFileSync(`${dir}/profile.json`, 'utf8')) as Record<string, unknown>;
    expect(meta.vault).toBeNull();
  });

  test('the passphrase file vault works end to end', async () => {
    const ann = tmpDir('nobus-ann');
    const ben = tmpDir('nobus-ben');
    const annEnv = noBus({ PARLEY_PASSPHRASE: 'ann passphrase 123' });
    const benEnv = noBus({ PARLEY_PASSPHRASE: 'ben passphrase 456' });

    const noPass = await runCli(['--profile', ann, '--relay', relay.url, '--vault', 'file', 'init', 'ann', '--test-identity', await fixtureFile(7)], { env: noBus() });
    expect(noPass.code).toBe(1);
    expect(noPass.stderr).toMatch(/passphrase.*PARLEY_PASSPHRASE.*\[PASSPHRASE_REQUIRED\]/);

    for (const [dir, name, n, env] of [[ann, 'ann', 7, annEnv], [ben, 'ben', 8, benEnv]] as const) {
      const r = await runCli(['--profile', dir, '--relay', relay.url, '--vault', 'file', 'init', name, '--test-identity', await fixtureFile(n)], { env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('Keys: identity file');
    }

    expect((await runCli(['--profile', ann, 'add', 'ben'], { env: annEnv })).code).toBe(0);
    const sent = await runCli(['--profile', ann, 'send', 'ben', 'no keychain needed'], { env: annEnv });
    expect(sent.code, sent.stderr).toBe(0);

    const listen = spawnCli(['--profile', ben, 'listen'], { env: benEnv });
    const got = await listen.waitForLine((l) => l.event === 'message');
    expect(got).toMatchObject({ contact: 'ann', body: 'no keychain needed' });
    expect(await listen.stop()).toBe(0);

    const hist = await runCli(['--profile', ben, 'history', 'ann'], { env: benEnv });
    expect(hist.code).toBe(0);
    expect(hist.stdout).toMatch(/<- ann \[delivered\] no keychain needed/);

    const wrong = await runCli(['--profile', ben, 'history', 'ann'], { env: noBus({ PARLEY_PASSPHRASE: 'not the passphrase' }) });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/\[WRONG_PASSPHRASE\]/);
    const missing = await runCli(['--profile', ben, 'history', 'ann'], { env: noBus() });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/\[PASSPHRASE_REQUIRED\]/);
  });
});
