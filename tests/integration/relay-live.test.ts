/**
 * Live delivery: an online, caught-up recipient gets an envelope before its commit, while the sender's ack still waits
 * for the commit; the recipient's ack of such an envelope is answered after the commit and holds across a reconnect;
 * a duplicate sent while the first copy is uncommitted is delivered once; a backlog and live traffic arrive in order.
 * The relay runs with a long group-commit delay (400 ms) so "before the commit" is observable.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, relayStoreKind, sealText, spawnRelay, removeDir, type Party, type SpawnedRelay, makeParties, registerParties } from '../helpers/relay.js';

const COMMIT_DELAY = 400;
let relay: SpawnedRelay;
let alice: Party;
let bob: Party;
let carol: Party;

beforeAll(async () => {
  [alice, bob, carol] = (await makeParties('alice', 'bob', 'carol')) as [Party, Party, Party];
  relay = await spawnRelay({ limits: { commitDelayMs: COMMIT_DELAY, deliverBatch: 8, deliverWindow: 16 } });
  await registerParties(relay.url, [alice, bob, carol]);
});

afterAll(async () => {
  expect(await relay?.stop()).toBe(0);
  removeDir(relay.dataDir);
});

describe('relay live delivery', () => {
  it('delivers to an online recipient before the commit; the sender is acked only after it; an early recipient ack holds', async () => {
    const a = await login(relay.url, relay.fingerprint, alice);
    const b = await login(relay.url, relay.fingerprint, bob);
    await new Promise((r) => setTimeout(r, 100)); // bob's first (empty) pump: caught up
    const env = await sealText(alice, [bob], 'live one');
    const t0 = Date.now();
    let ackedAt = 0;
    const sent = a.send(env).then((r) => {
      ackedAt = Date.now();
      return r;
    });
    await b.until(() => b.deliveries.length === 1, 5_000, 'live delivery');
    const deliveredAt = Date.now();
    expect(ackedAt).toBe(0); // the sender has no ack yet: not committed
    expect(deliveredAt - t0).toBeLessThan(COMMIT_DELAY);
    expect(b.deliveries[0]!.envelope).toEqual(env);
    // bob acknowledges before the commit: answered after it, and counted
    const ackT0 = Date.now();
    expect(await b.ack([{ from: alice.fingerprint, id: env.id }])).toEqual({ ok: true, removed: 1 });
    // answered only once committed, which is after the envelope's commit (same or a later transaction)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(COMMIT_DELAY - 50);
    expect(Date.now() - ackT0).toBeGreaterThan(50);
    expect(await sent).toEqual({ ok: true, id: env.id, duplicate: false });
    expect(ackedAt - t0).toBeGreaterThanOrEqual(COMMIT_DELAY - 50);
    // after the commits: never delivered again, not on this connection nor on a new one
    await new Promise((r) => setTimeout(r, COMMIT_DELAY + 200));
    expect(b.deliveries).toHaveLength(1);
    b.close();
    const b2 = await login(relay.url, relay.fingerprint, bob);
    await new Promise((r) => setTimeout(r, 300));
    expect(b2.deliveries).toHaveLength(0);
    expect((await b2.fetch(bob.fingerprint)).ok && (await b2.fetch(bob.fingerprint))).toMatchObject({ envelopes: [] });
    a.close();
    b2.close();
  });

  it('a duplicate sent while the first copy is uncommitted is delivered once, and an unacked live delivery comes again after reconnect', async () => {
    const a = await login(relay.url, relay.fingerprint, alice);
    const b = await login(relay.url, relay.fingerprint, bob);
    await new Promise((r) => setTimeout(r, 100));
    const env = await sealText(alice, [bob], 'twice');
    const forged = await sealText(alice, [bob], 'same id, other content', env.id);
    const [r1, r2] = await Promise.all([a.send(env), a.send(forged)]);
    expect(r1).toEqual({ ok: true, id: env.id, duplicate: false });
    expect(r2).toEqual({ ok: true, id: env.id, duplicate: true });
    await new Promise((r) => setTimeout(r, 300));
    expect(b.deliveries).toHaveLength(1);
    expect(b.deliveries[0]!.envelope).toEqual(env);
    // a committed duplicate is not delivered either
    expect(await a.send(env)).toEqual({ ok: true, id: env.id, duplicate: true });
    await new Promise((r) => setTimeout(r, 200));
    expect(b.deliveries).toHaveLength(1);
    // not acknowledged: the next connection gets it again (at least once), from the store
    b.close();
    const b2 = await login(relay.url, relay.fingerprint, bob);
    await b2.until(() => b2.deliveries.length === 1, 5_000, 'redelivery');
    expect(b2.deliveries[0]!.envelope).toEqual(env);
    expect(await b2.ack([{ from: alice.fingerprint, id: env.id }])).toEqual({ ok: true, removed: 1 });
    a.close();
    b2.close();
  });

  it('a backlog and live traffic reach a recipient in send order, each once', async () => {
    const a = await login(relay.url, relay.fingerprint, alice);
    const ids: string[] = [];
    const sends: Array<Promise<unknown>> = [];
    for (let i = 0; i < 10; i++) {
      const env = await sealText(alice, [carol], `backlog ${i}`);
      ids.push(env.id);
      sends.push(a.send(env));
    }
    await Promise.all(sends); // committed while carol is offline
    const c = await login(relay.url, relay.fingerprint, carol);
    // more while carol's backlog is being pushed and before those commits: they must not overtake it
    const more: Array<Promise<unknown>> = [];
    for (let i = 0; i < 30; i++) {
      const env = await sealText(alice, [carol], `live ${i}`);
      ids.push(env.id);
      more.push(a.send(env));
    }
    const acked = new Set<string>();
    const seen: string[] = [];
    const t = setInterval(() => {
      const fresh = c.deliveries.slice(seen.length);
      for (const d of fresh) seen.push(d.envelope.id);
      const items = fresh.filter((d) => !acked.has(d.envelope.id)).map((d) => ({ from: d.envelope.from, id: d.envelope.id }));
      for (const it of items) acked.add(it.id);
      if (items.length) void c.ack(items);
    }, 20);
    try {
      await Promise.all(more);
      await c.until(() => c.deliveries.length >= ids.length, 10_000, 'all envelopes');
      await new Promise((r) => setTimeout(r, COMMIT_DELAY + 200));
    } finally {
      clearInterval(t);
    }
    expect(c.deliveries.map((d) => d.envelope.id)).toEqual(ids);
    a.close();
    c.close();
  });

  // Folding is the SQLite store's optimisation (the test reads that store's file): the PostgreSQL run of this suite
  // does not define it (tests/integration/relay-store-pg.test.ts covers that store's acks).
  const itSqlite = relayStoreKind() === 'sqlite' ? it : ((() => undefined) as unknown as typeof it);
  itSqlite('folds an acknowledgement that arrives before the commit into the insert: same outcome, body never written', async () => {
    const metrics = async () => (await (await fetch(`${relay.url}/metrics`)).json()) as { foldedAcks: number; acked: number };
    const row = (id: string) => {
      // a second, read-only connection to the relay's live database (WAL: sees what is committed)
      const db = new Database(path.join(relay.dataDir, 'relay.sqlite'), { readonly: true });
      try {
        const env = db.prepare('SELECT seq, body FROM envelopes WHERE sender = ? AND id = ?').get(alice.fingerprint, id) as { seq: number; body: string | null };
        const acks = db.prepare('SELECT recipient, acked_at FROM deliveries WHERE seq = ? ORDER BY recipient').all(env.seq) as Array<{ recipient: string; acked_at: number | null }>;
        return { body: env.body, acked: Object.fromEntries(acks.map((d) => [d.recipient, d.acked_at !== null])) };
      } finally {
        db.close();
      }
    };
    const before = await metrics();
    const a = await login(relay.url, relay.fingerprint, alice);
    const b = await login(relay.url, relay.fingerprint, bob);
    await new Promise((r) => setTimeout(r, 100));

    // 1. one recipient, acked before the commit: one tombstone row, acknowledged, no body ever
    const env = await sealText(alice, [bob], 'folded');
    const sent = a.send(env);
    await b.until(() => b.deliveries.length === 1, 5_000, 'live delivery');
    expect(await b.ack([{ from: alice.fingerprint, id: env.id }])).toEqual({ ok: true, removed: 1 });
    expect(await sent).toEqual({ ok: true, id: env.id, duplicate: false });
    const m1 = await metrics();
    expect(m1.foldedAcks).toBe(before.foldedAcks + 1);
    expect(m1.acked).toBe(before.acked + 1);
    expect(row(env.id)).toEqual({ body: null, acked: { [bob.fingerprint]: true } });
    // the same answers as an acknowledgement written on its own: again → 0, someone else → FORBIDDEN, resend → duplicate
    expect(await b.ack([{ from: alice.fingerprint, id: env.id }])).toEqual({ ok: true, removed: 0 });
    const c = await login(relay.url, relay.fingerprint, carol);
    expect(await c.ack([{ from: alice.fingerprint, id: env.id }])).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await a.send(env)).toEqual({ ok: true, id: env.id, duplicate: true });
    await new Promise((r) => setTimeout(r, 200));
    expect(b.deliveries).toHaveLength(1);

    // 2. two recipients, one acks before the commit, the other later: the body stays until the second ack
    const both = await sealText(alice, [bob, carol], 'for two');
    const sent2 = a.send(both);
    await b.until(() => b.deliveries.length === 2, 5_000, 'live delivery to bob');
    expect(await b.ack([{ from: alice.fingerprint, id: both.id }])).toEqual({ ok: true, removed: 1 });
    await sent2;
    expect((await metrics()).foldedAcks).toBe(before.foldedAcks + 2);
    await c.until(() => c.deliveries.some((d) => d.envelope.id === both.id), 5_000, 'delivery to carol');
    expect(row(both.id)).toEqual({ body: JSON.stringify(both), acked: { [bob.fingerprint]: true, [carol.fingerprint]: false } });
    expect(await c.ack([{ from: alice.fingerprint, id: both.id }])).toEqual({ ok: true, removed: 1 });
    expect(row(both.id).body).toBeNull();

    // 3. an ack that mixes a foldable item with one the recipient may not acknowledge is refused whole, nothing changed
    const mine = await sealText(alice, [bob], 'mixed');
    const notMine = await sealText(alice, [carol], 'not for bob');
    const sent3 = Promise.all([a.send(mine), a.send(notMine)]);
    await b.until(() => b.deliveries.some((d) => d.envelope.id === mine.id), 5_000, 'live delivery');
    // carol's live copy means `notMine` was handed to the store (before bob's ack): otherwise it would be unknown
    // to the ack, which counts as "nothing to remove", not as FORBIDDEN
    await c.until(() => c.deliveries.some((d) => d.envelope.id === notMine.id), 5_000, 'live delivery to carol');
    expect(await b.ack([{ from: alice.fingerprint, id: mine.id }, { from: alice.fingerprint, id: notMine.id }])).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    await sent3;
    expect(row(mine.id).acked).toEqual({ [bob.fingerprint]: false });
    expect(await b.ack([{ from: alice.fingerprint, id: mine.id }])).toEqual({ ok: true, removed: 1 });
    a.close();
    b.close();
    c.close();
  });
});
