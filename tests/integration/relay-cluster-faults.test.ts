/**
 * Cluster mode when its shared services fail: Redis killed (nodes no longer hear each other's "committed" news;
 * delivery must only slow down, the store stays the source of truth), and PostgreSQL restarted mid-load (senders see
 * errors and retry; nothing they got acknowledged is lost, every recipient gets everything in order). Two relay
 * processes, one private PostgreSQL, one private Redis; real sockets, real processes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../relay/protocol/index.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import {
  RelayClient,
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
const dataDir = tempDir('parley-cluster-faults-');
/** How often a node re-reads its connected recipients' queue heads (the safety net for lost notifications). */
const RESYNC_MS = 500;

async function startNode(storeUrl: string): Promise<SpawnedRelay> {
  const r = await spawnRelay({
    dataDir,
    extraArgs: ['--store', storeUrl, '--cluster', redis.url],
    limits: { sendBurst: 1000, sendPerSec: 1000, deliverWindow: 64, clusterResyncMs: RESYNC_MS },
  });
  nodes.push(r);
  return r;
}

type Deliver = { envelopes: Array<{ envelope: Envelope }> };

/** A receiver that keeps the first copy of each id (the app's dedupe) and acknowledges what it gets. */
async function receiver(node: SpawnedRelay, p: Party, firstSeen: string[]): Promise<RelayClient> {
  const seen = new Set<string>();
  const c = await RelayClient.connect(node.url);
  const r = await c.register(p);
  if (!r.ok) throw new Error(`register ${p.username}: ${r.error.code}`);
  // listening before auth: the relay pushes the queue right after answering it
  c.socket.on('deliver', (d: Deliver) => {
    for (const { envelope } of d.envelopes) {
      if (!seen.has(envelope.id)) {
        seen.add(envelope.id);
        firstSeen.push(envelope.id);
      }
    }
    void c.ack(d.envelopes.map(({ envelope }) => ({ from: envelope.from, id: envelope.id }))).catch(() => undefined);
  });
  const a = await c.auth(p, node.fingerprint);
  if (!a.ok) throw new Error(`auth ${p.username}: ${a.error.code}`);
  return c;
}

async function sender(node: SpawnedRelay, p: Party): Promise<RelayClient> {
  const c = await RelayClient.connect(node.url);
  const r = await c.register(p);
  if (!r.ok) throw new Error(`register ${p.username}: ${r.error.code}`);
  const a = await c.auth(p, node.fingerprint);
  if (!a.ok) throw new Error(`auth ${p.username}: ${a.error.code}`);
  return c;
}

/**
 * Send until the relay acknowledges (same id every time), as a client does; returns the refusals seen on the way.
 * Bounded in attempts; between attempts the client backs off as it would after a relay error.
 */
async function sendUntilAcked(c: RelayClient, env: Envelope, onRefusal?: (code: string) => void, maxAttempts = 200): Promise<string[]> {
  const refusals: string[] = [];
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    // the relay must survive its database going away: a dropped connection here means the node died
    if (!c.connected) {
      const exits = nodes.map((n) => `${n.child.exitCode ?? n.child.signalCode ?? 'running'}`).join(', ');
      throw new Error(`connection to the relay lost while sending ${env.id} (${c.disconnectReason}; relays: ${exits})`);
    }
    const r = await c.send(env).catch((e: Error) => ({ ok: false as const, error: { code: 'TIMEOUT', message: e.message } }));
    if (r.ok) return refusals;
    refusals.push(r.error.code);
    onRefusal?.(r.error.code);
    // client back-off (exponential, capped at 1 s), not a wait for a relay state: the budget outlasts a slow shutdown
    await new Promise((res) => setTimeout(res, Math.min(100 * 2 ** Math.min(attempt - 1, 4), 1_000)));
  }
  throw new Error(`envelope ${env.id} never acknowledged: ${refusals.slice(-3).join(', ')}`);
}

beforeAll(async () => {
  [pgServer, redis] = await Promise.all([startPostgres(), startRedis()]);
  parties = await makeParties('fault0', 'fault1', 'fault2', 'fault3');
});

afterAll(async () => {
  for (const n of nodes) await n.kill9();
  await redis?.kill();
  pgServer?.stop();
  removeDir(dataDir);
});

// Bounded, but generous: each node is a tsx child process, and with the whole suite on 2 cores one start takes seconds.
describe('relay cluster faults', { timeout: 240_000 }, () => {
  it('Redis killed: envelopes still reach recipients on the other node (the store is the source of truth)', async () => {
    const url = await pgServer.createDatabase('redis_down');
    const [a, b] = [await startNode(url), await startNode(url)];
    const [alice, bob] = [parties[0]!, parties[1]!];
    await registerParties(a.url, [alice, bob]);
    const got: string[] = [];
    const rx = await receiver(b, bob, got);
    const tx = await sender(a, alice);

    // with Redis up: cross-node delivery through its notification
    const first = await sealText(alice, [bob], 'before');
    expect(await sendUntilAcked(tx, first)).toEqual([]);
    await rx.until(() => got.length === 1, 15_000, 'the first envelope');

    await redis.kill();
    const sent = [first.id];
    for (let j = 0; j < 6; j++) {
      const env = await sealText(alice, [bob], `during #${j}`);
      expect(await sendUntilAcked(tx, env)).toEqual([]); // sends never depend on Redis
      sent.push(env.id);
    }
    await rx.until(() => got.length === sent.length, 15_000, 'the envelopes sent while Redis is down');
    expect(got).toEqual(sent);

    // Redis back: the nodes reconnect and notifications flow again
    await redis.start();
    const after = await sealText(alice, [bob], 'after');
    await sendUntilAcked(tx, after);
    sent.push(after.id);
    await rx.until(() => got.length === sent.length, 15_000, 'the envelope sent after Redis came back');
    expect(got).toEqual(sent);
    // both nodes survived the outage
    for (const n of [a, b]) expect((await fetch(`${n.url}/healthz`)).status).toBe(200);
    tx.close();
    rx.close();
    await a.stop();
    await b.stop();
  });

  it('PostgreSQL restarted mid-load: senders retry, every acknowledged envelope arrives once, in order', async () => {
    const url = await pgServer.createDatabase('pg_restart');
    const [a, b] = [await startNode(url), await startNode(url)];
    await registerParties(a.url, parties);
    const N = parties.length;
    const K = 12;
    // party i sends to party i+1, which sits on the other node
    const nodeOf = (i: number) => (i % 2 === 0 ? a : b);
    const firstSeen: string[][] = parties.map(() => []);
    const rxs = await Promise.all(parties.map((p, i) => receiver(nodeOf(i), p, firstSeen[i]!)));
    const envs = await Promise.all(parties.map(async (p, i) => {
      const out: Envelope[] = [];
      for (let j = 0; j < K; j++) out.push(await sealText(p, [parties[(i + 1) % N]!], `from ${i} #${j}`));
      return out;
    }));
    const sent: string[][] = parties.map(() => []);
    const refusals: string[] = [];
    let acked = 0;
    // pg_ctl runs asynchronously: these clients keep answering the relays' pings while PostgreSQL's shutdown
    // checkpoint takes its time (blocking them for 40 s made the relays drop them: 'ping timeout')
    let halted: Promise<void> | null = null;
    let haltDone = false;
    let restarted: Promise<void> | null = null;
    const onRefusal = (code: string) => {
      refusals.push(code);
      // down until the senders have seen it fail a few times; then PostgreSQL comes back on the same port
      if (haltDone && !restarted && refusals.length >= 4) restarted = pgServer.start();
    };
    await Promise.all(parties.map(async (_p, i) => {
      for (const env of envs[i]!) {
        await sendUntilAcked(rxs[i]!, env, onRefusal);
        sent[i]!.push(env.id);
        if (++acked === Math.floor((N * K) / 3) && !halted) {
          // fast shutdown mid-load: open transactions abort, the relays' connections drop
          halted = pgServer.halt().then(() => void (haltDone = true));
        }
      }
    }));
    expect(halted).not.toBeNull();
    expect(restarted).not.toBeNull();
    await halted;
    await restarted;
    for (let i = 0; i < N; i++) {
      const from = (i + N - 1) % N;
      await rxs[i]!.until(() => firstSeen[i]!.length >= K, 30_000, `party ${i} receiving ${K} envelopes`);
      expect(firstSeen[i]).toEqual(sent[from]);
    }
    // senders saw the outage as typed errors (then success on retry), not a hang
    expect(refusals.length).toBeGreaterThanOrEqual(4);
    expect(new Set(refusals)).toEqual(new Set(['INTERNAL']));
    for (const n of [a, b]) expect(n.child.exitCode).toBeNull();
    for (const c of rxs) c.close();
    await a.stop();
    await b.stop();
  });
});
