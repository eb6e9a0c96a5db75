/** Identity backup: PBKDF2-SHA256 + AES-256-GCM JSON file (PROTOCOL.md "Identity backup file"). */
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BackupError, exportBackup, importBackup, loadIdentity, type IdentitySecret } from '../../electron/core/crypto/index.js';
import { fromB64u, toB64u } from '../../relay/protocol/index.js';
import { fixtureIdentities } from '../helpers/identities.js';

const IT = 600_000; // the minimum, to stay fast
let alice: IdentitySecret;
let bob: IdentitySecret;
let file: string; // alice, passphrase "correct horse", extras { dbKey }

async function rejects(p: Promise<unknown>, code: BackupError['code'], message?: string): Promise<BackupError> {
  const e = await p.then(
    () => {
      throw new Error('expected a BackupError');
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(BackupError);
  expect((e as BackupError).code).toBe(code);
  if (message !== undefined) expect((e as BackupError).message).toBe(message);
  return e as BackupError;
}

function edit(f: (o: { [k: string]: unknown; kdf: Record<string, unknown>; cipher: Record<string, unknown> }) => void): string {
  const o = JSON.parse(file) as Parameters<typeof f>[0];
  f(o);
  return JSON.stringify(o);
}

beforeAll(async () => {
  [alice, bob] = (await fixtureIdentities(2)) as [IdentitySecret, IdentitySecret];
});

// Made once, but awaited in beforeEach: if exportBackup breaks (a mutant under `npm run mutation`), every test fails.
// From beforeAll the tests would only be skipped, which Stryker's vitest runner counts as passing.
let made: Promise<string> | undefined;
beforeEach(async () => {
  file = await (made ??= exportBackup(alice, 'correct horse', { iterations: IT, extras: { dbKey: 'k'.repeat(64) } }));
});

describe('identity backup', () => {
  it('writes the documented JSON format', () => {
    const o = JSON.parse(file) as Record<string, unknown>;
    expect(Object.keys(o).sort()).toEqual(['cipher', 'ct', 'format', 'kdf', 'v']);
    expect(o.format).toBe('parley-identity-backup');
    expect(o.v).toBe(1);
    expect(o.kdf).toMatchObject({ alg: 'PBKDF2-SHA256', iterations: IT });
    expect(fromB64u((o.kdf as { salt: string }).salt).byteLength).toBe(16);
    expect(o.cipher).toMatchObject({ alg: 'AES-256-GCM' });
    expect(fromB64u((o.cipher as { iv: string }).iv).byteLength).toBe(12);
    expect(file).not.toContain(alice.encPrivate.slice(0, 40));
  });

  it('round-trips the identity and extras', async () => {
    const r = await importBackup(file, 'correct horse');
    expect(r.identity).toEqual(alice);
    expect(r.extras).toEqual({ dbKey: 'k'.repeat(64) });
    expect((await loadIdentity(r.identity)).public).toEqual(alice.public);
  });

  it('defaults: 600000 iterations, empty extras, fresh salt and IV each time', async () => {
    const a = await exportBackup(bob, 'pw');
    const b = await exportBackup(bob, 'pw');
    const [oa, ob] = [JSON.parse(a), JSON.parse(b)] as Array<{ kdf: { iterations: number; salt: string }; cipher: { iv: string } }>;
    expect(oa!.kdf.iterations).toBe(600_000);
    expect(oa!.kdf.salt).not.toBe(ob!.kdf.salt);
    expect(oa!.cipher.iv).not.toBe(ob!.cipher.iv);
    expect(await importBackup(a, 'pw')).toEqual({ identity: bob, extras: {} });
  });

  it('normalises the passphrase to NFC', async () => {
    const f = await exportBackup(bob, 'caf\u00e9', { iterations: IT });
    expect((await importBackup(f, 'cafe\u0301')).identity).toEqual(bob);
  });

  it('wrong passphrase: "wrong passphrase or damaged file"', async () => {
    await rejects(importBackup(file, 'correct horse '), 'wrong-passphrase', 'wrong passphrase or damaged file');
  });

  it('damaged ciphertext, IV or salt reads the same as a wrong passphrase', async () => {
    const flip = (s: string) => {
      const b = fromB64u(s);
      b[b.byteLength >> 1]! ^= 1;
      return toB64u(b);
    };
    await rejects(importBackup(edit((o) => (o.ct = flip(o.ct as string))), 'correct horse'), 'wrong-passphrase', 'wrong passphrase or damaged file');
    await rejects(importBackup(edit((o) => (o.cipher.iv = flip(o.cipher.iv as string))), 'correct horse'), 'wrong-passphrase');
    await rejects(importBackup(edit((o) => (o.kdf.salt = flip(o.kdf.salt as string))), 'correct horse'), 'wrong-passphrase');
  });

  it('a file re-labelled with another iteration count does not open', async () => {
    await rejects(importBackup(edit((o) => (o.kdf.iterations = IT + 1)), 'correct horse'), 'wrong-passphrase');
  });

  it('malformed files', async () => {
    await rejects(importBackup(file.slice(0, file.length / 2), 'correct horse'), 'malformed');
    await rejects(importBackup('', 'correct horse'), 'malformed');
    await rejects(importBackup('null', 'correct horse'), 'malformed');
    await rejects(importBackup('[]', 'correct horse'), 'malformed');
    await rejects(importBackup(JSON.stringify({ hello: 1 }), 'x'), 'malformed');
    await rejects(importBackup(edit((o) => delete o.ct), 'correct horse'), 'malformed');
    await rejects(importBackup(edit((o) => delete (o as Record<string, unknown>).cipher), 'correct horse'), 'malformed');
    await rejects(importBackup(edit((o) => delete o.kdf.salt), 'correct horse'), 'malformed');
    await rejects(importBackup(edit((o) => (o.ct = 'not base64url!')), 'correct horse'), 'malformed');
    await rejects(importBackup(edit((o) => (o.cipher.iv = 'AAAA')), 'correct horse'), 'malformed');
    await rejects(importBackup(edit((o) => (o.extra = 1)), 'correct horse'), 'malformed');
    await rejects(importBackup(edit((o) => (o.kdf.iterations = '600000')), 'correct horse'), 'malformed');
  });

  it('wrong version', async () => {
    await rejects(importBackup(edit((o) => (o.v = 2)), 'correct horse'), 'unsupported-version');
    await rejects(importBackup(edit((o) => (o.v = 0)), 'correct horse'), 'unsupported-version');
    await rejects(importBackup(edit((o) => delete o.v), 'correct horse'), 'malformed');
  });

  it('KDF parameters outside the allowed range are refused before any work', async () => {
    for (const n of [599_999, 10_000_001, 0, -1, 600_000.5, 1e100]) {
      await rejects(importBackup(edit((o) => (o.kdf.iterations = n)), 'correct horse'), 'bad-kdf-params');
    }
    await rejects(importBackup(edit((o) => (o.kdf.alg = 'scrypt')), 'correct horse'), 'bad-kdf-params');
    await rejects(importBackup(edit((o) => (o.kdf.salt = toB64u(new Uint8Array(8)))), 'correct horse'), 'bad-kdf-params');
    await rejects(exportBackup(alice, 'pw', { iterations: 599_999 }), 'bad-kdf-params');
    await rejects(exportBackup(alice, 'pw', { iterations: 10_000_001 }), 'bad-kdf-params');
  });

  it('a backup whose private keys do not match its public identity is refused', async () => {
    const frankenstein: IdentitySecret = { ...alice, public: bob.public };
    const f = await exportBackup(frankenstein, 'pw', { iterations: IT });
    const e = await rejects(importBackup(f, 'pw'), 'malformed');
    expect(e.message).toMatch(/unusable/);
  });

  it('extras must be strings', async () => {
    await rejects(exportBackup(alice, 'pw', { iterations: IT, extras: { n: 1 as unknown as string } }), 'malformed');
    await expect(exportBackup(alice, '')).rejects.toThrow(TypeError);
  });
});
