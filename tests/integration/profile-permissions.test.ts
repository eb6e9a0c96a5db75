/**
 * Every file in a profile is the user's alone: files 0600, folders 0700 (history.db and its -wal/-shm, the vault
 * file, profile.json, settings, backups, the embedded relay's files, logs). Checked by stat after a real CLI run (a
 * child process with the ordinary 022 umask until the CLI sets its own), and in-process (this test process keeps
 * umask 022, so only the core's own care can make the files private), including repairing an older profile.
 */
import { chmodSync, lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { childEnv, cleanupAll, fixtureFile, fixtureService, reopenService, runCli, startTestRelay, tmpDir } from '../helpers/core.js';

afterAll(cleanupAll);

/** Every file and folder under `dir` with its permission bits (relative paths). */
function modes(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  const visit = (p: string): void => {
    const st = lstatSync(p);
    out.set(path.relative(dir, p) || '.', st.mode & 0o777);
    if (st.isDirectory()) for (const n of readdirSync(p)) visit(path.join(p, n));
  };
  visit(dir);
  return out;
}

function expectPrivate(dir: string, mustInclude: string[]): void {
  const m = modes(dir);
  for (const name of mustInclude) expect([...m.keys()], `${name} exists`).toContain(name);
  const loose = [...m].filter(([p, mode]) => {
    const isDir = lstatSync(path.join(dir, p)).isDirectory();
    return isDir ? mode !== 0o700 : (mode & 0o077) !== 0;
  });
  expect(loose.map(([p, mode]) => `${p} ${mode.toString(8)}`)).toEqual([]);
}

describe('profile files are private', { timeout: 180_000 }, () => {
  test('after a real CLI run every file is 0600 and every folder 0700', async () => {
    const relay = await startTestRelay();
    const env = childEnv({ PARLEY_PASSPHRASE: 'permissions passphrase' });
    const root = tmpDir('perm-cli');
    chmodSync(root, 0o755);
    const gus = path.join(root, 'gus'); // created by the CLI itself
    const hal = path.join(root, 'hal');
    for (const [dir, name, n] of [[gus, 'gus', 8], [hal, 'hal', 9]] as const) {
      const r = await runCli(['--profile', dir, '--relay', relay.url, '--vault', 'file', 'init', name, '--test-identity', await fixtureFile(n)], { env });
      expect(r.code, r.stderr).toBe(0);
    }
    expect((await runCli(['--profile', gus, 'add', 'hal'], { env })).code).toBe(0);
    const sent = await runCli(['--profile', gus, 'send', 'hal', 'private files please'], { env });
    expect(sent.code, sent.stderr).toBe(0);
    expect((await runCli(['--profile', gus, 'history', 'hal'], { env })).stdout).toMatch(/private files please/);
    const exp = await runCli(['--profile', gus, 'export-identity', path.join(gus, 'backups', 'gus.parley-backup')], { env });
    expect(exp.code, exp.stderr).toBe(0);
    expectPrivate(gus, ['.', 'profile.json', 'history.db', 'identity.vault', 'backups', path.join('backups', 'gus.parley-backup')]);
  });

  test('in-process (umask 022): the open store, its WAL, settings and the embedded relay; an older loose profile is repaired', async () => {
    expect(process.umask() & 0o077).not.toBe(0o077); // the test process is not private by default: the core must be
    const relay = await startTestRelay();
    const svc = await fixtureService(10, 'ida', relay.url);
    await svc.waitOnline();
    await svc.updateSettings({ theme: 'dark' });
    await svc.startEmbeddedRelay({ lan: false });
    const dir = svc.profile.dir;
    const open = [...modes(dir).keys()];
    expectPrivate(dir, ['profile.json', 'history.db', 'history.db-wal', 'identity.vault', 'settings.json', 'relay']);
    expect(open.some((p) => p.startsWith('relay' + path.sep))).toBe(true);
    await svc.stopEmbeddedRelay();
    await svc.close();

    // A profile from an older version (or copied around) with loose modes is made private when opened.
    chmodSync(dir, 0o755);
    chmodSync(path.join(dir, 'history.db'), 0o644);
    chmodSync(path.join(dir, 'profile.json'), 0o664);
    const again = await reopenService(dir);
    expectPrivate(dir, ['history.db', 'profile.json']);
    await again.close();
  });
});
