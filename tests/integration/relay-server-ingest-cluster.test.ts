/**
 * A send's quota check in a cluster (relay/server/ingest.ts, reserve): acknowledgements on another node shrink a
 * queue without this node's cached counts seeing it, so before refusing a send for a full queue a node recounts from
 * the shared store. A queue that really is full is still refused.
 *
 * Two real relays in this process (so mutation testing reaches them) sharing a private PostgreSQL database and a
 * private Redis, both on 127.0.0.1, one data folder (one relay key); real clients and sealed envelopes. The
 * relay-cluster suites run the same setup with relay processes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRelay, type RunningRelay } from '../../relay/server/index.js';
import type { RelayLimits } from '../../relay/server/limits.js';
import { cleanupAll, onCleanup, tmpDir } from '../helpers/core.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { makeParties, refusal, registerParties, sealText, type Party } from '../helpers/relay.js';
import { loginUntilCleanup as as } from '../helpers/relay-session.js';

let alice: Party;
let bob: Party;
let pg: TestPostgres;
let redis: TestRedis;

beforeAll(async () => {
  [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  [alice, bob] = (await makeParties('alice', 'bob')) as [Party, Party];
}, 120_000);

afterEach(cleanupAll);

afterAll(async () => {
  await redis?.kill();
  pg?.stop();
});

let databases = 0;

/** Two nodes of one cluster on a fresh database. */
async function cluster(limits: Partial<RelayLimits>): Promise<[RunningRelay, RunningRelay]> {
  const storeUrl = await pg.createDatabase(`ingest_cluster_${++databases}`);
  const dataDir = tmpDir('relay-ingest-cluster');
  const nodes: RunningRelay[] = [];
  for (let i = 0; i < 2; i++) {
    const relay = await startRelay({ host: '127.0.0.1', port: 0, dataDir, storeUrl, clusterUrl: redis.url, logger: false, limits });
    onCleanup(() => relay.close());
    nodes.push(relay);
  }
  return nodes as [RunningRelay, RunningRelay];
}

describe('a full queue in a cluster', () => {
  it('is recounted from the shared store before a refusal: acks on the other node make room; a queue still full is refused', async () => {
    const [nodeA, nodeB] = await cluster({ queueQuota: 2, maxPendingPerSender: 100, maxPendingFromNewSenders: 100 });
    await registerParties(nodeB.url, [bob]);
    const a = await as(nodeA, alice);
    const [first, second, third, fourth, fifth] = await Promise.all(['1', '2', '3', '4', '5'].map((t) => sealText(alice, [bob], t)));
    for (const e of [first!, second!]) expect(await a.send(e)).toMatchObject({ ok: true });
    // Bob takes both on the other node and acknowledges them there: node A's counts of his queue still say 2
    const b = await as(nodeB, bob);
    await b.until(() => b.deliveries.length === 2, 20_000, 'both envelopes on node B');
    expect(await b.ack([first!, second!].map((e) => ({ from: e.from, id: e.id })))).toMatchObject({ ok: true, removed: 2 });
    b.close();
    expect(await a.send(third!)).toMatchObject({ ok: true, duplicate: false });
    expect(await a.send(fourth!)).toMatchObject({ ok: true, duplicate: false });
    expect(refusal(await a.send(fifth!))).toEqual({ code: 'QUOTA_EXCEEDED', message: `queue of recipient ${bob.fingerprint} is full` });
    expect(nodeA.metrics().envelopesAccepted).toBe(4);
  });
});
