/**
 * Story (issue 10): a hostile relay process replays and mutates REAL sealed envelopes at Bob's client: ids reused
 * across keys and across contacts, duplicates inside one batch, 1 024-item pushes, random bytes in every field,
 * valid signatures over invalid payloads. After more than 10 000 of them the client is still up, has stored every
 * genuine message once, shows a bounded number of failure rows, and a legit message from another contact sent
 * afterwards is stored and shown within 5 s.
 *
 * The relay is a real socket.io server speaking the relay protocol (tests/helpers/fake-relay.ts); the client is the
 * real Messenger, encrypted SQLite, crypto workers and RelayClient. A few hundred envelopes are sealed once and
 * mutated/replayed from a seeded generator, so a failure is reproducible and the run stays short.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadIdentity, newMessageId, type IdentityKeys } from '../../electron/core/crypto/index.js';
import type { IdentitySecret } from '../../electron/core/crypto/types.js';
import { aesGcmEncryptSync, importAesKeySync, randomBytes, rsaOaepEncrypt } from '../../electron/core/crypto/primitives.js';
import { signLabeled } from '../../electron/core/crypto/identity.js';
import {
  LABELS,
  canonicalHeader,
  envelopeSignedParts,
  importWrappingKey,
  toB64u,
  type Envelope,
  type PublicIdentity,
} from '../../relay/protocol/index.js';
import { FAILURE_ROWS_PER_HOUR } from '../../electron/core/messenger/envelope-writer.js';
import { cleanupAll } from '../helpers/core.js';
import { FakeRelay, receiver, sealFrom, type Receiver } from '../helpers/fake-relay.js';
import { fixtureIdentity, fixtureKeys } from '../helpers/identities.js';

let alice: IdentityKeys;
let alice2: IdentityKeys;
let carol: IdentityKeys;
let dave: IdentityKeys;
let bobSecret: IdentitySecret;
let bobKeys: IdentityKeys;

beforeAll(async () => {
  alice = await fixtureKeys(0);
  bobSecret = await fixtureIdentity(1);
  bobKeys = await loadIdentity(bobSecret);
  carol = await fixtureKeys(2);
  alice2 = await fixtureKeys(3);
  dave = await fixtureKeys(5);
}, 120_000);

afterAll(cleanupAll);

/** Deterministic PRNG (mulberry32): the same mutations on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A correctly sealed and signed envelope whose plaintext is NOT a valid payload (wrong length prefix, bad JSON, a
 * payload of an unknown type...): the signature verifies, the key unwraps, AES-GCM opens, decoding fails.
 */
async function sealRawPlaintext(from: IdentityKeys, to: PublicIdentity & { fp: string }, plaintext: Uint8Array): Promise<Envelope> {
  const id = newMessageId();
  const rawKey = randomBytes(32);
  const iv = randomBytes(12);
  const header = { v: 1 as const, id, from: from.fingerprint, to: [to.fp] };
  const ct = aesGcmEncryptSync(importAesKeySync(rawKey), iv, plaintext, canonicalHeader(header));
  const wrapFor = new Map<string, PublicIdentity>([
    [to.fp, to],
    [from.fingerprint, from.public],
  ]);
  const keys = await Promise.all(
    [...wrapFor.keys()].sort().map(async (fp) => ({ to: fp, k: toB64u(await rsaOaepEncrypt(await importWrappingKey(wrapFor.get(fp)!), rawKey)) })),
  );
  const unsigned = { ...header, iv: toB64u(iv), ct: toB64u(ct), keys };
  const sig = await signLabeled(from, LABELS.envelope, ...envelopeSignedParts(unsigned));
  return { ...unsigned, sig: toB64u(sig) };
}

function invalidPlaintexts(rnd: () => number): Uint8Array[] {
  const enc = (s: string, lenPrefix?: number): Uint8Array => {
    const json = new TextEncoder().encode(s);
    const out = new Uint8Array(256);
    new DataView(out.buffer).setUint32(0, lenPrefix ?? json.byteLength, false);
    out.set(json.slice(0, 252), 4);
    return out;
  };
  const list = [
    enc('{"v":1,"type":"text","ts":1,"body":"x"}', 9999), // length prefix past the end
    enc('{"v":1,"type":"text","ts":"soon","body":"x"}'),
    enc('{"v":2,"type":"text","ts":1,"body":"x"}'),
    enc('{"v":1,"type":"shout","ts":1,"body":"x"}'),
    enc('{"v":1,"type":"receipt","ts":1,"ids":[]}'),
    enc('{"v":1,"type":"receipt","ts":1,"ids":["not-an-id"]}'),
    enc('{"v":1,"type":"text","ts":1,"body":"x","extra":true}'),
    enc('not json at all'),
    enc('{"__proto__":{"polluted":1},"v":1,"type":"text","ts":1,"body":"x"}'),
    new Uint8Array(100), // not a bucket size
    new Uint8Array(0),
  ];
  const random = Array.from({ length: 8 }, () => randomBytes(256 * (1 + Math.floor(rnd() * 3))));
  return [...list, ...random];
}

/** A random value of a random JSON type, or random bytes as base64url. */
function junk(rnd: () => number): unknown {
  const pick = Math.floor(rnd() * 9);
  const bytes = (n: number): string => toB64u(randomBytes(n));
  switch (pick) {
    case 0:
      return bytes(Math.floor(rnd() * 600));
    case 1:
      return Math.floor(rnd() * 2 ** 40) - 2 ** 39;
    case 2:
      return null;
    case 3:
      return { nested: bytes(16) };
    case 4:
      return [bytes(8), bytes(8)];
    case 5:
      return '';
    case 6:
      return bytes(32).replace(/[-_]/g, '!');
    case 7:
      return [{ to: bytes(32), k: bytes(512) }];
    default:
      return 'a'.repeat(Math.floor(rnd() * 70_000));
  }
}

const FIELDS = ['v', 'id', 'from', 'to', 'iv', 'ct', 'keys', 'sig'] as const;

/** Mutations of a real envelope: each field replaced by junk, fresh ids under old signatures, extra fields... */
function mutate(base: Envelope, rnd: () => number, unknownSender: () => string): unknown {
  const kind = Math.floor(rnd() * 12);
  if (kind < 8) {
    const f = FIELDS[kind]!;
    // Half of them keep a valid-looking header under a fresh id, so the open path (not just dedupe) runs.
    const fresh = rnd() < 0.5 && f !== 'id' && f !== 'from' ? { id: newMessageId() } : {};
    return { ...base, ...fresh, [f]: junk(rnd) };
  }
  if (kind === 8) return { ...base, id: newMessageId() }; // signature no longer covers the id
  if (kind === 9) return { ...base, from: unknownSender(), id: newMessageId() }; // a sender nobody knows
  if (kind === 10) return { ...base, extra: junk(rnd) };
  return junk(rnd); // not even an object
}

describe('a hostile relay cannot stall or flood the inbox', () => {
  test('>= 10 000 replayed and mutated real envelopes, then a legit message from another contact within 5 s', async () => {
    const relay = await FakeRelay.start();
    relay.publish('alice', alice);
    relay.publish('carol', carol);
    relay.publish('dave', dave);
    const bob: Receiver = await receiver(relay.url, bobSecret);
    await bob.messenger.addContact('alice');
    await bob.messenger.addContact('carol');
    await bob.messenger.addContact('dave');
    const rnd = prng(0x5eed);
    const unknownSenders = Array.from({ length: 20 }, () => Buffer.from(randomBytes(32)).toString('hex'));
    const unknownSender = (): string => unknownSenders[Math.floor(rnd() * unknownSenders.length)]!;
    const to = { ...bobKeys.public, fp: bobKeys.fingerprint };

    // Sealed once: genuine texts from Alice, the same ids from Carol (across contacts) and from Alice's next key
    // (across keys), and correctly signed envelopes over invalid payloads.
    const genuine = await Promise.all(Array.from({ length: 120 }, (_, i) => sealFrom(alice, bobKeys.public, `genuine ${i}`)));
    const sameIdCarol = await Promise.all(genuine.slice(0, 60).map((g, i) => sealFrom(carol, bobKeys.public, `carol ${i}`, g.id)));
    const sameIdNewKey = await Promise.all(genuine.slice(0, 60).map((g, i) => sealFrom(alice2, bobKeys.public, `new key ${i}`, g.id)));
    const invalidPayloads = await Promise.all(invalidPlaintexts(rnd).map((p) => sealRawPlaintext(alice, to, p)));
    const sealed = [...genuine, ...sameIdCarol, ...sameIdNewKey, ...invalidPayloads];

    // The relay now serves Alice's next key: her envelopes signed by it are held as a pending key change.
    relay.publish('alice', alice2);
    // Round 1: the genuine ones, each twice in one batch, their cross-contact and cross-key twins.
    let total = 0;
    const push = (items: unknown[]): void => {
      relay.deliver(items, { queue: false });
      total += items.length;
    };
    push([...genuine, ...genuine, ...sameIdCarol, ...sameIdNewKey]);
    // Then 10 pushes of 1 024: replays of everything sealed, mutations of it, duplicates inside each batch.
    for (let round = 0; round < 10; round++) {
      const batch: unknown[] = [];
      while (batch.length < 1024) {
        const base = sealed[Math.floor(rnd() * sealed.length)]!;
        const r = rnd();
        if (r < 0.25) batch.push(base, base); // replay, twice in the same batch
        else if (r < 0.35) batch.push(sameIdNewKey[Math.floor(rnd() * sameIdNewKey.length)]!);
        else if (r < 0.45) batch.push(invalidPayloads[Math.floor(rnd() * invalidPayloads.length)]!);
        else batch.push(mutate(base, rnd, unknownSender));
      }
      push(batch.slice(0, 1024));
    }
    expect(total).toBeGreaterThanOrEqual(10_000);

    // Every push has reached the client once this round trip answers (one ordered connection); let it work through.
    await bob.client.fetch(1);
    await bob.messenger.idle();
    expect(bob.client.online).toBe(true);

    // Bob accepts Alice's new key: her held envelopes reuse ids of her old key's messages. They are quarantined;
    // the accept goes through. Then her new key reuses old ids live, inside another 1 024-item push.
    expect(bob.messenger.listContacts().find((c) => c.username === 'alice')).toMatchObject({ keyChangePending: true });
    await bob.messenger.acceptKeyChange('alice', alice2.fingerprint);
    expect(bob.messenger.diagnostics().quarantined).toBeGreaterThanOrEqual(sameIdNewKey.length);
    const liveCollide = await Promise.all(genuine.slice(60, 80).map((g, i) => sealFrom(alice2, bobKeys.public, `live collide ${i}`, g.id)));
    const last: unknown[] = [];
    while (last.length < 1024) {
      const r = rnd();
      if (r < 0.1) last.push(liveCollide[Math.floor(rnd() * liveCollide.length)]!);
      else last.push(mutate(sealed[Math.floor(rnd() * sealed.length)]!, rnd, unknownSender));
    }
    push(last.slice(0, 1024));
    await bob.client.fetch(1);
    await bob.messenger.idle();
    expect(total).toBeGreaterThanOrEqual(10_000);
    expect(bob.messenger.diagnostics().quarantined).toBeGreaterThanOrEqual(sameIdNewKey.length + 10);

    // A legit message from another contact, sent now, is stored and shown within 5 s.
    const legit = await sealFrom(dave, bobKeys.public, 'are you still there?');
    const shown = new Promise<number>((resolve) => {
      const t0 = Date.now();
      const off = bob.messenger.on('message-received', (m) => {
        if (m.id === legit.id) {
          off();
          resolve(Date.now() - t0);
        }
      });
    });
    relay.deliver([legit], { queue: false });
    const ms = await Promise.race([shown, new Promise<number>((_, reject) => setTimeout(() => reject(new Error('legit message not shown within 5 s')), 5000))]);
    expect(ms).toBeLessThan(5000);
    expect(bob.messenger.loadMessages('dave').messages.map((m) => m.body)).toEqual(['are you still there?']);

    // Every genuine message exactly once, in order; Carol's same-id messages are hers; failure rows are bounded.
    const aliceRows = bob.messenger.loadMessages('alice', null, 500).messages;
    const texts = aliceRows.filter((m) => m.state === 'delivered').map((m) => m.body);
    expect(texts).toEqual(genuine.map((_, i) => `genuine ${i}`));
    const failures = aliceRows.filter((m) => m.state === 'undecryptable');
    // One hour window, or two if the run straddles an hour boundary.
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.length).toBeLessThanOrEqual(2 * (FAILURE_ROWS_PER_HOUR + 1));
    const carolRows = bob.messenger.loadMessages('carol', null, 500).messages;
    expect(carolRows.filter((m) => m.state === 'delivered').map((m) => m.body)).toEqual(sameIdCarol.map((_, i) => `carol ${i}`));
    expect(carolRows.filter((m) => m.state === 'undecryptable').length).toBeLessThanOrEqual(2 * (FAILURE_ROWS_PER_HOUR + 1));
    expect(bob.messenger.listContacts().find((c) => c.username === 'alice')).toMatchObject({ fingerprint: alice2.fingerprint, keyChangePending: false });
    const d = bob.messenger.diagnostics();
    expect(d.failedCommits).toBe(0);
    expect(d.collapsedFailures).toBeGreaterThan(100);
    console.log(`hostile relay: ${total} envelopes pushed, legit shown after ${ms} ms, diagnostics ${JSON.stringify(d)}`);
  }, 120_000);
});
