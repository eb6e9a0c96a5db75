/**
 * Story: someone copies Alice's and Bob's profile folders and the relay's data folder after they talked. Nothing in
 * those bytes reveals a word they wrote, nor a private key or the history database key: with the keychain vault
 * the private keys live only in the OS keychain (a real GNOME keyring here), with the file vault only inside the
 * passphrase-encrypted file.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ParleyService } from '../../electron/core/service.js';
import { openVault } from '../../electron/core/vault/index.js';
import { fromB64u } from '../../relay/protocol/index.js';
import type { IdentitySecret } from '../../electron/core/crypto/index.js';
import {
  PASSPHRASE,
  cleanupAll,
  collect,
  fixtureService,
  requireDbusSession,
  startTestRelay,
  tmpDir,
  waitUntil,
  type TestRelay,
} from '../helpers/core.js';
import { fixtureIdentity } from '../helpers/identities.js';

const MARKER = `secret-plaintext-${Date.now().toString(36)}-do-not-leak`;

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Byte patterns that must never appear on disk, with a name for the failure message. */
function needles(secret: IdentitySecret, dbKey: string): Array<[string, Buffer]> {
  const enc = Buffer.from(fromB64u(secret.encPrivate));
  const sig = Buffer.from(fromB64u(secret.sigPrivate));
  return [
    ['RSA private key (PKCS#8 DER)', enc],
    ['RSA private key (base64url)', Buffer.from(secret.encPrivate)],
    ['RSA private key (base64)', Buffer.from(enc.toString('base64'))],
    ['Ed25519 private key (PKCS#8 DER)', sig],
    ['Ed25519 seed', sig.subarray(sig.length - 32)],
    ['Ed25519 private key (base64url)', Buffer.from(secret.sigPrivate)],
    ['history DB key (hex)', Buffer.from(dbKey)],
    ['history DB key (raw)', Buffer.from(dbKey, 'hex')],
  ];
}

function scan(dirs: string[], pats: Array<[string, Buffer]>): string[] {
  const hits: string[] = [];
  for (const dir of dirs) {
    for (const f of filesUnder(dir)) {
      if (statSync(f).size === 0) continue;
      const bytes = readFileSync(f);
      for (const [name, p] of pats) if (bytes.includes(p)) hits.push(`${name} in ${f}`);
    }
  }
  return hits;
}

let relay: TestRelay;
let alice: ParleyService;
let bob: ParleyService;
let carol: ParleyService;

beforeAll(async () => {
  requireDbusSession();
  relay = await startTestRelay();
  alice = await fixtureService(0, 'alice', relay.url, { vault: 'keychain' });
  bob = await fixtureService(1, 'bob', relay.url, { vault: 'keychain' });
  carol = await fixtureService(4, 'carol', relay.url, { vault: 'file' });
  await Promise.all([alice.waitOnline(), bob.waitOnline(), carol.waitOnline()]);
  await alice.addContact({ username: 'bob' });
  await carol.addContact({ username: 'bob' });
  const got = collect(bob, 'message-received');
  await alice.sendMessage({ conversation: 'd:bob', text: `${MARKER} from alice` });
  await carol.sendMessage({ conversation: 'd:bob', text: `${MARKER} from carol` });
  await waitUntil(() => got.length === 2, 20_000, 'bob receives both');
  await bob.sendMessage({ conversation: 'd:alice', text: `${MARKER} reply` });
  const aGot = collect(alice, 'message-received');
  await waitUntil(() => aGot.length === 1, 20_000, 'alice receives the reply');
}, 120_000);

afterAll(cleanupAll);

describe('byte scans of everything on disk', () => {
  test('no plaintext, no private key, no database key in the profile folders or the relay data', async () => {
    const dirs = [alice.profile.dir, bob.profile.dir, carol.profile.dir, relay.dataDir];
    const aliceVault = await openVault(alice.profile, { kind: 'keychain' }).load();
    const bobVault = await openVault(bob.profile, { kind: 'keychain' }).load();
    const carolVault = await openVault(carol.profile, { kind: 'file', passphrase: PASSPHRASE }).load();
    // Scan while everything is live (WAL files included), then again after a clean shutdown.
    const pats: Array<[string, Buffer]> = [
      ['message plaintext (UTF-8)', Buffer.from(MARKER, 'utf8')],
      ['message plaintext (UTF-16)', Buffer.from(MARKER, 'utf16le')],
      ...needles(await fixtureIdentity(0), aliceVault.dbKey),
      ...needles(await fixtureIdentity(1), bobVault.dbKey),
      ...needles(await fixtureIdentity(4), carolVault.dbKey),
    ];
    // Positive control: the scanner does find these patterns when they are there.
    const control = tmpDir('scan-control');
    writeFileSync(path.join(control, 'leak.bin'), Buffer.concat([Buffer.from('xx'), pats[0]![1], pats[4]![1]]));
    expect(scan([control], pats)).toHaveLength(2);

    expect(scan(dirs, pats)).toEqual([]);
    for (const s of [alice, bob, carol]) await s.close();
    await relay.close();
    expect(scan(dirs, pats)).toEqual([]);
  });

  test('the keychain holds the private keys (and the file vault keeps them only encrypted)', async () => {
    const a = await openVault(alice.profile, { kind: 'keychain' }).load();
    expect(a.identity).toEqual(await fixtureIdentity(0));
    expect(a.dbKey).toMatch(/^[0-9a-f]{64}$/);
    const files = filesUnder(carol.profile.dir).map((f) => path.basename(f));
    expect(files).toContain('identity.vault');
  });
});
