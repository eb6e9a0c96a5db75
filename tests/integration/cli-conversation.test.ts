/**
 * Story: Alice and Bob each run the headless client (two profiles, separate processes) against one real relay,
 * with their keys in the real GNOME keyring. They talk online, Bob goes offline and catches up in order, and
 * finally Alice restores her identity on a second device, which takes it over from the first.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  childEnv,
  cleanupAll,
  fixtureFile,
  onCleanup,
  removeKeychainEntry,
  requireDbusSession,
  runCli,
  spawnCli,
  startTestRelay,
  tmpDir,
  unackedFor,
  waitUntil,
  type TestRelay,
} from '../helpers/core.js';

type Line = Record<string, unknown>;
const isMessage = (l: Line) => l.event === 'message';
const isOnline = (l: Line) => l.event === 'connection' && l.status === 'online';

let relay: TestRelay;
let alice: string;
let bob: string;

beforeAll(async () => {
  requireDbusSession();
  relay = await startTestRelay();
  alice = tmpDir('alice');
  bob = tmpDir('bob');
  onCleanup(() => removeKeychainEntry(alice));
  onCleanup(() => removeKeychainEntry(bob));
  for (const [dir, name, n] of [[alice, 'alice', 0], [bob, 'bob', 1]] as const) {
    const r = await runCli(['--profile', dir, '--relay', relay.url, '--vault', 'keychain', 'init', name, '--test-identity', await fixtureFile(n)]);
    expect(r.stderr + r.stdout).toContain(`Created identity ${name}`);
    expect(r.code).toBe(0);
  }
});

afterAll(cleanupAll);

describe('two CLI profiles, one relay, the OS keychain', { timeout: 180_000 }, () => {
  test('whoami shows the username and the formatted fingerprint', async () => {
    const r = await runCli(['--profile', alice, 'whoami']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Username: alice');
    expect(r.stdout).toMatch(/Fingerprint: ([0-9a-f]{4} ){15}[0-9a-f]{4}/);
    expect(r.stdout).toContain('Keys: OS keychain');
  });

  test('Alice and Bob exchange messages online', async () => {
    const bobListen = spawnCli(['--profile', bob, 'listen']);
    await bobListen.waitForLine(isOnline);

    expect((await runCli(['--profile', alice, 'add', 'bob'])).code).toBe(0);
    const sent = await runCli(['--profile', alice, 'send', 'bob', 'hi', 'bob,', 'how', 'are', 'you?']);
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(/^(sent|delivered) [A-Za-z0-9_-]{22}$/m);

    const got = await bobListen.waitForLine(isMessage);
    expect(got).toMatchObject({ conversation: 'd:alice', sender: 'alice', contact: 'alice', direction: 'in', body: 'hi bob, how are you?', state: 'delivered' });
    expect(await bobListen.stop()).toBe(0);

    // Bob's first contact from Alice shows as a message request until he answers.
    const contacts = await runCli(['--profile', bob, 'contacts']);
    expect(contacts.stdout).toMatch(/^alice .*message request/m);

    const aliceListen = spawnCli(['--profile', alice, 'listen']);
    await aliceListen.waitForLine(isOnline);
    const reply = await runCli(['--profile', bob, 'send', 'alice', 'fine, thanks']);
    expect(reply.code).toBe(0);
    const back = await aliceListen.waitForLine(isMessage);
    expect(back).toMatchObject({ conversation: 'd:bob', sender: 'bob', contact: 'bob', direction: 'in', body: 'fine, thanks' });
    // Bob's client sent a sealed receipt for Alice's message: it is now 'delivered' on her side.
    await aliceListen.waitForLine((l) => l.event === 'state' && l.state === 'delivered');
    expect(await aliceListen.stop()).toBe(0);

    const hist = await runCli(['--profile', alice, 'history', 'bob', '--json']);
    const msgs = hist.stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);
    expect(msgs.map((m) => [m.direction, m.body, m.state])).toEqual([
      ['out', 'hi bob, how are you?', 'delivered'],
      ['in', 'fine, thanks', 'delivered'],
    ]);
    expect((await runCli(['--profile', bob, 'contacts'])).stdout).not.toMatch(/message request/);
  });

  test('Bob offline, then online, gets every message in order', async () => {
    const texts = ['one', 'two', 'three', 'four', 'five'];
    for (const t of texts) {
      const r = await runCli(['--profile', alice, 'send', 'bob', t]);
      expect(r.code).toBe(0);
    }
    const bobListen = spawnCli(['--profile', bob, 'listen']);
    await bobListen.waitForCount(isMessage, texts.length);
    // once the relay holds nothing unacknowledged for Bob nothing can be redelivered; stop() waits for the exit, so
    // every line Bob printed (a duplicate too) is in before we compare
    await waitUntil(() => unackedFor(relay, 'bob') === 0, 30_000, "bob's queue on the relay to drain");
    expect(await bobListen.stop()).toBe(0);
    expect(bobListen.lines.filter(isMessage).map((l) => l.body)).toEqual(texts);

    const hist = await runCli(['--profile', bob, 'history', 'alice', '--json', '--limit', '10']);
    const msgs = hist.stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);
    const incoming = msgs.filter((m) => m.direction === 'in').map((m) => m.body);
    expect(incoming.slice(-5)).toEqual(texts);
    const seqs = msgs.map((m) => m.seq as number);
    expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
  });

  test('verify shows the same safety number on both sides and marks the contact verified only when confirmed', async () => {
    const a = await runCli(['--profile', alice, 'verify', 'bob']);
    const b = await runCli(['--profile', bob, 'verify', 'alice']);
    // Printing the number marks nothing verified.
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(/bob is NOT marked verified/);
    const digits = (s: string) => s.match(/^(\d{5} ){11}\d{5}$/m)?.[0];
    expect(digits(a.stdout)).toBeDefined();
    expect(digits(a.stdout)).toBe(digits(b.stdout));
    expect((await runCli(['--profile', alice, 'contacts'])).stdout).not.toMatch(/^bob .*verified/m);
    const ok = await runCli(['--profile', alice, 'verify', 'bob', '--confirm', digits(b.stdout)!]);
    expect(ok.code, ok.stderr).toBe(0);
    expect((await runCli(['--profile', alice, 'contacts'])).stdout).toMatch(/^bob .*verified/m);
  });

  test('errors are clear and exit non-zero', async () => {
    const unknown = await runCli(['--profile', alice, 'send', 'carol', 'hi']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/No contact named carol \[NOT_FOUND\]/);
    const noUser = await runCli(['--profile', alice, 'add', 'nobody-here']);
    expect(noUser.code).toBe(1);
    expect(noUser.stderr).toMatch(/knows no user named nobody-here/);
    const usage = await runCli(['--profile', alice, 'fly']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/unknown command fly/);
    const empty = await runCli(['--profile', alice, 'send', 'bob']);
    expect(empty.code).toBe(2);
    const noProfile = await runCli(['whoami'], { env: childEnv({ PARLEY_PROFILE: undefined }) });
    expect(noProfile.code).toBe(2);
    expect(noProfile.stderr).toMatch(/--profile/);
    const fresh = await runCli(['--profile', tmpDir('empty'), 'contacts']);
    expect(fresh.code).toBe(1);
    expect(fresh.stderr).toMatch(/no identity yet/i);
    const taken = await runCli(['--profile', tmpDir('dup'), '--relay', relay.url, '--vault', 'file', 'init', 'alice', '--test-identity', await fixtureFile(5)], {
      env: childEnv({ PARLEY_PASSPHRASE: 'another passphrase' }),
    });
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/USERNAME_TAKEN/);
  });

  test('importing the identity on a second device takes it over; the first is told plainly', async () => {
    const backup = `${tmpDir('backup')}/alice.parley-backup`;
    const env = childEnv({ PARLEY_BACKUP_PASSPHRASE: 'backup passphrase 1' });
    const exp = await runCli(['--profile', alice, 'export-identity', backup], { env });
    expect(exp.code).toBe(0);

    const first = spawnCli(['--profile', alice, 'listen']);
    await first.waitForLine(isOnline);

    const second = tmpDir('alice-laptop');
    onCleanup(() => removeKeychainEntry(second));
    const wrong = await runCli(['--profile', second, '--relay', relay.url, 'import-identity', backup], {
      env: childEnv({ PARLEY_BACKUP_PASSPHRASE: 'not the passphrase' }),
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/passphrase/i);

    const imp = await runCli(['--profile', second, '--relay', relay.url, 'import-identity', backup], { env });
    expect(imp.stderr).not.toMatch(/parley:/);
    expect(imp.code).toBe(0);
    expect(imp.stdout).toContain('Imported identity alice');

    expect(await first.exited).toBe(1);
    expect(first.stderr()).toContain('This identity is now active on another device');
    const who = await runCli(['--profile', second, 'whoami']);
    const orig = await runCli(['--profile', alice, 'whoami']);
    expect(who.stdout).toBe(orig.stdout);
  });
});
