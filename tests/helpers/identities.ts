/**
 * Test identities from a cache made once per machine. RSA-4096 generation costs ~2 s here, so tests that only
 * need *some* valid identities take them from `$PARLEY_FIXTURE_DIR` (default: <os tmp>/parley-fixture-identities),
 * generating and storing any that are missing. Real keys from the app's own generateIdentity(); nothing is mocked.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateIdentity, loadIdentity, type IdentityKeys } from '../../electron/core/crypto/index.js';
import type { IdentitySecret } from '../../electron/core/crypto/types.js';

export const FIXTURE_DIR = process.env.PARLEY_FIXTURE_DIR ?? path.join(os.tmpdir(), 'parley-fixture-identities');

/** The n-th cached test identity (0-based), generated on first use. Stable across runs on one machine. */
export async function fixtureIdentity(n: number): Promise<IdentitySecret> {
  mkdirSync(FIXTURE_DIR, { recursive: true });
  const file = path.join(FIXTURE_DIR, `identity-${n}.json`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as IdentitySecret;
  } catch {
    const id = await generateIdentity();
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(id));
    renameSync(tmp, file); // atomic: parallel workers never read a half-written file
    return id;
  }
}

/** `count` distinct cached identities starting at `from`. */
export async function fixtureIdentities(count: number, from = 0): Promise<IdentitySecret[]> {
  const out: IdentitySecret[] = [];
  for (let i = 0; i < count; i++) out.push(await fixtureIdentity(from + i));
  return out;
}

/** The loaded keys of cached identity `n` (what most receive-path tests need). */
export async function fixtureKeys(n: number): Promise<IdentityKeys> {
  return loadIdentity(await fixtureIdentity(n));
}
