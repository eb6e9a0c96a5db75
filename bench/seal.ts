/**
 * 2. Seal throughput against the sum of its primitives' costs, both measured here in this process, one at a time:
 * AES-256-GCM key generation + encrypt (with the header as AAD), RSA-OAEP-4096 wrap × (recipients + 1),
 * Ed25519 sign over the framed envelope, SHA-256 fingerprints of the recipients, payload/base64url encoding.
 * Target: Parley's seal() ≥ 0.8 × the primitives' throughput.
 */
import { webcrypto, randomBytes } from 'node:crypto';
import os from 'node:os';
import {
  canonicalHeader, frame, fromB64u, fingerprint, LABELS, toB64u, type PublicIdentity,
} from '../relay/protocol/index.js';
import { median, notMeasured, now, row, tryImport, type Bench } from './lib/common.js';
import { fixture } from './lib/ids.js';
import type { CryptoModule, Payload } from './lib/apis.js';

const subtle = webcrypto.subtle;
const RECIPIENTS = 1;

/** Time per call in ms, sequential, after a short warm-up. */
async function perOp(n: number, fn: () => Promise<unknown> | unknown): Promise<number> {
  for (let i = 0; i < Math.min(20, n); i++) await fn();
  const t0 = now();
  for (let i = 0; i < n; i++) await fn();
  return (now() - t0) / n;
}

/** Reference payload encoding: JSON, padded to the 256-byte bucket (what encodePayload must at least do). */
function encodeRef(p: Payload): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(p));
  const out = new Uint8Array(Math.max(256, 2 ** Math.ceil(Math.log2(json.byteLength + 4))));
  new DataView(out.buffer).setUint32(0, json.byteLength);
  out.set(json, 4);
  return out;
}

export const sealBench: Bench = async (o) => {
  const id = 'seal';
  const title = `Seal throughput (seal() to ${RECIPIENTS} recipient vs the sum of its primitives)`;
  const sender = await fixture(0);
  const recips = await Promise.all(Array.from({ length: RECIPIENTS }, (_, i) => fixture(1 + i)));
  const n = o.quick ? 150 : 600;

  // Primitive keys, imported once (a fair baseline: a sealer may cache imported public keys).
  const rsaPubs = await Promise.all(
    [sender, ...recips].map((x) => subtle.importKey('spki', fromB64u(x.public.enc), { name: 'RSA-OAEP', hash: 'SHA-256' }, false, ['wrapKey'])),
  );
  const sigKey = await subtle.importKey('pkcs8', fromB64u(sender.secret.sigPrivate), { name: 'Ed25519' }, false, ['sign']);
  const payload = (): Payload => ({ v: 1, type: 'text', ts: Date.now(), body: 'a benchmark message of ordinary length, say a sentence or two' });
  const header = canonicalHeader({ v: 1, id: toB64u(randomBytes(16)), from: sender.fingerprint, to: recips.map((r) => r.fingerprint).sort() });

  const aesKeys: CryptoKey[] = [];
  const measurePrimitives = async (): Promise<Record<string, number>> => {
    const aesGen = await perOp(n, async () => {
      const k = (await subtle.generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt'])) as CryptoKey;
      if (aesKeys.length < 64) aesKeys.push(k);
    });
    const k0 = aesKeys[0]!;
    const pt = encodeRef(payload());
    const aesEnc = await perOp(n, () => subtle.encrypt({ name: 'AES-GCM', iv: randomBytes(12), additionalData: header }, k0, pt));
    const wrapOne = await perOp(n, () => subtle.wrapKey('raw', k0, rsaPubs[0]!, { name: 'RSA-OAEP' }));
    const ct = new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv: randomBytes(12), additionalData: header }, k0, pt));
    const wrapped = new Uint8Array(512);
    const keysFrame = frame(...[sender, ...recips].flatMap((x) => [x.fingerprint, wrapped]));
    const sign = await perOp(n, () => subtle.sign({ name: 'Ed25519' }, sigKey, frame(LABELS.envelope, header, randomBytes(12), ct, keysFrame)));
    const sha = await perOp(n, () => Promise.all(recips.map((r) => fingerprint(r.public as PublicIdentity))));
    const encode = await perOp(n, () => {
      const p = encodeRef(payload());
      return JSON.stringify({ iv: toB64u(randomBytes(12)), ct: toB64u(ct), keys: [sender, ...recips].map((x) => ({ to: x.fingerprint, k: toB64u(wrapped) })), sig: toB64u(new Uint8Array(64)), p: p.byteLength });
    });
    return { aesGen, aesEnc, wrap: wrapOne * (RECIPIENTS + 1), sign, sha, encode };
  };

  const crypto = await tryImport<CryptoModule>('electron/core/crypto/index.ts');
  const baseRuns: number[] = [];
  const parleyRuns: number[] = [];
  const breakdowns: Array<Record<string, number>> = [];
  for (let r = 0; r < o.runs; r++) {
    const b = await measurePrimitives();
    breakdowns.push(b);
    baseRuns.push(1000 / Object.values(b).reduce((s, x) => s + x, 0));
    if (crypto.mod) {
      const keys = await crypto.mod.loadIdentity(sender.secret);
      const recipients = recips.map((x) => x.public);
      const ms = await perOp(n, () => crypto.mod!.seal({ sender: keys, recipients, payload: payload() }));
      parleyRuns.push(1000 / ms);
    }
  }
  const base = median(baseRuns);
  const breakdown = Object.fromEntries(Object.keys(breakdowns[0]!).map((k) => [k, median(breakdowns.map((b) => b[k]!))]));
  const bdText = Object.entries(breakdown).map(([k, v]) => `${k} ${(v * 1000).toFixed(0)} µs`).join(', ');
  if (!crypto.mod) {
    return notMeasured(id, title, `crypto module: ${crypto.error}`, [
      row({ metric: 'seal throughput', unit: 'env/s', parley: null, baseline: base, target: 'ratio ≥ 0.8', met: null, baselineLabel: 'Σ primitives' }),
    ]);
  }
  const parley = median(parleyRuns);
  const ratio = median(parleyRuns.map((x, i) => x / baseRuns[i]!));

  // Informational: the pool's seal on every core, many in flight.
  let poolRate: number | null = null;
  try {
    const pool = new crypto.mod.CryptoPool({ secret: sender.secret, size: os.availableParallelism() });
    try {
      const recipients = recips.map((x) => x.public);
      await Promise.all(Array.from({ length: 8 }, () => pool.seal({ recipients, payload: payload() })));
      const count = n * 2;
      const t0 = now();
      await Promise.all(Array.from({ length: count }, () => pool.seal({ recipients, payload: payload() })));
      poolRate = (count * 1000) / (now() - t0);
    } finally {
      await pool.close();
    }
  } catch (e) {
    o.log(`seal: CryptoPool.seal failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  return {
    id,
    title,
    rows: [
      row({ metric: 'seal() throughput, one at a time', unit: 'env/s', parley, baseline: base, ratio, target: 'ratio ≥ 0.8', met: ratio >= 0.8, baselineLabel: 'Σ primitives' }),
      row({ metric: `CryptoPool.seal, ${os.availableParallelism()} workers, all in flight`, unit: 'env/s', parley: poolRate, baseline: base, target: 'info', met: null, baselineLabel: 'Σ primitives, 1 thread' }),
    ],
    notes: [`primitive costs per seal: ${bdText}`, 'ratio = median of per-run ratios (primitives and seal() alternate)'],
    details: { parleyRuns, baseRuns, breakdownMs: breakdown, iterations: n, recipients: RECIPIENTS },
  };
};
