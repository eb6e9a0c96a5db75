/**
 * Invite codes for an invite-only relay (relay/server/invites.ts), on a real data folder: a code is 22 base64url
 * characters, stored only as the SHA-256 of itself (mode 0600 in a 0700 folder) with its expiry; it redeems once,
 * before its expiry and not at it; expired, unreadable or malformed invite files are pruned, files of other names
 * are left alone; a lifetime must be a positive number. The relay's end-to-end use (register with an invite) is in
 * relay-server-session.test.ts and relay-cli.test.ts.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createInvite, DEFAULT_INVITE_TTL_MS, pruneInvites, redeemInvite } from '../../relay/server/invites.js';
import { cleanupAll, tmpDir } from '../helpers/core.js';

afterEach(cleanupAll);

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const NOW = 1_800_000_000_000;

describe('invites', () => {
  it('a code is stored only as its hash, with its expiry, private to the relay', () => {
    const dir = tmpDir('invites');
    const invite = createInvite(dir, { now: NOW });
    expect(invite.code).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(invite.expiresAt).toBe(NOW + DEFAULT_INVITE_TTL_MS);
    expect(DEFAULT_INVITE_TTL_MS).toBe(7 * 24 * 3600 * 1000);
    const folder = path.join(dir, 'invites');
    expect(readdirSync(folder)).toEqual([sha256(invite.code)]);
    expect(readFileSync(path.join(folder, sha256(invite.code)), 'utf8')).toBe(`{"expiresAt":${invite.expiresAt}}\n`);
    expect(statSync(folder).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(folder, sha256(invite.code))).mode & 0o777).toBe(0o600);
    expect(createInvite(dir, { now: NOW }).code).not.toBe(invite.code);
  });

  it('redeems once, before its expiry and not at it; an unknown code never', () => {
    const dir = tmpDir('invites');
    const a = createInvite(dir, { now: NOW, ttlMs: 1_000 });
    expect(a.expiresAt).toBe(NOW + 1_000);
    expect(redeemInvite(dir, a.code, NOW + 999)).toBe(true);
    expect(redeemInvite(dir, a.code, NOW + 999)).toBe(false); // used up
    const b = createInvite(dir, { now: NOW, ttlMs: 1_000 });
    expect(redeemInvite(dir, b.code, NOW + 1_000)).toBe(false); // expired at its expiry
    expect(redeemInvite(dir, b.code, NOW)).toBe(false); // and the expired file is gone
    expect(redeemInvite(dir, 'A'.repeat(22), NOW)).toBe(false);
    expect(redeemInvite(tmpDir('no-invites-folder'), a.code, NOW)).toBe(false);
  });

  it('prunes expired, unreadable and malformed invites; keeps live ones and files of other names', () => {
    const dir = tmpDir('invites');
    const live = createInvite(dir, { now: NOW, ttlMs: 10_000 });
    const soon = createInvite(dir, { now: NOW, ttlMs: 1_000 });
    const folder = path.join(dir, 'invites');
    writeFileSync(path.join(folder, sha256('not json')), 'not json');
    writeFileSync(path.join(folder, sha256('no expiry')), JSON.stringify({ other: 1 }));
    writeFileSync(path.join(folder, sha256('string expiry')), JSON.stringify({ expiresAt: String(NOW + 10_000) }));
    // Not invite names: left alone, whatever they hold (an `invite` command's temporary file is one).
    const others = ['README', `${sha256('in progress')}.123.tmp`, `old-${sha256('backup')}`];
    for (const name of others) writeFileSync(path.join(folder, name), 'not an invite');
    mkdirSync(path.join(folder, 'x'.repeat(64))); // not hex
    expect(pruneInvites(dir, NOW + 999)).toBe(3);
    expect(pruneInvites(dir, NOW + 1_000)).toBe(1); // `soon` expires exactly now
    expect(readdirSync(folder).sort()).toEqual([sha256(live.code), ...others, 'x'.repeat(64)].sort());
    expect(redeemInvite(dir, soon.code, NOW)).toBe(false);
    expect(redeemInvite(dir, live.code, NOW + 1_000)).toBe(true);
    expect(pruneInvites(tmpDir('no-invites-folder'), NOW)).toBe(0);
  });

  it('making an invite prunes the expired ones first', () => {
    const dir = tmpDir('invites');
    const old = createInvite(dir, { now: NOW, ttlMs: 1_000 });
    const fresh = createInvite(dir, { now: NOW + 5_000 });
    expect(readdirSync(path.join(dir, 'invites'))).toEqual([sha256(fresh.code)]);
    expect(redeemInvite(dir, old.code, NOW)).toBe(false);
  });

  it('a lifetime must be a positive, finite number of milliseconds', () => {
    const dir = tmpDir('invites');
    for (const ttlMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => createInvite(dir, { ttlMs })).toThrow(new TypeError('invite lifetime must be a positive number of milliseconds'));
    }
    expect(createInvite(dir, { ttlMs: 1 }).expiresAt).toBeGreaterThan(0);
  });
});
