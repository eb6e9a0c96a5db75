/**
 * Cluster mode at the size issue 15 asks: one private PostgreSQL, one private Redis, three relay processes sharing one
 * data folder (one relay key), 300 clients spread over the nodes, each sending in order to the next client, which sits
 * on another node (every delivery crosses nodes). Three load phases, one fault in the middle of each:
 *   1. kill -9 of one relay: its clients notice the drop and reconnect to the others (as the app does), senders retry
 *      what was never acknowledged (same id); the node then comes back and its clients return to it;
 *   2. PostgreSQL restarted: senders see typed errors (INTERNAL) and retry; no client loses its relay;
 *   3. Redis killed, then started again: sends never fail, delivery only slows down (store re-reads every 500 ms).
 * After each phase every envelope a sender got acknowledged has reached its recipient, each recipient's first copies
 * are exactly its sender's acknowledged envelopes in send order (so nothing is shown twice after the app's dedupe by
 * id, and nothing unknown arrives). Real sockets, real processes, real databases; bounded in count and time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../relay/protocol/index.js';
import { manyParties } from '../helpers/many-parties.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import {
  RelayClient,
  removeDir,
  sealText,
  spawnRelay,
  tempDir,
  unexpectedExits,
  type Party,
  type SpawnedRelay,
} from '../helpers/relay.js';

const N = 300;
/** Envelopes per client per phase (N × K per phase). */
const K = 3;
const dataDir = tempDir('parley-cluster-load-');
const LIMITS = {
  sendBurst: 1000, sendPerSec: 1000, deliverWindow: 64, clusterResyncMs: 500,
  // 300 registrations from one address (127.0.0.1)
  registrationBurst: 1000, registrationPerHour: 100_000,
};

let pgServer: TestPostgres;
let redis: TestRedis;
let storeUrl: string;
let parties: Party[];
/** nodes[k]: the relay in slot k (replaced when it is restarted); every process ever started, for cleanup. */
const nodes: Array<SpawnedRelay | null> = [null, null, null];
const started: SpawnedRelay[] = [];
/** The slot each party belongs to (i % 3) and where it is connected now. */
const home = (i: number) => i % 3;
const at: number[] = [];
const clients: Array<RelayClient | null> = [];
const reconnecting: Array<Promise<void> | null> = [];
/** Per recipient: ids in the order first seen, and the set of them (the app's dedupe). */
const firstSeen: string[][] = [];
const seen: Array<Set<string>> = [];
/** Per sender: the ids the relay acknowledged, in send order (all phases). */
const acked: string[][] = [];
/** Connections lost while no drop was planned: who, on which node, when, and why (the failure names its cause). */
const drops: string[] = [];
let expectDrops = false;
const t0 = Date.now();

async function startNode(slot: number): Promise<SpawnedRelay> {
  const r = await spawnRelay({ dataDir, extraArgs: ['--store', storeUrl, '--cluster', redis.url], limits: LIMITS });
  // a relay dying on its own is said at once (the assertions that notice it may come minutes later, or never run)
  r.child.once('exit', () => void (r.exit?.requested || console.error(`slot ${slot}: ${r.describe()}`)));
  started.push(r);
  nodes[slot] = r;
  return r;
}

/** Fails naming every relay that died on its own (exit code or signal, its last log lines). */
function expectNodesRunning(): void {
  expect(unexpectedExits(started).join('\n\n')).toBe('');
}

/** Each slot's node: running or how it ended (for failure messages). */
function nodeStates(): string {
  return nodes.map((n, k) => `${k}: ${!n ? 'none' : n.exit ? `exited ${n.exit.code ?? n.exit.signal}` : 'running'}`).join(', ');
}

function liveSlots(): number[] {
  return [0, 1, 2].filter((k) => nodes[k] && !nodes[k]!.exit);
}

type Deliver = { envelopes: Array<{ envelope: Envelope }> };

/**
 * Connect and authenticate party i on `slot` (registered already), with the deliver listener in place BEFORE auth:
 * the relay pushes the queue right after answering it. On an unplanned drop the client reconnects, as the app does.
 */
async function connect(i: number, slot: number): Promise<void> {
  const node = nodes[slot]!;
  const p = parties[i]!;
  const c = await RelayClient.connect(node.url);
  // 300 clients and three relays on 2 busy cores: a client waits 30 s for an answer before it counts as none
  c.timeoutMs = 30_000;
  c.socket.on('deliver', (d: Deliver) => {
    for (const { envelope } of d.envelopes) {
      if (!seen[i]!.has(envelope.id)) {
        seen[i]!.add(envelope.id);
        firstSeen[i]!.push(envelope.id);
      }
    }
    void c.ack(d.envelopes.map(({ envelope }) => ({ from: envelope.from, id: envelope.id }))).catch(() => undefined);
  });
  // closed on any failure, a timeout too: an auth the relay completes after the client gave up would otherwise log
  // this identity in behind the next attempt's back and replace that newer session (session-replaced)
  const a = await c.call<{ fingerprint: string }>('auth', await c.authPayload(p, node.fingerprint)).catch((e: unknown) => {
    c.close();
    throw e;
  });
  if (!a.ok) {
    c.close();
    throw new Error(`auth ${p.username} on slot ${slot}: ${a.error.code} ${a.error.message}`);
  }
  c.socket.on('disconnect', (reason) => {
    if (clients[i] !== c) return; // replaced on purpose
    if (!expectDrops) {
      const why = `${String(reason)}${c.sessionReplaced ? ', after session-replaced' : ''}`;
      drops.push(`${p.username} on node ${slot} at +${Date.now() - t0} ms: ${why} (nodes ${nodeStates()})`);
    }
    void reconnect(i);
  });
  clients[i] = c;
  at[i] = slot;
}

/** Reconnect party i to a live node (its own slot if that is up), bounded retries; one attempt chain at a time. */
function reconnect(i: number): Promise<void> {
  reconnecting[i] ??= (async () => {
    try {
      for (let attempt = 1; ; attempt++) {
        const live = liveSlots();
        const slot = live.includes(home(i)) ? home(i) : live[i % live.length]!;
        try {
          await connect(i, slot);
          return;
        } catch (e) {
          if (attempt >= 20) throw e;
          await new Promise((r) => setTimeout(r, 200 * attempt)); // client back-off
        }
      }
    } finally {
      reconnecting[i] = null;
    }
  })();
  return reconnecting[i]!;
}

type Outcome = { ok: true } | { ok: false; code: string };

/** One send; 'DROPPED' when the connection went away before the relay answered (the node died). */
function attempt(c: RelayClient, env: Envelope): Promise<Outcome> {
  return new Promise((resolve) => {
    if (!c.connected) return resolve({ ok: false, code: 'DROPPED' });
    const onDrop = () => resolve({ ok: false, code: 'DROPPED' });
    c.socket.once('disconnect', onDrop);
    c.send(env).then(
      (r) => {
        c.socket.off('disconnect', onDrop);
        resolve(r.ok ? { ok: true } : { ok: false, code: r.error.code });
      },
      () => {
        c.socket.off('disconnect', onDrop);
        resolve({ ok: false, code: 'TIMEOUT' });
      },
    );
  });
}

interface PhaseResult {
  refusals: string[];
  sent: string[][];
}

/**
 * Every party sends K envelopes in order to the next party; each is retried (same id) until acknowledged, bounded.
 * `fault` runs (not awaited by the senders) once a third of the phase is acknowledged; `onRefusal` sees every
 * refusal. Resolves when every envelope is acknowledged AND delivered (first copies) to its recipient.
 */
async function phase(tag: string, fault: () => void, onRefusal: (code: string, count: number) => void = () => undefined): Promise<PhaseResult> {
  const envs = await Promise.all(parties.map(async (p, i) => {
    const out: Envelope[] = [];
    for (let j = 0; j < K; j++) out.push(await sealText(p, [parties[(i + 1) % N]!], `${tag} ${i} #${j}`));
    return out;
  }));
  const sent: string[][] = parties.map(() => []);
  const refusals: string[] = [];
  let done = 0;
  let faulted = false;
  await Promise.all(parties.map(async (_p, i) => {
    for (const env of envs[i]!) {
      for (let n = 1; ; n++) {
        if (n > 200) throw new Error(`${tag}: party ${i}'s envelope ${env.id} never acknowledged (last: ${refusals.slice(-3).join(', ')}; nodes ${nodeStates()})`);
        if (!clients[i]?.connected) await reconnect(i);
        const r = await attempt(clients[i]!, env);
        if (r.ok) break;
        refusals.push(r.code);
        onRefusal(r.code, refusals.length);
        // client back-off after a relay error (exponential, capped): 300 clients retrying keep the relays busy enough
        if (r.code !== 'DROPPED') await new Promise((res) => setTimeout(res, Math.min(100 * 2 ** Math.min(n - 1, 4), 1_000)));
      }
      sent[i]!.push(env.id);
      acked[i]!.push(env.id);
      if (++done === Math.floor((N * K) / 3) && !faulted) {
        faulted = true;
        fault();
      }
    }
  }));
  expect(faulted).toBe(true);
  const phaseIds = new Set(sent.flat());
  const mine = (i: number) => firstSeen[i]!.filter((id) => phaseIds.has(id));
  const deadline = Date.now() + 60_000;
  for (let i = 0; i < N; i++) {
    await clients[i]!.until(() => mine(i).length >= K, Math.max(deadline - Date.now(), 0), '').catch(() => undefined);
  }
  // after one shared wait: every party still short, with the node it is on, so a failure shows whether one node's
  // recipients (or one node's senders) are the ones missing
  const short = parties.map((_p, i) => i).filter((i) => mine(i).length < K);
  const where = short.map((i) => `${i}@${at[i]}${clients[i]?.connected ? '' : '(disconnected)'}:${mine(i).length}`);
  expect(short, `${tag}: ${short.length} parties without their ${K} envelopes after 60 s (party@node:received): ${where.join(' ')}; nodes ${nodeStates()}`).toEqual([]);
  for (let i = 0; i < N; i++) expect(mine(i)).toEqual(sent[(i + N - 1) % N]);
  return { refusals, sent };
}

beforeAll(async () => {
  [pgServer, redis] = await Promise.all([startPostgres(), startRedis()]);
  storeUrl = await pgServer.createDatabase('load');
  parties = await manyParties(N, 'load');
  for (let k = 0; k < 3; k++) await startNode(k);
  for (let i = 0; i < N; i++) {
    firstSeen.push([]);
    seen.push(new Set());
    acked.push([]);
    clients.push(null);
    reconnecting.push(null);
    at.push(home(i));
  }
  // register over ten connections per node (each registration is a commit), then every party connects to its own
  // node, 30 at a time
  let next = 0;
  await Promise.all(Array.from({ length: 30 }, async (_x, lane) => {
    const node = nodes[lane % 3]!;
    const c = await RelayClient.connect(node.url).catch(() => RelayClient.connect(node.url)); // once more if slow
    c.timeoutMs = 30_000;
    try {
      while (next < N) {
        const p = parties[next++]!;
        const r = await c.register(p);
        if (!r.ok) throw new Error(`register ${p.username}: ${r.error.code}`);
      }
    } finally {
      c.close();
    }
  }));
  next = 0;
  await Promise.all(Array.from({ length: 30 }, async () => {
    while (next < N) await reconnect(next++); // its own node (all are up), with the client's bounded retries
  }));
}, 600_000);

afterAll(async () => {
  expectDrops = true;
  for (const c of clients) c?.close();
  for (const n of started) await n.kill9();
  await redis?.kill();
  pgServer?.stop();
  removeDir(dataDir);
});

// Bounded but generous: 300 clients, three relays, PostgreSQL and Redis on 2 shared cores.
describe(`relay cluster under load (${N} clients, three nodes)`, { timeout: 300_000 }, () => {
  it('kill -9 of one relay mid-load: its clients reconnect elsewhere, every acknowledged envelope arrives once, in order', async () => {
    let killed: Promise<void> | null = null;
    expectDrops = true; // the dead node's clients drop and reconnect
    await phase('kill', () => {
      killed = nodes[2]!.kill9();
    });
    await killed;
    // the dead node's clients all moved to the survivors
    expect(at.filter((s) => s === 2)).toEqual([]);
    // the node comes back (same data folder, same key) and its clients return to it
    await startNode(2);
    for (let i = 0; i < N; i++) {
      if (home(i) !== 2) continue;
      const old = clients[i]!;
      clients[i] = null;
      old.close();
      await reconnect(i); // its own node again, now that it is up
    }
    for (let i = 0; i < N; i++) {
      if (home(i) === 2) expect(at[i]).toBe(2);
    }
    expect(new Set(at)).toEqual(new Set([0, 1, 2]));
    expectDrops = false;
  });

  it('PostgreSQL restarted mid-load: senders see INTERNAL and retry, no client loses its relay, nothing acknowledged is lost', async () => {
    let halted: Promise<void> | null = null;
    let restarted: Promise<void> | null = null;
    let haltDone = false;
    const r = await phase(
      'pg',
      () => {
        halted = pgServer.halt().then(() => void (haltDone = true));
      },
      (_code, count) => {
        // down until senders have been refused a while; then PostgreSQL comes back on the same port
        if (haltDone && !restarted && count >= 50) restarted = pgServer.start();
      },
    );
    await halted;
    await restarted;
    expect(restarted).not.toBeNull();
    expect(r.refusals.length).toBeGreaterThanOrEqual(50);
    // the causes first: a relay that died (its exit and last log lines), then each dropped client and why
    expectNodesRunning();
    expect(drops).toEqual([]);
    expect(new Set(r.refusals)).toEqual(new Set(['INTERNAL']));
  });

  it('Redis killed mid-load and started again: sends never fail, every envelope still arrives once, in order', async () => {
    let killed: Promise<void> | null = null;
    const r = await phase('redis', () => {
      killed = redis.kill();
    });
    await killed;
    expect(r.refusals).toEqual([]);
    // Redis back: cross-node notices flow again (one more round, delivered as before)
    await redis.start();
    const after = await phase('redis-back', () => undefined);
    expect(after.refusals).toEqual([]);
    expectNodesRunning();
    expect(drops).toEqual([]);
    // over all phases: each recipient's first copies are its sender's acknowledged envelopes, in send order
    for (let i = 0; i < N; i++) expect(firstSeen[i]).toEqual(acked[(i + N - 1) % N]);
    for (const k of [0, 1, 2]) expect((await fetch(`${nodes[k]!.url}/healthz`)).status).toBe(200);
  });
});
