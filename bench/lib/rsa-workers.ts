/**
 * Baseline for envelope opening: raw RSA-OAEP-4096 (SHA-256) unwraps in worker threads, one imported private-key
 * copy per worker (Web Crypto serializes operations on one key object), or node:crypto privateDecrypt.
 * Workers are plain JS (eval) so they need no TypeScript loader.
 */
import { Worker } from 'node:worker_threads';
import { now } from './common.js';

const WORKER_SRC = `
const { parentPort, workerData } = require('node:worker_threads');
const { webcrypto, privateDecrypt, createPrivateKey, constants } = require('node:crypto');
const { performance } = require('node:perf_hooks');
const subtle = webcrypto.subtle;
(async () => {
  const der = Buffer.from(workerData.pkcs8, 'base64url');
  const wrapped = Buffer.from(workerData.wrapped, 'base64url');
  let op;
  if (workerData.kind === 'webcrypto') {
    const key = await subtle.importKey('pkcs8', der, { name: 'RSA-OAEP', hash: 'SHA-256' }, false, ['unwrapKey', 'decrypt']);
    op = () => subtle.unwrapKey('raw', wrapped, key, { name: 'RSA-OAEP' }, { name: 'AES-GCM' }, false, ['decrypt']);
  } else {
    const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    op = () => privateDecrypt({ key, oaepHash: 'sha256', padding: constants.RSA_PKCS1_OAEP_PADDING }, wrapped);
  }
  await op(); // warm-up and correctness: throws on a wrong key
  parentPort.on('message', async (m) => {
    const t0 = performance.now();
    const end = t0 + m.ms;
    let n = 0;
    if (workerData.kind === 'webcrypto') {
      const lane = async () => { while (performance.now() < end) { await op(); n++; } };
      await Promise.all(Array.from({ length: m.concurrency }, lane));
    } else {
      while (performance.now() < end) { op(); n++; }
    }
    parentPort.postMessage({ n, ms: performance.now() - t0 });
  });
  parentPort.postMessage({ ready: true });
})().catch((e) => { throw e; });
`;

export interface RsaPool {
  /** Run every worker for `ms`; returns total unwraps per second. */
  run(ms: number): Promise<number>;
  close(): Promise<void>;
}

export async function startRsaPool(o: {
  kind: 'webcrypto' | 'node';
  workers: number;
  pkcs8: string;
  wrapped: string;
  /** Outstanding operations per worker (Web Crypto only). */
  concurrency?: number;
}): Promise<RsaPool> {
  const ws: Worker[] = [];
  await Promise.all(
    Array.from({ length: o.workers }, () =>
      new Promise<void>((resolve, reject) => {
        const w = new Worker(WORKER_SRC, { eval: true, workerData: { kind: o.kind, pkcs8: o.pkcs8, wrapped: o.wrapped } });
        ws.push(w);
        w.once('error', reject);
        w.once('message', () => resolve());
      }),
    ),
  );
  return {
    async run(ms) {
      const t0 = now();
      const results = await Promise.all(
        ws.map(
          (w) =>
            new Promise<{ n: number; ms: number }>((resolve) => {
              w.once('message', resolve);
              w.postMessage({ ms, concurrency: o.concurrency ?? 2 });
            }),
        ),
      );
      void t0;
      return results.reduce((s, r) => s + (r.n * 1000) / r.ms, 0);
    },
    async close() {
      await Promise.all(ws.map((w) => w.terminate()));
    },
  };
}
