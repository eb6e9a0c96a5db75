/**
 * No D-Bus session: a child process whose environment lacks DBUS_SESSION_BUS_ADDRESS and DISPLAY. The keychain
 * must report the documented KEYCHAIN_UNAVAILABLE error (no silent fallback), and the passphrase file vault must
 * work end to end (create keys + encrypted history, restart, unlock, read back).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromB64u } from '../../relay/protocol/index.js';
import type { IdentitySecret } from '../../electron/core/crypto/types.js';
import { fixtureIdentity } from '../helpers/identities.js';

const run = promisify(execFile);
const repo = path.resolve(__dirname, '../..');
let root: string;
let identity: IdentitySecret;

const CHILD = `
import { readFileSync } from 'node:fs';
import { openProfile, updateProfile, readProfile } from ${JSON.stringify(path.join(repo, 'electron/core/profile.ts'))};
import { probeKeychain, openVault, newDbKey, VaultError } from ${JSON.stringify(path.join(repo, 'electron/core/vault/index.ts'))};
import { openHistoryStore } from ${JSON.stringify(path.join(repo, 'electron/core/store/index.ts'))};

async function main(): Promise<void> {
const [mode, dir, identityFile, body] = process.argv.slice(2) as [string, string, string, string];
const out: Record<string, unknown> = {};
if (mode === 'create') {
  out.env = { dbus: process.env.DBUS_SESSION_BUS_ADDRESS ?? null, display: process.env.DISPLAY ?? null };
  out.status = await probeKeychain();
  const p = openProfile(dir);
  try {
    await openVault(p, { kind: 'keychain' }).save({ identity: JSON.parse(readFileSync(identityFile, 'utf8')), dbKey: newDbKey() });
    out.keychainSave = 'succeeded?!';
  } catch (e: any) {
    out.keychainSave = { isVaultError: e instanceof VaultError, code: e.code, message: e.message };
  }
  const identity = JSON.parse(readFileSync(identityFile, 'utf8'));
  const dbKey = newDbKey();
  await openVault(p, { kind: 'file', passphrase: process.env.PARLEY_PASSPHRASE }).save({ identity, dbKey });
  updateProfile(p, { vault: 'file', username: 'alice' });
  const store = openHistoryStore({ path: p.paths.db, key: dbKey });
  store.addContact({ username: 'bob', identity: identity.public, fingerprint: 'b'.repeat(64) });
  store.insertMessage({ id: 'm1', contact: 'bob', direction: 'out', senderFingerprint: null, body, sentAt: 1, state: 'sent' });
  store.close();
  out.created = true;
} else {
  const p = readProfile(dir)!;
  out.vaultKind = p.meta.vault;
  try {
    await openVault(p, { kind: p.meta.vault!, passphrase: 'not the passphrase' }).load();
  } catch (e: any) {
    out.wrong = { code: e.code, message: e.message };
  }
  const { identity, dbKey } = await openVault(p, { kind: p.meta.vault!, passphrase: process.env.PARLEY_PASSPHRASE }).load();
  const store = openHistoryStore({ path: p.paths.db, key: dbKey });
  out.fingerprintOk = identity.public.sig.length > 0;
  out.bodies = store.loadPage('bob').messages.map((m) => m.body);
  store.close();
}
process.stdout.write(JSON.stringify(out));
}
main().catch((e) => { console.error(e); process.exit(1); });
`;

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'parley-nodbus-'));
  identity = await fixtureIdentity(0);
  writeFileSync(path.join(root, 'child.ts'), CHILD);
  writeFileSync(path.join(root, 'identity.json'), JSON.stringify(identity));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function child(mode: 'create' | 'open', dir: string, body: string): Promise<Record<string, unknown>> {
  const env: NodeJS.ProcessEnv = { ...process.env, PARLEY_PASSPHRASE: 'no dbus passphrase' };
  delete env.DBUS_SESSION_BUS_ADDRESS;
  delete env.DISPLAY;
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', path.join(root, 'child.ts'), mode, dir, path.join(root, 'identity.json'), body],
    { cwd: repo, env, timeout: 60_000 },
  );
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe('with a D-Bus session whose keyring is locked', () => {
  it('probeKeychain reports it plainly (no prompt hangs, no fallback)', async () => {
    const home = path.join(root, 'locked-home');
    const probe = path.join(root, 'probe.ts');
    writeFileSync(
      probe,
      `import { probeKeychain } from ${JSON.stringify(path.join(repo, 'electron/core/vault/index.ts'))};\n` +
        `probeKeychain().then((s) => process.stdout.write('RESULT' + JSON.stringify(s)));\n`,
    );
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_DATA_HOME: path.join(home, 'data'), XDG_RUNTIME_DIR: home };
    delete env.DBUS_SESSION_BUS_ADDRESS;
    delete env.DISPLAY;
    // a fresh private session: keyring daemon started but never unlocked (no login collection can be created)
    const script = `gnome-keyring-daemon --start --components=secrets >/dev/null 2>&1; ${JSON.stringify(process.execPath)} --import tsx ${JSON.stringify(probe)}`;
    const { stdout } = await run('dbus-run-session', ['--', 'bash', '-c', script], { cwd: repo, env, timeout: 60_000 }).catch((e: Error) => {
      throw new Error(`needs dbus-run-session and gnome-keyring-daemon (apt-get install dbus gnome-keyring): ${e.message}`);
    });
    const status = JSON.parse(stdout.slice(stdout.indexOf('RESULT') + 6)) as { available: boolean; reason: string };
    expect(status.available).toBe(false);
    expect(status.reason).toMatch(/^OS keychain unavailable: the keychain (is locked or refused access|has no unlocked default collection)/);
    expect(status.reason).toContain('passphrase-protected key file');
  });
});

describe('without a D-Bus session', () => {
  it('the keychain reports the documented error and the passphrase file vault works end to end', async () => {
    const dir = path.join(root, 'profile');
    const body = 'no dbus, still private 91c2';
    const a = await child('create', dir, body);
    expect(a.env).toEqual({ dbus: null, display: null });
    const status = a.status as { available: boolean; reason: string };
    expect(status.available).toBe(false);
    expect(status.reason).toMatch(/^OS keychain unavailable: no D-Bus session \(Cannot autolaunch D-Bus without X11 \$DISPLAY\)/);
    expect(status.reason).toContain('passphrase-protected key file');
    expect(a.keychainSave).toMatchObject({ isVaultError: true, code: 'KEYCHAIN_UNAVAILABLE' });
    expect((a.keychainSave as { message: string }).message).toBe(status.reason);

    const b = await child('open', dir, body);
    expect(b.vaultKind).toBe('file');
    expect(b.wrong).toMatchObject({ code: 'WRONG_PASSPHRASE' });
    expect((b.wrong as { message: string }).message).toContain('wrong passphrase or damaged file');
    expect(b.bodies).toEqual([body]);

    // never a plaintext fallback: nothing in the folder holds the body or the private keys in clear
    const enc = Buffer.from(fromB64u(identity.encPrivate));
    const needles = [Buffer.from(body), Buffer.from(identity.sigPrivate), Buffer.from(identity.encPrivate.slice(0, 64)), enc.subarray(300, 364)];
    const files = readdirSync(dir).map((f) => path.join(dir, f)).filter((f) => statSync(f).isFile());
    expect(files.map((f) => path.basename(f)).sort()).toEqual(['history.db', 'identity.vault', 'profile.json']);
    for (const f of files) for (const n of needles) expect(readFileSync(f).includes(n), `secret in ${f}`).toBe(false);
  });
});
