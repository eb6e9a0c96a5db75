/**
 * Durability: kill -9 the relay while envelopes are queued (sender-acknowledged) and in flight (pushed to the
 * recipient, not yet acknowledged). After a restart on the same data folder every envelope the relay acknowledged to
 * its sender is delivered, and none whose recipient acknowledgement was committed comes again.
 */
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../relay/protocol/index.js';
import { login, relayStoreKind, sealText, spawnRelay, RelayClient, removeDir, tempDir, type Party, type SpawnedRelay, makeParties } from '../helpers/relay.js';

let alice: Party;
let bob: Party;
const dataDir = tempDir('parley-relay-durable-');
const relays: SpawnedRelay[] = [];
const limits = { deliverBatch: 5, deliverWindow: 10, sendBurst: 1000, sendPerSec: 1000 };

beforeAll(async () => {
  [alice, bob] = (await makeParties('alice', 'bob')) as [Party, Party];
});

afterAll(async () => {
  for (const r of relays) await r.kill9();
  removeDir(dataDir);
});

describe('relay durability', () => {
  it('survives kill -9 with queued and in-flight envelopes', async () => {
    const r1 = await spawnRelay({ dataDir, limits });
    relays.push(r1);
    const a = await login(r1.url, r1.fingerprint, alice);
    const reg = await RelayClient.connect(r1.url);
    expect((await reg.register(bob)).ok).toBe(true);
    reg.close();

    // 60 envelopes committed and acknowledged to the sender while bob is offline
    const N = 60;
    const envs: Envelope[] = [];
    for (let i = 0; i < N; i++) envs.push(await sealText(alice, [bob], `durable #${i}`));
    const senderAcked = new Set<string>();
    await Promise.all(
      envs.map(async (e) => {
        const r = await a.send(e);
        expect(r).toMatchObject({ ok: true, duplicate: false });
        senderAcked.add(e.id);
      }),
    );
    expect(senderAcked.size).toBe(N);

    // bob comes online: the relay pushes a window of 10; bob acknowledges the first 5 (committed: the ack came back)
    const b = await login(r1.url, r1.fingerprint, bob);
    await b.until(() => b.deliveries.length >= 10, 10_000, 'first window');
    const ackCommitted = b.deliveries.slice(0, 5).map((d) => d.envelope.id);
    expect(await b.ack(ackCommitted.map((id) => ({ from: alice.fingerprint, id })))).toEqual({ ok: true, removed: 5 });
    await b.until(() => b.deliveries.length >= 15, 10_000, 'window refilled');
    const deliveredNotAcked = b.deliveries.slice(5).map((d) => d.envelope.id);
    expect(deliveredNotAcked.length).toBeGreaterThanOrEqual(5);
    expect(deliveredNotAcked.every((id) => senderAcked.has(id))).toBe(true);

    // more sends in flight at the moment of the kill: their acks may or may not arrive
    const late: Envelope[] = [];
    for (let i = 0; i < 20; i++) late.push(await sealText(alice, [bob], `in flight #${i}`));
    const lateAcked = new Set<string>();
    for (const e of late) void a.send(e).then((r) => r.ok && lateAcked.add(e.id), () => undefined);
    await new Promise((r) => setTimeout(r, 8));
    const files = readdirSync(dataDir);
    // SQLite: the queue lives in the data folder's WAL; PostgreSQL: nowhere in the data folder (only key and cert)
    if (relayStoreKind() === 'sqlite') expect(files).toContain('relay.sqlite-wal');
    else expect(files.filter((f) => f.startsWith('relay.sqlite'))).toEqual([]);
    await r1.kill9();
    expect(r1.child.signalCode).toBe('SIGKILL');
    a.close();
    b.close();
    const lateAckedAtKill = new Set(lateAcked);

    // restart on the same data folder: same identity, queue intact
    const r2 = await spawnRelay({ dataDir, limits });
    relays.push(r2);
    expect(r2.fingerprint).toBe(r1.fingerprint);
    const b2 = await login(r2.url, r2.fingerprint, bob);
    const mustArrive = [...envs.map((e) => e.id).filter((id) => !ackCommitted.includes(id)), ...lateAckedAtKill];
    let acked = 0;
    await b2.until(
      () => {
        if (b2.deliveries.length > acked) {
          const items = b2.deliveries.slice(acked).map((d) => ({ from: d.envelope.from, id: d.envelope.id }));
          acked = b2.deliveries.length;
          void b2.ack(items);
        }
        const got = new Set(b2.deliveries.map((d) => d.envelope.id));
        return mustArrive.every((id) => got.has(id));
      },
      30_000,
      'every sender-acknowledged envelope after restart',
    );
    const got = b2.deliveries.map((d) => d.envelope.id);
    // none whose acknowledgement was committed comes again, and nothing twice
    for (const id of ackCommitted) expect(got).not.toContain(id);
    expect(new Set(got).size).toBe(got.length);
    // still in the original order
    const order = envs.map((e) => e.id).filter((id) => got.includes(id));
    expect(got.filter((id) => order.includes(id))).toEqual(order);
    // the sender retries what it never heard back about: duplicates are recognised, new ones accepted
    const a2 = await login(r2.url, r2.fingerprint, alice);
    for (const e of late) {
      const r = await a2.send(e);
      expect(r.ok).toBe(true);
      if (lateAckedAtKill.has(e.id) && r.ok) expect(r.duplicate).toBe(true);
    }
    a2.close();
    b2.close();
    const code = await r2.stop();
    expect(code).toBe(0);
    console.info(`durability: ${N} committed, ${ackCommitted.length} recipient-acked, ${deliveredNotAcked.length} in flight to bob, ${lateAckedAtKill.size}/20 late sends acked before kill`);
  });
});
