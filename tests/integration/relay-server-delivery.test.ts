/**
 * Delivery on the relay (relay/server/delivery.ts): the queue pushed in order under flow control (batches of
 * deliverBatch, at most deliverWindow unacknowledged), acks that free the window and the sender's share of the quota,
 * `fetch` of one's own queue, live forwarding once caught up, and a failed store read. Real relays in this process
 * (so mutation testing reaches them) with small limits, real SQLite stores and real sealed envelopes; the one fault is
 * injected into a real store.
 */
import type pino from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Delivered, Envelope } from '../../relay/protocol/index.js';
import { startRelay, type RelayLimits, type RunningRelay } from '../../relay/server/index.js';
import type { SqliteEnvelopeStore } from '../../relay/server/store/sqlite.js';
import { cleanupAll, onCleanup, tmpDir, waitUntil } from '../helpers/core.js';
import { jsonLogger, makeParties, refusal, RelayClient, sealText, type Party } from '../helpers/relay.js';
import { openSqliteStore } from '../helpers/stores.js';

let alice: Party;
let bob: Party;
let carol: Party;

beforeAll(async () => {
  [alice, bob, carol] = (await makeParties('alice', 'bob', 'carol')) as [Party, Party, Party];
}, 120_000);

const clients: RelayClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await cleanupAll();
});

async function relayWith(limits: Partial<RelayLimits>, o: { store?: SqliteEnvelopeStore; logger?: pino.Logger } = {}): Promise<RunningRelay> {
  const relay = await startRelay({ host: '127.0.0.1', port: 0, dataDir: tmpDir('delivery'), logger: o.logger ?? false, limits, ...(o.store ? { store: o.store } : {}) });
  onCleanup(() => relay.close());
  // everyone registered once, over one anonymous connection
  const c = await connect(relay);
  for (const p of [alice, bob, carol]) expect((await c.register(p)).ok).toBe(true);
  c.close();
  return relay;
}

async function connect(relay: RunningRelay): Promise<RelayClient> {
  const c = await RelayClient.connect(relay.url);
  clients.push(c);
  return c;
}

/** A connection authenticated as `p`; `batches` records the size of each `deliver` event it gets. */
async function login(relay: RunningRelay, p: Party): Promise<{ c: RelayClient; batches: number[] }> {
  const c = await connect(relay);
  const batches: number[] = [];
  c.socket.on('deliver', (d: { envelopes: unknown[] }) => batches.push(d.envelopes.length));
  const r = await c.auth(p, relay.fingerprint);
  expect(r.ok).toBe(true);
  return { c, batches };
}

async function sendAll(from: RelayClient, envelopes: Envelope[]): Promise<void> {
  for (const e of envelopes) expect(await from.send(e)).toMatchObject({ ok: true, duplicate: false });
}

async function texts(from: Party, to: Party, n: number, tag = 'm'): Promise<Envelope[]> {
  const out: Envelope[] = [];
  for (let i = 0; i < n; i++) out.push(await sealText(from, [to], `${tag} ${i}`));
  return out;
}

const ids = (d: Delivered[]): string[] => d.map((x) => x.envelope.id);
const items = (d: Delivered[]) => d.map((x) => ({ from: x.envelope.from, id: x.envelope.id }));

describe('the queue pushed under flow control', () => {
  it('in send order, in batches of deliverBatch, never more than deliverWindow unacknowledged; acks free the window', async () => {
    const relay = await relayWith({ deliverBatch: 2, deliverWindow: 3 });
    const a = (await login(relay, alice)).c;
    const sent = await texts(alice, bob, 7);
    await sendAll(a, sent); // Bob is offline: all seven are queued

    const { c: b, batches } = await login(relay, bob);
    await b.until(() => b.deliveries.length >= 3, 10_000, 'the first window');
    expect(await b.fetch(bob.fingerprint, 1)).toMatchObject({ ok: true }); // a round trip: the pump has stopped by now
    expect(ids(b.deliveries)).toEqual(sent.slice(0, 3).map((e) => e.id));
    expect(batches).toEqual([2, 1]);
    expect(relay.metrics().delivered).toBe(3);

    expect(await b.ack(items(b.deliveries.slice(0, 2)))).toEqual({ ok: true, removed: 2 });
    await b.until(() => b.deliveries.length >= 5, 10_000, 'two more');
    expect(await b.fetch(bob.fingerprint, 1)).toMatchObject({ ok: true });
    expect(ids(b.deliveries)).toEqual(sent.slice(0, 5).map((e) => e.id));

    expect(await b.ack(items(b.deliveries.slice(2, 5)))).toEqual({ ok: true, removed: 3 });
    await b.until(() => b.deliveries.length >= 7, 10_000, 'the rest');
    expect(ids(b.deliveries)).toEqual(sent.map((e) => e.id));
    expect(batches.every((n) => n >= 1 && n <= 2)).toBe(true);
    expect(await b.ack(items(b.deliveries.slice(5)))).toEqual({ ok: true, removed: 2 });
    expect(relay.metrics()).toMatchObject({ delivered: 7, acked: 7 });
  });

  it('once caught up, a new envelope is forwarded live; nothing is pushed twice', async () => {
    const relay = await relayWith({});
    const a = (await login(relay, alice)).c;
    const first = await texts(alice, bob, 2, 'queued');
    await sendAll(a, first);
    const { c: b } = await login(relay, bob);
    await b.until(() => b.deliveries.length >= 2, 10_000, 'the queue');
    expect(relay.metrics().deliveredLive).toBe(0);
    const [live] = await texts(alice, bob, 1, 'live');
    await sendAll(a, [live!]);
    await b.until(() => b.deliveries.length >= 3, 10_000, 'the live one');
    expect(relay.metrics()).toMatchObject({ delivered: 3, deliveredLive: 1 });
    expect(await b.ack(items(b.deliveries))).toEqual({ ok: true, removed: 3 });
    expect(await b.fetch(bob.fingerprint)).toEqual({ ok: true, envelopes: [], more: false });
    expect(ids(b.deliveries)).toEqual([...first, live!].map((e) => e.id));
  });
});

describe('fetch', () => {
  it("reads one's own queue without acknowledging it: limit, deliverBatch by default, and whether more is waiting", async () => {
    const relay = await relayWith({ deliverBatch: 3, deliverWindow: 1 });
    const a = (await login(relay, alice)).c;
    const sent = await texts(alice, bob, 5);
    await sendAll(a, sent);
    const { c: b } = await login(relay, bob);
    const two = await b.fetch(bob.fingerprint, 2);
    expect(two.ok && { ids: ids(two.envelopes), more: two.more }).toEqual({ ids: sent.slice(0, 2).map((e) => e.id), more: true });
    const byDefault = await b.fetch(bob.fingerprint);
    expect(byDefault.ok && { n: byDefault.envelopes.length, more: byDefault.more }).toEqual({ n: 3, more: true });
    const exact = await b.fetch(bob.fingerprint, 5);
    expect(exact.ok && { ids: ids(exact.envelopes), more: exact.more }).toEqual({ ids: sent.map((e) => e.id), more: false });
    const over = await b.fetch(bob.fingerprint, 6);
    expect(over.ok && { n: over.envelopes.length, more: over.more }).toEqual({ n: 5, more: false });
    expect(exact.ok && exact.envelopes[0]!.receivedAt).toBeGreaterThan(0);
  });

  it("another identity's queue is refused", async () => {
    const relay = await relayWith({});
    const { c: b } = await login(relay, bob);
    expect(refusal(await b.fetch(alice.fingerprint))).toEqual({ code: 'FORBIDDEN', message: 'you may fetch only your own queue' });
  });
});

describe('acks', () => {
  it("count only what was queued for you, and give the sender back its share of the recipient's queue", async () => {
    const relay = await relayWith({ queueQuota: 20, maxPendingPerSender: 2, maxPendingFromNewSenders: 20 });
    const a = (await login(relay, alice)).c;
    await sendAll(a, await texts(alice, bob, 2));
    const [third] = await texts(alice, bob, 1, 'third');
    expect(refusal(await a.send(third!)).code).toBe('QUOTA_EXCEEDED');

    const { c: b } = await login(relay, bob);
    await b.until(() => b.deliveries.length >= 2, 10_000, 'both');
    // every item removed: the sender's count goes down by one
    expect(await b.ack(items(b.deliveries.slice(0, 1)))).toEqual({ ok: true, removed: 1 });
    expect(await a.send(third!)).toMatchObject({ ok: true });
    const [fourth] = await texts(alice, bob, 1, 'fourth');
    expect(refusal(await a.send(fourth!)).code).toBe('QUOTA_EXCEEDED');

    // not every item removed (one was never queued): the counts are read again from the store
    const unknown = { from: carol.fingerprint, id: 'AAAAAAAAAAAAAAAAAAAAAA' };
    expect(await b.ack([...items(b.deliveries.slice(1, 2)), unknown])).toEqual({ ok: true, removed: 1 });
    expect(await a.send(fourth!)).toMatchObject({ ok: true });
    expect(await b.ack([unknown])).toEqual({ ok: true, removed: 0 });
    expect(relay.metrics().acked).toBe(2);
  });

  it("free the recipient's whole-queue quota too", async () => {
    const relay = await relayWith({ queueQuota: 2, maxPendingPerSender: 2, maxPendingFromNewSenders: 2 });
    const a = (await login(relay, alice)).c;
    const c = (await login(relay, carol)).c;
    await sendAll(a, await texts(alice, bob, 2));
    const [fromCarol] = await texts(carol, bob, 1, 'carol');
    expect(refusal(await c.send(fromCarol!))).toMatchObject({ code: 'QUOTA_EXCEEDED', message: `queue of recipient ${bob.fingerprint} is full` });
    const { c: b } = await login(relay, bob);
    await b.until(() => b.deliveries.length >= 2, 10_000, 'both');
    expect(await b.ack(items(b.deliveries.slice(0, 1)))).toEqual({ ok: true, removed: 1 });
    expect(await c.send(fromCarol!)).toMatchObject({ ok: true });
  });
});

describe('acks the counts cannot follow', () => {
  it("an item of the same sender that was not removed: the sender's count is read again, not lowered twice", async () => {
    const relay = await relayWith({ queueQuota: 20, maxPendingPerSender: 2, maxPendingFromNewSenders: 20 });
    const a = (await login(relay, alice)).c;
    await sendAll(a, await texts(alice, bob, 2));
    const { c: b } = await login(relay, bob);
    await b.until(() => b.deliveries.length >= 2, 10_000, 'both');
    const never = { from: alice.fingerprint, id: 'AAAAAAAAAAAAAAAAAAAAAA' };
    expect(await b.ack([...items(b.deliveries.slice(0, 1)), never])).toEqual({ ok: true, removed: 1 });
    // one of Alice's two is still waiting: room for exactly one more
    const [one, two] = await texts(alice, bob, 2, 'more');
    expect(await a.send(one!)).toMatchObject({ ok: true });
    expect(refusal(await a.send(two!)).code).toBe('QUOTA_EXCEEDED');
  });

  it('a store that cannot say how many bytes an ack freed: the queue usage is read again', async () => {
    const store = await openSqliteStore(tmpDir('delivery-nobytes'));
    const ack = store.ack.bind(store);
    store.ack = async (recipient, its) => {
      const r = await ack(recipient, its);
      return { removed: r.removed } as Awaited<ReturnType<typeof ack>>; // as a store without byte counts answers
    };
    const fromAlice = await texts(alice, bob, 2);
    const [fromCarol, again] = await texts(carol, bob, 2, 'carol');
    // the byte quota binds here (room for two and a half envelopes of this size), not the count
    const size = JSON.stringify(fromAlice[0]).length;
    const relay = await relayWith({ queueQuota: 20, queueQuotaBytes: Math.floor(size * 2.5), maxPendingPerSender: 20, maxPendingFromNewSenders: 20 }, { store });
    const a = (await login(relay, alice)).c;
    const c = (await login(relay, carol)).c;
    await sendAll(a, fromAlice);
    expect(refusal(await c.send(fromCarol!)).code).toBe('QUOTA_EXCEEDED');
    const { c: b } = await login(relay, bob);
    await b.until(() => b.deliveries.length >= 2, 10_000, 'both');
    expect(await b.ack(items(b.deliveries.slice(0, 1)))).toEqual({ ok: true, removed: 1 });
    expect(await c.send(fromCarol!)).toMatchObject({ ok: true });
    // read again from the store: full by bytes again (not a count lowered with the bytes unknown)
    expect(refusal(await c.send(again!)).code).toBe('QUOTA_EXCEEDED');
  });
});

describe('a pump already running', () => {
  it('is asked to run again by a commit during its read, and delivers that envelope too', async () => {
    const store = await openSqliteStore(tmpDir('delivery-again'));
    const pending = store.pending.bind(store);
    let hold: Promise<void> | null = null;
    let reads = 0;
    store.pending = async (...args) => {
      const rows = await pending(...args); // read now; hand the rows back only when the test lets go
      reads++;
      if (hold) await hold;
      return rows;
    };
    const relay = await relayWith({}, { store });
    const a = (await login(relay, alice)).c;
    const queued = await texts(alice, bob, 1, 'queued');
    await sendAll(a, queued);
    let release!: () => void;
    hold = new Promise<void>((r) => (release = r));
    const before = reads;
    const { c: b } = await login(relay, bob);
    await waitUntil(() => reads > before, 10_000, "the pump's read");
    const [late] = await texts(alice, bob, 1, 'late');
    await sendAll(a, [late!]); // committed while the pump's read (without it) is held
    hold = null;
    release();
    await b.until(() => b.deliveries.length >= 2, 10_000, 'both');
    expect(ids(b.deliveries)).toEqual([...queued, late!].map((e) => e.id));
  });
});

describe('a store that cannot read', () => {
  it('stops that pump with a log line naming the identity; the next send delivers everything in order', async () => {
    const store = await openSqliteStore(tmpDir('delivery-store'));
    const pending = store.pending.bind(store);
    let failures = 0;
    store.pending = async (...args) => {
      if (failures > 0) {
        failures--;
        throw new Error('disk I/O error');
      }
      return pending(...args);
    };
    const { lines, logger } = jsonLogger();
    const relay = await relayWith({}, { store, logger });
    const a = (await login(relay, alice)).c;
    const queued = await texts(alice, bob, 2, 'queued');
    await sendAll(a, queued);
    failures = 1;
    const { c: b } = await login(relay, bob);
    const failed = await waitUntil(() => lines.find((l) => l.msg === 'delivery failed'), 10_000, 'the failed read');
    expect(failed).toMatchObject({ level: 50, err: 'disk I/O error', fp: bob.fingerprint });
    expect(b.deliveries).toEqual([]);
    const [next] = await texts(alice, bob, 1, 'next');
    await sendAll(a, [next!]);
    await b.until(() => b.deliveries.length >= 3, 10_000, 'everything');
    expect(ids(b.deliveries)).toEqual([...queued, next!].map((e) => e.id));
  });
});
