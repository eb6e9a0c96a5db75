/**
 * Durability: kill -9 the relay while envelopes are queued (sender-acknowledged) and in flight (pushed to the
 * recipient, not yet acknowledged). After a restart on the same data folder every envelope the relay acknowledged to
 * its sender is delivered, and none whose recipient acknowledgement was committed comes again. A test hook holds the
 * relay's commits before the kill, so envelopes accepted but not yet committed are in the window every run.
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
    const r1 = await spawnRelay({ dataDir, limits, env: { PARLEY_TEST_HOLD_COMMITS_SIGNAL: 'SIGUSR2' } });
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

    // late sends, part 1: acknowledged to the sender just before the kill (an acknowledgement means committed)
    const late: Envelope[] = [];
    for (let i = 0; i < 20; i++) late.push(await sealText(alice, [bob], `late #${i}`));
    const lateAcked = new Set<string>();
    for (const e of late.slice(0, 10)) {
      expect(await a.send(e)).toMatchObject({ ok: true, duplicate: false });
      lateAcked.add(e.id);
    }
    // part 2: the relay's commit-hold test hook (PARLEY_TEST_HOLD_COMMITS_SIGNAL) keeps every further write
    // uncommitted; these ten reach the store, so the kill lands inside the accepted-but-uncommitted window every time
    const holdReports = () =>
      r1.logs.filter((l) => l.includes('"test hook: commit hold"')).map((l) => (JSON.parse(l) as { heldEnqueues: number }).heldEnqueues);
    r1.child.kill('SIGUSR2'); // toggles the hold on
    await a.until(() => holdReports().length > 0, 10_000, 'commit hold on');
    const held = late.slice(10);
    const heldAnswered: string[] = [];
    for (const e of held) void a.send(e).then((r) => heldAnswered.push(`${e.id}: ${JSON.stringify(r)}`), () => undefined);
    await a.until(() => holdReports().includes(held.length), 10_000, 'ten enqueues held uncommitted');
    const files = readdirSync(dataDir);
    // SQLite: the queue lives in the data folder's WAL; PostgreSQL: nowhere in the data folder (only key and cert)
    if (relayStoreKind() === 'sqlite') expect(files).toContain('relay.sqlite-wal');
    else expect(files.filter((f) => f.startsWith('relay.sqlite'))).toEqual([]);
    await r1.kill9();
    expect(r1.child.signalCode).toBe('SIGKILL');
    a.close();
    b.close();
    // nothing uncommitted was acknowledged to its sender
    expect(heldAnswered).toEqual([]);
    const lateAckedAtKill = new Set(lateAcked);
    expect(lateAckedAtKill.size).toBe(10);

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
      // acknowledged before the kill: committed, so a duplicate; held: never committed, so new now
      if (r.ok) expect(r.duplicate).toBe(lateAckedAtKill.has(e.id));
    }
    a2.close();
    b2.close();
    const code = await r2.stop();
    expect(code).toBe(0);
    console.info(`durability: ${N} committed, ${ackCommitted.length} recipient-acked, ${deliveredNotAcked.length} in flight to bob, ${lateAckedAtKill.size} late sends acked and ${held.length} held uncommitted at the kill`);
  });
});
