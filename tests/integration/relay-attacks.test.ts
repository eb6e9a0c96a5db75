/**
 * Attacks against a real relay process: each is refused with its stable code, and the relay still serves a legitimate
 * exchange afterwards.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ERROR_CODES,
  LABELS,
  envelopeSignedParts,
  rotationInput,
  toB64u,
  type Ack,
} from '../../relay/protocol/index.js';
import { signLabeled } from '../../electron/core/crypto/index.js';
import { fixtureIdentities } from '../helpers/identities.js';
import { login, makeParty, openText, sealText, spawnRelay, RelayClient, removeDir, type Party, type SpawnedRelay } from '../helpers/relay.js';

let relay: SpawnedRelay;
let alice: Party;
let bob: Party;
let mallory: Party;
let alice2: Party; // alice's next key (rotation)
let ghost: Party; // never registered

const code = (r: Ack) => (r.ok ? 'OK' : r.error.code);

async function metrics(): Promise<{ rejects: Record<string, number>; rejectsTotal: number; abuseDisconnects: number }> {
  return (await (await fetch(`${relay.url}/metrics`)).json()) as never;
}

/** A legitimate alice → bob exchange must still work. */
async function legitExchange(text: string, from = alice): Promise<void> {
  const a = await login(relay.url, relay.fingerprint, from);
  const b = await login(relay.url, relay.fingerprint, bob);
  const env = await sealText(from, [bob], text);
  expect(await a.send(env)).toMatchObject({ ok: true, duplicate: false });
  await b.until(() => b.deliveries.some((d) => d.envelope.id === env.id), 10_000, 'legit delivery');
  const got = b.deliveries.find((d) => d.envelope.id === env.id)!;
  expect(await openText(bob, from, got.envelope)).toBe(text);
  expect(await b.ack([{ from: from.fingerprint, id: env.id }])).toMatchObject({ ok: true });
  a.close();
  b.close();
}

beforeAll(async () => {
  const ids = await fixtureIdentities(5, 0);
  [alice, bob, mallory] = await Promise.all([makeParty(ids[0]!, 'alice'), makeParty(ids[1]!, 'bob'), makeParty(ids[2]!, 'mallory')]);
  alice2 = await makeParty(ids[3]!, 'alice');
  ghost = await makeParty(ids[4]!, 'ghost');
  // newSendFactor 1: the flood test below is about the send bucket itself, not the smaller one of new identities.
  relay = await spawnRelay({ limits: { sendBurst: 20, sendPerSec: 10, connBurst: 100, connPerSec: 20, newSendFactor: 1 } });
  const c = await RelayClient.connect(relay.url);
  for (const p of [alice, bob, mallory]) expect((await c.register(p)).ok).toBe(true);
  c.close();
});

afterAll(async () => {
  await relay?.stop();
  if (relay) removeDir(relay.dataDir);
});

describe('relay attacks', () => {
  it('refuses send, fetch and ack before authentication', async () => {
    const c = await RelayClient.connect(relay.url);
    const env = await sealText(alice, [bob], 'unauthenticated');
    expect(code(await c.send(env))).toBe('UNAUTHENTICATED');
    expect(code(await c.fetch(bob.fingerprint))).toBe('UNAUTHENTICATED');
    expect(code(await c.ack([{ from: alice.fingerprint, id: env.id }]))).toBe('UNAUTHENTICATED');
    // public events still work before auth
    const l = await c.call('lookup', { username: 'bob' });
    expect(l).toMatchObject({ ok: true, fingerprint: bob.fingerprint, identity: bob.identity });
    expect(await c.call('lookup', { fingerprint: alice.fingerprint })).toMatchObject({ ok: true, username: 'alice' });
    expect(code(await c.call('lookup', { username: 'nobody' }))).toBe('NOT_FOUND');
    c.close();
    await legitExchange('after unauthenticated attempts');
  });

  it("refuses claiming another's username; allows a rotation signed by the current key", async () => {
    const c = await RelayClient.connect(relay.url);
    // mallory's identity under alice's name
    expect(code(await c.register({ ...mallory, username: 'alice' }))).toBe('USERNAME_TAKEN');
    // a rotation "signed" by mallory's key, not alice's
    const forged = await signLabeled(mallory.keys, LABELS.rotate, ...rotationInput('alice', alice.fingerprint, mallory.identity));
    expect(code(await c.register({ ...mallory, username: 'alice' }, { rotation: { sig: toB64u(forged) } }))).toBe('BAD_SIGNATURE');
    // an identity already registered under another name
    expect(code(await c.register({ ...bob, username: 'mallory2' }))).toBe('IDENTITY_TAKEN');
    // an identity whose RSA key is not a 4096-bit key
    const weird = { ...mallory.identity, enc: toB64u(new Uint8Array(300)) };
    expect(code(await c.call('register-challenge', { identity: weird }))).toBe('BAD_REQUEST');
    const dummyProof = { sig: toB64u(new Uint8Array(64)), key: toB64u(new Uint8Array(32)) };
    expect(code(await c.call('register', { username: 'weird', identity: weird, proof: dummyProof }))).toBe('BAD_REQUEST');
    expect(await c.call('lookup', { username: 'alice' })).toMatchObject({ ok: true, fingerprint: alice.fingerprint, rotation: null });
    // alice rotates to a new key with a valid signature by the current key
    const sig = await signLabeled(alice.keys, LABELS.rotate, ...rotationInput('alice', alice.fingerprint, alice2.identity));
    expect(await c.register(alice2, { rotation: { sig: toB64u(sig) } })).toEqual({
      ok: true,
      fingerprint: alice2.fingerprint,
      rotated: true,
    });
    // the relay keeps the rotation signature and serves it, so contacts can check the old key signed the change
    expect(await c.call('lookup', { username: 'alice' })).toMatchObject({
      ok: true,
      fingerprint: alice2.fingerprint,
      rotation: { from: alice.fingerprint, sig: toB64u(sig) },
    });
    expect(await c.call('lookup', { fingerprint: alice2.fingerprint })).toMatchObject({ rotation: { from: alice.fingerprint } });
    // the old key can no longer log in
    const old = await RelayClient.connect(relay.url);
    expect(code(await old.auth(alice, relay.fingerprint))).toBe('AUTH_FAILED');
    old.close();
    await legitExchange('after username attacks, with the rotated key', alice2);
    // rotate back so the other tests keep using `alice`
    const back = await signLabeled(alice2.keys, LABELS.rotate, ...rotationInput('alice', alice2.fingerprint, alice.identity));
    expect(await c.register(alice, { rotation: { sig: toB64u(back) } })).toMatchObject({
      ok: true,
      rotated: true,
    });
    c.close();
  });

  it('refuses forged and replayed challenge responses', async () => {
    // forged: mallory claims alice's fingerprint but signs with her own key
    const m = await RelayClient.connect(relay.url);
    const forged = await m.authPayload(mallory, relay.fingerprint);
    expect(code(await m.call('auth', { ...forged, fingerprint: alice.fingerprint }))).toBe('AUTH_FAILED');
    // a response naming another relay's fingerprint
    await m.until(() => m.challenges.length >= 2, 5000, 'fresh challenge');
    expect(code(await m.call('auth', await m.authPayload(mallory, 'ab'.repeat(32))))).toBe('AUTH_FAILED');
    m.close();

    // replay: a response captured from alice's successful login, replayed on another connection
    const a = await RelayClient.connect(relay.url);
    const good = await a.authPayload(alice, relay.fingerprint);
    expect(await a.call('auth', good)).toMatchObject({ ok: true, fingerprint: alice.fingerprint });
    const r = await RelayClient.connect(relay.url);
    expect(code(await r.call('auth', good))).toBe('AUTH_FAILED');
    // and replayed on the same connection after a failure consumed the nonce
    const s = await RelayClient.connect(relay.url);
    const once = await s.authPayload(alice, relay.fingerprint);
    expect(code(await s.call('auth', { ...once, clientNonce: toB64u(new Uint8Array(32)) }))).toBe('AUTH_FAILED');
    expect(code(await s.call('auth', once))).toBe('AUTH_FAILED'); // signed over the consumed nonce
    expect(code(await r.send(await sealText(alice, [bob], 'nope')))).toBe('UNAUTHENTICATED');
    expect(a.connected).toBe(true);
    a.close();
    r.close();
    s.close();
    await legitExchange('after forged and replayed auth');
  });

  it("refuses reading another user's queue, acking someone else's envelope, and sending as someone else", async () => {
    const a = await login(relay.url, relay.fingerprint, alice);
    const env = await sealText(alice, [bob], 'for bob only');
    expect((await a.send(env)).ok).toBe(true);
    a.close();
    const m = await login(relay.url, relay.fingerprint, mallory);
    expect(code(await m.fetch(bob.fingerprint))).toBe('FORBIDDEN');
    expect(code(await m.ack([{ from: alice.fingerprint, id: env.id }]))).toBe('FORBIDDEN');
    // an envelope claiming to be from alice
    expect(code(await m.send(env))).toBe('FORBIDDEN');
    // an envelope mallory seals and signs herself with `from` set to alice (her own wrapped copy re-addressed to
    // alice's fingerprint so the header is consistent): the signature is valid under mallory's authenticated key,
    // so only the relay's check that `from` is the authenticated identity can refuse it
    const own = await sealText(mallory, [bob], 'I am alice');
    const { sig: _ownSig, ...ownUnsigned } = own;
    const keys = ownUnsigned.keys.map((k) => (k.to === mallory.fingerprint ? { ...k, to: alice.fingerprint } : k)).sort((x, y) => (x.to < y.to ? -1 : 1));
    const asAlice = { ...ownUnsigned, from: alice.fingerprint, keys };
    const selfSigned = { ...asAlice, sig: toB64u(await signLabeled(mallory.keys, LABELS.envelope, ...envelopeSignedParts(asAlice))) };
    expect(code(await m.send(selfSigned))).toBe('FORBIDDEN');
    // mallory's own envelope, tampered after signing
    const mine = await sealText(mallory, [bob], 'tampered');
    const flipped = mine.ct[5] === 'A' ? 'B' : 'A';
    expect(code(await m.send({ ...mine, ct: mine.ct.slice(0, 5) + flipped + mine.ct.slice(6) }))).toBe('BAD_SIGNATURE');
    // oversize
    const big = { ...mine, ct: 'A'.repeat(300 * 1024) };
    expect(code(await m.send(big))).toBe('TOO_LARGE');
    // a recipient the relay does not know
    expect(code(await m.send(await sealText(mallory, [ghost], 'to nobody registered')))).toBe('NOT_FOUND');
    // an envelope whose header was edited after signing (recipient list no longer matches the wrapped keys)
    const toNobody = await sealText(mallory, [bob], 'x');
    expect(code(await m.send({ ...toNobody, to: ['0'.repeat(64)] }))).toBe('BAD_REQUEST');
    m.close();
    // bob still gets the envelope mallory tried to ack away
    const b = await login(relay.url, relay.fingerprint, bob);
    await b.until(() => b.deliveries.some((d) => d.envelope.id === env.id), 10_000, 'bob still has it');
    expect(b.deliveries.some((d) => d.envelope.id === selfSigned.id)).toBe(false); // the self-signed forgery never reached him
    expect(await b.ack([{ from: alice.fingerprint, id: env.id }])).toEqual({ ok: true, removed: 1 });
    b.close();
    await legitExchange('after queue attacks');
  });

  it('rate-limits a send flood with retryAfterMs, then serves again', async () => {
    const m = await login(relay.url, relay.fingerprint, mallory);
    const envs = await Promise.all(Array.from({ length: 40 }, (_, i) => sealText(mallory, [bob], `flood ${i}`)));
    const results = await Promise.all(envs.map((e) => m.send(e)));
    const limited = results.filter((r) => !r.ok && r.error.code === 'RATE_LIMITED');
    expect(results.filter((r) => r.ok).length).toBeGreaterThanOrEqual(15);
    expect(limited.length).toBeGreaterThanOrEqual(10);
    const retry = limited.map((r) => (!r.ok ? r.error.retryAfterMs ?? 0 : 0));
    expect(Math.min(...retry)).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, Math.max(...retry) + 50));
    expect((await m.send(await sealText(mallory, [bob], 'after the wait'))).ok).toBe(true);
    m.close();
    await legitExchange('after the flood');
  });

  it('drops a connection that keeps abusing; a request flood hits the connection bucket', async () => {
    const before = await metrics();
    const c = await RelayClient.connect(relay.url);
    const replies = await Promise.allSettled(Array.from({ length: 500 }, () => c.call('lookup', { username: 'bob' })));
    const codes = replies.map((r) => (r.status === 'fulfilled' ? code(r.value) : 'NO_REPLY'));
    expect(codes).toContain('RATE_LIMITED');
    await c.until(() => !c.connected, 10_000, 'abuse disconnect');
    const after = await metrics();
    expect(after.abuseDisconnects).toBe(before.abuseDisconnects + 1);
    expect(after.rejects.RATE_LIMITED ?? 0).toBeGreaterThan(before.rejects.RATE_LIMITED ?? 0);
    // 60 unknown events: past 50 rejects in a minute the relay hangs up
    const u = await RelayClient.connect(relay.url);
    const unknown = await Promise.allSettled(Array.from({ length: 60 }, (_, i) => u.call(`evil-${i}`, { x: i })));
    expect(unknown.slice(0, 50).map((r) => (r.status === 'fulfilled' ? code(r.value) : 'NO_REPLY'))).toEqual(Array(50).fill('UNKNOWN_EVENT'));
    await u.until(() => !u.connected, 10_000, 'abuse disconnect (unknown events)');
    expect((await metrics()).abuseDisconnects).toBe(before.abuseDisconnects + 2);
    await legitExchange('after the abusive connection');
  });

  it('answers 1000 seeded random malformed payloads over every event with stable codes', async () => {
    const anyJson = fc.anything({ maxDepth: 3, withBigInt: false, withMap: false, withSet: false, withTypedArray: false, withDate: false });
    const valid = await sealText(mallory, [bob], 'template');
    const mutate = <T extends Record<string, unknown>>(base: T) =>
      fc.oneof(
        anyJson,
        fc.record({ key: fc.constantFrom(...Object.keys(base)), value: anyJson }).map(({ key, value }) => ({ ...base, [key]: value })),
        fc.constantFrom(...Object.keys(base)).map((key) => {
          const { [key]: _drop, ...rest } = base;
          return rest;
        }),
        fc.string({ maxLength: 8 }).map((k) => ({ ...base, [`x${k}`]: 1 })),
      );
    const event = fc.oneof(
      fc.constantFrom('register-challenge', 'register', 'lookup', 'auth', 'send', 'fetch', 'ack'),
      fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener'].includes(s)),
    );
    const payloadFor = (ev: string) => {
      switch (ev) {
        case 'register':
          // no register-challenge on this connection and a zero proof: any well-formed variant is PROOF_FAILED
          return mutate({
            username: 'fuzzer',
            identity: mallory.identity as unknown as Record<string, unknown>,
            proof: { sig: toB64u(new Uint8Array(64)), key: toB64u(new Uint8Array(32)) },
          });
        case 'register-challenge':
          return mutate({ identity: mallory.identity as unknown as Record<string, unknown> });
        case 'lookup':
          return fc.oneof(anyJson, fc.record({ username: anyJson }), fc.record({ fingerprint: anyJson, extra: anyJson }));
        case 'auth':
          return mutate({ fingerprint: mallory.fingerprint, clientNonce: toB64u(new Uint8Array(32)), sig: toB64u(new Uint8Array(64)) });
        case 'send':
          return fc.oneof(
            mutate({ envelope: valid as unknown as Record<string, unknown> }),
            mutate(valid as unknown as Record<string, unknown>).map((envelope) => ({ envelope })),
          );
        case 'fetch':
          // bob's queue: even a surviving well-formed variant is FORBIDDEN for mallory
          return mutate({ recipient: bob.fingerprint, limit: 0 });
        case 'ack':
          return mutate({ items: [{ from: bob.fingerprint, id: valid.id }] as unknown as Record<string, unknown> });
        default:
          return anyJson;
      }
    };
    const cases = fc.sample(
      event.chain((ev) => fc.tuple(fc.constant(ev), payloadFor(ev), fc.integer({ min: 0, max: 9 }))),
      { seed: 0x9a71e7, numRuns: 1000 },
    );
    expect(cases).toHaveLength(1000);
    const before = await metrics();
    const seen = new Map<string, number>();
    let expectedRejects = 0;
    let c: RelayClient | null = null;
    for (let i = 0; i < cases.length; i++) {
      if (i % 40 === 0) {
        c?.close();
        c = await RelayClient.connect(relay.url);
        if ((i / 40) % 2 === 1) expect((await c.auth(mallory, relay.fingerprint)).ok).toBe(true);
      }
      const [ev, payload, shape] = cases[i]!;
      if (shape === 0) {
        // no ack callback: nothing to answer, still counted
        (c!.socket as unknown as { emit(ev: string, ...a: unknown[]): void }).emit(ev, payload);
        expectedRejects++;
        continue;
      }
      const args = shape === 1 ? [] : shape === 2 ? [payload, payload] : [payload];
      const r = await c!.call(ev, ...args);
      expect(r.ok, `case ${i}: ${ev} ${JSON.stringify(payload)?.slice(0, 200)}`).toBe(false);
      if (!r.ok) {
        expect(ERROR_CODES).toContain(r.error.code);
        seen.set(r.error.code, (seen.get(r.error.code) ?? 0) + 1);
      }
      expectedRejects++;
    }
    c?.close();
    await new Promise((r) => setTimeout(r, 200));
    const after = await metrics();
    expect(after.rejectsTotal - before.rejectsTotal).toBeGreaterThanOrEqual(expectedRejects);
    for (const k of ['BAD_REQUEST', 'UNKNOWN_EVENT', 'UNAUTHENTICATED']) expect(seen.get(k) ?? 0).toBeGreaterThan(0);
    expect(relay.child.exitCode).toBeNull();
    await legitExchange('after 1000 malformed payloads');
  });
});
