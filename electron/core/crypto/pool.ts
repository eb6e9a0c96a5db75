/**
 * CryptoPool: seal/open on worker threads, each holding one imported copy of the identity's keys.
 * Requests go to the least busy worker (round-robin among equals). Errors cross the thread boundary typed:
 * an OpenError arrives as an OpenError with the same `reason`.
 *
 * Worker entry: `o.workerEntry` when given; otherwise, next to this module, the first that exists of
 *   crypto-worker.js  (the Electron bundle: electron-vite emits worker.ts as a separate main entry, see below)
 *   worker.js         (a plain tsc build)
 *   worker.ts         (source, under vitest/tsx: started through a bootstrap that registers tsx's require hook;
 *                      Node 20 workers ignore `--import tsx` in execArgv)
 *
 * electron-vite: the worker is a second main-process input so it lands beside index.js
 * (electron.vite.config.ts does this):
 *   main: { build: { rolldownOptions: { input: { index: 'electron/main/index.ts',
 *                                                'crypto-worker': 'electron/core/crypto/worker.ts' } } } }
 * which emits out/main/crypto-worker.js; the bundled pool finds it via __dirname (out/main, or out/main/chunks
 * when the pool lands in a shared chunk: the parent directory is searched too). Pass `workerEntry` explicitly if
 * your layout differs. Electron's worker_threads load scripts from inside app.asar.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Envelope, PublicIdentity } from '../../../relay/protocol/index.js';
import { BackupError, IdentityError, OpenError, PayloadError, type BackupErrorCode, type OpenErrorReason } from './errors.js';
import type { Payload } from './payload.js';
import type { IdentitySecret } from './types.js';
import type { WireErrorShape, WorkerInit, WorkerRequest, WorkerResponse } from './worker-protocol.js';

export interface CryptoPoolOptions {
  secret: IdentitySecret;
  /** Number of worker threads; default os.availableParallelism(). */
  size?: number;
  /** Path of the worker script (.js, or .ts run through tsx). Default: see the module comment. */
  workerEntry?: string;
  /**
   * Requests outstanding per worker (default 2); more wait in the pool's queue, in call order. open() now runs
   * entirely on its worker thread (privateDecrypt, AES-GCM and Ed25519 verify are synchronous node:crypto calls);
   * seal's Web Crypto sign and wrap still go through the process's libuv threadpool (4 threads by default), where
   * dozens of interleaved jobs oversubscribed the cores (bench/open.ts, with the Web Crypto unwrap: 64 in flight on
   * 2 workers ≈ 0.74–0.94 of raw RSA, 2 per worker ≈ 0.93–0.99). A second request per worker keeps it busy while
   * the first one's result crosses back.
   */
  maxInFlight?: number;
  /**
   * Nice value each worker thread gives itself, Linux only (there setpriority() on the calling thread changes that
   * thread alone; on macOS and Windows it would lower the whole app, so nothing is changed there). Default 0: leave
   * it. Measured 2026-12-02 on 2 cores: at nice 10 a catch-up's unwraps stopped delaying the UI (catchup-ui typing
   * p95 159 → 83 ms), but once the renderer took events in batches (runtime/event-batch.ts) nice 0 gave 74 ms, and
   * beside two busy programs a 1 000-envelope catch-up took 1.73 × the raw unwrap time at nice 0, 3.04 × at 5 and
   * 7.68 × at 10: lowered workers give way to every other program on the machine, not only to Parley's own UI.
   */
  workerNice?: number;
}

/** Linux nice value of crypto worker threads unless CryptoPoolOptions.workerNice says otherwise (0: unchanged). */
export const DEFAULT_WORKER_NICE = 0;

/** The nice value a pool gives its workers on this platform (null: left as the process has it). */
export function workerNiceFor(requested: number | undefined, platform: NodeJS.Platform = process.platform): number | null {
  const n = requested ?? DEFAULT_WORKER_NICE;
  if (!Number.isInteger(n) || n < 0 || n > 19) throw new RangeError('CryptoPool workerNice must be an integer in [0, 19]');
  return platform !== 'linux' || n === 0 ? null : n;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
  ready: boolean;
}

type RequestBody = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, 'id'> : never) : never;

function moduleDir(): string {
  if (typeof __dirname === 'string') return __dirname;
  return path.dirname(fileURLToPath(import.meta.url));
}

/** How to start the worker: a script file, or (for TypeScript source) a tiny CJS bootstrap that registers tsx. */
export interface WorkerEntry {
  file: string;
  /** Set for a .ts entry: eval'd bootstrap code that registers tsx's require hook, then loads `file`. */
  bootstrap?: string;
}

function tsxBootstrap(file: string): WorkerEntry {
  // Node 20 workers do not honour `--import tsx` in execArgv, so register tsx's CommonJS hook explicitly.
  const req = createRequire(path.join(moduleDir(), 'pool.js'));
  let api: string;
  try {
    api = req.resolve('tsx/cjs/api');
  } catch {
    throw new Error(`crypto worker ${file} is TypeScript but tsx is not installed; build it to .js or pass workerEntry`);
  }
  return { file, bootstrap: `require(${JSON.stringify(api)}).register();\nrequire(${JSON.stringify(file)});\n` };
}

/** Where the worker script is, and how to start it. */
export function resolveWorkerEntry(explicit?: string): WorkerEntry {
  if (explicit) return explicit.endsWith('.ts') ? tsxBootstrap(explicit) : { file: explicit };
  const dir = moduleDir();
  for (const file of [path.join(dir, 'crypto-worker.js'), path.join(dir, '..', 'crypto-worker.js'), path.join(dir, 'worker.js')]) {
    if (existsSync(file)) return { file };
  }
  const ts = path.join(dir, 'worker.ts');
  if (existsSync(ts)) return tsxBootstrap(ts);
  throw new Error(`crypto worker script not found in ${dir} (looked for crypto-worker.js, worker.js, worker.ts); pass workerEntry`);
}

/** Rebuild a typed error from its wire shape. */
export function fromWireError(e: WireErrorShape): Error {
  let err: Error;
  if (e.name === 'OpenError' && e.reason) err = new OpenError(e.reason as OpenErrorReason, e.message);
  else if (e.name === 'BackupError' && e.code) err = new BackupError(e.code as BackupErrorCode, e.message);
  else if (e.name === 'IdentityError' && e.code) err = new IdentityError(e.code as 'malformed' | 'mismatch', e.message);
  else if (e.name === 'PayloadError' && e.code) err = new PayloadError(e.code as 'malformed' | 'too-large', e.message);
  else if (e.name === 'TypeError') err = new TypeError(e.message);
  else if (e.name === 'RangeError') err = new RangeError(e.message);
  else {
    err = new Error(e.message);
    err.name = e.name;
  }
  return err;
}

export class CryptoPool {
  readonly size: number;
  private readonly slots: Slot[] = [];
  private readonly entry: WorkerEntry;
  private readonly init: WorkerInit;
  private nextId = 1;
  private rr = 0;
  private readonly maxInFlight: number;
  /** Calls waiting for a worker with room (FIFO). */
  private queue: Array<{ req: RequestBody; resolve: (v: unknown) => void; reject: (e: Error) => void }> = [];
  private closed = false;
  /** Set when a worker failed before becoming ready (bad identity, unloadable script): every call rejects with it. */
  private broken: Error | null = null;

  constructor(o: CryptoPoolOptions) {
    const size = o.size ?? os.availableParallelism();
    if (!Number.isInteger(size) || size < 1 || size > 64) throw new RangeError('CryptoPool size must be an integer in [1, 64]');
    this.size = size;
    const m = o.maxInFlight ?? 2;
    if (!Number.isInteger(m) || m < 1 || m > 1024) throw new RangeError('CryptoPool maxInFlight must be an integer in [1, 1024]');
    this.maxInFlight = m;
    this.entry = resolveWorkerEntry(o.workerEntry);
    const nice = workerNiceFor(o.workerNice);
    this.init = nice === null ? { secret: o.secret } : { secret: o.secret, nice };
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const worker = this.entry.bootstrap
      ? new Worker(this.entry.bootstrap, { eval: true, workerData: this.init })
      : new Worker(this.entry.file, { workerData: this.init });
    const slot: Slot = { worker, pending: new Map(), ready: false };
    worker.on('message', (m: WorkerResponse) => this.onMessage(slot, m));
    worker.on('error', (e) => this.onDeath(slot, e));
    worker.on('exit', (code) => this.onDeath(slot, new Error(`crypto worker exited with code ${code}`)));
    // An idle worker must not keep the process alive (dispatch() refs it while it has work). After the listeners:
    // adding a 'message' listener refs the worker's port again, so an unref() before it had no effect.
    worker.unref();
    return slot;
  }

  private onMessage(slot: Slot, m: WorkerResponse): void {
    if (m.type === 'ready') {
      slot.ready = true;
      return;
    }
    if (m.type === 'init-error') {
      this.fail(fromWireError(m.error));
      return;
    }
    const p = slot.pending.get(m.id);
    if (!p) return;
    slot.pending.delete(m.id);
    if (m.ok) p.resolve(m.value);
    else p.reject(fromWireError(m.error));
    this.drain();
    if (slot.pending.size === 0) slot.worker.unref();
  }

  /** Hand queued calls to workers with room. */
  private drain(): void {
    while (this.queue.length > 0 && !this.closed && !this.broken) {
      const slot = this.pick();
      if (slot.pending.size >= this.maxInFlight) return;
      const q = this.queue.shift()!;
      this.dispatch(slot, q.req, q.resolve, q.reject);
    }
  }

  private onDeath(slot: Slot, err: Error): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return; // already handled (error is followed by exit)
    const pending = [...slot.pending.values()];
    slot.pending.clear();
    for (const p of pending) p.reject(new Error(`crypto worker failed: ${err.message}`));
    if (this.closed) return;
    if (!slot.ready) {
      this.fail(new Error(`crypto worker failed to start: ${err.message}`));
      return;
    }
    this.slots[i] = this.spawn();
    this.drain();
  }

  /** A startup failure: reject everything now and later, stop the workers. */
  private fail(err: Error): void {
    if (this.broken) return;
    this.broken = err;
    void this.close();
  }

  private pick(): Slot {
    let best: Slot | undefined;
    for (let k = 0; k < this.slots.length; k++) {
      const s = this.slots[(this.rr + k) % this.slots.length]!;
      if (!best || s.pending.size < best.pending.size) best = s;
    }
    this.rr = (this.rr + 1) % this.slots.length;
    return best!;
  }

  private call<T>(req: RequestBody): Promise<T> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.closed) return Promise.reject(new Error('CryptoPool is closed'));
    return new Promise<T>((resolve, reject) => {
      const slot = this.pick();
      if (this.queue.length === 0 && slot.pending.size < this.maxInFlight) this.dispatch(slot, req, resolve as (v: unknown) => void, reject);
      else this.queue.push({ req, resolve: resolve as (v: unknown) => void, reject });
    });
  }

  private dispatch(slot: Slot, req: RequestBody, resolve: (v: unknown) => void, reject: (e: Error) => void): void {
    const id = this.nextId++;
    try {
      slot.worker.postMessage({ ...req, id });
    } catch (e) {
      // Not structured-cloneable (functions, symbols…): cannot be an envelope or identity from the wire.
      reject(req.op === 'open' ? new OpenError('malformed', `envelope cannot be cloned: ${(e as Error).message}`) : new TypeError(`seal input cannot be cloned: ${(e as Error).message}`));
      return;
    }
    slot.pending.set(id, { resolve, reject });
    if (slot.pending.size === 1) slot.worker.ref();
  }

  /**
   * open() on a worker, as `me` = the pool's identity. Rejects with OpenError (reason kept). Only the payload comes
   * back: the caller holds the envelope already, and cloning it back across the thread boundary (32 wrapped keys in a
   * group's) cost both threads for nothing.
   */
  open(envelope: unknown, sender: PublicIdentity): Promise<{ payload: Payload }> {
    return this.call({ op: 'open', envelope, sender });
  }

  /** seal() on a worker, as the pool's identity. */
  seal(o: { recipients: PublicIdentity[]; payload: Payload; id?: string }): Promise<Envelope> {
    return this.call({ op: 'seal', recipients: o.recipients, payload: o.payload, ...(o.id !== undefined ? { msgId: o.id } : {}) });
  }

  /** Ed25519 signature over signingInput(label, data) with the pool's identity (group changes, snapshots). */
  sign(label: string, data: Uint8Array): Promise<Uint8Array> {
    return this.call({ op: 'sign', label, data });
  }

  /** Terminate every worker; pending calls reject. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const q of this.queue.splice(0)) q.reject(this.broken ?? new Error('CryptoPool is closed'));
    const slots = this.slots.splice(0);
    for (const s of slots) {
      const pending = [...s.pending.values()];
      s.pending.clear();
      for (const p of pending) p.reject(this.broken ?? new Error('CryptoPool is closed'));
    }
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  /** The live worker threads (diagnostics and tests; empty after close()). */
  threads(): Worker[] {
    return this.slots.map((s) => s.worker);
  }

  /** Requests handed to workers and not yet answered, and requests waiting in the pool's queue (diagnostics, tests). */
  load(): { outstanding: number; queued: number } {
    return { outstanding: this.slots.reduce((n, s) => n + s.pending.size, 0), queued: this.queue.length };
  }

  /** Number of live worker threads (0 after close()). */
  get workers(): number {
    return this.slots.length;
  }
}
