/**
 * Project Wycheproof vectors through the primitives the app uses (electron/core/crypto/primitives.ts):
 * AES-256-GCM (96-bit IV, 128-bit tag), RSA-OAEP-4096 SHA-256/MGF1-SHA-256 (rsaOaepUnwrap: node:crypto
 * privateDecrypt, what open() unwraps with), Ed25519 verify, PBKDF2-HMAC-SHA256.
 * Vectors are read from $PARLEY_WYCHEPROOF_DIR or ../shared/test-vectors/wycheproof (never copied into the repo).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fromHex } from '../../relay/protocol/index.js';
import {
  aesGcmDecrypt,
  aesGcmEncrypt,
  ed25519Verify,
  importAesKey,
  importRsaOaepUnwrapKey,
  pbkdf2Sha256,
  rsaOaepUnwrap,
} from '../../electron/core/crypto/primitives.js';
import { UNWRAP_FAILED_MESSAGE, UnwrapError } from '../../electron/core/crypto/errors.js';

const repoRoot = path.resolve(__dirname, '../..');
const DIR = process.env.PARLEY_WYCHEPROOF_DIR ?? path.resolve(repoRoot, '../shared/test-vectors/wycheproof');

type Result = 'valid' | 'invalid' | 'acceptable';
interface Vector { tcId: number; result: Result; flags?: string[]; comment?: string; [k: string]: unknown }
interface Group { tests: Vector[]; [k: string]: unknown }

function load(file: string): Group[] {
  const p = path.join(DIR, file);
  if (!existsSync(p)) {
    throw new Error(`Wycheproof vectors missing: looked for ${p} (set PARLEY_WYCHEPROOF_DIR or provide ${DIR})`);
  }
  return (JSON.parse(readFileSync(p, 'utf8')) as { testGroups: Group[] }).testGroups;
}

const hex = (v: unknown) => fromHex(String(v));

type Tally = Record<Result, number> & { acceptableAccepted: number; acceptableRejected: number };
const tallies: Record<string, Tally> = {};
function tally(name: string): Tally {
  return (tallies[name] ??= { valid: 0, invalid: 0, acceptable: 0, acceptableAccepted: 0, acceptableRejected: 0 });
}

/** Run one vector; `run` resolves true when the implementation accepted (and produced the expected output). */
async function check(name: string, v: Vector, run: () => Promise<boolean>): Promise<void> {
  let accepted: boolean;
  try {
    accepted = await run();
  } catch {
    accepted = false;
  }
  const t = tally(name);
  t[v.result]++;
  const where = `${name} tcId ${v.tcId} (${v.result}; ${v.comment ?? ''} ${(v.flags ?? []).join(',')})`;
  if (v.result === 'valid') expect(accepted, `${where} must be accepted`).toBe(true);
  else if (v.result === 'invalid') expect(accepted, `${where} must be rejected`).toBe(false);
  else if (accepted) t.acceptableAccepted++;
  else t.acceptableRejected++;
}

afterAll(() => {
  const lines = Object.entries(tallies).map(
    ([n, t]) =>
      `  ${n.padEnd(28)} valid ${String(t.valid).padStart(4)}  invalid ${String(t.invalid).padStart(4)}  acceptable ${t.acceptable} (accepted ${t.acceptableAccepted}, rejected ${t.acceptableRejected})`,
  );
  console.log(`Wycheproof vectors from ${DIR}:\n${lines.join('\n')}`);
});

describe('Wycheproof', () => {
  it('vector directory exists', () => {
    expect(existsSync(DIR), `Wycheproof vectors missing: looked in ${DIR} (set PARLEY_WYCHEPROOF_DIR)`).toBe(true);
  });

  it('AES-256-GCM, 96-bit IV, 128-bit tag: decrypt (and encrypt for valid vectors)', async () => {
    const name = 'AES-256-GCM';
    for (const g of load('aes_gcm_test.json')) {
      if (g.keySize !== 256 || g.ivSize !== 96 || g.tagSize !== 128) continue;
      for (const v of g.tests) {
        await check(name, v, async () => {
          const key = await importAesKey(hex(v.key));
          const iv = hex(v.iv);
          const aad = hex(v.aad);
          const sealed = new Uint8Array([...hex(v.ct), ...hex(v.tag)]);
          const pt = await aesGcmDecrypt(key, iv, sealed, aad);
          if (Buffer.compare(Buffer.from(pt), Buffer.from(hex(v.msg))) !== 0) return false;
          if (v.result === 'valid') {
            const again = await aesGcmEncrypt(key, iv, hex(v.msg), aad);
            expect(Buffer.from(again).toString('hex'), `AES-GCM encrypt tcId ${v.tcId}`).toBe(Buffer.from(sealed).toString('hex'));
          }
          return true;
        });
      }
    }
    expect(tally(name).valid).toBeGreaterThan(0);
    expect(tally(name).invalid).toBeGreaterThan(0);
  });

  it('RSA-OAEP-4096 SHA-256 / MGF1-SHA-256: unwrap; every failure is the same single UnwrapError', async () => {
    const name = 'RSA-OAEP-4096-SHA256';
    const failures = new Set<string>();
    for (const g of load('rsa_oaep_4096_sha256_mgf1sha256_test.json')) {
      expect(g.keySize).toBe(4096);
      expect(g.sha).toBe('SHA-256');
      expect(g.mgfSha).toBe('SHA-256');
      const key = importRsaOaepUnwrapKey(hex(g.privateKeyPkcs8));
      for (const v of g.tests) {
        await check(name, v, async () => {
          const label = hex(v.label);
          let pt: Uint8Array;
          try {
            pt = rsaOaepUnwrap(key, hex(v.ct), label.byteLength ? label : undefined);
          } catch (e) {
            // Anything distinguishable between failures would be a padding oracle: one class, one message.
            expect(e, `tcId ${v.tcId} error`).toBeInstanceOf(UnwrapError);
            failures.add(`${(e as Error).name}: ${(e as Error).message}`);
            throw e;
          }
          return Buffer.compare(Buffer.from(pt), Buffer.from(hex(v.msg))) === 0;
        });
      }
    }
    expect(tally(name).valid).toBeGreaterThan(0);
    expect(tally(name).invalid).toBeGreaterThan(0);
    expect([...failures]).toEqual([`UnwrapError: ${UNWRAP_FAILED_MESSAGE}`]);
  });

  it('Ed25519: verify', async () => {
    const name = 'Ed25519';
    for (const g of load('ed25519_test.json')) {
      const pk = hex((g.publicKey as { pk: string }).pk);
      for (const v of g.tests) {
        await check(name, v, () => ed25519Verify(pk, hex(v.sig), hex(v.msg)));
      }
    }
    expect(tally(name).valid).toBeGreaterThan(0);
    expect(tally(name).invalid).toBeGreaterThan(0);
  });

  it('PBKDF2-HMAC-SHA256 (backup KDF): derive', async () => {
    const name = 'PBKDF2-HMAC-SHA256';
    for (const g of load('pbkdf2_hmacsha256_test.json')) {
      for (const v of g.tests) {
        // Skip only the very slow counts (the KDF itself is the same call at any count).
        if (Number(v.iterationCount) > 100_000) continue;
        await check(name, v, async () => {
          const dk = await pbkdf2Sha256(hex(v.password), hex(v.salt), Number(v.iterationCount), Number(v.dkLen));
          return Buffer.from(dk).toString('hex') === v.dk;
        });
      }
    }
    expect(tally(name).valid).toBeGreaterThan(0);
  });
});
