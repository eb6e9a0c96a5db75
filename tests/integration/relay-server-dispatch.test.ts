/**
 * The relay's connection handling and event routing (relay/server/dispatch.ts), beside the refusal texts that
 * relay-server-session.test.ts checks: the per-address cap counts connections that are really open, refusals and
 * abuse drops are counted in the metrics, malformed requests (no payload object, no ack, strings where objects
 * belong) get their typed refusal and leave the connection and the relay working, the envelope size limit is
 * inclusive, and a replaced login's old connection, when it ends, does not take the new one's live delivery with it.
 * A real relay in this process (so mutation testing reaches it), real sockets on 127.0.0.1, real keys.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startRelay, type RelayLimits, type RunningRelay } from '../../relay/server/index.js';
import { SqliteEnvelopeStore } from '../../relay/server/store/sqlite.js';
import { cleanupAll, onCleanup, tmpDir, waitUntil } from '../helpers/core.js';
import { jsonLogger, makeParties, refusal, RelayClient, sealText, type Party } from '../helpers/relay.js';

let alice: Party;
let bob: Party;

beforeAll(async () => {
  [alice, bob] = (await makeParties('alice', 'bob')) as [Party, Party];
}, 120_000);

const clients: RelayClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await cleanupAll();
});

async function relayWith(limits: Partial<RelayLimits> = {}): Promise<RunningRelay> {
  const relay = await startRelay({ host: '127.0.0.1', port: 0, dataDir: tmpDir('dispatch'), logger: false, limits });
  onCleanup(() => relay.close());
  return relay;
}

async function connect(relay: RunningRelay): Promise<RelayClient> {
  const c = await RelayClient.connect(relay.url);
  clients.push(c);
  return c;
}

const refused = (relay: RunningRelay): Promise<boolean> =>
  RelayClient.connect(relay.url).then(
    (c) => {
      clients.push(c);
      return false;
    },
    () => true,
  );

/** The relay still answers on this connection (nothing above broke it or the process). */
async function stillWorks(c: RelayClient): Promise<void> {
  expect(refusal(await c.call('lookup', { username: 'nobody' }))).toEqual({ code: 'NOT_FOUND', message: 'no such identity' });
}

describe('connections per address', () => {
  it('a closed connection frees its place, and only its own; refusals are counted', async () => {
    const relay = await relayWith({ maxConnectionsPerAddress: 2 });
    const a = await connect(relay);
    const b = await connect(relay);
    expect(await refused(relay)).toBe(true);
    expect(relay.metrics()).toMatchObject({ connectionsRefused: 1, rejects: { RATE_LIMITED: 1 } });

    a.close();
    await waitUntil(() => relay.metrics().connections === 1, 10_000, 'a closed');
    const c = await connect(relay); // a's place
    expect(await refused(relay)).toBe(true); // b and c are open: the cap holds
    expect(relay.metrics().connectionsRefused).toBe(2);

    b.close();
    c.close();
    await waitUntil(() => relay.metrics().connections === 0, 10_000, 'b and c closed');
    await connect(relay);
    await connect(relay);
    expect(await refused(relay)).toBe(true);
  });
});

describe('requests', () => {
  it('a request without an ack, with a null payload, or with a string where an object belongs is refused or ignored, never a crash', async () => {
    const relay = await relayWith();
    const c = await connect(relay);
    // Untyped on purpose: a client that breaks the protocol's typing (no ack, an event that does not exist).
    const raw = c.socket as unknown as { emit(event: string, ...args: unknown[]): void };
    raw.emit('lookup', { username: 'alice' }); // no ack: served (nobody to answer), not refused
    raw.emit('nonsense');
    await stillWorks(c); // answered after the two above (one connection's events are handled in order)
    expect(relay.metrics().rejects).toEqual({ UNKNOWN_EVENT: 1, NOT_FOUND: 2 });
    expect(refusal(await c.call('lookup', null))).toMatchObject({ code: 'BAD_REQUEST' });
    expect(refusal(await c.call('register-challenge', null))).toMatchObject({ code: 'BAD_REQUEST' });
    expect(refusal(await c.call('register', { username: 'alice', identity: 'not an object', proof: {} }))).toMatchObject({ code: 'BAD_REQUEST' });
    expect(await c.register(alice)).toMatchObject({ ok: true });
    expect(await c.register(bob)).toMatchObject({ ok: true });
    expect(await c.auth(alice, relay.fingerprint)).toMatchObject({ ok: true });
    expect(refusal(await c.call('send', null))).toMatchObject({ code: 'BAD_REQUEST' });
    expect(refusal(await c.call('send', { envelope: 'a string' }))).toMatchObject({ code: 'BAD_REQUEST' });
    expect(refusal(await c.call('send', {}))).toMatchObject({ code: 'BAD_REQUEST' });
    await stillWorks(c);
  });

  it('register with an identity of another version is UNSUPPORTED_VERSION, like register-challenge', async () => {
    const relay = await relayWith();
    const c = await connect(relay);
    const proof = await c.registrationProof(alice);
    expect(refusal(await c.call('register', { username: 'alice', identity: { ...alice.identity, v: 2 }, proof }))).toEqual({
      code: 'UNSUPPORTED_VERSION',
      message: 'identity: protocol version 1 only',
    });
  });

  it('a refusal names the field, and is cut at 300 characters', async () => {
    const relay = await relayWith();
    const c = await connect(relay);
    expect(await c.register(alice)).toMatchObject({ ok: true });
    expect(await c.auth(alice, relay.fingerprint)).toMatchObject({ ok: true });
    expect(refusal(await c.call('ack', { items: 'x' })).message).toMatch(/^ack: items \S/);
    const long = refusal(await c.call('lookup', { username: 'alice', ['k'.repeat(400)]: 1 }));
    expect(long.code).toBe('BAD_REQUEST');
    expect(long.message).toHaveLength(300);
  });

  it('an envelope of exactly the size limit is accepted; a few bytes more are not', async () => {
    const env = await sealText(alice, [bob], 'exactly at the limit');
    const size = Buffer.byteLength(JSON.stringify(env), 'utf8');
    const relay = await relayWith({ maxEnvelopeBytes: size });
    const c = await connect(relay);
    expect(await c.register(alice)).toMatchObject({ ok: true });
    expect(await c.register(bob)).toMatchObject({ ok: true });
    expect(await c.auth(alice, relay.fingerprint)).toMatchObject({ ok: true });
    expect(await c.send(env)).toMatchObject({ ok: true, id: env.id });
    // (Texts are padded to size buckets, so a longer text may seal to the same size: the size is measured before the
    // schema is applied, so one extra field is enough to be over.)
    const over = { ...env, x: 1 };
    expect(refusal(await c.send(over))).toEqual({ code: 'TOO_LARGE', message: `envelope is ${size + 6} bytes; limit ${size}` });
  });

  it('an abusive connection dropped is counted', async () => {
    const relay = await relayWith({ abuseRejectsPerMinute: 2 });
    const c = await connect(relay);
    for (let i = 0; i < 3; i++) await c.call('nonsense', {}).catch(() => undefined);
    await c.until(() => !c.connected, 10_000, 'dropped');
    expect(relay.metrics()).toMatchObject({ abuseDisconnects: 1, rejects: { UNKNOWN_EVENT: 3 } });
  });

  it('bad requests count for a minute: older ones are forgotten, one exactly a minute old still counts', async () => {
    // The relay runs in this process: dispatch.ts's reject window reads a clock the test sets (it stands still
    // between the steps, so "exactly a minute" is exact). Only dispatch.ts sees it: engine.io's client, in this
    // process too, would take a minute's jump for missed pings and drop the connection. Timers stay real.
    const realNow = Date.now.bind(Date);
    let clock = realNow();
    vi.spyOn(Date, 'now').mockImplementation(() => (new Error().stack?.includes('dispatch.ts') ? clock : realNow()));
    onCleanup(() => {
      vi.restoreAllMocks();
    });
    const relay = await relayWith({ abuseRejectsPerMinute: 2 });
    const c = await connect(relay);
    const bad = async () => expect(refusal(await c.call('nonsense', {}))).toMatchObject({ code: 'UNKNOWN_EVENT' });
    await bad();
    await bad();
    clock += 60_001; // both are now older than a minute
    await bad();
    await bad();
    await stillWorks(c); // without the pruning this connection (4 bad requests > 2) would be gone
    clock += 60_000; // the last two are exactly a minute old: they still count
    await c.call('nonsense', {}).catch(() => undefined);
    await c.until(() => !c.connected, 10_000, 'dropped at the third bad request within the minute');
    expect(relay.metrics()).toMatchObject({ abuseDisconnects: 1, rejects: { UNKNOWN_EVENT: 5 } });
  });
});

describe('delivery order', () => {
  it('a connection gets its queued envelopes before one sent while its first queue read is still running', async () => {
    // A real SQLite store whose queue read for Bob can be held: Bob's first read after he logs in waits for the test.
    const dir = tmpDir('dispatch-order');
    const store = new SqliteEnvelopeStore(dir, {});
    await store.ready();
    let hold: { release: () => void; promise: Promise<void> } | null = null;
    let heldReads = 0;
    const pending = store.pending.bind(store);
    store.pending = async (recipient, afterSeq, limit) => {
      if (hold && recipient === bob.fingerprint) {
        heldReads++;
        await hold.promise;
      }
      return pending(recipient, afterSeq, limit);
    };
    const relay = await startRelay({ host: '127.0.0.1', port: 0, dataDir: dir, store, logger: false });
    onCleanup(() => relay.close());
    const sender = await connect(relay);
    expect(await sender.register(alice)).toMatchObject({ ok: true });
    expect(await sender.register(bob)).toMatchObject({ ok: true });
    expect(await sender.auth(alice, relay.fingerprint)).toMatchObject({ ok: true });
    const queued = [await sealText(alice, [bob], 'queued 1'), await sealText(alice, [bob], 'queued 2')];
    for (const env of queued) expect(await sender.send(env)).toMatchObject({ ok: true });

    let release = () => {};
    const promise = new Promise<void>((r) => (release = r));
    hold = { release, promise };
    const receiver = await connect(relay);
    expect(await receiver.auth(bob, relay.fingerprint)).toMatchObject({ ok: true });
    await waitUntil(() => heldReads === 1, 10_000, "Bob's first queue read under way");
    const later = await sealText(alice, [bob], 'sent while the queue is read');
    expect(await sender.send(later)).toMatchObject({ ok: true });
    await stillWorks(receiver); // a deliver emitted before this answer would have arrived before it
    expect(receiver.deliveries).toEqual([]); // not forwarded live ahead of the queue
    hold = null;
    release();
    await receiver.until(() => receiver.deliveries.length === 3, 10_000, 'all three delivered');
    expect(receiver.deliveries.map((d) => (d.envelope as { id: string }).id)).toEqual([...queued, later].map((e) => e.id));
  });
});

describe('a failing handler', () => {
  it('a store fault is INTERNAL to the client, logged with its cause, not counted as abuse, and the connection goes on', async () => {
    // A real SQLite store with one injected fault: lookups throw a plain Error (as an I/O error would) while `failing`.
    const dir = tmpDir('dispatch-fault');
    const store = new SqliteEnvelopeStore(dir, {});
    await store.ready();
    let failing = true;
    const lookup = store.identityByUsername.bind(store);
    store.identityByUsername = async (username) => {
      if (failing) throw new Error('disk I/O error');
      return lookup(username);
    };
    const { lines, logger } = jsonLogger('info');
    const relay = await startRelay({ host: '127.0.0.1', port: 0, dataDir: dir, store, logger, limits: { abuseRejectsPerMinute: 1 } });
    onCleanup(() => relay.close());
    const c = await connect(relay);
    for (let i = 0; i < 3; i++) {
      expect(refusal(await c.call('lookup', { username: 'alice' }))).toEqual({ code: 'INTERNAL', message: 'relay error; retry later' });
    }
    expect(lines.filter((l) => l.msg === 'handler failed')).toEqual(
      Array(3).fill(expect.objectContaining({ level: 50, event: 'lookup', err: 'disk I/O error' })),
    );
    expect(relay.metrics()).toMatchObject({ abuseDisconnects: 0, rejects: { INTERNAL: 3 } });
    failing = false;
    expect(c.connected).toBe(true);
    await stillWorks(c);
  });
});

describe('sessions', () => {
  it("when a replaced login's old connection ends, the new one keeps getting live deliveries", async () => {
    const relay = await relayWith();
    const setup = await connect(relay);
    expect(await setup.register(alice)).toMatchObject({ ok: true });
    expect(await setup.register(bob)).toMatchObject({ ok: true });
    const first = await connect(relay);
    expect(await first.auth(bob, relay.fingerprint)).toMatchObject({ ok: true });
    const second = await connect(relay);
    expect(await second.auth(bob, relay.fingerprint)).toMatchObject({ ok: true });
    await first.until(() => !first.connected, 10_000, 'old connection dropped');
    await waitUntil(() => relay.metrics().connections === 2, 10_000, 'the old connection gone');
    expect(relay.metrics().authenticated).toBe(1); // the old connection's end did not end the new session

    const sender = await connect(relay);
    expect(await sender.auth(alice, relay.fingerprint)).toMatchObject({ ok: true });
    const env = await sealText(alice, [bob], 'live to the new connection');
    expect(await sender.send(env)).toMatchObject({ ok: true });
    await second.until(() => second.deliveries.some((d) => (d.envelope as { id?: string }).id === env.id), 10_000, 'live delivery');
  });

  it('an authenticated connection that ends ends its session; an unauthenticated one leaves the sessions alone', async () => {
    const relay = await relayWith();
    const setup = await connect(relay);
    expect(await setup.register(alice)).toMatchObject({ ok: true });
    const authed = await connect(relay);
    expect(await authed.auth(alice, relay.fingerprint)).toMatchObject({ ok: true });
    expect(relay.metrics()).toMatchObject({ connections: 2, authenticated: 1 });
    setup.close();
    await waitUntil(() => relay.metrics().connections === 1, 10_000, 'the unauthenticated connection gone');
    expect(relay.metrics().authenticated).toBe(1);
    authed.close();
    await waitUntil(() => relay.metrics().connections === 0, 10_000, 'the authenticated connection gone');
    expect(relay.metrics().authenticated).toBe(0);
  });
});

describe('logs', () => {
  it("an operator's log of connections: the level, message and fields of each line, and nothing a request carried", async () => {
    const { lines, logger } = jsonLogger('debug');
    const relay = await startRelay({
      host: '127.0.0.1',
      port: 0,
      dataDir: tmpDir('dispatch-logs'),
      logger,
      limits: { abuseRejectsPerMinute: 1, maxConnectionsPerAddress: 2 },
    });
    onCleanup(() => relay.close());
    const DEBUG = 20;
    const INFO = 30;
    const WARN = 40;
    const logged = (msg: string) => lines.filter((l) => l.msg === msg);

    const abusive = await connect(relay);
    await abusive.until(() => logged('connected').length === 1, 10_000, 'connected logged');
    const sid = logged('connected')[0]!.sid;
    expect(sid).toEqual(expect.any(String));
    expect(logged('connected')[0]).toMatchObject({ level: DEBUG });
    for (let i = 0; i < 2; i++) await abusive.call('nonsense', { secret: 'carried-by-the-request' }).catch(() => undefined);
    await abusive.until(() => !abusive.connected, 10_000, 'dropped');
    await waitUntil(() => logged('disconnected').length === 1, 10_000, 'the drop logged');
    expect(logged('rejected')[0]).toMatchObject({ level: DEBUG, sid, event: 'nonsense', code: 'UNKNOWN_EVENT' });
    expect(logged('dropping abusive connection')).toEqual([expect.objectContaining({ level: WARN, sid, fp: null, rejects: 2 })]);
    // An unauthenticated connection's end is a debug line; the relay's own drop has socket.io's reason.
    expect(logged('disconnected')[0]).toMatchObject({ level: DEBUG, sid, fp: null, reason: 'server namespace disconnect' });

    const setup = await connect(relay);
    expect(await setup.register(alice)).toMatchObject({ ok: true });
    const authed = await connect(relay);
    expect(await authed.auth(alice, relay.fingerprint)).toMatchObject({ ok: true });
    expect(await refused(relay)).toBe(true); // a third connection from 127.0.0.1
    expect(logged('connection refused: too many from this address')).toEqual([
      expect.objectContaining({ level: WARN, addr: '127.0.0.1', open: 2 }),
    ]);
    authed.close();
    await waitUntil(() => logged('disconnected').some((l) => l.fp === alice.fingerprint), 10_000, 'the session end logged');
    // An authenticated session's end is logged at the level of its start, with who it was and why it ended.
    expect(logged('disconnected').find((l) => l.fp === alice.fingerprint)).toMatchObject({
      level: INFO,
      reason: 'client namespace disconnect',
    });
    expect(JSON.stringify(lines)).not.toContain('carried-by-the-request');
  });
});
