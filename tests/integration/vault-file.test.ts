import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileVault, VaultError, newDbKey, openVault } from '../../electron/core/vault/index.js';
import { ProfileError, openProfile, readProfile, updateProfile } from '../../electron/core/profile.js';
import { fromB64u } from '../../relay/protocol/index.js';
import type { IdentitySecret } from '../../electron/core/crypto/types.js';
import { fixtureIdentity } from '../helpers/identities.js';

let root: string;
let identity: IdentitySecret;

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'parley-vault-file-'));
  identity = await fixtureIdentity(0);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Every representation of the secrets that must never appear in clear. */
function secretNeedles(id: IdentitySecret, dbKey: string): Array<[string, Buffer]> {
  const enc = Buffer.from(fromB64u(id.encPrivate));
  const sig = Buffer.from(fromB64u(id.sigPrivate));
  return [
    ['encPrivate b64u', Buffer.from(id.encPrivate.slice(0, 64))],
    ['sigPrivate b64u', Buffer.from(id.sigPrivate)],
    ['RSA pkcs8 DER (middle 64 bytes)', enc.subarray(enc.length / 2, enc.length / 2 + 64)],
    ['Ed25519 private seed', sig.subarray(sig.length - 32)],
    ['dbKey hex', Buffer.from(dbKey)],
    ['dbKey raw', Buffer.from(dbKey, 'hex')],
  ];
}

async function expectVaultError(p: Promise<unknown>, code: string): Promise<VaultError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(VaultError);
  expect((e as VaultError).code).toBe(code);
  return e as VaultError;
}

describe('profiles', () => {
  it('creates a stable random id per folder; two profiles side by side never collide; no secrets in profile.json', () => {
    const a = openProfile(path.join(root, 'pa'));
    const b = openProfile(path.join(root, 'pb'));
    expect(a.id).toMatch(/^[0-9a-f]{32}$/);
    expect(a.id).not.toBe(b.id);
    expect(openProfile(path.join(root, 'pa')).id).toBe(a.id);
    expect(readProfile(path.join(root, 'pa'))!.id).toBe(a.id);
    expect(readProfile(path.join(root, 'nothing-here'))).toBeNull();
    updateProfile(a, { vault: 'file', username: 'alice', fingerprint: 'f'.repeat(64) });
    const again = readProfile(a.dir)!;
    expect(again.meta).toMatchObject({ id: a.id, vault: 'file', username: 'alice', createdAt: a.meta.createdAt });
    expect(Object.keys(JSON.parse(readFileSync(a.paths.meta, 'utf8'))).sort()).toEqual(
      ['createdAt', 'fingerprint', 'id', 'relayFingerprint', 'relayUrl', 'username', 'v', 'vault'].sort(),
    );
    expect(a.paths.db).not.toBe(b.paths.db);
    expect(a.paths.vaultFile).not.toBe(b.paths.vaultFile);
  });

  it('processes creating the same profile at once all end up with one id', async () => {
    const dir = path.join(root, 'race');
    const script = path.join(root, 'race.ts');
    writeFileSync(
      script,
      `import { openProfile } from ${JSON.stringify(path.resolve(__dirname, '../../electron/core/profile.ts'))};\n` +
        `process.stdout.write(openProfile(process.argv[2]!).id);\n`,
    );
    const run = promisify(execFile);
    const ids = await Promise.all(
      Array.from({ length: 4 }, () =>
        run(process.execPath, ['--import', 'tsx', script, dir], { cwd: path.resolve(__dirname, '../..') }).then((r) => r.stdout),
      ),
    );
    expect(new Set(ids).size).toBe(1);
    expect(readProfile(dir)!.id).toBe(ids[0]);
    expect(readdirSync(dir)).toEqual(['profile.json']);
  });

  it('a damaged profile.json is a typed error, not a crash', () => {
    const dir = path.join(root, 'broken');
    openProfile(dir);
    writeFileSync(path.join(dir, 'profile.json'), '{"v":1,"id":"nope"');
    expect(() => openProfile(dir)).toThrow(ProfileError);
    writeFileSync(path.join(dir, 'profile.json'), '{"v":1,"id":"zz"}');
    expect(() => readProfile(dir)).toThrow(/damaged/);
  });
});

describe('file vault', () => {
  it('round-trips identity and dbKey; the file holds no secret in clear; writes leave no temp files', async () => {
    const profile = openProfile(path.join(root, 'fv1'));
    const vault = openVault(profile, { kind: 'file', passphrase: 'correct horse battery' });
    expect(await vault.exists()).toBe(false);
    await expectVaultError(vault.load(), 'NOT_FOUND');
    const dbKey = newDbKey();
    expect(dbKey).toMatch(/^[0-9a-f]{64}$/);
    await vault.save({ identity, dbKey });
    expect(await vault.exists()).toBe(true);
    const back = await openVault(profile, { kind: 'file', passphrase: 'correct horse battery' }).load();
    expect(back).toEqual({ identity, dbKey });

    const bytes = readFileSync(profile.paths.vaultFile);
    for (const [what, needle] of secretNeedles(identity, dbKey)) {
      expect(bytes.includes(needle), `${what} found in clear in the vault file`).toBe(false);
    }
    expect(JSON.parse(bytes.toString('utf8')).format).toBe('parley-identity-backup');
    expect(readdirSync(profile.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // replace (atomic) and read again
    const dbKey2 = newDbKey();
    await vault.save({ identity, dbKey: dbKey2 });
    expect((await vault.load()).dbKey).toBe(dbKey2);
    await vault.remove();
    expect(await vault.exists()).toBe(false);
    await vault.remove(); // no error when nothing is there
  });

  it('wrong passphrase → WRONG_PASSPHRASE "wrong passphrase or damaged file"; the file stays intact', async () => {
    const profile = openProfile(path.join(root, 'fv2'));
    const dbKey = newDbKey();
    await openVault(profile, { kind: 'file', passphrase: 'the right one' }).save({ identity, dbKey });
    const before = readFileSync(profile.paths.vaultFile);
    const e = await expectVaultError(openVault(profile, { kind: 'file', passphrase: 'the wrong one' }).load(), 'WRONG_PASSPHRASE');
    expect(e.message).toContain('wrong passphrase or damaged file');
    expect(readFileSync(profile.paths.vaultFile).equals(before)).toBe(true);
    expect((await openVault(profile, { kind: 'file', passphrase: 'the right one' }).load()).dbKey).toBe(dbKey);

    // a flipped ciphertext byte cannot be told from a wrong passphrase (GCM tag): same message
    const f = JSON.parse(before.toString('utf8')) as { ct: string };
    const ct = Buffer.from(f.ct, 'base64url');
    ct[10]! ^= 1;
    writeFileSync(profile.paths.vaultFile, JSON.stringify({ ...f, ct: ct.toString('base64url') }));
    await expectVaultError(openVault(profile, { kind: 'file', passphrase: 'the right one' }).load(), 'WRONG_PASSPHRASE');
    // not a key file at all
    writeFileSync(profile.paths.vaultFile, 'hello');
    await expectVaultError(openVault(profile, { kind: 'file', passphrase: 'the right one' }).load(), 'CORRUPT');
  });

  it('refuses a missing or short passphrase and bad contents with typed errors', async () => {
    const profile = openProfile(path.join(root, 'fv3'));
    expect(() => openVault(profile, { kind: 'file' })).toThrow(expect.objectContaining({ code: 'PASSPHRASE_REQUIRED' }));
    await expectVaultError(new FileVault({ file: profile.paths.vaultFile, passphrase: 'short' }).save({ identity, dbKey: newDbKey() }), 'PASSPHRASE_REQUIRED');
    await expectVaultError(
      new FileVault({ file: profile.paths.vaultFile, passphrase: 'long enough pass' }).save({ identity, dbKey: 'xyz' }),
      'CORRUPT',
    );
    expect(readdirSync(profile.dir)).toEqual(['profile.json']);
  });
});
