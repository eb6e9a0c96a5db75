/** CryptoPool: open/seal on worker threads (the TypeScript worker is started through tsx here). */
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CryptoPool,
  IdentityError,
  loadIdentity,
  open,
  OpenError,
  seal,
  signLabeled,
  type IdentityKeys,
  type IdentitySecret,
  type Payload,
} from '../../electron/core/crypto/index.js';
import { aesGcmEncrypt, importAesKey, randomBytes, rsaOaepEncrypt } from '../../electron/core/crypto/primitives.js';
import { canonicalHeader, envelopeSignedParts, importWrappingKey, LABELS, toB64u, type Envelope } from '../../relay/protocol/index.js';
import { fixtureIdentities } from '../helpers/identities.js';

let secrets: IdentitySecret[];
let alice: IdentityKeys;
let bob: IdentityKeys;
let carol: IdentityKeys;
let pool: CryptoPool; // bob's

const text = (body: string): Payload => ({ v: 1, type: 'text', ts: 1, body });

async function reason(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(OpenError);
  return (e as OpenError).reason;
}

beforeAll(async () => {
  secrets = await fixtureIdentities(3);
  [alice, bob, carol] = (await Promise.all(secrets.map((s) => loadIdentity(s)))) as [IdentityKeys, IdentityKeys, IdentityKeys];
  pool = new CryptoPool({ secret: secrets[1]!, size: 2 });
});

afterAll(async () => {
  await pool.close();
});

describe('CryptoPool', () => {
  it('opens many envelopes correctly in parallel on 2 workers', async () => {
    const envs = await Promise.all(
      Array.from({ length: 40 }, (_, i) => seal({ sender: alice, recipients: [bob.public, carol.public], payload: text(`message ${i} ✓`) })),
    );
    const opened = await Promise.all(envs.map((e) => pool.open(e, alice.public)));
    expect(opened.map((o) => o.payload)).toEqual(envs.map((_, i) => text(`message ${i} ✓`)));
    // only the payload crosses back (the caller holds the envelope)
    expect(opened.map((o) => Object.keys(o))).toEqual(envs.map(() => ['payload']));
    expect(pool.size).toBe(2);
    expect(new Set(pool.threads().map((w) => w.threadId)).size).toBe(2);
  });

  it('seals as its identity; the result opens on the main thread', async () => {
    const env = await pool.seal({ recipients: [alice.public], payload: text('from the pool'), id: 'AAECAwQFBgcICQoLDA0ODw' });
    expect(env.from).toBe(bob.fingerprint);
    expect(env.id).toBe('AAECAwQFBgcICQoLDA0ODw');
    expect((await open({ envelope: env, me: alice, sender: bob.public })).payload).toEqual(text('from the pool'));
    await expect(pool.seal({ recipients: [], payload: text('x') })).rejects.toThrow(TypeError);
  });

  it('errors cross the thread boundary with their OpenError reason', async () => {
    const env = await seal({ sender: alice, recipients: [bob.public], payload: text('hi') });
    const toCarol = await seal({ sender: alice, recipients: [carol.public], payload: text('hi') });
    const badSig: Envelope = { ...env, sig: toB64u(new Uint8Array(64)) };
    expect(await reason(pool.open(badSig, alice.public))).toBe('bad-signature');
    expect(await reason(pool.open(toCarol, alice.public))).toBe('not-recipient');
    expect(await reason(pool.open(env, carol.public))).toBe('wrong-sender');
    expect(await reason(pool.open({ ...env, v: 9 }, alice.public))).toBe('unknown-version');
    expect(await reason(pool.open(null, alice.public))).toBe('malformed');
    expect(await reason(pool.open({ ...env, f: () => 1 }, alice.public))).toBe('malformed'); // not cloneable

    // Correctly signed, but the ciphertext was made under another header: tampered.
    const raw = randomBytes(32);
    const iv = randomBytes(12);
    const header = { v: 1 as const, id: env.id, from: alice.fingerprint, to: [bob.fingerprint] };
    const ct = await aesGcmEncrypt(await importAesKey(raw), iv, new Uint8Array(256), canonicalHeader({ ...header, to: [carol.fingerprint] }));
    const keys = [{ to: bob.fingerprint, k: toB64u(await rsaOaepEncrypt(await importWrappingKey(bob.public), raw)) }];
    const unsigned = { ...header, iv: toB64u(iv), ct: toB64u(ct), keys };
    const sig = toB64u(await signLabeled(alice, LABELS.envelope, ...envelopeSignedParts(unsigned)));
    expect(await reason(pool.open({ ...unsigned, sig }, alice.public))).toBe('tampered');

    // The pool keeps working after errors.
    expect((await pool.open(env, alice.public)).payload).toEqual(text('hi'));
  });

  it('an identity whose keys do not match is reported on use', async () => {
    const bad = new CryptoPool({ secret: { ...secrets[0]!, public: secrets[1]!.public }, size: 1 });
    try {
      const env = await seal({ sender: alice, recipients: [bob.public], payload: text('x') });
      await expect(bad.open(env, alice.public)).rejects.toBeInstanceOf(IdentityError);
      await expect(bad.open(env, alice.public)).rejects.toBeInstanceOf(IdentityError);
    } finally {
      await bad.close();
    }
  });

  it('a missing worker script is a clear error, not a hang', async () => {
    const bad = new CryptoPool({ secret: secrets[0]!, size: 1, workerEntry: '/nonexistent/crypto-worker.js' });
    try {
      const env = await seal({ sender: bob, recipients: [alice.public], payload: text('x') });
      await expect(bad.open(env, bob.public)).rejects.toThrow(/crypto worker/);
      await expect(bad.open(env, bob.public)).rejects.toThrow(/crypto worker/);
    } finally {
      await bad.close();
    }
    expect(() => new CryptoPool({ secret: secrets[0]!, size: 0 })).toThrow(RangeError);
  });

  it('keeps at most maxInFlight requests per worker; the rest wait in call order, and close() rejects them', async () => {
    const p = new CryptoPool({ secret: secrets[1]!, size: 2, maxInFlight: 2 });
    try {
      const envs = await Promise.all(Array.from({ length: 12 }, (_, i) => seal({ sender: alice, recipients: [bob.public], payload: text(`q${i}`) })));
      const peak = { outstanding: 0, queued: 0 };
      const done: number[] = [];
      const calls = envs.map((e, i) =>
        p.open(e, alice.public).then((r) => {
          done.push(i);
          const l = p.load();
          peak.outstanding = Math.max(peak.outstanding, l.outstanding);
          return r.payload;
        }),
      );
      expect(p.load()).toEqual({ outstanding: 4, queued: 8 }); // 2 workers × 2, the rest queued
      expect(await Promise.all(calls)).toEqual(envs.map((_, i) => text(`q${i}`)));
      expect(peak.outstanding).toBeLessThanOrEqual(4);
      expect(p.load()).toEqual({ outstanding: 0, queued: 0 });
      expect(done).toHaveLength(12);
      // close() with calls still queued: they reject, nothing hangs
      const more = envs.map((e) => p.open(e, alice.public).then(() => 'ok', (e: unknown) => String(e)));
      expect(p.load().queued).toBe(8);
      await p.close();
      const outcomes = await Promise.all(more);
      expect(outcomes.filter((o) => o !== 'ok').every((o) => /closed/.test(o))).toBe(true);
      expect(outcomes.filter((o) => o !== 'ok').length).toBeGreaterThanOrEqual(8);
    } finally {
      await p.close();
    }
    expect(() => new CryptoPool({ secret: secrets[1]!, size: 1, maxInFlight: 0 })).toThrow(RangeError);
    // first come, first served: one worker with one request at a time finishes them in call order
    const one = new CryptoPool({ secret: secrets[1]!, size: 1, maxInFlight: 1 });
    try {
      const envs = await Promise.all(Array.from({ length: 6 }, (_, i) => seal({ sender: alice, recipients: [bob.public], payload: text(`o${i}`) })));
      const order: number[] = [];
      await Promise.all(envs.map((e, i) => one.open(e, alice.public).then(() => order.push(i))));
      expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    } finally {
      await one.close();
    }
  });

  it('a worker that dies is replaced; the pool keeps working', async () => {
    const p = new CryptoPool({ secret: secrets[1]!, size: 2 });
    try {
      const env = await seal({ sender: alice, recipients: [bob.public], payload: text('again') });
      await Promise.all([p.open(env, alice.public), p.open(env, alice.public)]); // both workers ready
      const [victim] = p.threads();
      // The pool's own 'exit' listener was registered when it spawned the worker, so it (and the replacement it
      // spawns) runs before this one: once ours fires, the slot has been refilled.
      const exited = once(victim!, 'exit');
      await victim!.terminate();
      await exited;
      expect(p.workers).toBe(2);
      expect(p.threads()).not.toContain(victim);
      const opened = await Promise.all(Array.from({ length: 6 }, () => p.open(env, alice.public)));
      expect(opened.every((o) => o.payload.type === 'text' && o.payload.body === 'again')).toBe(true);
    } finally {
      await p.close();
    }
  });

  it('close() terminates the workers and rejects pending and later calls', async () => {
    const p = new CryptoPool({ secret: secrets[1]!, size: 2 });
    const env = await seal({ sender: alice, recipients: [bob.public], payload: text('x') });
    expect((await p.open(env, alice.public)).payload).toEqual(text('x'));
    const threads = p.threads();
    expect(threads.every((w) => w.threadId > 0)).toBe(true);
    const pending = p.open(env, alice.public).then(
      (r) => r.payload, // it may have finished before close()
      (e: unknown) => String(e),
    );
    await p.close();
    expect(threads.every((w) => w.threadId === -1)).toBe(true);
    expect(p.workers).toBe(0);
    const outcome = await pending;
    if (typeof outcome === 'string') expect(outcome).toMatch(/closed/);
    else expect(outcome).toEqual(text('x'));
    await expect(p.open(env, alice.public)).rejects.toThrow(/closed/);
    await p.close(); // idempotent
  });
});
