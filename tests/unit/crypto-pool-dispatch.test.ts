/**
 * CryptoPool's own logic on the main thread (electron/core/crypto/pool.ts): where requests go, how many wait, what a
 * failing or dying worker does to them, close, and the typed errors rebuilt from the wire. The workers here are a
 * small stand-in script (plain CommonJS, written by the test) that answers like the real worker but does no crypto and
 * can be told to hold, fail, crash or exit, so each case is quick and deterministic. The real worker (worker.ts, real
 * keys and envelopes) is crypto-pool.test.ts; thread priorities are crypto-pool-priority.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BroadcastChannel } from 'node:worker_threads';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BackupError, IdentityError, OpenError, PayloadError } from '../../electron/core/crypto/errors.js';
import { CryptoPool, fromWireError, resolveWorkerEntry, type CryptoPoolOptions } from '../../electron/core/crypto/pool.js';
import type { IdentitySecret } from '../../electron/core/crypto/types.js';
import type { PublicIdentity } from '../../relay/protocol/index.js';
import { cleanupAll, onCleanup, tmpDir } from '../helpers/core.js';

const CHANNEL = `parley-fake-crypto-${process.pid}`;

/**
 * The stand-in worker. Start-up by `workerData.secret.mode`: 'init-error' reports a bad identity, 'die' throws before
 * it is ready, anything else answers ready; each worker announces its start on the test's channel. Requests: a `sign`
 * request's label picks the behaviour (hold until the test releases, answer after 100 ms, fail with an OpenError,
 * crash, exit with code 3, answer a request it never got first); every other request is echoed back with the
 * worker's thread id and the init data it started with.
 */
const FAKE_WORKER = `
const { parentPort, workerData, threadId, BroadcastChannel } = require('node:worker_threads');
const mode = workerData.secret && workerData.secret.mode;
if (mode === 'die') throw new Error('cannot load the keys');
const held = [];
const answer = (m) => parentPort.postMessage({ type: 'result', id: m.id, ok: true, value: { thread: threadId, init: workerData, req: m } });
const channel = new BroadcastChannel(${JSON.stringify(CHANNEL)});
channel.unref();
channel.onmessage = (e) => { if (e.data === 'go') for (const m of held.splice(0)) answer(m); };
channel.postMessage({ started: threadId });
parentPort.on('message', (m) => {
  const label = m.op === 'sign' ? m.label : '';
  if (label === 'hold') held.push(m);
  else if (label === 'later') setTimeout(() => answer(m), 100);
  else if (label === 'fail') parentPort.postMessage({ type: 'result', id: m.id, ok: false, error: { name: 'OpenError', message: 'signature does not verify', reason: 'bad-signature' } });
  else if (label === 'crash') setTimeout(() => { throw new Error('crash requested'); });
  else if (label === 'exit') process.exit(3);
  else if (label === 'stray') { parentPort.postMessage({ type: 'result', id: m.id + 1000, ok: true, value: 'not yours' }); answer(m); }
  else answer(m);
});
if (mode === 'init-error') parentPort.postMessage({ type: 'init-error', error: { name: 'IdentityError', code: 'mismatch', message: 'the keys do not belong together' } });
else setImmediate(() => parentPort.postMessage({ type: 'ready' }));
`;

let script: string | undefined;
function fakeWorker(): string {
  if (!script) {
    script = path.join(tmpDir('fake-crypto-worker'), 'fake-worker.js');
    writeFileSync(script, FAKE_WORKER);
  }
  return script;
}

const release = new BroadcastChannel(CHANNEL);
/** Thread ids of the stand-in workers started so far (each announces itself). */
const started: number[] = [];
release.onmessage = (e) => {
  const data = (e as { data?: { started?: unknown } }).data;
  if (typeof data?.started === 'number') started.push(data.started);
};
afterAll(() => release.close());
afterEach(async () => {
  await cleanupAll();
  script = undefined;
});

interface Echo {
  thread: number;
  init: { secret: { mode?: string }; nice?: number };
  req: Record<string, unknown>;
}

function pool(o: Partial<CryptoPoolOptions> & { mode?: string } = {}): CryptoPool {
  const { mode, ...rest } = o;
  const p = new CryptoPool({ secret: { mode } as unknown as IdentitySecret, size: 2, workerEntry: fakeWorker(), ...rest });
  onCleanup(() => p.close());
  return p;
}

const sign = (p: CryptoPool, label: string) => p.sign(label, new Uint8Array([1, 2, 3])) as unknown as Promise<Echo>;
const SENDER = { v: 1, enc: 'e', sig: 's' } as unknown as PublicIdentity;
const outcome = (p: Promise<unknown>) => p.then(() => 'resolved', (e: Error) => `${e.name}: ${e.message}`);

/** Resolves once every worker of `p` has answered a request (so each is ready). */
async function warm(p: CryptoPool): Promise<void> {
  await Promise.all(Array.from({ length: p.size }, () => sign(p, 'echo')));
}

describe('options and the worker script', () => {
  it('refuses sizes and in-flight limits outside their ranges, and starts one worker per core by default', async () => {
    for (const size of [0, 65, 1.5]) expect(() => pool({ size })).toThrow(new RangeError('CryptoPool size must be an integer in [1, 64]'));
    for (const maxInFlight of [0, 1025, 2.5]) {
      expect(() => pool({ maxInFlight })).toThrow(new RangeError('CryptoPool maxInFlight must be an integer in [1, 1024]'));
    }
    const p = pool({ size: undefined, maxInFlight: 1024 });
    expect(p.size).toBe(os.availableParallelism());
    expect(p.workers).toBe(os.availableParallelism());
    const one = pool({ size: 1, maxInFlight: 1 });
    expect(one.workers).toBe(1);
    expect((await sign(one, 'echo')).req).toMatchObject({ op: 'sign', label: 'echo' });
  });

  it('hands each worker the identity, and a nice value only when one applies here', async () => {
    const plain = await sign(pool({ mode: 'plain', size: 1 }), 'echo');
    expect(plain.init).toEqual({ secret: { mode: 'plain' } });
    const lowered = await sign(pool({ mode: 'plain', size: 1, workerNice: 5 }), 'echo');
    expect(lowered.init).toEqual(process.platform === 'linux' ? { secret: { mode: 'plain' }, nice: 5 } : { secret: { mode: 'plain' } });
  });

  it('finds the script: an explicit .js as is, an explicit .ts through a tsx bootstrap, and worker.ts beside the module', () => {
    expect(resolveWorkerEntry('/opt/app/crypto-worker.js')).toEqual({ file: '/opt/app/crypto-worker.js' });
    const ts = resolveWorkerEntry('/opt/app/worker.ts');
    expect(ts.file).toBe('/opt/app/worker.ts');
    expect(ts.bootstrap).toMatch(/^require\(".*tsx.*cjs.*api.*"\)\.register\(\);\nrequire\("\/opt\/app\/worker\.ts"\);\n$/);
    // under vitest no .js build exists beside the source, so the source itself is found
    const found = resolveWorkerEntry();
    expect(found.file).toBe(path.resolve('electron/core/crypto/worker.ts'));
    expect(found.bootstrap).toContain(JSON.stringify(found.file));
  });
});

describe('limits and process lifetime', () => {
  it('allows up to 64 workers', async () => {
    const p = pool({ size: 64 });
    expect(p.workers).toBe(64);
    expect((await sign(p, 'echo')).req).toMatchObject({ label: 'echo' });
  });

  /**
   * Runs a small program in a child process (through tsx) that starts a pool and never closes it: it must end by
   * itself when nothing is pending (idle workers do not hold the process), but not before a pending request is
   * answered (a worker with work does).
   */
  function lifetime(mode: 'idle' | 'pending') {
    const program = path.join(tmpDir('pool-lifetime'), 'program.mts');
    writeFileSync(
      program,
      `import { CryptoPool } from ${JSON.stringify(path.resolve('electron/core/crypto/pool.ts'))};\n` +
        `const pool = new CryptoPool({ secret: {}, size: 1, workerEntry: ${JSON.stringify(fakeWorker())} });\n` +
        (mode === 'pending' ? `const r = await pool.sign('later', new Uint8Array(1));\nconsole.log('answered', r.req.label);\n` : `console.log('started');\n`),
    );
    return spawnSync(process.execPath, ['--import', 'tsx', program], { encoding: 'utf8', timeout: 20_000 });
  }

  it('an idle pool lets the process end; a pending request keeps it alive until answered, then lets it end', () => {
    const idle = lifetime('idle');
    expect([idle.status, idle.stdout.trim()]).toEqual([0, 'started']);
    const pending = lifetime('pending');
    expect([pending.status, pending.stdout.trim()]).toEqual([0, 'answered later']);
  }, 60_000);
});

describe('where requests go', () => {
  it('passes each operation’s fields; seal’s message id only when given', async () => {
    const p = pool({ size: 1 });
    const opened = (await p.open({ some: 'envelope' }, SENDER)) as unknown as Echo;
    expect(opened.req).toEqual({ op: 'open', envelope: { some: 'envelope' }, sender: SENDER, id: expect.any(Number) });
    const payload = { v: 1, type: 'text', ts: 1, body: 'x' } as const;
    const sealed = (await p.seal({ recipients: [SENDER], payload })) as unknown as Echo;
    expect(sealed.req).toEqual({ op: 'seal', recipients: [SENDER], payload, id: expect.any(Number) });
    expect(Object.keys(sealed.req)).not.toContain('msgId'); // absent, not undefined
    const withId = (await p.seal({ recipients: [SENDER], payload, id: 'm1' })) as unknown as Echo;
    expect(withId.req).toMatchObject({ op: 'seal', msgId: 'm1' });
    const signed = await sign(p, 'echo');
    expect(signed.req).toEqual({ op: 'sign', label: 'echo', data: new Uint8Array([1, 2, 3]), id: expect.any(Number) });
    // every request has its own id
    expect(new Set([opened, sealed, withId, signed].map((e) => e.req.id)).size).toBe(4);
  });

  it('alternates between idle workers, and gives a new request to the least busy one', async () => {
    const p = pool({ size: 2, maxInFlight: 4 });
    await warm(p);
    const threads: number[] = [];
    for (let i = 0; i < 4; i++) threads.push((await sign(p, 'echo')).thread);
    expect(new Set(threads).size).toBe(2);
    expect(threads[0]).not.toBe(threads[1]);
    expect(threads[2]).toBe(threads[0]);
    expect(threads[3]).toBe(threads[1]);

    // two held requests, one on each worker; a third lands on either. The next must go to the other one.
    const held = [sign(p, 'hold'), sign(p, 'hold'), sign(p, 'hold')];
    const next = sign(p, 'hold');
    expect(p.load()).toEqual({ outstanding: 4, queued: 0 });
    release.postMessage('go');
    const answered = await Promise.all([...held, next]);
    const perThread = new Map<number, number>();
    for (const a of answered) perThread.set(a.thread, (perThread.get(a.thread) ?? 0) + 1);
    expect([...perThread.values()]).toEqual([2, 2]);
  });

  it('sends everything to the idle worker while the other is busy, even with room left on the busy one', async () => {
    const p = pool({ size: 2, maxInFlight: 4 });
    await warm(p);
    const busy = sign(p, 'hold');
    const threads: number[] = [];
    for (let i = 0; i < 4; i++) threads.push((await sign(p, 'echo')).thread);
    release.postMessage('go');
    const busyThread = (await busy).thread;
    expect(threads).toEqual(Array(4).fill(threads[0]));
    expect(threads[0]).not.toBe(busyThread);
  });

  it('keeps at most maxInFlight per worker; the rest wait in call order and go as answers come back', async () => {
    const p = pool({ size: 1, maxInFlight: 2 });
    await warm(p);
    const order: string[] = [];
    let peak = 0;
    const calls = ['hold', 'hold', 'q1', 'q2', 'q3'].map((label, i) =>
      sign(p, label).then((e) => {
        order.push(`${i}:${String(e.req.label)}`);
        peak = Math.max(peak, p.load().outstanding); // after each answer the queue refills the worker up to the cap
        return e;
      }),
    );
    expect(p.load()).toEqual({ outstanding: 2, queued: 3 });
    release.postMessage('go');
    await Promise.all(calls);
    expect(order.slice(2)).toEqual(['2:q1', '3:q2', '4:q3']);
    expect(peak).toBe(2);
    expect(p.load()).toEqual({ outstanding: 0, queued: 0 });
  });

  it('ignores an answer to a request it never sent', async () => {
    const p = pool({ size: 1 });
    expect((await sign(p, 'stray')).req).toMatchObject({ label: 'stray' });
    expect((await sign(p, 'echo')).req).toMatchObject({ label: 'echo' });
    expect(p.load()).toEqual({ outstanding: 0, queued: 0 });
  });

  it('refuses what cannot cross to a worker, typed by operation, and goes on working', async () => {
    const p = pool({ size: 1 });
    const open = p.open({ f: () => 1 }, SENDER);
    await expect(open).rejects.toBeInstanceOf(OpenError);
    await expect(open).rejects.toMatchObject({ reason: 'malformed', message: expect.stringMatching(/^envelope cannot be cloned: /) });
    const seal = p.seal({ recipients: [SENDER], payload: { f: () => 1 } as never });
    await expect(seal).rejects.toBeInstanceOf(TypeError);
    await expect(seal).rejects.toThrow(/^seal input cannot be cloned: /);
    expect(p.load()).toEqual({ outstanding: 0, queued: 0 });
    expect((await sign(p, 'echo')).req).toMatchObject({ label: 'echo' });
  });
});

describe('failures', () => {
  it('passes a worker’s typed error through to its caller only', async () => {
    const p = pool({ size: 1 });
    const [failed, fine] = await Promise.allSettled([sign(p, 'fail'), sign(p, 'echo')]);
    expect(failed.status).toBe('rejected');
    const e = (failed as PromiseRejectedResult).reason as OpenError;
    expect(e).toBeInstanceOf(OpenError);
    expect([e.reason, e.message]).toEqual(['bad-signature', 'signature does not verify']);
    expect(fine.status).toBe('fulfilled');
  });

  for (const [label, cause] of [
    ['crash', 'crash requested'],
    ['exit', 'crypto worker exited with code 3'],
  ] as const) {
    it(`a worker that ${label === 'crash' ? 'throws' : 'exits'} fails only its own requests and is replaced; queued calls go to the new one`, async () => {
      const p = pool({ size: 1, maxInFlight: 2 });
      await warm(p);
      const [victim] = p.threads();
      const startedBefore = started.length;
      const held = outcome(sign(p, 'hold'));
      const dying = outcome(sign(p, label));
      const queued = sign(p, 'echo');
      expect(p.load()).toEqual({ outstanding: 2, queued: 1 });
      expect(await held).toBe(`Error: crypto worker failed: ${cause}`);
      expect(await dying).toBe(`Error: crypto worker failed: ${cause}`);
      const answer = await queued;
      expect(p.workers).toBe(1);
      expect(p.threads()).not.toContain(victim);
      expect(answer.thread).toBe(p.threads()[0]!.threadId);
      expect((await sign(p, 'echo')).thread).toBe(answer.thread);
      // one replacement, though the death was reported twice ('error', then 'exit', for the crash)
      await new Promise((r) => setTimeout(r, 100));
      expect(started.slice(startedBefore)).toEqual([answer.thread]);
    });
  }

  it('an identity the worker refuses breaks the pool: every call, now and later, fails with that typed error; the workers stop', async () => {
    const p = pool({ mode: 'init-error', size: 2 });
    const first = sign(p, 'echo');
    await expect(first).rejects.toBeInstanceOf(IdentityError);
    await expect(first).rejects.toMatchObject({ code: 'mismatch', message: 'the keys do not belong together' });
    const later = sign(p, 'echo');
    await expect(later).rejects.toBeInstanceOf(IdentityError);
    expect(p.workers).toBe(0);
    await p.close();
    await expect(sign(p, 'echo')).rejects.toMatchObject({ code: 'mismatch' });
  });

  it('a worker that dies before it is ready breaks the pool with the reason; it is not restarted', async () => {
    const p = pool({ mode: 'die', size: 1 });
    const first = outcome(sign(p, 'echo'));
    expect(await first).toBe('Error: crypto worker failed: cannot load the keys');
    expect(await outcome(sign(p, 'echo'))).toBe('Error: crypto worker failed to start: cannot load the keys');
    expect(p.workers).toBe(0);
  });
});

describe('close', () => {
  it('rejects pending and queued calls and every later one, stops the workers, and is idempotent', async () => {
    const p = pool({ size: 2, maxInFlight: 1 });
    await warm(p);
    const threads = p.threads();
    const calls = ['hold', 'hold', 'echo', 'echo'].map((label) => outcome(sign(p, label)));
    expect(p.load()).toEqual({ outstanding: 2, queued: 2 });
    await p.close();
    expect(await Promise.all(calls)).toEqual(Array(4).fill('Error: CryptoPool is closed'));
    expect(threads.every((w) => w.threadId === -1)).toBe(true);
    expect([p.workers, p.threads(), p.load()]).toEqual([0, [], { outstanding: 0, queued: 0 }]);
    expect(await outcome(sign(p, 'echo'))).toBe('Error: CryptoPool is closed');
    await p.close();
  });
});

describe('errors from the wire', () => {
  it('rebuilds each typed error with its reason or code, and keeps any other name on a plain Error', () => {
    const open = fromWireError({ name: 'OpenError', message: 'm1', reason: 'tampered' });
    expect(open).toBeInstanceOf(OpenError);
    expect([(open as OpenError).reason, open.message]).toEqual(['tampered', 'm1']);
    const backup = fromWireError({ name: 'BackupError', message: 'm2', code: 'bad-passphrase' });
    expect(backup).toBeInstanceOf(BackupError);
    expect([(backup as BackupError).code, backup.message]).toEqual(['bad-passphrase', 'm2']);
    const identity = fromWireError({ name: 'IdentityError', message: 'm3', code: 'malformed' });
    expect(identity).toBeInstanceOf(IdentityError);
    expect([(identity as IdentityError).code, identity.message]).toEqual(['malformed', 'm3']);
    const payload = fromWireError({ name: 'PayloadError', message: 'm4', code: 'too-large' });
    expect(payload).toBeInstanceOf(PayloadError);
    expect([(payload as PayloadError).code, payload.message]).toEqual(['too-large', 'm4']);
    expect(fromWireError({ name: 'TypeError', message: 'm5' })).toEqual(new TypeError('m5'));
    expect(fromWireError({ name: 'TypeError', message: 'm5' })).toBeInstanceOf(TypeError);
    expect(fromWireError({ name: 'RangeError', message: 'm6' })).toBeInstanceOf(RangeError);
    // a typed name without its reason or code cannot be rebuilt as that type: a plain Error that keeps the name
    // a reason or code on another name does not make it one of ours
    for (const extra of [{ reason: 'tampered' }, { code: 'too-large' }]) {
      const e = fromWireError({ name: 'SomeError', message: 'm8', ...extra });
      expect(e.constructor).toBe(Error);
      expect(e.name).toBe('SomeError');
    }
    for (const name of ['OpenError', 'BackupError', 'IdentityError', 'PayloadError', 'DataCloneError']) {
      const e = fromWireError({ name, message: 'm7' });
      expect(e.constructor).toBe(Error);
      expect([e.name, e.message]).toEqual([name, 'm7']);
    }
  });
});
