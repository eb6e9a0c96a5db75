/** Queue quota per recipient and TTL expiry, against a real relay configured with small limits. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureIdentities } from '../helpers/identities.js';
import { login, makeParty, sealText, spawnRelay, RelayClient, removeDir, type Party, type SpawnedRelay } from '../helpers/relay.js';

let alice: Party;
let bob: Party;
const relays: SpawnedRelay[] = [];

beforeAll(async () => {
  const ids = await fixtureIdentities(2, 0);
  [alice, bob] = await Promise.all([makeParty(ids[0]!, 'alice'), makeParty(ids[1]!, 'bob')]);
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
    const { relay, a } = await setup({ queueQuota: 5 });
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
    await new Promise((r) => setTimeout(r, 900));
    const m = (await (await fetch(`${relay.url}/metrics`)).json()) as { expired: number; queuedEnvelopes: number };
    expect(m.expired).toBe(1);
    expect(m.queuedEnvelopes).toBe(0);
    const b = await login(relay.url, relay.fingerprint, bob);
    const f = await b.fetch(bob.fingerprint);
    expect(f).toEqual({ ok: true, envelopes: [], more: false });
    await new Promise((r) => setTimeout(r, 300));
    expect(b.deliveries).toHaveLength(0);
    a.close();
    b.close();
  });
});
