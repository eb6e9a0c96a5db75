/** Queue quota per recipient, TTL expiry and connections per address, against a real relay with small limits. */
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RelayClient as CoreRelayClient } from '../../electron/core/transport/relay-client.js';
import type { ConnectionState } from '../../electron/contract/api.js';
import { login, sealText, spawnRelay, RelayClient, removeDir, type Party, type SpawnedRelay, makeParties } from '../helpers/relay.js';

let alice: Party;
let bob: Party;
const relays: SpawnedRelay[] = [];

beforeAll(async () => {
  [alice, bob] = (await makeParties('alice', 'bob')) as [Party, Party];
});

afterAll(async () => {
  for (const r of relays) {
    await r.stop();
    removeDir(r.dataDir);
  }
});

async function setup(limits: Record<string, number>) {
  const relay = await spawnRelay({ limits });
  relays.push(relay);
  const a = await login(relay.url, relay.fingerprint, alice);
  const c = await RelayClient.connect(relay.url);
  expect((await c.register(bob)).ok).toBe(true);
  c.close();
  return { relay, a };
}

describe('relay limits', () => {
  it('refuses envelopes past the recipient queue quota until the recipient acknowledges', async () => {
    // One sender fills the whole quota here: the per-sender caps (relay-flood.test.ts) set to the quota.
    const { relay, a } = await setup({ queueQuota: 5, maxPendingPerSender: 5, maxPendingFromNewSenders: 5 });
    const results = [];
    for (let i = 0; i < 7; i++) results.push(await a.send(await sealText(alice, [bob], `quota ${i}`)));
    expect(results.map((r) => (r.ok ? 'OK' : r.error.code))).toEqual(['OK', 'OK', 'OK', 'OK', 'OK', 'QUOTA_EXCEEDED', 'QUOTA_EXCEEDED']);
    const b = await login(relay.url, relay.fingerprint, bob);
    await b.until(() => b.deliveries.length === 5, 10_000, 'queued five');
    expect((await b.ack(b.deliveries.slice(0, 2).map((d) => ({ from: d.envelope.from, id: d.envelope.id }))))).toEqual({ ok: true, removed: 2 });
    expect((await a.send(await sealText(alice, [bob], 'room again'))).ok).toBe(true);
    a.close();
    b.close();
  });

  it('expires queued envelopes after the TTL, unacknowledged', async () => {
    const { relay, a } = await setup({ ttlMs: 400, sweepIntervalMs: 100 });
    const env = await sealText(alice, [bob], 'short-lived');
    expect((await a.send(env)).ok).toBe(true);
    const metrics = async () => (await (await fetch(`${relay.url}/metrics`)).json()) as { expired: number; queuedEnvelopes: number };
    // wait for the sweep to drop it (bounded), rather than sleeping a guessed TTL + sweep interval
    let m = await metrics();
    for (let i = 0; i < 500 && m.expired === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      m = await metrics();
    }
    expect(m.expired).toBe(1);
    expect(m.queuedEnvelopes).toBe(0);
    const b = await login(relay.url, relay.fingerprint, bob);
    const f = await b.fetch(bob.fingerprint);
    expect(f).toEqual({ ok: true, envelopes: [], more: false });
    // the fetch round trip came after auth on the same socket: any push the relay made has arrived by now
    expect(b.deliveries).toHaveLength(0);
    a.close();
    b.close();
  });

  it('refuses connections past maxConnectionsPerAddress at the handshake (RATE_LIMITED); the app client says so and gets in once one closes', async () => {
    const relay = await spawnRelay({ limits: { maxConnectionsPerAddress: 3 } });
    relays.push(relay);
    const metrics = async () => (await (await fetch(`${relay.url}/metrics`)).json()) as { connectionsRefused: number; rejects: Record<string, number>; connections: number };
    const open = await Promise.all([1, 2, 3].map(() => RelayClient.connect(relay.url)));
    // the fourth from the same address (127.0.0.1): refused before any event, with a typed error
    const raw = io(relay.url, { transports: ['websocket'], forceNew: true, reconnection: false });
    const refusal = await new Promise<Error & { data?: unknown }>((resolve, reject) => {
      raw.once('connect', () => reject(new Error('a fourth connection was accepted')));
      raw.once('connect_error', resolve);
    });
    raw.close();
    expect(refusal.message).toBe('too many connections from this address (limit 3)');
    expect(refusal.data).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 5000 });
    const m = await metrics();
    expect(m.connectionsRefused).toBe(1);
    expect(m.rejects.RATE_LIMITED).toBe(1);

    // Parley's own client: offline with the relay's reason, retrying with backoff; online once a slot frees up
    const app = new CoreRelayClient({ url: relay.url, identity: null, reconnect: { baseMs: 100, maxMs: 300, jitter: 0 } });
    const states: ConnectionState[] = [];
    app.on('state', (st) => states.push(st));
    try {
      app.connect();
      const refusedTwice = async () => {
        for (let i = 0; i < 100 && (await metrics()).connectionsRefused < 3; i++) await new Promise((r) => setTimeout(r, 50));
      };
      await refusedTwice(); // the first attempt and at least one retry were refused
      expect((await metrics()).connectionsRefused).toBeGreaterThanOrEqual(3);
      const offline = states.find((st) => st.status === 'offline');
      expect(offline && offline.status === 'offline' ? offline.reason : '').toBe('The relay refused the connection: too many connections from this address (limit 3)');
      expect(app.online).toBe(false);
      open[0]!.close();
      await app.waitOnline(10_000); // an anonymous client is "online" once the relay's challenge arrived
      expect(app.relayFingerprint).toBe(relay.fingerprint);
    } finally {
      app.close();
      for (const c of open) c.close();
    }
  });
});
