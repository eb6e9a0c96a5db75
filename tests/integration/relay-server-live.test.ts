/**
 * Live forwarding's bookkeeping in relay/server/ingest.ts, at the moments where it changes hands with the store:
 * a live recipient whose window fills (the rest comes from the store, in order, exactly once), an ack that arrives
 * before the envelope's commit, a commit that fails after the envelope went out live, an envelope committed after
 * the window freed, two enqueues uncommitted at once, and the same envelope sent twice at once.
 *
 * Real relays in this process (so mutation testing reaches them) with real SQLite stores, real clients and sealed
 * envelopes. The store's commits can be held (the commit happens; the relay hears of it when the test says) or made
 * to fail once: the only faults, injected into a real store.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Delivered, Envelope } from '../../relay/protocol/index.js';
import { startRelay, type RelayLimits, type RunningRelay } from '../../relay/server/index.js';
import type { SqliteEnvelopeStore } from '../../relay/server/store/sqlite.js';
import { cleanupAll, onCleanup, tmpDir, waitUntil } from '../helpers/core.js';
import { makeParties, RelayClient, sealText, type Party } from '../helpers/relay.js';
import { openSqliteStore } from '../helpers/stores.js';

let alice: Party;
let bob: Party;

beforeAll(async () => {
  [alice, bob] = (await makeParties('alice', 'bob')) as [Party, Party];
}, 120_000);

afterEach(cleanupAll);

interface Live {
  relay: RunningRelay;
  a: RelayClient;
  b: RelayClient;
  /**
   * From now on, the relay hears of commits only when released (the rows are written meanwhile). Returns the release
   * of this hold alone; release() ends every hold.
   */
  hold(): () => void;
  /**
   * From now on, enqueues reach the store only when released: nothing is written (or readable) until then, and then
   * in the order they came. Returns the release of this hold alone.
   */
  holdWrites(): () => void;
  release(): void;
  /** The next enqueue fails (nothing written). */
  failNext(): void;
  /**
   * Alice sends `e`; resolves once the relay has handed it to the store (it has passed its checks and its live-push
   * decision), with the answer still to come.
   */
  sendHanded(e: Envelope): Promise<{ answer: ReturnType<RelayClient['send']> }>;
}

/** Alice and Bob logged in; Bob caught up, so new envelopes for him go out live. */
async function live(limits: Partial<RelayLimits>): Promise<Live> {
  const dataDir = tmpDir('relay-live');
  const store: SqliteEnvelopeStore = await openSqliteStore(dataDir);
  const enqueue = store.enqueue.bind(store);
  let gate: Promise<void> | null = null;
  let writeGate: Promise<void> | null = null;
  let openGate: () => void = () => undefined;
  let openWrites: () => void = () => undefined;
  let fail = false;
  let enqueues = 0;
  store.enqueue = (input) => {
    enqueues++;
    if (fail) {
      fail = false;
      return Promise.reject(new Error('injected: disk full'));
    }
    const g = gate;
    const w = writeGate;
    if (w) return w.then(() => enqueue(input));
    const p = enqueue(input);
    return g ? p.then(async (r) => (await g, r)) : p;
  };
  const relay = await startRelay({ host: '127.0.0.1', port: 0, dataDir, store, logger: false, limits });
  onCleanup(() => relay.close());
  const clients: RelayClient[] = [];
  for (const p of [alice, bob]) {
    const c = await RelayClient.connect(relay.url);
    onCleanup(() => c.close());
    expect((await c.register(p)).ok).toBe(true);
    expect((await c.auth(p, relay.fingerprint)).ok).toBe(true);
    clients.push(c);
  }
  const [a, b] = clients as [RelayClient, RelayClient];
  expect(await b.fetch(bob.fingerprint)).toMatchObject({ ok: true, envelopes: [] }); // a round trip: his pump is done
  const releaseCommits = () => {
    gate = null;
    openGate();
  };
  const releaseWrites = () => {
    writeGate = null;
    openWrites();
  };
  onCleanup(() => (releaseCommits(), releaseWrites())); // never leave a held commit behind a failed assertion
  return {
    relay,
    a,
    b,
    hold: () => ((gate = new Promise<void>((r) => (openGate = r))), releaseCommits),
    holdWrites: () => ((writeGate = new Promise<void>((r) => (openWrites = r))), releaseWrites),
    release: () => (releaseCommits(), releaseWrites()),
    failNext: () => void (fail = true),
    async sendHanded(e) {
      const handed = enqueues;
      const answer = a.send(e);
      await waitUntil(() => enqueues > handed, 10_000, `${e.id} handed to the store`);
      return { answer };
    },
  };
}

const texts = (n: number, tag: string): Promise<Envelope[]> => Promise.all(Array.from({ length: n }, (_, i) => sealText(alice, [bob], `${tag} ${i}`)));
const ids = (d: Delivered[]) => d.map((x) => x.envelope.id);
const item = (e: Envelope) => ({ from: e.from, id: e.id });

describe('a live recipient whose window fills', () => {
  it('gets nothing beyond the window; the rest comes from the store after acks, in order, each once', async () => {
    const { relay, a, b } = await live({ deliverWindow: 2, deliverBatch: 2 });
    const sent = await texts(5, 'm');
    for (const e of sent.slice(0, 3)) expect(await a.send(e)).toMatchObject({ ok: true, duplicate: false });
    expect(await b.fetch(bob.fingerprint, 1)).toMatchObject({ ok: true }); // a round trip after the sends
    expect(ids(b.deliveries)).toEqual(sent.slice(0, 2).map((e) => e.id));
    expect(relay.metrics().deliveredLive).toBe(2);

    // the third waits in the store; an ack frees room for it, and later envelopes queue behind it
    expect(await b.ack([item(sent[0]!)])).toMatchObject({ ok: true, removed: 1 });
    await b.until(() => b.deliveries.length >= 3, 10_000, 'the third, from the store');
    for (const e of sent.slice(3)) expect(await a.send(e)).toMatchObject({ ok: true });
    expect(await b.ack([item(sent[1]!), item(sent[2]!)])).toMatchObject({ ok: true, removed: 2 });
    await b.until(() => b.deliveries.length >= 5, 10_000, 'the last two');
    expect(await b.fetch(bob.fingerprint, 1)).toMatchObject({ ok: true });
    expect(ids(b.deliveries)).toEqual(sent.map((e) => e.id));
  });
});

describe('an ack that arrives before the commit', () => {
  it('leaves no phantom in the window: the next envelopes still go out live', async () => {
    const w = await live({ deliverWindow: 2, deliverBatch: 2 });
    const [first, second, third] = (await texts(3, 'early ack')) as [Envelope, Envelope, Envelope];
    w.hold();
    const sending = w.a.send(first); // answered after the commit, which the relay hears of at release()
    await w.b.until(() => w.b.deliveries.length === 1, 10_000, 'the live push');
    expect(await w.b.ack([item(first)])).toMatchObject({ ok: true });
    w.release();
    expect(await sending).toMatchObject({ ok: true, duplicate: false });
    for (const e of [second, third]) expect(await w.a.send(e)).toMatchObject({ ok: true });
    await w.b.until(() => w.b.deliveries.length === 3, 10_000, 'both live, without another ack');
    expect(w.relay.metrics().deliveredLive).toBe(3);
  });
});

describe('a commit that fails after the envelope went out live', () => {
  it('frees its place in the window; the same envelope sent again is new, stored and delivered', async () => {
    const w = await live({ deliverWindow: 2, deliverBatch: 2 });
    const [lost, next, other] = (await texts(3, 'failed commit')) as [Envelope, Envelope, Envelope];
    w.failNext();
    expect(await w.a.send(lost)).toMatchObject({ ok: false, error: { code: 'INTERNAL' } });
    expect(w.b.deliveries.length).toBeLessThanOrEqual(1); // it may have gone out live before the commit failed
    const before = w.b.deliveries.length;
    for (const e of [next, other]) expect(await w.a.send(e)).toMatchObject({ ok: true });
    await w.b.until(() => w.b.deliveries.length === before + 2, 10_000, 'two more, without an ack');
    // the retry is not mistaken for a duplicate of the envelope that was never stored
    expect(await w.a.send(lost)).toMatchObject({ ok: true, duplicate: false });
    expect(await w.b.ack([item(next), item(other)])).toMatchObject({ ok: true, removed: 2 });
    await w.b.until(() => w.b.deliveries.some((d, i) => i >= before && d.envelope.id === lost.id), 10_000, 'the retry delivered');
    const fetched = await w.b.fetch(bob.fingerprint);
    expect(fetched.ok && fetched.envelopes.map((d) => d.envelope.id)).toEqual([lost.id]);
  });
});

describe('an envelope committed after the window freed', () => {
  it('is pushed when its commit lands, with no other event to wake the pump', async () => {
    const w = await live({ deliverWindow: 2, deliverBatch: 2 });
    const [e1, e2, e3, e4] = (await texts(4, 'late commit')) as [Envelope, Envelope, Envelope, Envelope];
    for (const e of [e1, e2]) expect(await w.a.send(e)).toMatchObject({ ok: true });
    await w.b.until(() => w.b.deliveries.length === 2, 10_000, 'the window');
    w.holdWrites();
    const sending = w.a.send(e3); // the window is full: queued, not written yet
    expect(await w.b.ack([item(e1), item(e2)])).toMatchObject({ ok: true, removed: 2 }); // the pump finds nothing yet
    expect(w.b.deliveries.length).toBe(2);
    // that pump must not have declared Bob caught up while e3 is uncommitted: e4 may not overtake it live
    const { answer: sending4 } = await w.sendHanded(e4);
    expect(await w.b.fetch(bob.fingerprint, 1)).toMatchObject({ ok: true }); // a round trip on Bob's connection
    expect(w.b.deliveries.length).toBe(2);
    w.release();
    expect(await sending).toMatchObject({ ok: true });
    expect(await sending4).toMatchObject({ ok: true });
    await w.b.until(() => w.b.deliveries.length === 4, 10_000, 'the third and fourth, once committed');
    expect(ids(w.b.deliveries)).toEqual([e1.id, e2.id, e3.id, e4.id]);
  });
});

describe('two enqueues uncommitted at once', () => {
  it('the first commit leaves the second counted: a later envelope may not overtake it live', async () => {
    const w = await live({ deliverWindow: 1, deliverBatch: 1 });
    const [e1, e2, e3, e4] = (await texts(4, 'two uncommitted')) as [Envelope, Envelope, Envelope, Envelope];
    expect(await w.a.send(e1)).toMatchObject({ ok: true });
    await w.b.until(() => w.b.deliveries.length === 1, 10_000, 'e1 live');
    const commitE2 = w.hold();
    const { answer: sending2 } = await w.sendHanded(e2); // the window is full: queued, written, its commit not yet heard of
    const writeE3 = w.holdWrites();
    const { answer: sending3 } = await w.sendHanded(e3); // queued, not written yet: two enqueues for Bob are uncommitted
    expect(await w.b.ack([item(e1)])).toMatchObject({ ok: true, removed: 1 });
    await w.b.until(() => w.b.deliveries.length === 2, 10_000, 'e2 from the store');
    commitE2(); // e2 committed; e3 still is not
    expect(await sending2).toMatchObject({ ok: true });
    // the pump after this ack finds nothing to read while e3 is uncommitted: it must not declare Bob caught up
    expect(await w.b.ack([item(e2)])).toMatchObject({ ok: true, removed: 1 });
    const { answer: sending4 } = await w.sendHanded(e4);
    expect(await w.b.fetch(bob.fingerprint, 1)).toMatchObject({ ok: true }); // a round trip on Bob's connection
    expect(ids(w.b.deliveries)).toEqual([e1.id, e2.id]);
    writeE3();
    expect(await sending3).toMatchObject({ ok: true });
    expect(await sending4).toMatchObject({ ok: true });
    await w.b.until(() => w.b.deliveries.length >= 3, 10_000, 'e3 once committed');
    expect(await w.b.ack([item(e3)])).toMatchObject({ ok: true, removed: 1 });
    await w.b.until(() => w.b.deliveries.length === 4, 10_000, 'then e4');
    expect(ids(w.b.deliveries)).toEqual([e1.id, e2.id, e3.id, e4.id]);
  });
});

describe('sends at once', () => {
  it('the same envelope twice is delivered once; three different ones all go out live', async () => {
    const w = await live({});
    const [same] = (await texts(1, 'twice')) as [Envelope];
    const answers = await Promise.all([w.a.send(same), w.a.send(same)]);
    expect(answers.map((r) => r.ok && (r as { duplicate: boolean }).duplicate).sort()).toEqual([false, true]);
    const three = await texts(3, 'at once');
    const sent = await Promise.all(three.map((e) => w.a.send(e)));
    expect(sent.every((r) => r.ok && !(r as { duplicate: boolean }).duplicate)).toBe(true);
    await w.b.until(() => w.b.deliveries.length >= 4, 10_000, 'four deliveries');
    expect(await w.b.fetch(bob.fingerprint, 1)).toMatchObject({ ok: true });
    expect(ids(w.b.deliveries).sort()).toEqual([same, ...three].map((e) => e.id).sort());
    expect(w.relay.metrics()).toMatchObject({ deliveredLive: 4, delivered: 4, duplicates: 1 });
  });
});
