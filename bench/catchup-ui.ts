/**
 * 11. UI responsiveness during a catch-up (issue 16): the real UI in Chromium on the bridge, on a profile that comes
 * online to 10 000 queued envelopes (--quick: 1 000) from one contact. While they arrive, the benchmark types in the
 * composer (a key every ~100 ms) and switches between the sender's conversation and another one (every ~1 s), and
 * the page measures input-to-paint: from the input event's timestamp (when the browser received it) to the first
 * animation frame after it had its effect (the character in the composer; the other conversation's messages on
 * screen), plus a task turn so the frame is painted. Baseline: the same interactions on the same page once the
 * catch-up is over (idle core). Target: p95 ≤ 100 ms for each.
 */
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fromB64u, type Envelope } from '../relay/protocol/index.js';
import { notMeasured, now, percentile, row, sleep, tryImport, type Bench, type Row } from './lib/common.js';
import { connectAll, rsaPrivateKey, type BenchIdentity } from './lib/clients.js';
import { startServer } from './lib/server.js';
import { fixture } from './lib/ids.js';
import { BENCH_LIMITS } from './routing.js';
import { CHROMIUM, CHROMIUM_ARGS, ensureRendererBuild } from './lib/chromium.js';
import type { CryptoModule, ServiceLike, IdentitySecret } from './lib/apis.js';
import type { CreateIdentityRequest } from '../electron/contract/api.js';
import type { Page } from 'playwright-core';

interface ServiceModule {
  ParleyService: new (o: { profileDir: string; vault?: 'keychain' | 'file'; passphrase?: string; relayUrl?: string }) => ServiceLike & {
    start(): Promise<void>;
    waitOnline(ms?: number): Promise<void>;
    idle(): Promise<void>;
    createIdentityFrom(secret: IdentitySecret, req: CreateIdentityRequest): Promise<unknown>;
  };
}
interface BridgeModule {
  startBridge(o: { core: ServiceLike; rendererDir: string }): Promise<{ url: string; close(): Promise<void> }>;
}

const PASS = 'benchmark passphrase';

/** Page-side probes (as text: tsx's __name helper does not exist in the page). */
const PROBES = `(() => {
  window.__lat = { type: [], switch: [] };
  const painted = (cb) => requestAnimationFrame(() => setTimeout(cb, 0));
  // Typing: the input event's timestamp → the frame showing the new text.
  document.addEventListener('input', (e) => {
    if (!e.target || e.target.id !== 'composer') return;
    const t0 = e.timeStamp;
    painted(() => window.__lat.type.push(performance.now() - t0));
  }, true);
  // Switching: the click's timestamp → the first frame with the clicked conversation's messages.
  document.addEventListener('click', (e) => {
    const row = e.target && e.target.closest && e.target.closest('[data-testid="conversation"]');
    if (!row) return;
    const u = row.getAttribute('data-username');
    const t0 = e.timeStamp;
    const check = () => {
      const chat = document.querySelector('[data-testid="chat"]');
      if (chat && (chat.getAttribute('aria-label') || '').endsWith(u) && chat.querySelector('[data-testid="message"]')) {
        painted(() => window.__lat.switch.push(performance.now() - t0));
      } else requestAnimationFrame(check);
    };
    check();
  }, true);
})()`;

/** Types and switches conversations until `until()` or the budget; returns the page's latencies since the start. */
async function interact(page: Page, names: [string, string], until: () => boolean, budgetMs: number, maxActions: number): Promise<{ type: number[]; switch: number[] }> {
  await page.evaluate('window.__lat = { type: [], switch: [] }');
  const end = now() + budgetMs;
  let i = 0;
  while (!until() && now() < end && i < maxActions) {
    if (i % 10 === 9) {
      const target = names[Math.floor(i / 10) % 2]!;
      await page.click(`[data-testid="conversation"][data-username="${target}"]`);
      await page.waitForSelector('#composer');
      await page.focus('#composer');
    } else {
      await page.keyboard.type(i % 10 === 8 ? ' ' : 'x');
    }
    i++;
    await sleep(100);
  }
  await sleep(300); // the last frames
  return (await page.evaluate('window.__lat')) as { type: number[]; switch: number[] };
}

export const catchupUiBench: Bench = async (o) => {
  const id = 'catchup-ui';
  const n = o.quick ? 1000 : 10_000;
  const title = `UI during a catch-up of ${n.toLocaleString('en-US')} messages (Chromium, bridge): input-to-paint`;
  const rows = (t: number | null, tb: number | null, s: number | null, sb: number | null): Row[] => [
    row({ metric: 'typing in the composer, p95', unit: 'ms', parley: t, baseline: tb, target: '≤ 100 ms', met: t === null ? null : t <= 100, baselineLabel: 'idle, same page' }),
    row({ metric: 'switching conversations, p95', unit: 'ms', parley: s, baseline: sb, target: '≤ 100 ms', met: s === null ? null : s <= 100, baselineLabel: 'idle, same page' }),
  ];
  if (!CHROMIUM) return notMeasured(id, title, 'Chromium not found', rows(null, null, null, null));
  const svc = await tryImport<ServiceModule>('electron/core/service.ts');
  const crypto = await tryImport<CryptoModule>('electron/core/crypto/index.ts');
  const bridgeMod = await tryImport<BridgeModule>('electron/bridge/server.ts');
  if (!svc.mod || !crypto.mod || !bridgeMod.mod) {
    return notMeasured(id, title, [svc.error, crypto.error, bridgeMod.error].filter(Boolean).join('; '), rows(null, null, null, null));
  }
  const rendererDir = ensureRendererBuild(o.log);
  if (!rendererDir) return notMeasured(id, title, 'out/renderer could not be built', rows(null, null, null, null));
  const { chromium } = await import('playwright-core');
  const { ParleyService } = svc.mod;

  const root = mkdtempSync(path.join(os.tmpdir(), 'parley-bench-catchup-ui-'));
  const relay = await startServer('parley', { dataDir: path.join(root, 'relay'), limits: { ...BENCH_LIMITS, queueQuota: 1_000_000 } });
  const tag = Date.now().toString(36);
  const ident = async (k: number, name: string): Promise<BenchIdentity & { secret: IdentitySecret }> => {
    const fx = await fixture(k);
    return {
      username: `${name}${tag}`,
      identity: fx.public,
      fp: fx.fingerprint,
      key: createPrivateKey({ key: Buffer.from(fromB64u(fx.secret.sigPrivate)), format: 'der', type: 'pkcs8' }),
      rsaKey: rsaPrivateKey(fx),
      secret: fx.secret,
    };
  };
  const sender = await ident(0, 'sender');
  const other = await ident(2, 'other');
  const meFx = await fixture(1);
  const profileDir = path.join(root, 'profile');
  const pool = new crypto.mod.CryptoPool({ secret: sender.secret, size: os.availableParallelism() });
  const clients = await connectAll('parley', relay.url, relay.fingerprint, [sender, other], { onDeliver: () => undefined }, 2);
  let service: InstanceType<ServiceModule['ParleyService']> | null = null;
  let bridge: { url: string; close(): Promise<void> } | null = null;
  let browser: Awaited<ReturnType<typeof chromium.launch>> | null = null;
  try {
    // The reader: both contacts added, one message in each conversation, then offline.
    {
      const s = new ParleyService({ profileDir, vault: 'file', passphrase: PASS, relayUrl: relay.url });
      await s.createIdentityFrom(meFx.secret, { username: `reader${tag}`, relayUrl: relay.url, vault: 'file', passphrase: PASS });
      await s.waitOnline(20_000);
      for (const c of [sender, other]) {
        await s.addContact({ username: c.username });
        await s.sendMessage({ conversation: `d:${c.username}`, text: `hello ${c.username}` });
      }
      await s.idle();
      await s.close();
    }
    // The backlog, queued while the reader is offline.
    const t0 = now();
    const envs: Envelope[] = await Promise.all(
      Array.from({ length: n }, (_, i) => pool.seal({ recipients: [meFx.public], payload: { v: 1, type: 'text', ts: Date.now(), body: `catch-up message ${i}` } })),
    );
    let next = 0;
    let failed = 0;
    await Promise.all(
      Array.from({ length: 128 }, async () => {
        while (next < envs.length) {
          const e = envs[next++]!;
          if (!(await new Promise<boolean>((res) => clients[0]!.send(e, (k) => res(k))))) failed++;
        }
      }),
    );
    if (failed) throw new Error(`${failed} envelopes refused by the relay while filling the queue`);
    o.log(`catchup-ui: queued ${n} envelopes in ${((now() - t0) / 1000).toFixed(1)} s`);

    // Start the reader (unlocks at start and connects: the catch-up begins), then its UI.
    service = new ParleyService({ profileDir, vault: 'file', passphrase: PASS, relayUrl: relay.url });
    let received = 0;
    let tDone = NaN;
    service.on('message-received', () => {
      if (++received >= n && Number.isNaN(tDone)) tDone = now();
    });
    const tStart = now();
    await service.start();
    bridge = await bridgeMod.mod.startBridge({ core: service, rendererDir });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    const page = await browser.newPage({ viewport: { width: 1200, height: 760 } });
    await page.goto(bridge.url);
    await page.evaluate(PROBES);
    await page.click(`[data-testid="conversation"][data-username="${sender.username}"]`, { timeout: 60_000 });
    await page.waitForSelector('#composer');
    await page.focus('#composer');
    const receivedAtStart = received;
    const during = await interact(page, [other.username, sender.username], () => received >= n, Math.max(120_000, n * 20), 100_000);
    const receivedDuring = received - receivedAtStart;
    await service.idle();
    const caughtUp = received >= n;
    const idle = await interact(page, [other.username, sender.username], () => false, 60_000, Math.max(60, during.type.length + during.switch.length));
    const p95 = (xs: number[]): number | null => (xs.length ? percentile(xs, 95) : null);
    return {
      id,
      title,
      rows: rows(p95(during.type), p95(idle.type), p95(during.switch), p95(idle.switch)),
      notes: [
        `during the catch-up: ${during.type.length} keystrokes and ${during.switch.length} switches measured while ${receivedDuring} of ${n} messages arrived` +
          ` (${receivedAtStart} before the page was ready); catch-up ${caughtUp ? `done in ${((tDone - tStart) / 1000).toFixed(1)} s from start()` : 'NOT complete'}`,
        `typing p50/p95/max during: ${fmtStats(during.type)}; idle: ${fmtStats(idle.type)}`,
        `switching p50/p95/max during: ${fmtStats(during.switch)}; idle: ${fmtStats(idle.switch)}`,
      ],
      details: { during, idle, n, receivedAtStart, receivedDuring },
    };
  } finally {
    await browser?.close().catch(() => undefined);
    await bridge?.close().catch(() => undefined);
    await service?.close().catch(() => undefined);
    for (const c of clients) c.close();
    await pool.close();
    await relay.stop();
    rmSync(root, { recursive: true, force: true });
  }
};

function fmtStats(xs: number[]): string {
  if (!xs.length) return 'none';
  return `${percentile(xs, 50).toFixed(0)}/${percentile(xs, 95).toFixed(0)}/${Math.max(...xs).toFixed(0)} ms (${xs.length})`;
}
