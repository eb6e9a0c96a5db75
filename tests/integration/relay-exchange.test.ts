/** Online exchange, ordered queue delivery to a late recipient, dedupe, fetch, flow control, health and metrics. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, openText, sealText, spawnRelay, RelayClient, removeDir, type Party, type SpawnedRelay, makeParties } from '../helpers/relay.js';

let relay: SpawnedRelay;
let alice: Party;
let bob: Party;
let carol: Party;

beforeAll(async () => {
  [alice, bob, carol] = (await makeParties('alice', 'bob', 'carol')) as [Party, Party, Party];
  relay = await spawnRelay({ limits: { deliverBatch: 8, deliverWindow: 16 } });
});

afterAll(async () => {
  const code = await relay?.stop();
  expect(code).toBe(0); // graceful SIGTERM shutdown
  const logText = relay.logs.join('\n');
  expect(logText).toContain('relay stopped');
  removeDir(relay.dataDir);
});

describe('relay exchange', () => {
  it('answers /healthz with its fingerprint and refuses unknown paths', async () => {
    const r = await fetch(`${relay.url}/healthz`);
    expect(r.status).toBe(200);
    const j = (await r.json()) as { ok: boolean; fingerprint: string; version: string };
    expect(j).toMatchObject({ ok: true, fingerprint: relay.fingerprint });
    expect(j.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect((await fetch(`${relay.url}/nope`)).status).toBe(404);
    expect(relay.logs.some((l) => l.includes(relay.fingerprint))).toBe(true);
  });

  it('two online clients exchange envelopes both ways', async () => {
    const a = await login(relay.url, relay.fingerprint, alice);
    const b = await login(relay.url, relay.fingerprint, bob);
    const e1 = await sealText(alice, [bob], 'hello bob, online');
    const r1 = await a.send(e1);
    expect(r1).toEqual({ ok: true, id: e1.id, duplicate: false });
    await b.until(() => b.deliveries.length === 1, 10_000, 'live delivery');
    expect(await openText(bob, alice, b.deliveries[0]!.envelope)).toBe('hello bob, online');
    expect(await b.ack([{ from: alice.fingerprint, id: e1.id }])).toEqual({ ok: true, removed: 1 });

    const e2 = await sealText(bob, [alice], 'hi alice');
    expect((await b.send(e2)).ok).toBe(true);
    await a.until(() => a.deliveries.length === 1, 10_000, 'reply');
    expect(await openText(alice, bob, a.deliveries[0]!.envelope)).toBe('hi alice');
    expect((await a.ack([{ from: bob.fingerprint, id: e2.id }])).ok).toBe(true);

    // the same (sender, id) again: recognised, not delivered again
    expect(await a.send(e1)).toEqual({ ok: true, id: e1.id, duplicate: true });
    await new Promise((r) => setTimeout(r, 300));
    expect(b.deliveries).toHaveLength(1);
    a.close();
    b.close();
  });

  it('a recipient who connects later receives its queue in order, with flow control', async () => {
    const a = await login(relay.url, relay.fingerprint, alice);
    // carol registers, then goes away
    const c0 = await RelayClient.connect(relay.url);
    expect((await c0.register(carol)).ok).toBe(true);
    c0.close();
    const N = 40;
    const sent: string[] = [];
    for (let i = 0; i < N; i++) {
      const env = await sealText(alice, [carol], `queued #${i}`);
      const r = await a.send(env);
      expect(r.ok).toBe(true);
      sent.push(env.id);
    }
    const c = await RelayClient.connect(relay.url);
    const auth = await c.auth(carol, relay.fingerprint);
    expect(auth).toMatchObject({ ok: true, fingerprint: carol.fingerprint, username: 'carol', queued: N });
    // window 16: the relay stops at 16 unacknowledged envelopes
    await c.until(() => c.deliveries.length >= 16, 10_000, 'first window');
    await new Promise((r) => setTimeout(r, 300));
    expect(c.deliveries).toHaveLength(16);
    // explicit fetch returns the oldest queued, independent of the push cursor
    const f = await c.fetch(carol.fingerprint, 5);
    expect(f.ok && f.envelopes.map((d) => d.envelope.id)).toEqual(sent.slice(0, 5));
    expect(f.ok && f.more).toBe(true);
    // ack as they come; the rest follows in order
    let acked = 0;
    while (acked < N) {
      await c.until(() => c.deliveries.length > acked, 10_000, `delivery ${acked}`);
      const batch = c.deliveries.slice(acked).map((d) => ({ from: d.envelope.from, id: d.envelope.id }));
      const r = await c.ack(batch);
      expect(r).toEqual({ ok: true, removed: batch.length });
      acked += batch.length;
    }
    expect(c.deliveries.map((d) => d.envelope.id)).toEqual(sent);
    const texts = await Promise.all(c.deliveries.slice(0, 3).map((d) => openText(carol, alice, d.envelope)));
    expect(texts).toEqual(['queued #0', 'queued #1', 'queued #2']);
    const f2 = await c.fetch(carol.fingerprint);
    expect(f2).toEqual({ ok: true, envelopes: [], more: false });
    // acking again is harmless: nothing removed
    expect(await c.ack([{ from: alice.fingerprint, id: sent[0]! }])).toEqual({ ok: true, removed: 0 });
    a.close();
    c.close();
  });

  it('a second login for the same identity replaces the first session', async () => {
    const first = await login(relay.url, relay.fingerprint, bob);
    const second = await login(relay.url, relay.fingerprint, bob);
    await first.until(() => first.sessionReplaced && !first.connected, 10_000, 'session-replaced');
    const a = await login(relay.url, relay.fingerprint, alice);
    const env = await sealText(alice, [bob], 'to the new session');
    expect((await a.send(env)).ok).toBe(true);
    await second.until(() => second.deliveries.some((d) => d.envelope.id === env.id), 10_000, 'delivery to new session');
    a.close();
    second.close();
  });

  it('group envelopes reach every recipient; metrics count it all and logs carry no bodies', async () => {
    const a = await login(relay.url, relay.fingerprint, alice);
    const env = await sealText(alice, [bob, carol], 'to both of you');
    expect((await a.send(env)).ok).toBe(true);
    const b = await login(relay.url, relay.fingerprint, bob);
    const c = await login(relay.url, relay.fingerprint, carol);
    await b.until(() => b.deliveries.some((d) => d.envelope.id === env.id), 10_000, 'bob group');
    await c.until(() => c.deliveries.some((d) => d.envelope.id === env.id), 10_000, 'carol group');
    expect(await openText(carol, alice, env)).toBe('to both of you');
    const m = (await (await fetch(`${relay.url}/metrics`)).json()) as Record<string, unknown>;
    expect(m.authenticated).toBe(3);
    expect(m.connections).toBeGreaterThanOrEqual(3);
    expect(m.envelopesAccepted).toBeGreaterThanOrEqual(43);
    expect(m.duplicates).toBe(1);
    expect(m.commits).toBeGreaterThan(0);
    expect(typeof m.queuedEnvelopes).toBe('number');
    expect(m.sessionsReplaced).toBe(1);
    const logText = relay.logs.join('\n');
    expect(logText).not.toContain(env.ct.slice(0, 40));
    expect(logText).not.toContain(env.keys[0]!.k.slice(0, 40));
    a.close();
    b.close();
    c.close();
  });
});
