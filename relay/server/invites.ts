/**
 * Invite codes for `--registration token`: the operator makes one (`npm run relay -- invite --data <dir>`, or the
 * embedded relay's createInvite()) and hands it to one person; a new registration must carry it.
 *
 * Each invite is one file `<data>/invites/<SHA-256 hex of the code>` holding its expiry: the code itself is never
 * stored, so reading the data folder does not yield usable invites. Redeeming deletes the file, and since unlink
 * succeeds once, an invite is single-use even if the relay and an `invite` command touch the folder at once.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { toB64u } from '../protocol/index.js';

/** Invite codes are this many random bytes, base64url (22 characters). */
export const INVITE_BYTES = 16;
export const DEFAULT_INVITE_TTL_MS = 7 * 24 * 3600 * 1000;

export interface Invite {
  code: string;
  expiresAt: number;
}

const dirOf = (dataDir: string) => path.join(dataDir, 'invites');
const fileOf = (dataDir: string, code: string) => path.join(dirOf(dataDir), createHash('sha256').update(code, 'utf8').digest('hex'));

function expiryOf(file: string): number | null {
  try {
    const v = (JSON.parse(readFileSync(file, 'utf8')) as { expiresAt?: unknown }).expiresAt;
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}

/** Delete expired (or unreadable) invites; returns how many. */
export function pruneInvites(dataDir: string, now = Date.now()): number {
  let pruned = 0;
  let names: string[];
  try {
    names = readdirSync(dirOf(dataDir));
  } catch {
    return 0;
  }
  for (const name of names) {
    if (!/^[0-9a-f]{64}$/.test(name)) continue;
    const file = path.join(dirOf(dataDir), name);
    const exp = expiryOf(file);
    if (exp === null || exp <= now) {
      try {
        unlinkSync(file);
        pruned++;
      } catch {
        /* redeemed meanwhile */
      }
    }
  }
  return pruned;
}

/** Make a single-use invite valid for ttlMs (default 7 days). */
export function createInvite(dataDir: string, o: { ttlMs?: number; now?: number } = {}): Invite {
  const ttlMs = o.ttlMs ?? DEFAULT_INVITE_TTL_MS;
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new TypeError('invite lifetime must be a positive number of milliseconds');
  const now = o.now ?? Date.now();
  mkdirSync(dirOf(dataDir), { recursive: true, mode: 0o700 });
  pruneInvites(dataDir, now);
  const code = toB64u(new Uint8Array(randomBytes(INVITE_BYTES)));
  const expiresAt = now + ttlMs;
  const file = fileOf(dataDir, code);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ expiresAt }) + '\n', { mode: 0o600 });
  renameSync(tmp, file);
  return { code, expiresAt };
}

/** Use up an invite: true once for a known, unexpired code; false for unknown, expired or already used codes. */
export function redeemInvite(dataDir: string, code: string, now = Date.now()): boolean {
  const file = fileOf(dataDir, code);
  const exp = expiryOf(file);
  if (exp === null) return false;
  try {
    unlinkSync(file); // single use: of concurrent redeemers only one unlink succeeds
  } catch {
    return false;
  }
  return exp > now;
}
