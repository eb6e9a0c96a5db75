/**
 * A `send` on the relay (relay/server/ingest.ts): each refusal's code and exact message, the queue quotas at their
 * boundaries, the cap on what new identities may queue together, the smaller send allowance of a new identity and
 * the full one once it is not new, duplicates (counted, stored once, their reservation given back), and the TTL a
 * stored envelope gets.
 *
 * Real relays in this process (so mutation testing reaches them) on 127.0.0.1 with their own SQLite stores, real
 * clients over socket.io and real sealed envelopes.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import type pino from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRelay, type RunningRelay } from '../../relay/server/index.js';
import type { RelayLimits } from '../../relay/server/limits.js';
import { cleanupAll, onCleanup, tmpDir, waitUntil } from '../helpers/core.js';
import { jsonLogger, makeParties, refusal, registerParties, sealText, type Party } from '../helpers/relay.js';
import { loginUntilCleanup as as } from '../helpers/relay-session.js';
import type { SqliteEnvelopeStore } from '../../relay/server/store/sqlite.js';
import { countSweeps, openSqliteStore } from '../helpers/stores.js';

let alice: Party;
let bob: Party;
let carol: Party;
let mallory: Party;

beforeAll(async () => {
  [alice, bob, carol, mallory] = (await makeParties('alice', 'bob', 'carol', 'mallory')) as [Party, Party, Party, Party];
});

afterEach(cleanupAll);

async function start(
  limits: Partial<RelayLimits> = {},
  o: { dataDir?: string; store?: SqliteEnvelopeStore; logger?: pino.Logger } = {},
): Promise<RunningRelay> {
  const dataDir = o.dataDir ?? tmpDir('relay-ingest');
  const relay = await startRelay({ host: '127.0.0.1', port: 0, dataDir, store: o.store, logger: o.logger ?? false, limits });
  onCleanup(() => relay.close());
  return relay;
}

/** The UTF-8 JSON size the relay counts for an envelope against the byte quotas. */
const sizeOf = (e: unknown) => Buffer.byteLength(JSON.stringify(e), 'utf8');

describe('refusals and their messages', () => {
  it('a forged sender, a bad signature and an unknown recipient are refused with their code and message', async () => {
    const relay = await start();
    const m = await as(relay, mallory);
    await as(relay, bob);
    const alices = await sealText(alice, [bob], 'a genuine envelope of alice, replayed by mallory');
    expect(refusal(await m.send(alices))).toEqual({ code: 'FORBIDDEN', message: 'envelope sender is not the authenticated identity' });
    const mine = await sealText(mallory, [bob], 'tampered');
    const flipped = { ...mine, ct: mine.ct.slice(0, 3) + (mine.ct[3] === 'A' ? 'B' : 'A') + mine.ct.slice(4) };
    expect(refusal(await m.send(flipped))).toEqual({ code: 'BAD_SIGNATURE', message: 'envelope signature does not verify with the sender identity' });
    const toCarol = await sealText(mallory, [carol], 'carol never registered here');
    expect(refusal(await m.send(toCarol))).toEqual({ code: 'NOT_FOUND', message: `recipient ${carol.fingerprint} is not registered` });
    expect(relay.metrics().envelopesAccepted).toBe(0);
  });
});

describe('queue quotas', () => {
  it('the byte quota admits a queue exactly at the limit and refuses one byte more', async () => {
    const first = await sealText(alice, [bob], 'one');
    const second = await sealText(alice, [bob], 'two');
    const third = await sealText(alice, [bob], 'six');
    const relay = await start({ queueQuotaBytes: sizeOf(first) + sizeOf(second) });
    const a = await as(relay, alice);
    await as(relay, bob).then((b) => b.close()); // registered, offline: everything stays queued
    expect(await a.send(first)).toMatchObject({ ok: true });
    expect(await a.send(second)).toMatchObject({ ok: true });
    expect(refusal(await a.send(third))).toEqual({ code: 'QUOTA_EXCEEDED', message: `queue of recipient ${bob.fingerprint} is full` });
  });

  it("one sender's cap per recipient is named in its message", async () => {
    const relay = await start({ maxPendingPerSender: 2, newIdentityMs: 0 });
    const a = await as(relay, alice);
    await as(relay, bob).then((b) => b.close());
    for (const t of ['1', '2']) expect(await a.send(await sealText(alice, [bob], t))).toMatchObject({ ok: true });
    expect(refusal(await a.send(await sealText(alice, [bob], '3')))).toEqual({
      code: 'QUOTA_EXCEEDED',
      message: `2 of your envelopes are already waiting for recipient ${bob.fingerprint}`,
    });
  });

  it('new identities together may queue maxPendingFromNewSenders for one recipient; the rest of the queue stays open to others', async () => {
    const relay = await start({ maxPendingFromNewSenders: 3, maxPendingPerSender: 100 }); // everyone here is new (1 h)
    const [a, m] = [await as(relay, alice), await as(relay, mallory)];
    await as(relay, bob).then((b) => b.close());
    expect(await a.send(await sealText(alice, [bob], 'a1'))).toMatchObject({ ok: true });
    expect(await a.send(await sealText(alice, [bob], 'a2'))).toMatchObject({ ok: true });
    expect(await m.send(await sealText(mallory, [bob], 'm1'))).toMatchObject({ ok: true }); // 3 from new senders: the cap
    const over = `recipient ${bob.fingerprint} has too many envelopes waiting from newly registered identities`;
    expect(refusal(await m.send(await sealText(mallory, [bob], 'm2')))).toEqual({ code: 'QUOTA_EXCEEDED', message: over });
    expect(refusal(await a.send(await sealText(alice, [bob], 'a3')))).toEqual({ code: 'QUOTA_EXCEEDED', message: over });
    // another recipient's queue is its own
    await as(relay, carol).then((c) => c.close());
    expect(await m.send(await sealText(mallory, [carol], 'to carol'))).toMatchObject({ ok: true });
  });

  it('senders that are not new are not held to the new senders’ cap', async () => {
    const relay = await start({ maxPendingFromNewSenders: 1, maxPendingPerSender: 100, newIdentityMs: 0 });
    const a = await as(relay, alice);
    await as(relay, bob).then((b) => b.close());
    for (const t of ['1', '2', '3']) expect(await a.send(await sealText(alice, [bob], t))).toMatchObject({ ok: true });
  });
});

describe("a new identity's send allowance", () => {
  it('is newSendFactor of the normal burst and rate, and the full one once the identity is no longer new', async () => {
    const newForMs = 4_000; // long enough for the first sends on a loaded machine, short enough to wait out
    const relay = await start({ sendBurst: 4, sendPerSec: 0.1, newSendFactor: 0.5, newIdentityMs: newForMs, maxPendingFromNewSenders: 100 });
    const a = await as(relay, alice);
    const registered = Date.now(); // alice's registration is before this
    await as(relay, bob).then((b) => b.close());
    expect(await a.send(await sealText(alice, [bob], '1'))).toMatchObject({ ok: true });
    expect(await a.send(await sealText(alice, [bob], '2'))).toMatchObject({ ok: true });
    const limited = refusal(await a.send(await sealText(alice, [bob], '3')));
    expect(limited).toMatchObject({ code: 'RATE_LIMITED', message: 'too many envelopes; slow down' });
    // half the rate too: a token every 20 s (the full rate would give one every 10 s)
    expect(limited.retryAfterMs).toBeGreaterThan(12_000);
    expect(limited.retryAfterMs).toBeLessThanOrEqual(20_000);

    await waitUntil(() => Date.now() - registered > newForMs + 100, 10_000, 'alice no longer new');
    for (const t of ['4', '5', '6', '7']) expect(await a.send(await sealText(alice, [bob], t)), t).toMatchObject({ ok: true });
    expect(refusal(await a.send(await sealText(alice, [bob], '8')))).toMatchObject({ code: 'RATE_LIMITED' });
  });

  it('an identity that is not new gets the full allowance at once, and keeps one bucket across sends', async () => {
    const relay = await start({ sendBurst: 3, sendPerSec: 0.01, newSendFactor: 0.5, newIdentityMs: 0 });
    const a = await as(relay, alice);
    await as(relay, bob).then((b) => b.close());
    for (const t of ['1', '2', '3']) expect(await a.send(await sealText(alice, [bob], t))).toMatchObject({ ok: true });
    expect(refusal(await a.send(await sealText(alice, [bob], '4')))).toMatchObject({ code: 'RATE_LIMITED' });
  });
});

describe('duplicates', () => {
  it('are answered duplicate, counted, stored once, give their quota back, and are logged as such', async () => {
    const { lines, logger } = jsonLogger('debug');
    const relay = await start({ queueQuota: 2, maxPendingPerSender: 2, maxPendingFromNewSenders: 2 }, { logger });
    const a = await as(relay, alice);
    await as(relay, bob).then((b) => b.close());
    const once = await sealText(alice, [bob], 'once');
    expect(await a.send(once)).toMatchObject({ ok: true, duplicate: false });
    for (let i = 0; i < 3; i++) {
      const again = await a.send(once);
      expect(again, JSON.stringify(again)).toMatchObject({ ok: true, duplicate: true });
    }
    // the quota of 2 still has room for a second envelope: the duplicates took nothing
    expect(await a.send(await sealText(alice, [bob], 'second'))).toMatchObject({ ok: true, duplicate: false });
    expect(relay.metrics()).toMatchObject({ envelopesAccepted: 2, duplicates: 3 });
    const queued = lines.filter((l) => l.msg === 'envelope queued' && l.id === once.id);
    expect(queued.map((l) => l.duplicate)).toEqual([false, true, true, true]);
    expect(queued[0]).toMatchObject({ level: 20, from: alice.fingerprint, to: 1, size: sizeOf(once) });
    const b = await as(relay, bob);
    const fetched = await b.fetch(bob.fingerprint);
    expect(fetched).toMatchObject({ ok: true, more: false });
    expect((fetched as { envelopes: Array<{ envelope: { id: string } }> }).envelopes.map((d) => d.envelope.id).sort()).toHaveLength(2);
  });

  it('two different envelopes sent back to back, before either is committed, are both new', async () => {
    const relay = await start();
    const a = await as(relay, alice);
    await as(relay, bob).then((b) => b.close());
    const sent = await Promise.all(['x', 'y', 'z'].map(async (t) => a.send(await sealText(alice, [bob], t))));
    expect(sent.map((r) => r.ok && (r as { duplicate: boolean }).duplicate)).toEqual([false, false, false]);
    expect(relay.metrics().envelopesAccepted).toBe(3);
  });
});

describe('expiry', () => {
  it('a stored envelope lives ttlMs from its arrival: sweeps before then keep it', async () => {
    const dataDir = tmpDir('relay-ingest-ttl');
    const store = await openSqliteStore(dataDir);
    const sweeps = countSweeps(store);
    const relay = await startRelay({ host: '127.0.0.1', port: 0, dataDir, store, logger: false, limits: { ttlMs: 60_000, sweepIntervalMs: 30 } });
    onCleanup(() => relay.close());
    const a = await as(relay, alice);
    await as(relay, bob).then((b) => b.close());
    expect(await a.send(await sealText(alice, [bob], 'kept'))).toMatchObject({ ok: true });
    const after = sweeps();
    await waitUntil(() => sweeps() >= after + 3, 10_000, 'three sweeps');
    expect(relay.metrics().expired).toBe(0);
    const b = await as(relay, bob);
    await waitUntil(() => b.deliveries.length > 0, 10_000, 'the envelope delivered');
  });
});

describe('store faults and accounting changes during a send', () => {
  it('a failed duplicate check refuses the send, keeps no reservation, and the retry is stored once', async () => {
    const dataDir = tmpDir('relay-ingest-dupe-check');
    const store = await openSqliteStore(dataDir);
    const hasEnvelope = store.hasEnvelope.bind(store);
    let failures = 0;
    store.hasEnvelope = (from, id) => (failures-- > 0 ? Promise.reject(new Error('injected: database gone')) : hasEnvelope(from, id));
    const relay = await start({ queueQuota: 1 }, { dataDir, store });
    const a = await as(relay, alice);
    await as(relay, bob).then((b) => b.close());
    const e = await sealText(alice, [bob], 'retried after a store fault');
    failures = 1;
    expect(refusal(await a.send(e))).toEqual({ code: 'INTERNAL', message: 'relay error; retry later' });
    // a queue quota of 1: the retry fits only if the failed attempt gave its place back
    expect(await a.send(e)).toMatchObject({ ok: true, duplicate: false });
    expect(relay.metrics()).toMatchObject({ envelopesAccepted: 1, duplicates: 0 });
    const fetched = await (await as(relay, bob)).fetch(bob.fingerprint);
    expect(fetched.ok && fetched.envelopes.map((d) => d.envelope.id)).toEqual([e.id]);
  });

  it('counts that change while a send loads them refuse it with INTERNAL "retry", and the retry is accepted', async () => {
    const dataDir = tmpDir('relay-ingest-recount');
    const store = await openSqliteStore(dataDir);
    // The send loads each recipient's counts in turn; the test holds the second recipient's load.
    const pendingBySender = store.pendingBySender.bind(store);
    let holdFor: string | null = null;
    let loadHeld!: () => void;
    let resume!: () => void;
    const held = new Promise<void>((r) => (loadHeld = r));
    store.pendingBySender = async (recipient) => {
      if (recipient === holdFor) {
        holdFor = null;
        loadHeld();
        await new Promise<void>((r) => (resume = r));
      }
      return pendingBySender(recipient);
    };
    const relay = await start({}, { dataDir, store });
    const a = await as(relay, alice);
    const clients = new Map(await Promise.all([bob, carol].map(async (p) => [p.fingerprint, await as(relay, p)] as const)));
    const e = await sealText(alice, [bob, carol], 'to both');
    const [first, second] = e.to as [string, string];
    holdFor = second;
    const sending = a.send(e);
    await held; // the first recipient's counts are loaded, the second's are being read
    // the first recipient acknowledges something not in his queue: the relay drops his counts to recount them
    expect(await clients.get(first)!.ack([{ from: alice.fingerprint, id: e.id }])).toMatchObject({ ok: true, removed: 0 });
    resume();
    expect(refusal(await sending)).toEqual({ code: 'INTERNAL', message: 'queue accounting changed meanwhile; retry' });
    expect(relay.metrics().envelopesAccepted).toBe(0);
    expect(await a.send(e)).toMatchObject({ ok: true, duplicate: false });
    for (const fp of [first, second]) {
      const c = clients.get(fp)!;
      await c.until(() => c.deliveries.length > 0, 10_000, 'the retried envelope');
      expect(c.deliveries.map((d) => d.envelope.id)).toEqual([e.id]);
    }
  });
});

describe('after a restart, with the identity cache cold', () => {
  it("a new sender's cap counts only senders that are new, and a sender that is not new is not held to it", async () => {
    const dataDir = tmpDir('relay-ingest-cold');
    const first = await start({ maxPendingFromNewSenders: 100 }, { dataDir });
    const c = await as(first, carol);
    await registerParties(first.url, [bob, alice]);
    for (const t of ['1', '2']) expect(await c.send(await sealText(carol, [bob], `carol ${t}`))).toMatchObject({ ok: true });
    c.close();
    await first.close();
    // Carol registered two hours ago (the relay is stopped; its own database is rewritten), Alice just now: with the
    // default hour, Carol's two envelopes waiting for Bob are not from a new sender.
    const db = new Database(path.join(dataDir, 'relay.sqlite'));
    db.prepare('UPDATE identities SET registered_at = registered_at - ? WHERE fingerprint = ?').run(2 * 3_600_000, carol.fingerprint);
    db.close();

    const relay = await start({ maxPendingFromNewSenders: 1, maxPendingPerSender: 100 }, { dataDir });
    const a = await as(relay, alice); // Carol has not logged in to this relay: nothing of hers is cached
    expect(await a.send(await sealText(alice, [bob], 'alice 1'))).toMatchObject({ ok: true });
    // now one envelope from a new sender waits for Bob: the cap of 1 is reached for new senders, not for Carol
    const over = `recipient ${bob.fingerprint} has too many envelopes waiting from newly registered identities`;
    expect(refusal(await a.send(await sealText(alice, [bob], 'alice 2')))).toEqual({ code: 'QUOTA_EXCEEDED', message: over });
    const c2 = await as(relay, carol);
    expect(await c2.send(await sealText(carol, [bob], 'carol 3'))).toMatchObject({ ok: true });
  });
});
