/**
 * Cluster mode: one private PostgreSQL, one private Redis, relay processes sharing one data folder (one relay key:
 * clients pin one fingerprint whichever node they reach). Real sockets, real processes, real databases: one identity
 * on two nodes, a receiver busy right after auth, quotas across nodes. The load test (300 clients, three nodes, kill -9
 * of a relay, PostgreSQL restarted, Redis killed) is relay-cluster-load.test.ts; small fault cases are in
 * relay-cluster-faults.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../relay/protocol/index.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import {
  RelayClient,
  login,
  makeParties,
  registerParties,
  removeDir,
  sealText,
  spawnRelay,
  tempDir,
  type Party,
  type SpawnedRelay,
} from '../helpers/relay.js';

let pgServer: TestPostgres;
let redis: TestRedis;
let parties: Party[];
const nodes: SpawnedRelay[] = [];
const dataDir = tempDir('parley-cluster-');

async function startNode(storeUrl: string, limits: Record<string, number> = {}): Promise<SpawnedRelay> {
  const r = await spawnRelay({
    dataDir,
    extraArgs: ['--store', storeUrl, '--cluster', redis.url],
    limits: { sendBurst: 1000, sendPerSec: 1000, deliverWindow: 50, ...limits },
  });
  nodes.push(r);
  return r;
}

type Deliver = { envelopes: Array<{ envelope: Envelope }> };

/**
 * Connect, register and authenticate with `onDeliver` listening BEFORE the auth request goes out. The relay starts
 * pushing the queue right after it answers `auth`; a busy client reads that ack and the first `deliver` in one go, and
 * socket.io emits the event before the code awaiting the ack runs. A listener added after login() resolves missed
 * those envelopes (this test's old flake: the relay had delivered them, the test never looked).
 */
async function loginListening(
  url: string,
  relayFp: string,
  p: Party,
  onDeliver: (c: RelayClient, d: Deliver) => void,
  busyAfterAuthMs = 0,
): Promise<RelayClient> {
  const c = await RelayClient.connect(url);
  const r = await c.register(p);
  if (!r.ok) throw new Error(`register ${p.username}: ${r.error.code} ${r.error.message}`);
  c.socket.on('deliver', (d: Deliver) => onDeliver(c, d));
  // signed first, so the request is on the wire before the (optional) busy spell below
  const authed = c.call<{ fingerprint: string }>('auth', await c.authPayload(p, relayFp));
  // a loaded client: its thread blocks while the auth ack and the first push arrive, then reads both at once
  if (busyAfterAuthMs > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, busyAfterAuthMs);
  const a = await authed;
  if (!a.ok) throw new Error(`auth ${p.username}: ${a.error.code} ${a.error.message}`);
  return c;
}

beforeAll(async () => {
  [pgServer, redis] = await Promise.all([startPostgres(), startRedis()]);
  parties = await makeParties('party0', 'party1');
});

afterAll(async () => {
  for (const n of nodes) await n.kill9();
  await redis?.kill();
  pgServer?.stop();
  removeDir(dataDir);
});

// Bounded, but generous: each node is a tsx child process, and with the whole suite on 2 cores one start takes seconds.
describe('relay cluster (PostgreSQL + Redis, three nodes)', { timeout: 240_000 }, () => {
  it('one identity on two nodes: the older connection is replaced', async () => {
    const url = await pgServer.createDatabase('replace');
    const [n1, n2] = [await startNode(url), await startNode(url)];
    expect(n2.fingerprint).toBe(n1.fingerprint);
    const first = await login(n1.url, n1.fingerprint, parties[0]!);
    const second = await login(n2.url, n2.fingerprint, parties[0]!);
    // the claim travels through Redis to the other node: generous for 2 busy cores
    await first.until(() => first.sessionReplaced, 30_000, 'session-replaced on the first node');
    expect(second.sessionReplaced).toBe(false);
    expect(second.connected).toBe(true);
    // metrics name the node that answers
    const m1 = (await (await fetch(`${n1.url}/metrics`)).json()) as { node: string };
    const m2 = (await (await fetch(`${n2.url}/metrics`)).json()) as { node: string };
    expect(m1.node).not.toBe(m2.node);
    second.close();
    await n1.stop();
    await n2.stop();
  });

  it('a receiver busy right after auth still gets the queue the relay pushes at once', async () => {
    const url = await pgServer.createDatabase('busy');
    const n = await startNode(url);
    const [sender, receiver] = [parties[0]!, parties[1]!];
    await registerParties(n.url, [sender, receiver]);
    const s = await login(n.url, n.fingerprint, sender);
    const ids: string[] = [];
    for (let j = 0; j < 5; j++) {
      const env = await sealText(sender, [receiver], `queued #${j}`);
      expect((await s.send(env)).ok).toBe(true);
      ids.push(env.id);
    }
    const got: string[] = [];
    const r = await loginListening(n.url, n.fingerprint, receiver, (_c, d) => got.push(...d.envelopes.map((e) => e.envelope.id)), 1_500);
    await r.until(() => got.length >= ids.length, 15_000, 'the queued envelopes');
    expect(got).toEqual(ids);
    s.close();
    r.close();
    await n.stop();
  });

  it('quota: a queue emptied by acks on one node takes new envelopes through another', async () => {
    const url = await pgServer.createDatabase('quota');
    const quota = { queueQuota: 3, maxPendingPerSender: 3, maxPendingFromNewSenders: 3 };
    const [a, b] = [await startNode(url, quota), await startNode(url, quota)];
    const [sender, receiver] = [parties[0]!, parties[1]!];
    await registerParties(a.url, [sender, receiver]);
    const tx = await login(a.url, a.fingerprint, sender);
    const got: Array<{ from: string; id: string }> = [];
    const rx = await loginListening(b.url, b.fingerprint, receiver, (_c, d) => got.push(...d.envelopes.map((e) => ({ from: e.envelope.from, id: e.envelope.id }))));
    const fill = async (tag: string) => {
      for (let j = 0; j < 3; j++) {
        const r = await tx.send(await sealText(sender, [receiver], `${tag} #${j}`));
        expect(r.ok ? 'ok' : r.error.code).toBe('ok');
      }
    };
    await fill('first');
    // the queue is full now, as node a counts it and as the store does
    const over = await tx.send(await sealText(sender, [receiver], 'one too many'));
    expect(over.ok ? 'ok' : over.error.code).toBe('QUOTA_EXCEEDED');
    await rx.until(() => got.length === 3, 15_000, 'the first three envelopes on node b');
    const acked = await rx.ack(got.splice(0));
    expect(acked.ok && acked.removed).toBe(3);
    // emptied through node b: node a takes three more (it counted 3 queued of its own sends)
    await fill('second');
    await rx.until(() => got.length === 3, 15_000, 'the next three');
    tx.close();
    rx.close();
    await a.stop();
    await b.stop();
  });
});
