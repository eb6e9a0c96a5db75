/**
 * Identity backup: what each refusal says and where each limit sits (the import dialog shows these messages, so
 * they are part of the behaviour), and backups that decrypt but do not hold an identity. The files that decrypt are
 * built here with the documented construction (PROTOCOL.md "Identity backup file") from the crypto primitives, so a
 * second implementation of the format would produce the same bytes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { BackupError, exportBackup, importBackup, type IdentitySecret } from '../../electron/core/crypto/index.js';
import { aesGcmEncrypt, importAesKey, pbkdf2Sha256, randomBytes } from '../../electron/core/crypto/primitives.js';
import { frame, LABELS, LIMITS, toB64u, utf8 } from '../../relay/protocol/index.js';
import { fixtureIdentities } from '../helpers/identities.js';

const IT = LIMITS.pbkdf2MinIterations; // the minimum, to stay fast
const MAX_TEXT = 2 * (1 << 20); // a backup file's longest accepted text (twice the ciphertext's base64url limit)
let alice: IdentitySecret;

beforeAll(async () => {
  [alice] = (await fixtureIdentities(1)) as [IdentitySecret];
});

async function refusal(p: Promise<unknown>): Promise<{ code: BackupError['code']; message: string }> {
  const e = await p.then(
    () => {
      throw new Error('expected a BackupError');
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(BackupError);
  return { code: (e as BackupError).code, message: (e as BackupError).message };
}

/** A well-formed backup file whose ciphertext is `plaintext` encrypted under `passphrase`, as exportBackup does. */
async function sealedFile(plaintext: string, passphrase: string, iterations = IT): Promise<string> {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const key = await importAesKey(await pbkdf2Sha256(passphrase.normalize('NFC'), salt, iterations, 32));
  const aad = frame(LABELS.backup, 'parley-identity-backup', '1', 'PBKDF2-SHA256', String(iterations), salt, 'AES-256-GCM');
  const ct = await aesGcmEncrypt(key, iv, utf8(plaintext), aad);
  return JSON.stringify({
    format: 'parley-identity-backup',
    v: 1,
    kdf: { alg: 'PBKDF2-SHA256', iterations, salt: toB64u(salt) },
    cipher: { alg: 'AES-256-GCM', iv: toB64u(iv) },
    ct: toB64u(ct),
  });
}

interface FileShape {
  [field: string]: unknown;
  kdf: Record<string, unknown>;
}

/** A file exportBackup made, edited. */
async function edited(f: (o: FileShape) => void): Promise<string> {
  const o = JSON.parse(await exportBackup(alice, 'pw', { iterations: IT })) as FileShape;
  f(o);
  return JSON.stringify(o);
}

describe('identity backup: export refusals', () => {
  it('a missing passphrase is a TypeError that says what is wrong', async () => {
    for (const pass of ['', undefined, 42]) {
      await expect(exportBackup(alice, pass as unknown as string, { iterations: IT })).rejects.toThrow(
        new TypeError('backup passphrase must be a non-empty string'),
      );
    }
  });

  it('an identity that is not one is refused as malformed, naming the problem', async () => {
    const r = await refusal(exportBackup({ ...alice, encPrivate: 42 } as unknown as IdentitySecret, 'pw', { iterations: IT }));
    expect(r.code).toBe('malformed');
    expect(r.message).toMatch(/^cannot back up: ./);
    expect(r.message).not.toBe('cannot back up: invalid');
  });

  it('iterations outside [600000, 10000000] are refused with the range', async () => {
    const r = await refusal(exportBackup(alice, 'pw', { iterations: LIMITS.pbkdf2MaxIterations + 1 }));
    expect(r).toEqual({ code: 'bad-kdf-params', message: 'PBKDF2 iterations must be an integer in [600000, 10000000]' });
  });
});

describe('identity backup: import refusals', () => {
  it('text that is not a backup file', async () => {
    const notBackup = { code: 'malformed', message: 'not a Parley identity backup' };
    expect(await refusal(importBackup(null as unknown as string, 'pw'))).toEqual(notBackup);
    expect(await refusal(importBackup('x'.repeat(MAX_TEXT + 1), 'pw'))).toEqual(notBackup); // refused before parsing
    // At the limit the text is still read (and here is not JSON).
    expect(await refusal(importBackup('x'.repeat(MAX_TEXT), 'pw'))).toEqual({ code: 'malformed', message: 'not a Parley identity backup (invalid JSON)' });
    expect(await refusal(importBackup('{', 'pw'))).toEqual({ code: 'malformed', message: 'not a Parley identity backup (invalid JSON)' });
    expect(await refusal(importBackup(await edited((o) => (o.format = 'parley-identity-backup-2')), 'pw'))).toEqual(notBackup);
  });

  it('another version names it', async () => {
    expect(await refusal(importBackup(await edited((o) => (o.v = 2)), 'pw'))).toEqual({
      code: 'unsupported-version',
      message: 'backup format version 2 is not supported',
    });
  });

  it('a field that breaks the schema is named with its path', async () => {
    const r = await refusal(importBackup(await edited((o) => (o.ct = 'not base64url!')), 'pw'));
    expect(r.code).toBe('malformed');
    expect(r.message).toMatch(/^malformed backup: ct: ./);
    const nested = await refusal(importBackup(await edited((o) => (o.kdf.salt = 'A'.repeat(65))), 'pw'));
    expect(nested.message).toMatch(/^malformed backup: kdf\.salt: ./);
  });

  it('KDF parameters: the algorithm, the salt and the iteration range are named', async () => {
    expect(await refusal(importBackup(await edited((o) => (o.kdf.alg = 'scrypt')), 'pw'))).toEqual({ code: 'bad-kdf-params', message: 'unsupported KDF "scrypt"' });
    expect(await refusal(importBackup(await edited((o) => (o.kdf.salt = toB64u(new Uint8Array(8)))), 'pw'))).toEqual({
      code: 'bad-kdf-params',
      message: 'salt must be 16 bytes of base64url',
    });
    expect(await refusal(importBackup(await edited((o) => (o.kdf.iterations = LIMITS.pbkdf2MaxIterations + 1)), 'pw'))).toEqual({
      code: 'bad-kdf-params',
      message: 'PBKDF2 iterations must be an integer in [600000, 10000000]',
    });
  });

  it('the maximum iteration count itself is allowed (the key is derived; here the tag then fails)', async () => {
    const r = await refusal(importBackup(await edited((o) => (o.kdf.iterations = LIMITS.pbkdf2MaxIterations)), 'pw'));
    expect(r.code).toBe('wrong-passphrase');
  }, 120_000);
});

describe('identity backup: files that decrypt but hold no identity', () => {
  it('the documented construction opens (the helper below is the format)', async () => {
    const r = await importBackup(await sealedFile(JSON.stringify({ identity: alice, extras: { a: 'b' } }), 'pw'), 'pw');
    expect(r).toEqual({ identity: alice, extras: { a: 'b' } });
  });

  it('content that is not JSON, or JSON without an identity, is malformed and says why', async () => {
    const notJson = await refusal(importBackup(await sealedFile('not json', 'pw'), 'pw'));
    expect(notJson.code).toBe('malformed');
    expect(notJson.message).toMatch(/^backup content is not a Parley identity: ./);
    const noIdentity = await refusal(importBackup(await sealedFile(JSON.stringify({ identity: {}, extras: {} }), 'pw'), 'pw'));
    expect(noIdentity.code).toBe('malformed');
    expect(noIdentity.message).toMatch(/^backup content is not a Parley identity: ./);
    expect(noIdentity.message).not.toMatch(/: invalid$/);
    const extraField = await refusal(importBackup(await sealedFile(JSON.stringify({ identity: alice, extras: {}, more: 1 }), 'pw'), 'pw'));
    expect(extraField.message).toMatch(/^backup content is not a Parley identity: ./);
  });
});
