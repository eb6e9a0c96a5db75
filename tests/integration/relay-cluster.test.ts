/**
 * Cluster mode: one private PostgreSQL, one private Redis, three relay processes sharing one data folder (one relay
 * key: clients pin one fingerprint whichever node they reach). Real sockets, real processes, real databases.
 *
 * Load: 9 parties, three per node, each sending 15 envelopes in order to the next party, which sits on another node
 * (every delivery crosses nodes). One node is killed with SIGKILL mid-load; its clients reconnect to a surviving node
 * and retry what was never acknowledged. Then every envelope is delivered to its recipient, each sender's envelopes
 * arrive in send order (first copies), and after the client's dedupe by id nothing is shown twice. (9 parties rather
 * than 300: RSA-4096 fixture identities and 2 shared cores; the same paths run per party.)
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

/** The send's ack, or null if the connection dropped first (the node died). */
function sendOrDrop(c: RelayClient, env: Envelope): Promise<boolean> {
  return new Promise((resolve) => {
    if (!c.connected) return resolve(false);
    const onDrop = () => resolve(false);
    c.socket.once('disconnect', onDrop);
    c.send(env).then(
      (r) => {
        c.socket.off('disconnect', onDrop);
        resolve(r.ok);
      },
      () => resolve(false),
    );
  });
}

beforeAll(async () => {
  [pgServer, redis] = await Promise.all([startPostgres(), startRedis()]);
  parties = await makeParties(...Array.from({ length: 9 }, (_, i) => `party${i}`));
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
    await first.until(() => first.sessionReplaced, 10_000, 'session-replaced on the first node');
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

  it('delivers every acknowledged envelope across nodes, in order, through a kill -9 of one node', async () => {
    const url = await pgServer.createDatabase('load');
    const live = [await startNode(url), await startNode(url), await startNode(url)];
    await registerParties(live[0]!.url, parties);
    const K = 15;
    const N = parties.length;
    const nodeOf = (i: number) => live[i % 3]!;
    const clientNode: SpawnedRelay[] = parties.map((_p, i) => nodeOf(i));
    const firstSeen: string[][] = parties.map(() => []);
    const seenIds: Array<Set<string>> = parties.map(() => new Set());
    let dead: SpawnedRelay | null = null;
    const survivor = () => live.find((n) => n !== dead)!;

    // receivers: keep the first copy of each id (the app's dedupe) and acknowledge everything they get
    const receiver = (i: number) => (c: RelayClient, p: Deliver) => {
      for (const d of p.envelopes) {
        if (!seenIds[i]!.has(d.envelope.id)) {
          seenIds[i]!.add(d.envelope.id);
          firstSeen[i]!.push(d.envelope.id);
        }
      }
      void c.ack(p.envelopes.map((d) => ({ from: d.envelope.from, id: d.envelope.id }))).catch(() => undefined);
    };
    const clients: RelayClient[] = await Promise.all(parties.map((p, i) => loginListening(nodeOf(i).url, nodeOf(i).fingerprint, p, receiver(i))));
    const reconnect = async (i: number) => {
      const n = survivor();
      const c = await loginListening(n.url, n.fingerprint, parties[i]!, receiver(i));
      clients[i] = c;
      clientNode[i] = n;
    };

    const sent: string[][] = parties.map(() => []);
    const envs = await Promise.all(parties.map(async (p, i) => {
      const out: Envelope[] = [];
      for (let j = 0; j < K; j++) out.push(await sealText(p, [parties[(i + 1) % N]!], `from ${i} #${j}`));
      return out;
    }));
    let acked = 0;
    const senders = parties.map(async (_p, i) => {
      for (const env of envs[i]!) {
        // bounded retries: the send goes again (same id) until the relay acknowledges it
        for (let attempt = 0; ; attempt++) {
          if (attempt > 20) throw new Error(`party ${i}: envelope ${env.id} never acknowledged`);
          if (!clients[i]!.connected) await reconnect(i);
          if (await sendOrDrop(clients[i]!, env)) break;
        }
        sent[i]!.push(env.id);
        acked++;
        if (acked === Math.floor((N * K) / 3) && !dead) {
          dead = live[2]!;
          void dead.kill9(); // mid-load: its clients' sends in flight are dropped, they reconnect elsewhere
        }
      }
    });
    await Promise.all(senders);
    expect(dead).not.toBeNull();
    // receivers of the dead node reconnect too (a client would). Wait for each one to notice the kill first: right
    // after a kill -9 its socket can still read as connected, and checking `connected` alone raced with that.
    for (let i = 0; i < N; i++) {
      if (clientNode[i] !== dead) continue;
      await clients[i]!.until(() => !clients[i]!.connected, 15_000, `party ${i} noticing its node is gone`);
      await reconnect(i);
    }
    for (let i = 0; i < N; i++) {
      const from = (i + N - 1) % N;
      await clients[i]!.until(() => firstSeen[i]!.length >= K, 30_000, `party ${i} receiving ${K} envelopes`);
      // exactly the envelopes its sender got acknowledged, each once after dedupe, in send order
      expect(firstSeen[i]).toEqual(sent[from]);
    }
    for (const c of clients) c.close();
  });
});
