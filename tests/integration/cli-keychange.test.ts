/**
 * Story, on the command line: Ann rotates her identity (`rotate-identity`: a new key signed by the old one and
 * registered with the relay). Ben's next `send` to her is held and says why; `contacts` and `verify` show the
 * change; after `accept-key` the held message is re-sealed for Ann's new key and reaches her.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { childEnv, cleanupAll, fixtureFile, runCli, spawnCli, startTestRelay, tmpDir, type TestRelay } from '../helpers/core.js';

let relay: TestRelay;
const ann = tmpDir('kc-ann');
const ben = tmpDir('kc-ben');
const annEnv = childEnv({ PARLEY_PASSPHRASE: 'ann passphrase 123' });
const benEnv = childEnv({ PARLEY_PASSPHRASE: 'ben passphrase 456' });

beforeAll(async () => {
  relay = await startTestRelay();
  for (const [dir, name, n, env] of [[ann, 'ann', 9, annEnv], [ben, 'ben', 10, benEnv]] as const) {
    const r = await runCli(['--profile', dir, '--relay', relay.url, '--vault', 'file', 'init', name, '--test-identity', await fixtureFile(n)], { env });
    expect(r.code, r.stderr).toBe(0);
  }
  expect((await runCli(['--profile', ben, 'add', 'ann'], { env: benEnv })).code).toBe(0);
  expect((await runCli(['--profile', ann, 'add', 'ben'], { env: annEnv })).code).toBe(0);
  const shown = await runCli(['--profile', ben, 'verify', 'ann'], { env: benEnv });
  const digits = shown.stdout.match(/^(\d{5} ){11}\d{5}$/m)![0];
  expect((await runCli(['--profile', ben, 'verify', 'ann', '--confirm', digits], { env: benEnv })).code).toBe(0);
}, 120_000);

afterAll(cleanupAll);

describe('rotate-identity and accept-key on the command line', { timeout: 240_000 }, () => {
  test('a rotated key holds sending until the contact accepts it', async () => {
    const before = await runCli(['--profile', ann, 'whoami'], { env: annEnv });
    const rot = await runCli(['--profile', ann, 'rotate-identity'], { env: annEnv, timeoutMs: 90_000 });
    expect(rot.stderr).not.toMatch(/parley:/);
    expect(rot.code).toBe(0);
    expect(rot.stdout).toMatch(/Rotated the identity of ann; new fingerprint/);
    const after = await runCli(['--profile', ann, 'whoami'], { env: annEnv });
    const fp = (s: string) => s.match(/Fingerprint: (.*)/)?.[1];
    expect(fp(after.stdout)).toBeDefined();
    expect(fp(after.stdout)).not.toBe(fp(before.stdout));

    const held = await runCli(['--profile', ben, 'send', 'ann', 'did you get a new key?'], { env: benEnv });
    expect(held.code).toBe(3);
    expect(held.stdout).toMatch(/^queued /m);
    expect(held.stderr).toMatch(/ann's key changed/);
    const contacts = await runCli(['--profile', ben, 'contacts'], { env: benEnv });
    expect(contacts.stdout).toMatch(/^ann .*KEY CHANGED/m);
    expect(contacts.stdout).not.toMatch(/verified/);
    const verify = await runCli(['--profile', ben, 'verify', 'ann'], { env: benEnv });
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/ann's key changed \(new safety number: (\d{5} ){11}\d{5}\)/);

    const listen = spawnCli(['--profile', ann, 'listen'], { env: annEnv });
    await listen.waitForLine((l) => l.event === 'connection' && l.status === 'online');
    const acc = await runCli(['--profile', ben, 'accept-key', 'ann'], { env: benEnv });
    expect(acc.code, acc.stderr).toBe(0);
    const got = await listen.waitForLine((l) => l.event === 'message');
    expect(got).toMatchObject({ contact: 'ben', body: 'did you get a new key?' });
    expect(await listen.stop()).toBe(0);

    const hist = await runCli(['--profile', ben, 'history', 'ann'], { env: benEnv });
    expect(hist.stdout).toMatch(/-> ann \[(sent|delivered)\] did you get a new key\?/);
  });
});
