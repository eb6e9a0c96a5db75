/**
 * Real OS keychain (GNOME keyring over a private D-Bus session). Run with:
 *   dbus-run-session -- bash -c 'echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null; \
 *     npx vitest run tests/integration/vault-keychain.test.ts'
 * (`npm test` starts such a session itself). Without a reachable keyring these tests FAIL, they do not skip.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  KEYCHAIN_SERVICE,
  KeychainVault,
  VaultError,
  newDbKey,
  openVault,
  probeKeychain,
} from '../../electron/core/vault/index.js';
import { loadKeytar } from '../../electron/core/native.js';
import { openProfile, updateProfile, type Profile } from '../../electron/core/profile.js';
import { openHistoryStore } from '../../electron/core/store/index.js';
import { fromB64u } from '../../relay/protocol/index.js';
import type { IdentitySecret } from '../../electron/core/crypto/types.js';
import { fixtureIdentities } from '../helpers/identities.js';

const HOW_TO_RUN =
  "no reachable keyring. Run inside a private D-Bus session: dbus-run-session -- bash -c 'echo -n pw | " +
  "gnome-keyring-daemon --unlock --components=secrets >/dev/null; npx vitest run tests/integration/vault-keychain.test.ts' " +
  '(npm test does this itself)';

let root: string;
let alice: IdentitySecret;
let bob: IdentitySecret;
const created: Profile[] = [];

function profile(name: string): Profile {
  const p = openProfile(path.join(root, name));
  created.push(p);
  return p;
}

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'parley-vault-kc-'));
  [alice, bob] = (await fixtureIdentities(2)) as [IdentitySecret, IdentitySecret];
});
afterAll(async () => {
  // never leave test entries in the keyring
  for (const p of created) await new KeychainVault(p.id).remove().catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
});

describe('keychain vault (real GNOME keyring)', () => {
  it('the keychain is reachable', async () => {
    const status = await probeKeychain();
    if (!status.available) throw new Error(`${HOW_TO_RUN}. probeKeychain said: ${status.reason}`);
    expect(status.backend).toMatch(/Secret Service|Keychain|Credential/);
  });

  it('parallel probes do not disturb each other', async () => {
    const all = await Promise.all([probeKeychain(), probeKeychain(), probeKeychain(), probeKeychain()]);
    expect(all.map((x) => x.available)).toEqual([true, true, true, true]);
  });

  it('round-trips two profiles side by side without collision (service "Parley", account = profile id)', async () => {
    const pa = profile('alice');
    const pb = profile('bob');
    const va = openVault(pa, { kind: 'keychain' });
    const vb = openVault(pb, { kind: 'keychain' });
    expect(va.location).toBe(`OS keychain (Parley / ${pa.id})`);
    expect(await va.exists()).toBe(false);
    const ka = newDbKey();
    const kb = newDbKey();
    await va.save({ identity: alice, dbKey: ka });
    await vb.save({ identity: bob, dbKey: kb });
    // fresh vault objects, as after a restart
    expect(await openVault(pa, { kind: 'keychain' }).load()).toEqual({ identity: alice, dbKey: ka });
    expect(await openVault(pb, { kind: 'keychain' }).load()).toEqual({ identity: bob, dbKey: kb });
    // exactly one entry per profile under the documented service/account
    const raw = await loadKeytar().getPassword(KEYCHAIN_SERVICE, pa.id);
    expect(JSON.parse(raw!)).toEqual({ identity: alice, dbKey: ka });
    await va.remove();
    expect(await va.exists()).toBe(false);
    const e = await va.load().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(VaultError);
    expect((e as VaultError).code).toBe('NOT_FOUND');
    expect((await vb.load()).identity.public).toEqual(bob.public); // bob untouched
  });

  it('a damaged keychain entry is CORRUPT, not a crash', async () => {
    const p = profile('damaged');
    await loadKeytar().setPassword(KEYCHAIN_SERVICE, p.id, '{"identity": 1');
    const e1 = await openVault(p, { kind: 'keychain' }).load().catch((x: unknown) => x);
    expect((e1 as VaultError).code).toBe('CORRUPT');
    await loadKeytar().setPassword(KEYCHAIN_SERVICE, p.id, JSON.stringify({ identity: alice, dbKey: 'short' }));
    const e2 = await openVault(p, { kind: 'keychain' }).load().catch((x: unknown) => x);
    expect((e2 as VaultError).code).toBe('CORRUPT');
    expect((e2 as VaultError).message).not.toContain(alice.sigPrivate);
  });

  it('end to end: keys in the keychain, encrypted history in the profile folder, no secret or plaintext on disk', async () => {
    const p = profile('e2e');
    const dbKey = newDbKey();
    await openVault(p, { kind: 'keychain' }).save({ identity: alice, dbKey });
    updateProfile(p, { vault: 'keychain', username: 'alice' });
    const body = 'meet me at the keychain cafe 7f3a';
    let store = openHistoryStore({ path: p.paths.db, key: dbKey });
    store.addContact({ username: 'bob', identity: bob.public, fingerprint: 'b'.repeat(64) });
    store.insertMessage({ id: 'm1', contact: 'bob', direction: 'out', senderFingerprint: null, body, sentAt: 1, state: 'sent' });
    store.close();

    const loaded = await openVault(p, { kind: 'keychain' }).load();
    store = openHistoryStore({ path: p.paths.db, key: loaded.dbKey });
    expect(store.loadPage('bob').messages[0]?.body).toBe(body);
    store.close();

    const enc = Buffer.from(fromB64u(alice.encPrivate));
    const needles: Array<[string, Buffer]> = [
      ['message body', Buffer.from(body)],
      ['encPrivate', Buffer.from(alice.encPrivate.slice(0, 64))],
      ['sigPrivate', Buffer.from(alice.sigPrivate)],
      ['RSA private DER', enc.subarray(200, 264)],
      ['dbKey hex', Buffer.from(dbKey)],
      ['dbKey raw', Buffer.from(dbKey, 'hex')],
    ];
    const files = readdirSync(p.dir).map((f) => path.join(p.dir, f)).filter((f) => statSync(f).isFile());
    expect(files.length).toBeGreaterThan(1);
    for (const f of files) {
      const bytes = readFileSync(f);
      for (const [what, n] of needles) expect(bytes.includes(n), `${what} found in ${f}`).toBe(false);
    }
  });
});
