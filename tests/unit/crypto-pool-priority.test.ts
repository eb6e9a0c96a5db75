/**
 * CryptoPool workers can run below the event loop's priority on Linux (pool.ts workerNice, off by default), so a
 * catch-up that keeps every core busy unwrapping does not queue a keystroke behind it. Read from the kernel: each thread's nice value in
 * /proc/self/task/<tid>/stat, before and after a pool starts (the TypeScript worker is started through tsx here).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CryptoPool, DEFAULT_WORKER_NICE, workerNiceFor } from '../../electron/core/crypto/pool.js';
import { loadIdentity, seal, type IdentityKeys, type IdentitySecret } from '../../electron/core/crypto/index.js';
import { fixtureIdentities } from '../helpers/identities.js';

const linux = process.platform === 'linux';

/** tid → nice of every thread of this process (field 19 of stat; fields counted after the parenthesised name). */
function threadNice(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended between the listing and the read
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(Number(tid), Number(fields[16]));
  }
  return out;
}

/** The threads that are new since `before`, with their nice values. */
function newThreads(before: Map<number, number>): number[] {
  return [...threadNice()].filter(([tid]) => !before.has(tid)).map(([, nice]) => nice);
}

let secrets: IdentitySecret[];
let alice: IdentityKeys;

beforeAll(async () => {
  secrets = await fixtureIdentities(2);
  alice = await loadIdentity(secrets[0]!);
});

/** A pool for bob that has opened one envelope from alice (so every worker has started and applied its priority). */
async function startedPool(o: { size: number; workerNice?: number }): Promise<CryptoPool> {
  const pool = new CryptoPool({ secret: secrets[1]!, ...o });
  const bob = await loadIdentity(secrets[1]!);
  const env = await seal({ sender: alice, recipients: [bob.public], payload: { v: 1, type: 'text', ts: 1, body: 'hi' } });
  // one open per worker: the least-busy dispatch sends the second to the other worker
  const opened = await Promise.all(Array.from({ length: o.size }, () => pool.open(env, alice.public)));
  for (const r of opened) expect(r.payload).toMatchObject({ type: 'text', body: 'hi' });
  return pool;
}

describe.skipIf(!linux)('CryptoPool worker priority (Linux: per-thread nice from /proc)', () => {
  const pools: CryptoPool[] = [];
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()));
  });

  it('workerNice: 10 puts each worker thread at nice 10; the event loop keeps its own; the threads end with the pool', async () => {
    const before = threadNice();
    const mainNice = before.get(process.pid);
    expect(mainNice).toBe(0);
    const pool = await startedPool({ size: 2, workerNice: 10 });
    pools.push(pool);
    const lowered = newThreads(before).filter((n) => n === 10);
    expect(lowered).toHaveLength(2);
    expect(threadNice().get(process.pid)).toBe(mainNice);
    const during = threadNice();
    await pool.close();
    pools.pop();
    const after = threadNice();
    const ended = [...during].filter(([tid, nice]) => nice === 10 && !before.has(tid) && !after.has(tid));
    expect(ended).toHaveLength(2);
  });

  it(`by default (DEFAULT_WORKER_NICE = ${DEFAULT_WORKER_NICE}) the workers keep the process priority`, async () => {
    const before = threadNice();
    pools.push(await startedPool({ size: 2 }));
    const created = newThreads(before);
    expect(created.length).toBeGreaterThanOrEqual(2);
    expect(created.every((n) => n === DEFAULT_WORKER_NICE)).toBe(true);
  });

  it('workerNice picks the value; 0 leaves the workers at the process priority', async () => {
    const before5 = threadNice();
    pools.push(await startedPool({ size: 2, workerNice: 5 }));
    expect(newThreads(before5).filter((n) => n === 5)).toHaveLength(2);

    const before0 = threadNice();
    pools.push(await startedPool({ size: 1, workerNice: 0 }));
    const created = newThreads(before0);
    expect(created.length).toBeGreaterThanOrEqual(1); // the worker (and any helper thread it brought)
    expect(created.every((n) => n === 0)).toBe(true);
  });
});

describe('workerNiceFor', () => {
  it('lowers only on Linux, where setpriority() changes the calling thread alone', () => {
    expect(workerNiceFor(undefined, 'linux')).toBeNull(); // off by default (see CryptoPoolOptions.workerNice)
    expect(workerNiceFor(10, 'linux')).toBe(10);
    expect(workerNiceFor(7, 'linux')).toBe(7);
    expect(workerNiceFor(0, 'linux')).toBeNull();
    // elsewhere it would lower the whole app, the UI with it
    expect(workerNiceFor(10, 'darwin')).toBeNull();
    expect(workerNiceFor(10, 'win32')).toBeNull();
  });

  it('refuses values outside 0..19 (never raises priority: that would need privileges and starve the UI)', () => {
    for (const bad of [-1, 20, 2.5, Number.NaN]) expect(() => workerNiceFor(bad, 'linux')).toThrow(RangeError);
    expect(() => new CryptoPool({ secret: secrets[0]!, size: 1, workerNice: -5 })).toThrow(/workerNice/);
  });
});
