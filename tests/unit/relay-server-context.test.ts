/**
 * The relay's shared state (relay/server/context.ts): its caches over the store (queue usage, pending per sender,
 * identities) load once, share one load between concurrent callers, stay bounded and are kept up to date by release;
 * reject counting; the "new identity" boundary; reply() to a client that went away. A real SQLite store in a temporary
 * folder; the store is wrapped only to count its reads.
 */
import pino from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Ack } from '../../relay/protocol/index.js';
import { createContext, reply, type RelayContext } from '../../relay/server/context.js';
import { DEFAULT_LIMITS, resolveLimits } from '../../relay/server/limits.js';
import type { SqliteEnvelopeStore } from '../../relay/server/store/sqlite.js';
import type { EnvelopeStore, StoredIdentity } from '../../relay/server/store/types.js';
import { cleanupAll, onCleanup, tmpDir } from '../helpers/core.js';
import { makeParties, sealText, type Party } from '../helpers/relay.js';
import { openSqliteStore } from '../helpers/stores.js';

let alice: Party;
let bob: Party;
let carol: Party;

beforeAll(async () => {
  [alice, bob, carol] = (await makeParties('alice', 'bob', 'carol')) as [Party, Party, Party];
});

afterEach(cleanupAll);

/** A real store with a count of the reads a cache should save, and the context over it. */
async function contextOver(o: { withoutPendingBySender?: boolean; newIdentityMs?: number } = {}): Promise<{ ctx: RelayContext; store: SqliteEnvelopeStore; reads: Record<string, number> }> {
  const store = await openSqliteStore(tmpDir('relay-context'));
  onCleanup(() => store.close());
  const reads: Record<string, number> = {};
  const counted = new Proxy(store, {
    get(target, key) {
      if (key === 'pendingBySender' && o.withoutPendingBySender) return undefined; // a store without the optional read
      const v: unknown = Reflect.get(target, key, target);
      if (typeof v !== 'function') return v;
      return (...a: unknown[]) => {
        reads[String(key)] = (reads[String(key)] ?? 0) + 1;
        return (v as (...x: unknown[]) => unknown).apply(target, a);
      };
    },
  }) as EnvelopeStore;
  const limits = o.newIdentityMs === undefined ? resolveLimits() : resolveLimits({ newIdentityMs: o.newIdentityMs });
  const ctx = createContext({ store: counted, limits, log: pino({ level: 'silent' }), relayFp: 'relay-fp', dataDir: tmpDir('relay-context-data'), registration: 'open' });
  return { ctx, store, reads };
}

async function enqueue(store: SqliteEnvelopeStore, from: Party, to: Party[], body: string): Promise<number> {
  const envelope = await sealText(from, to, body);
  const size = JSON.stringify(envelope).length;
  const now = Date.now();
  await store.enqueue({ envelope, size, receivedAt: now, expiresAt: now + 60_000 });
  return size;
}

async function register(store: SqliteEnvelopeStore, p: Party, now = Date.now()): Promise<void> {
  await store.register({ username: p.username, identity: p.identity, fingerprint: p.fingerprint, now });
}

describe('createContext', () => {
  it('starts open, alone (a local bus) and with every counter at zero', async () => {
    const { ctx } = await contextOver();
    expect(ctx.closing).toBe(false);
    expect(ctx.bus).toMatchObject({ nodeId: 'local', liveForwarding: true, clustered: false });
    expect(Object.values(ctx.counters)).toEqual(Array(10).fill(0));
    expect(ctx.rejects).toEqual({});
    expect(ctx.rejectsTotal).toBe(0);
    expect(ctx.relayFp).toBe('relay-fp');
    expect(ctx.registration).toBe('open');
  });

  it('countReject counts each code and the total', async () => {
    const { ctx } = await contextOver();
    ctx.countReject('RATE_LIMITED');
    ctx.countReject('RATE_LIMITED');
    ctx.countReject('BAD_REQUEST');
    expect(ctx.rejects).toEqual({ RATE_LIMITED: 2, BAD_REQUEST: 1 });
    expect(ctx.rejectsTotal).toBe(3);
  });
});

describe('queue usage', () => {
  it('is read from the store once, then kept in memory; release lowers it, never below zero', async () => {
    const { ctx, store, reads } = await contextOver();
    const s1 = await enqueue(store, alice, [bob], 'one');
    const s2 = await enqueue(store, carol, [bob], 'two');
    expect(await ctx.usage(bob.fingerprint)).toEqual({ count: 2, bytes: s1 + s2 });
    await enqueue(store, alice, [bob], 'three'); // the relay counts its own enqueues; the cache is not re-read
    expect(await ctx.usage(bob.fingerprint)).toEqual({ count: 2, bytes: s1 + s2 });
    expect(reads.usage).toBe(1);
    ctx.release(bob.fingerprint, 1, s1);
    expect(await ctx.usage(bob.fingerprint)).toEqual({ count: 1, bytes: s2 });
    ctx.release(bob.fingerprint, 5, s2 + 1000);
    expect(await ctx.usage(bob.fingerprint)).toEqual({ count: 0, bytes: 0 });
    expect(reads.usage).toBe(1);
  });

  it('release of a recipient not loaded yet changes nothing: the first read comes from the store', async () => {
    const { ctx, store, reads } = await contextOver();
    const s1 = await enqueue(store, alice, [bob], 'one');
    ctx.release(bob.fingerprint, 1, s1);
    expect(ctx.usageCache.has(bob.fingerprint)).toBe(false);
    expect(await ctx.usage(bob.fingerprint)).toEqual({ count: 1, bytes: s1 });
    expect(reads.usage).toBe(1);
  });

  it('two callers loading at once end up with one shared entry (a release reaches both)', async () => {
    const { ctx, store } = await contextOver();
    const s1 = await enqueue(store, alice, [bob], 'one');
    const [a, b] = await Promise.all([ctx.usage(bob.fingerprint), ctx.usage(bob.fingerprint)]);
    expect(a).toBe(b);
    ctx.release(bob.fingerprint, 1, s1);
    expect(a).toEqual({ count: 0, bytes: 0 });
  });
});

describe('pending per sender', () => {
  it('is read once per recipient; releaseSender counts down and forgets a sender at zero', async () => {
    const { ctx, store, reads } = await contextOver();
    await enqueue(store, alice, [bob], 'a1');
    await enqueue(store, alice, [bob], 'a2');
    await enqueue(store, carol, [bob], 'c1');
    const m = await ctx.pendingBySender(bob.fingerprint);
    expect(Object.fromEntries(m)).toEqual({ [alice.fingerprint]: 2, [carol.fingerprint]: 1 });
    expect(await ctx.pendingBySender(bob.fingerprint)).toBe(m);
    expect(reads.pendingBySender).toBe(1);
    ctx.releaseSender(bob.fingerprint, alice.fingerprint);
    expect(m.get(alice.fingerprint)).toBe(1);
    ctx.releaseSender(bob.fingerprint, alice.fingerprint);
    expect(m.has(alice.fingerprint)).toBe(false);
    ctx.releaseSender(bob.fingerprint, alice.fingerprint); // nothing left: stays absent, never negative
    expect(m.has(alice.fingerprint)).toBe(false);
    expect(m.get(carol.fingerprint)).toBe(1);
  });

  it('releaseSender for a recipient not loaded yet creates nothing', async () => {
    const { ctx } = await contextOver();
    ctx.releaseSender(bob.fingerprint, alice.fingerprint);
    expect(ctx.senderPending.has(bob.fingerprint)).toBe(false);
  });

  it('concurrent loads share one map; a store without the read starts from an empty one', async () => {
    const { ctx, store } = await contextOver();
    await enqueue(store, alice, [bob], 'a1');
    const [a, b] = await Promise.all([ctx.pendingBySender(bob.fingerprint), ctx.pendingBySender(bob.fingerprint)]);
    expect(a).toBe(b);
    const bare = await contextOver({ withoutPendingBySender: true });
    await enqueue(bare.store, alice, [bob], 'a1');
    const empty = await bare.ctx.pendingBySender(bob.fingerprint);
    expect(empty.size).toBe(0);
    expect(await bare.ctx.pendingBySender(bob.fingerprint)).toBe(empty);
  });
});

describe('identities', () => {
  it('a found identity is cached; one not found is asked again (it may register later)', async () => {
    const { ctx, store, reads } = await contextOver();
    expect(await ctx.identityByFingerprint(alice.fingerprint)).toBeNull();
    await register(store, alice);
    const found = await ctx.identityByFingerprint(alice.fingerprint);
    expect(found).toMatchObject({ username: 'alice', fingerprint: alice.fingerprint, identity: alice.identity, rotation: null });
    expect(await ctx.identityByFingerprint(alice.fingerprint)).toBe(found);
    expect(reads.identityByFingerprint).toBe(2);
  });

  it('below its bound, the cache keeps every identity found', async () => {
    const { ctx, store } = await contextOver();
    await register(store, alice);
    await register(store, bob);
    await ctx.identityByFingerprint(alice.fingerprint);
    await ctx.identityByFingerprint(bob.fingerprint);
    expect([...ctx.identities.keys()]).toEqual([alice.fingerprint, bob.fingerprint]);
  });

  it('the cache holds at most 100 000: the oldest entry makes room', async () => {
    const { ctx, store } = await contextOver();
    const filler = { username: 'x', identity: alice.identity, fingerprint: 'x', registeredAt: 0, rotation: null } satisfies StoredIdentity;
    for (let i = 0; i < 100_000; i++) ctx.identities.set(`fp-${i}`, filler);
    await register(store, bob);
    await ctx.identityByFingerprint(bob.fingerprint);
    expect(ctx.identities.size).toBe(100_000);
    expect(ctx.identities.has('fp-0')).toBe(false);
    expect(ctx.identities.has('fp-1')).toBe(true);
    expect(ctx.identities.has(bob.fingerprint)).toBe(true);
  });

  it('isNew: younger than newIdentityMs, the boundary itself no longer new', async () => {
    const { ctx } = await contextOver({ newIdentityMs: 1000 });
    const who = { username: 'x', identity: alice.identity, fingerprint: 'x', registeredAt: 5000, rotation: null };
    expect(ctx.isNew(who, 5999)).toBe(true);
    expect(ctx.isNew(who, 6000)).toBe(false);
    expect(ctx.isNew({ ...who, registeredAt: Date.now() })).toBe(true); // now by default
    const def = await contextOver();
    expect(def.ctx.limits.newIdentityMs).toBe(DEFAULT_LIMITS.newIdentityMs);
    expect(def.ctx.isNew({ ...who, registeredAt: Date.now() - DEFAULT_LIMITS.newIdentityMs - 1 })).toBe(false);
  });
});

describe('reply', () => {
  it('hands the answer to the ack; no ack, or one whose client is gone, is not an error', () => {
    const got: unknown[] = [];
    const answer: Ack = { ok: true, removed: 1 } as Ack;
    reply((r) => got.push(r), answer);
    expect(got).toEqual([{ ok: true, removed: 1 }]);
    expect(() => reply(null, { ok: true })).not.toThrow();
    expect(() =>
      reply(() => {
        throw new Error('socket closed');
      }, { ok: true }),
    ).not.toThrow();
  });
});
