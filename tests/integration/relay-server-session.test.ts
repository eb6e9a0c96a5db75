/**
 * The relay's session and routing rules, refusal by refusal, with the exact code and message a client receives
 * (relay/server/session.ts, dispatch.ts). A real relay in this process (so mutation testing reaches it), real sockets
 * on 127.0.0.1, real keys; the existing relay suites check codes, this one checks what each refusal says and that it
 * is the refusal for that reason and no other.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signLabeled } from '../../electron/core/crypto/index.js';
import { LABELS, LIMITS, rotationInput, toB64u } from '../../relay/protocol/index.js';
import { startRelay, type RelayLimits, type RunningRelay } from '../../relay/server/index.js';
import { cleanupAll, onCleanup, tmpDir } from '../helpers/core.js';
import { makeParties, refusal, RelayClient, sealText, type Party } from '../helpers/relay.js';

let alice: Party;
let bob: Party;
let carol: Party;
/** Nine more identities (cached fixtures) for the per-connection challenge cap. */
let crowd: Party[];

beforeAll(async () => {
  const all = await makeParties('alice', 'bob', 'carol', ...Array.from({ length: 9 }, (_, i) => `crowd${i}`));
  [alice, bob, carol] = all as [Party, Party, Party];
  crowd = all.slice(3);
}, 120_000);

const clients: RelayClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await cleanupAll();
});

async function relayWith(o: { limits?: Partial<RelayLimits>; registration?: 'open' | 'token' | 'closed' } = {}): Promise<RunningRelay> {
  const relay = await startRelay({ host: '127.0.0.1', port: 0, dataDir: tmpDir('session'), logger: false, ...o });
  onCleanup(() => relay.close());
  return relay;
}

async function connect(relay: RunningRelay): Promise<RelayClient> {
  const c = await RelayClient.connect(relay.url);
  clients.push(c);
  return c;
}

describe('register', () => {
  it('refuses a proof without a challenge, a wrong RSA proof and a wrong signature, each with its own message', async () => {
    const relay = await relayWith();
    const c = await connect(relay);
    const proof = await c.registrationProof(alice);
    expect(refusal(await c.call('register', { username: 'alice', identity: alice.identity, proof: { ...proof, key: toB64u(new Uint8Array(32)) } }))).toEqual({
      code: 'PROOF_FAILED',
      message: 'RSA proof does not match the register-challenge',
    });
    // single use: the same (now correct) proof finds no challenge any more
    expect(refusal(await c.call('register', { username: 'alice', identity: alice.identity, proof }))).toEqual({
      code: 'PROOF_FAILED',
      message: 'no register-challenge for this identity on this connection',
    });
    const good = await c.registrationProof(alice);
    const otherSig = await c.registrationProof(bob, 'alice');
    expect(refusal(await c.call('register', { username: 'alice', identity: alice.identity, proof: { ...good, sig: otherSig.sig } }))).toEqual({
      code: 'PROOF_FAILED',
      message: 'Ed25519 proof does not verify with the identity',
    });
    expect(await c.register(alice)).toEqual({ ok: true, fingerprint: alice.fingerprint, rotated: false });
    // re-registering the same identity and name is fine and no rotation
    expect(await c.register(alice)).toEqual({ ok: true, fingerprint: alice.fingerprint, rotated: false });
  });

  it('keeps at most 8 register-challenges per connection, dropping the oldest; one per identity', async () => {
    const relay = await relayWith();
    const c = await connect(relay);
    const first = await c.registrationProof(alice);
    // more challenges for one identity replace each other, so alice's survives them
    for (let i = 0; i < 8; i++) await c.registrationProof(bob);
    expect(await c.call('register', { username: 'alice', identity: alice.identity, proof: first })).toMatchObject({ ok: true });
    // 8 challenges fit; the 9th identity's drops the oldest (crowd[0]) and only that one
    const proofs = [];
    for (const p of crowd) proofs.push(await c.registrationProof(p));
    expect(refusal(await c.call('register', { username: crowd[0]!.username, identity: crowd[0]!.identity, proof: proofs[0] }))).toEqual({
      code: 'PROOF_FAILED',
      message: 'no register-challenge for this identity on this connection',
    });
    for (const [i, p] of crowd.entries()) {
      if (i === 0) continue;
      expect(await c.call('register', { username: p.username, identity: p.identity, proof: proofs[i] }), p.username).toMatchObject({ ok: true });
    }
  });

  it('names taken by another identity, identities taken by another name, and bad rotations', async () => {
    const relay = await relayWith();
    const c = await connect(relay);
    expect(await c.register(alice)).toMatchObject({ ok: true });
    expect(refusal(await c.register({ ...bob, username: 'alice' }))).toEqual({ code: 'USERNAME_TAKEN', message: 'username registered to a different identity' });
    expect(refusal(await c.register({ ...alice, username: 'alice2' }))).toEqual({
      code: 'IDENTITY_TAKEN',
      message: 'that identity is already registered under another username',
    });
    // a rotation signed by the new key instead of the current one
    const forged = await signLabeled(bob.keys, LABELS.rotate, ...rotationInput('alice', alice.fingerprint, bob.identity));
    expect(refusal(await c.register({ ...bob, username: 'alice' }, { rotation: { sig: toB64u(forged) } }))).toEqual({
      code: 'BAD_SIGNATURE',
      message: 'rotation signature does not verify with the current identity',
    });
  });

  it('a rotation replaces the key: the old session is told and dropped, lookups show the rotation', async () => {
    const relay = await relayWith();
    const old = await connect(relay);
    expect(await old.register(alice)).toMatchObject({ ok: true });
    expect(await old.auth(alice, relay.fingerprint)).toEqual({ ok: true, fingerprint: alice.fingerprint, username: 'alice', queued: 0 });
    const c = await connect(relay);
    const sig = await signLabeled(alice.keys, LABELS.rotate, ...rotationInput('alice', alice.fingerprint, carol.identity));
    expect(await c.register({ ...carol, username: 'alice' }, { rotation: { sig: toB64u(sig) } })).toEqual({ ok: true, fingerprint: carol.fingerprint, rotated: true });
    await old.until(() => old.sessionReplaced && !old.connected, 10_000, 'old session dropped');
    expect(await c.call('lookup', { username: 'alice' })).toEqual({
      ok: true,
      username: 'alice',
      identity: carol.identity,
      fingerprint: carol.fingerprint,
      rotation: { from: alice.fingerprint, sig: toB64u(sig) },
    });
    expect(refusal(await c.call('lookup', { fingerprint: alice.fingerprint }))).toEqual({ code: 'NOT_FOUND', message: 'no such identity' });
    // the old key can no longer log in
    const again = await connect(relay);
    expect(refusal(await again.auth(alice, relay.fingerprint))).toEqual({ code: 'AUTH_FAILED', message: 'unknown identity; register first' });
  });

  it('closed and token registration modes, and the per-address registration bucket', async () => {
    const closed = await relayWith({ registration: 'closed' });
    expect(refusal(await (await connect(closed)).register(alice))).toEqual({ code: 'REGISTRATION_CLOSED', message: 'this relay takes no new registrations' });

    const token = await relayWith({ registration: 'token' });
    const t = await connect(token);
    expect(refusal(await t.register(alice))).toEqual({
      code: 'INVITE_REQUIRED',
      message: 'this relay registers new users with an invite code from its operator',
    });
    expect(refusal(await t.register(alice, { invite: 'A'.repeat(22) }))).toEqual({ code: 'INVITE_REQUIRED', message: 'invite code unknown, already used or expired' });

    const limited = await relayWith({ limits: { registrationBurst: 2, registrationPerHour: 1 } });
    const l = await connect(limited);
    expect(await l.register(alice)).toMatchObject({ ok: true });
    expect(await l.register(bob)).toMatchObject({ ok: true });
    const r = refusal(await l.register(carol));
    expect(r).toMatchObject({ code: 'RATE_LIMITED', message: 'too many new registrations from this address' });
    expect(r.retryAfterMs).toBeGreaterThan(3_500_000); // one per hour: nearly an hour to wait
    // re-registering a known identity is no new registration: not limited
    expect(await l.register(alice)).toMatchObject({ ok: true });
  });
});

describe('auth', () => {
  it('refuses a bad signature, a second login on one connection and a replayed nonce, each with its message', async () => {
    const relay = await relayWith();
    const c = await connect(relay);
    expect(await c.register(alice)).toMatchObject({ ok: true });
    expect(await c.register(bob)).toMatchObject({ ok: true });
    const payload = await c.authPayload(alice, relay.fingerprint);
    expect(refusal(await c.call('auth', { ...payload, fingerprint: bob.fingerprint }))).toEqual({
      code: 'AUTH_FAILED',
      message: 'challenge response does not verify',
    });
    // a refused attempt gets a fresh nonce: the old payload no longer verifies, a new one does
    await c.until(() => c.challenges.length === 2, 10_000, 'fresh challenge');
    expect(refusal(await c.call('auth', payload))).toEqual({ code: 'AUTH_FAILED', message: 'challenge response does not verify' });
    await c.until(() => c.challenges.length === 3, 10_000, 'fresh challenge');
    expect(await c.auth(alice, relay.fingerprint)).toEqual({ ok: true, fingerprint: alice.fingerprint, username: 'alice', queued: 0 });
    expect(refusal(await c.call('auth', payload))).toEqual({ code: 'AUTH_FAILED', message: 'already authenticated' });
    expect(c.challenges).toHaveLength(3); // no new challenge once authenticated
  });

  it('a newer login replaces the older connection and reports the queue', async () => {
    const relay = await relayWith();
    const a = await connect(relay);
    expect(await a.register(alice)).toMatchObject({ ok: true });
    expect(await a.register(bob)).toMatchObject({ ok: true });
    expect(await a.auth(alice, relay.fingerprint)).toMatchObject({ ok: true });
    expect(await a.send(await sealText(alice, [bob], 'one'))).toMatchObject({ ok: true });
    expect(await a.send(await sealText(alice, [bob], 'two'))).toMatchObject({ ok: true });
    const b1 = await connect(relay);
    expect(await b1.call('auth', await b1.authPayload(bob, relay.fingerprint))).toEqual({ ok: true, fingerprint: bob.fingerprint, username: 'bob', queued: 2 });
    const b2 = await connect(relay);
    expect(await b2.auth(bob, relay.fingerprint)).toMatchObject({ ok: true, queued: 2 });
    await b1.until(() => b1.sessionReplaced && !b1.connected, 10_000, 'older session replaced');
    expect(b2.connected).toBe(true);
    await b2.until(() => b2.deliveries.length === 2, 10_000, 'queue pushed to the new session');
  });
});

describe('routing (dispatch)', () => {
  it('names what is wrong with a request', async () => {
    const relay = await relayWith();
    const c = await connect(relay);
    expect(refusal(await c.call('nonsense', {}))).toEqual({ code: 'UNKNOWN_EVENT', message: 'unknown event' });
    expect(refusal(await c.call('fetch', { recipient: alice.fingerprint }))).toEqual({ code: 'UNAUTHENTICATED', message: 'fetch needs an authenticated connection' });
    expect(refusal(await c.call('lookup', { username: 'alice' }, 'extra'))).toEqual({ code: 'BAD_REQUEST', message: 'expected exactly one payload object' });
    expect(refusal(await c.call('lookup'))).toEqual({ code: 'BAD_REQUEST', message: 'expected exactly one payload object' });
    expect(refusal(await c.call('register-challenge', { identity: { ...alice.identity, v: 2 } }))).toEqual({
      code: 'UNSUPPORTED_VERSION',
      message: 'identity: protocol version 1 only',
    });
    const bad = refusal(await c.call('lookup', { username: 7 }));
    expect(bad.code).toBe('BAD_REQUEST');
    expect(bad.message).toBe('lookup:  Invalid input'); // a union: no path, zod's own message
    const unknownKey = refusal(await c.call('lookup', { username: 'alice', x: 1 }));
    expect(unknownKey.message).toMatch(/^lookup: +\S/);
    expect(unknownKey.message.length).toBeLessThanOrEqual(300);
    // a rejected request leaves the connection usable
    expect(refusal(await c.call('lookup', { username: 'nobody' }))).toEqual({ code: 'NOT_FOUND', message: 'no such identity' });
  });

  it('refuses an oversize envelope by its measured size, and an envelope of another version', async () => {
    const relay = await relayWith({ limits: { maxEnvelopeBytes: 4096 } });
    const c = await connect(relay);
    expect(await c.register(alice)).toMatchObject({ ok: true });
    expect(await c.register(bob)).toMatchObject({ ok: true });
    expect(await c.auth(alice, relay.fingerprint)).toMatchObject({ ok: true });
    const env = await sealText(alice, [bob], 'x'.repeat(3000));
    const size = Buffer.byteLength(JSON.stringify(env), 'utf8');
    expect(size).toBeGreaterThan(4096);
    expect(refusal(await c.send(env))).toEqual({ code: 'TOO_LARGE', message: `envelope is ${size} bytes; limit 4096` });
    const small = await sealText(alice, [bob], 'hi');
    expect(refusal(await c.send({ ...small, v: 2 }))).toEqual({ code: 'UNSUPPORTED_VERSION', message: 'envelope: protocol version 1 only' });
    expect(await c.send(small)).toMatchObject({ ok: true, id: small.id, duplicate: false });
    expect(LIMITS.maxEnvelopeBytes).toBeGreaterThan(4096); // the relay's own limit applied, not the protocol's
  });

  it('rate-limits requests per connection, then drops a connection past the abuse limit', async () => {
    const relay = await relayWith({ limits: { connBurst: 3, connPerSec: 0.001, abuseRejectsPerMinute: 4 } });
    const c = await connect(relay);
    for (let i = 0; i < 3; i++) expect(refusal(await c.call('lookup', { username: 'nobody' })).code).toBe('NOT_FOUND');
    const limited = refusal(await c.call('lookup', { username: 'nobody' }));
    expect(limited).toMatchObject({ code: 'RATE_LIMITED', message: 'too many requests on this connection' });
    expect(limited.retryAfterMs).toBeGreaterThan(100_000);
    // NOT_FOUND counted nothing; RATE_LIMITED counts: 4 more are tolerated, the 5th drops the connection
    for (let i = 0; i < 3; i++) expect(refusal(await c.call('lookup', { username: 'nobody' })).code).toBe('RATE_LIMITED');
    expect(c.connected).toBe(true);
    await c.call('lookup', { username: 'nobody' }).catch(() => undefined);
    await c.until(() => !c.connected, 10_000, 'abusive connection dropped');
  });

  it('refuses connections past the per-address cap at the handshake, with the limit in the message', async () => {
    const relay = await relayWith({ limits: { maxConnectionsPerAddress: 2 } });
    const a = await connect(relay);
    await connect(relay);
    const err = await RelayClient.connect(relay.url).then(
      () => null,
      (e: unknown) => e as Error & { data?: unknown },
    );
    expect(err?.message).toBe('too many connections from this address (limit 2)');
    expect(err?.data).toEqual({ code: 'RATE_LIMITED', message: 'too many connections from this address (limit 2)', retryAfterMs: 5000 });
    expect(a.connected).toBe(true); // the refusal touched none of the open ones
  });
});
