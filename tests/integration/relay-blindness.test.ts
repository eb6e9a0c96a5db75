/**
 * Blindness: after an exchange (delivered, acknowledged and still-queued envelopes, a group message) the relay's data
 * folder — every byte of every file, WAL and SHM included — holds none of the plaintexts and none of the clients'
 * private-key material. A positive control proves the scan finds what is there.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromB64u } from '../../relay/protocol/index.js';
import { login, openText, relayStoreFiles, relayStoreKind, sealText, spawnRelay, removeDir, type Party, type SpawnedRelay, makeParties } from '../helpers/relay.js';

let relay: SpawnedRelay;
let parties: Party[];

beforeAll(async () => {
  parties = await makeParties('alice', 'bob', 'carol');
  relay = await spawnRelay();
});

afterAll(async () => {
  await relay?.kill9();
  if (relay) removeDir(relay.dataDir);
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** Byte patterns to look for: each secret as UTF-8, UTF-16LE and (for binary) its raw bytes and base64url/base64. */
function needles(label: string, value: string | Uint8Array): Array<{ label: string; bytes: Buffer }> {
  if (typeof value === 'string') {
    return [
      { label: `${label} utf8`, bytes: Buffer.from(value, 'utf8') },
      { label: `${label} utf16le`, bytes: Buffer.from(value, 'utf16le') },
      { label: `${label} base64url`, bytes: Buffer.from(Buffer.from(value, 'utf8').toString('base64url')) },
    ];
  }
  const b = Buffer.from(value);
  return [
    { label: `${label} raw`, bytes: b },
    { label: `${label} base64url`, bytes: Buffer.from(b.toString('base64url')) },
    { label: `${label} base64`, bytes: Buffer.from(b.toString('base64')) },
    { label: `${label} hex`, bytes: Buffer.from(b.toString('hex')) },
  ];
}

describe('relay blindness', () => {
  it('stores no plaintext and no client private key', async () => {
    const [alice, bob, carol] = parties as [Party, Party, Party];
    const marker = () => `PLAINTEXT-${randomBytes(12).toString('hex')}`;
    const texts: string[] = [];
    const a = await login(relay.url, relay.fingerprint, alice);
    const b = await login(relay.url, relay.fingerprint, bob);
    const c0 = await login(relay.url, relay.fingerprint, carol);
    c0.close(); // carol registered, offline: her envelopes stay queued
    const sent = [];
    for (let i = 0; i < 10; i++) {
      const t = `${marker()} secret message ${i} ${'ünïcødé ✓ '.repeat(i)}`;
      texts.push(t);
      const env = await sealText(alice, i % 3 === 0 ? [bob, carol] : i % 3 === 1 ? [bob] : [carol], t);
      expect((await a.send(env)).ok).toBe(true);
      sent.push(env);
    }
    const long = `${marker()} ${'long body '.repeat(3000)}`;
    texts.push(long);
    const envLong = await sealText(bob, [alice], long);
    expect((await b.send(envLong)).ok).toBe(true);
    await a.until(() => a.deliveries.length === 1, 10_000, 'alice delivery');
    expect(await openText(alice, bob, a.deliveries[0]!.envelope)).toBe(long);
    await b.until(() => b.deliveries.length === 7, 10_000, 'bob deliveries');
    // bob acknowledges half of his: the rest stays queued next to carol's
    const half = b.deliveries.slice(0, 3).map((d) => ({ from: d.envelope.from, id: d.envelope.id }));
    expect((await b.ack(half)).ok).toBe(true);
    a.close();
    b.close();
    await new Promise((r) => setTimeout(r, 200));

    // kill -9 so the WAL and SHM files stay as they are on disk
    await relay.kill9();
    // SQLite: the queue is in the data folder; PostgreSQL: in the server's WAL and the relay database's files
    const files = [...filesUnder(relay.dataDir), ...(await relayStoreFiles(relay.dataDir))];
    if (relayStoreKind() === 'sqlite') {
      expect(files.map((f) => path.basename(f))).toEqual(expect.arrayContaining(['relay.sqlite', 'relay.sqlite-wal', 'relay.sqlite-shm']));
    }
    const blobs = files.map((f) => ({ f, data: readFileSync(f) }));
    const total = blobs.reduce((n, x) => n + x.data.byteLength, 0);
    expect(total).toBeGreaterThan(10_000);

    const secrets = [
      ...texts.flatMap((t, i) => [...needles(`plaintext ${i}`, t), ...needles(`plaintext ${i} prefix`, t.slice(0, 33))]),
      ...parties.flatMap((p) => {
        const enc = fromB64u(p.secret.encPrivate);
        const sig = fromB64u(p.secret.sigPrivate);
        return [
          ...needles(`${p.username} encPrivate`, p.secret.encPrivate),
          ...needles(`${p.username} sigPrivate`, p.secret.sigPrivate),
          ...needles(`${p.username} RSA private DER slice`, enc.slice(300, 364)),
          ...needles(`${p.username} RSA private DER tail`, enc.slice(enc.byteLength - 64)),
          ...needles(`${p.username} Ed25519 seed`, sig.slice(sig.byteLength - 32)),
        ];
      }),
    ];
    const found = secrets.filter((s) => blobs.some((b) => b.data.includes(s.bytes))).map((s) => s.label);
    expect(found).toEqual([]);

    // positive control: the scan does see what the relay legitimately stores
    const controls = [
      ...needles('ciphertext of a queued envelope', sent[2]!.ct.slice(0, 48)),
      ...needles('bob public signing key', bob.identity.sig),
      ...needles('username carol', 'carol'),
    ].filter((s) => s.label.endsWith('utf8'));
    for (const s of controls) expect(blobs.some((b) => b.data.includes(s.bytes)), s.label).toBe(true);
    console.info(`blindness: scanned ${files.length} files, ${total} bytes, ${secrets.length} patterns`);
  });
});
