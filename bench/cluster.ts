/**
 * cluster (issue 15): two relay nodes sharing one PostgreSQL store and one Redis, senders connected to one node and
 * their recipients to the other (every envelope crosses nodes: commit, Redis notice, the other node reads it from
 * PostgreSQL), against one node alone on the same store with the same clients. Delivered msg/s (closed loop) and p99
 * send → deliver latency at 1 000 msg/s offered (open loop); lost envelopes must be 0. Relay processes pinned to one
 * core and the load generator to the other(s) where the machine has more than one (bench/lib/pin.ts).
 * No target in the issue beyond measuring it: the rows are informational except "lost".
 *
 * PostgreSQL and Redis are private servers in a temp folder on 127.0.0.1 (tests/helpers), never system services.
 */
import { existsSync } from 'node:fs';
import { median, notMeasured, row, type Bench } from './lib/common.js';
import { benchIdentities, connectAll, makeEnvelope, type BenchIdentity, type LoadClient } from './lib/clients.js';
import { closedLoop, openLoop, Traffic, type LoadResult } from './lib/traffic.js';
import { fixture } from './lib/ids.js';
import { pinForBench, type Pinning } from './lib/pin.js';
import { BENCH_LIMITS } from './routing.js';
import { postgresAvailable, startPostgres, type TestPostgres } from '../tests/helpers/postgres.js';
import { startRedis, type TestRedis } from '../tests/helpers/redis.js';
import { removeDir, spawnRelay, tempDir, type SpawnedRelay } from '../tests/helpers/relay.js';
import type { Envelope } from '../relay/protocol/index.js';

type Setup = 'one node' | 'two nodes';

interface SetupResult {
  throughput: LoadResult[];
  latency: LoadResult[];
  msgPerSec: number;
  p99: number;
  p50: number;
  lost: number;
  rejected: number;
}

const RATE = 1000;

function redisAvailable(): boolean {
  return ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].some((p) => existsSync(p));
}

async function measure(
  setup: Setup,
  pgs: TestPostgres,
  redis: TestRedis,
  senders: BenchIdentity[],
  recipients: BenchIdentity[],
  o: { runs: number; quick: boolean },
  pin: Pinning | null,
): Promise<SetupResult> {
  const url = await pgs.createDatabase(setup === 'one node' ? 'bench_one' : 'bench_two');
  const dataDir = tempDir('parley-bench-cluster-');
  const nodes: SpawnedRelay[] = [];
  let clients: LoadClient[] = [];
  try {
    const extra = setup === 'one node' ? ['--store', url] : ['--store', url, '--cluster', redis.url];
    for (let i = 0; i < (setup === 'one node' ? 1 : 2); i++) {
      const n = await spawnRelay({ dataDir, extraArgs: extra, limits: BENCH_LIMITS }); // info: spawnRelay waits for the "relay listening" line
      pin?.pinRelay(n.child.pid!);
      nodes.push(n);
    }
    const [from, to] = [nodes[0]!, nodes[nodes.length - 1]!];
    const traffic = new Traffic();
    const rx = await connectAll('parley', to.url, to.fingerprint, recipients, traffic.hooks);
    const tx = await connectAll('parley', from.url, from.fingerprint, senders, traffic.hooks);
    clients = [...rx, ...tx];
    const envs = (per: number): Envelope[][] => senders.map((s, i) => Array.from({ length: per }, () => makeEnvelope(s, recipients[i]!.fp)));
    await closedLoop(tx, envs(1), 1, traffic); // warm-up
    const window = Math.max(1, Math.round(500 / senders.length));
    const throughput: LoadResult[] = [];
    for (let r = 0; r < o.runs; r++) throughput.push(await closedLoop(tx, envs(o.quick ? 10 : 20), window, traffic));
    const latencyMs = o.quick ? 2000 : 5000;
    const per = Math.ceil((RATE * latencyMs) / 1000 / senders.length) + 1;
    const latency: LoadResult[] = [];
    for (let r = 0; r < o.runs; r++) latency.push(await openLoop(tx, envs(per), RATE, latencyMs, traffic));
    const all = [...throughput, ...latency];
    return {
      throughput,
      latency,
      msgPerSec: median(throughput.map((x) => x.msgPerSec)),
      p99: median(latency.map((x) => x.p99)),
      p50: median(latency.map((x) => x.p50)),
      lost: all.reduce((s, x) => s + x.lost, 0),
      rejected: all.reduce((s, x) => s + x.rejected, 0),
    };
  } finally {
    for (const c of clients) c?.close();
    for (const n of nodes) await n.stop();
    removeDir(dataDir);
  }
}

export const clusterBench: Bench = async (o) => {
  const id = 'cluster';
  const pairs = o.quick ? 20 : 100;
  const title = `Relay cluster: ${pairs} senders on one node → ${pairs} recipients on another (PostgreSQL + Redis) vs one node`;
  if (!postgresAvailable() || !redisAvailable()) return notMeasured(id, title, 'needs Debian packages postgresql and redis-server');
  const [pgs, redis] = await Promise.all([startPostgres(), startRedis()]);
  const pin = pinForBench();
  try {
    const rsa = await fixture(0);
    const ids = await benchIdentities(pairs * 2, rsa, `c${Date.now().toString(36)}u`);
    const senders = ids.slice(0, pairs);
    const recipients = ids.slice(pairs);
    const one = await measure('one node', pgs, redis, senders, recipients, o, pin);
    o.log(`cluster: one node ${one.msgPerSec.toFixed(0)} msg/s, p99 @${RATE}/s ${one.p99.toFixed(1)} ms, lost ${one.lost}`);
    const two = await measure('two nodes', pgs, redis, senders, recipients, o, pin);
    o.log(`cluster: two nodes ${two.msgPerSec.toFixed(0)} msg/s, p99 @${RATE}/s ${two.p99.toFixed(1)} ms, lost ${two.lost}`);
    return {
      id,
      title,
      rows: [
        row({ metric: 'delivered msg/s (closed loop)', unit: 'msg/s', parley: two.msgPerSec, baseline: one.msgPerSec, target: 'info', met: null, baselineLabel: 'one node' }),
        row({ metric: `p99 latency at ${RATE} msg/s offered`, unit: 'ms', parley: two.p99, baseline: one.p99, target: 'info', met: null, baselineLabel: 'one node' }),
        row({ metric: `p50 latency at ${RATE} msg/s offered`, unit: 'ms', parley: two.p50, baseline: one.p50, target: 'info', met: null, baselineLabel: 'one node' }),
        row({ metric: 'envelopes lost (all phases)', unit: 'count', parley: two.lost, baseline: one.lost, ratio: null, target: '= 0', met: two.lost === 0 && one.lost === 0, baselineLabel: 'one node' }),
      ],
      notes: [
        pin ? pin.describe : 'not pinned (one core or no taskset)',
        'one node: the same PostgreSQL store without --cluster (live forwarding on); two nodes: --cluster, so envelopes go out after their commit, read from PostgreSQL by the recipients\' node',
        `rejected sends: one node ${one.rejected}, two nodes ${two.rejected}`,
      ],
      details: { one, two },
    };
  } finally {
    pin?.release();
    await redis.kill();
    pgs.stop();
  }
};
