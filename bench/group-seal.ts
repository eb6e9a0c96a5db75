/**
 * Sealing one text for a 256-member group (the sender and 255 members), as groups.ts sealFor does it: 8 envelopes of
 * at most 32 recipients, each with the same group message id `m`. Against the sum of its primitives measured in the
 * same run, one at a time: per envelope an AES-256 key generation + AES-GCM encrypt and an Ed25519 signature, and an
 * RSA-OAEP-4096 wrap per recipient plus the sender's copy in each envelope (255 + 8 = 263 wraps), plus the 255
 * recipient fingerprints. Target (issue 11): seal ≥ 0.8 × the primitives' throughput.
 */
import { webcrypto, randomBytes } from 'node:crypto';
import { canonicalHeader, fingerprint, frame, fromB64u, LABELS, LIMITS, toB64u } from '../relay/protocol/index.js';
import { median, notMeasured, now, row, tryImport, type Bench } from './lib/common.js';
import { fixture } from './lib/ids.js';
import { groupMembers } from './lib/group-members.js';
import type { CryptoModule, Payload } from './lib/apis.js';

const subtle = webcrypto.subtle;

async function perOp(n: number, fn: () => Promise<unknown> | unknown): Promise<number> {
  for (let i = 0; i < Math.min(5, n); i++) await fn();
  const t0 = now();
  for (let i = 0; i < n; i++) await fn();
  return (now() - t0) / n;
}

export const groupSealBench: Bench = async (o) => {
  const id = 'group-seal';
  const title = 'Group seal (one text for 256 members: 8 envelopes of ≤ 32) vs the sum of its primitives';
  const sender = await fixture(0);
  const members = await groupMembers();
  const batches: Array<typeof members> = [];
  for (let i = 0; i < members.length; i += LIMITS.maxRecipients) batches.push(members.slice(i, i + LIMITS.maxRecipients));
  const wraps = members.length + batches.length;
  const n = o.quick ? 3 : 10;
  const g = randomBytes(16).toString('hex');
  const payload = (m: string): Payload => ({ v: 1, type: 'text', ts: Date.now(), body: 'a group message of ordinary length, a sentence or two', g, m }) as Payload;

  const rsaPub = await subtle.importKey('spki', fromB64u(members[0]!.public.enc), { name: 'RSA-OAEP', hash: 'SHA-256' }, false, ['wrapKey']);
  const sigKey = await subtle.importKey('pkcs8', fromB64u(sender.secret.sigPrivate), { name: 'Ed25519' }, false, ['sign']);
  const header = canonicalHeader({ v: 1, id: toB64u(randomBytes(16)), from: sender.fingerprint, to: batches[0]!.map((r) => r.fingerprint).sort() });
  const pt = new TextEncoder().encode(JSON.stringify(payload(toB64u(randomBytes(16)))).padEnd(256, ' '));
  const measurePrimitives = async (): Promise<Record<string, number>> => {
    const k = (await subtle.generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt'])) as CryptoKey;
    const aes = await perOp(n * 8, async () => {
      const key = (await subtle.generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt'])) as CryptoKey;
      return subtle.encrypt({ name: 'AES-GCM', iv: randomBytes(12), additionalData: header }, key, pt);
    });
    const wrap = await perOp(n * 20, () => subtle.wrapKey('raw', k, rsaPub, { name: 'RSA-OAEP' }));
    const ct = new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv: randomBytes(12), additionalData: header }, k, pt));
    const keysFrame = frame(...batches[0]!.flatMap((x) => [x.fingerprint, new Uint8Array(512)]));
    const sign = await perOp(n * 8, () => subtle.sign({ name: 'Ed25519' }, sigKey, frame(LABELS.envelope, header, randomBytes(12), ct, keysFrame)));
    const sha = await perOp(n, () => Promise.all(members.map((r) => fingerprint(r.public))));
    return { aes: aes * batches.length, wrap: wrap * wraps, sign: sign * batches.length, sha };
  };

  const crypto = await tryImport<CryptoModule>('electron/core/crypto/index.ts');
  const baseRuns: number[] = [];
  const parleyRuns: number[] = [];
  const breakdowns: Array<Record<string, number>> = [];
  const keys = crypto.mod ? await crypto.mod.loadIdentity(sender.secret) : null;
  const sealGroup = async (): Promise<void> => {
    const m = toB64u(randomBytes(16));
    for (const b of batches) await crypto.mod!.seal({ sender: keys!, recipients: b.map((x) => x.public), payload: payload(m) });
  };
  if (keys) await sealGroup(); // warm the imported-key cache, as a running client has it
  for (let r = 0; r < o.runs; r++) {
    const b = await measurePrimitives();
    breakdowns.push(b);
    baseRuns.push(1000 / Object.values(b).reduce((s, x) => s + x, 0));
    if (keys) parleyRuns.push(1000 / (await perOp(n, sealGroup)));
  }
  const base = median(baseRuns);
  const breakdown = Object.fromEntries(Object.keys(breakdowns[0]!).map((k) => [k, median(breakdowns.map((b) => b[k]!))]));
  const bdText = Object.entries(breakdown).map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join(', ');
  if (!crypto.mod) {
    return notMeasured(id, title, `crypto module: ${crypto.error}`, [
      row({ metric: 'group seal throughput', unit: 'msg/s', parley: null, baseline: base, target: 'ratio ≥ 0.8', met: null, baselineLabel: 'Σ primitives' }),
    ]);
  }
  const ratio = median(parleyRuns.map((x, i) => x / baseRuns[i]!));
  return {
    id,
    title,
    rows: [
      row({ metric: 'seal for 256 members, one at a time', unit: 'msg/s', parley: median(parleyRuns), baseline: base, ratio, target: 'ratio ≥ 0.8', met: ratio >= 0.8, baselineLabel: 'Σ primitives' }),
    ],
    notes: [`${batches.length} envelopes, ${wraps} RSA wraps per message; primitive costs per message: ${bdText}`, 'ratio = median of per-run ratios (primitives and seal alternate)'],
    details: { parleyRuns, baseRuns, breakdownMs: breakdown, iterations: n, envelopes: batches.length, wraps },
  };
};
