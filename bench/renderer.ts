/**
 * 8. Renderer in real Chromium (playwright-core, /usr/bin/chromium headless): the real UI (out/renderer, served by
 * the dev/test bridge, electron/bridge) on a real ParleyService whose encrypted store holds a 100 000-message
 * conversation (--quick: 20 000). Measures:
 *  - message nodes in the DOM after opening it and at most while scrolling (target < 200: virtualization);
 *  - first paint of the chat: click on the conversation → the first animation frame with message bubbles in the
 *    DOM (includes the bridge round trip and the store query), median of several openings (target ≤ 150 ms);
 *  - scrolling to the top: jump to the top and let the UI load older pages, with a PerformanceObserver('longtask')
 *    in the page (target: no long task > 50 ms).
 * Baseline: the same page showing a 50-message conversation (first paint), for the ratio.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { median, notMeasured, now, row, sleep, tryImport, type Bench } from './lib/common.js';
import { CHROMIUM, CHROMIUM_ARGS, ensureRendererBuild } from './lib/chromium.js';
import { startServer } from './lib/server.js';
import { fixture } from './lib/ids.js';
import type { ServiceLike, IdentitySecret } from './lib/apis.js';
import type { CreateIdentityRequest } from '../electron/contract/api.js';
import type { HistoryStore, NewMessage } from '../electron/core/store/types.js';
import { summarizeProfile, type CpuProfile } from './lib/profile.js';

interface ServiceModule {
  ParleyService: new (o: { profileDir: string; vault?: 'keychain' | 'file'; passphrase?: string; kdfIterations?: number }) => ServiceLike & {
    start(): Promise<void>;
    profile: { paths: { db: string } };
    createIdentityFrom(secret: IdentitySecret, req: CreateIdentityRequest): Promise<unknown>;
  };
}
interface VaultModule {
  openVault(profile: unknown, o: { kind: 'file'; passphrase: string; iterations?: number }): { load(): Promise<{ dbKey: string }> };
}
interface StoreModule {
  openHistoryStore(o: { path: string; key: string }): HistoryStore;
}
interface BridgeModule {
  startBridge(o: { core: ServiceLike; rendererDir: string; port?: number }): Promise<{ url: string; close(): Promise<void> }>;
}

const PASS = 'benchmark passphrase';

export const rendererBench: Bench = async (o) => {
  const id = 'renderer';
  const n = o.quick ? 20_000 : 100_000;
  const title = `Renderer in Chromium: a ${n.toLocaleString('en-US')}-message conversation`;
  const rows = (nodes: number | null, paint: number | null, basePaint: number | null, longest: number | null) => [
    row({ metric: 'message nodes in the DOM (max)', unit: 'count', parley: nodes, baseline: n, ratio: null, target: '< 200', met: nodes === null ? null : nodes < 200, baselineLabel: 'messages' }),
    row({ metric: 'first paint of the chat', unit: 'ms', parley: paint, baseline: basePaint, target: '≤ 150 ms', met: paint === null ? null : paint <= 150, baselineLabel: '50-message chat' }),
    row({ metric: 'longest task while scrolling to the top', unit: 'ms', parley: longest, baseline: null, target: '≤ 50 ms', met: longest === null ? null : longest <= 50 }),
  ];
  if (!CHROMIUM) return notMeasured(id, title, 'Chromium not found (PARLEY_CHROMIUM or /usr/bin/chromium)', rows(null, null, null, null));
  const svc = await tryImport<ServiceModule>('electron/core/service.ts');
  const vault = await tryImport<VaultModule>('electron/core/vault/index.ts');
  const store = await tryImport<StoreModule>('electron/core/store/index.ts');
  const bridgeMod = await tryImport<BridgeModule>('electron/bridge/server.ts');
  if (!svc.mod || !vault.mod || !store.mod || !bridgeMod.mod) {
    return notMeasured(id, title, [svc, vault, store, bridgeMod].map((x) => x.error).filter(Boolean).join('; '), rows(null, null, null, null));
  }
  const rendererDir = ensureRendererBuild(o.log);
  if (!rendererDir) return notMeasured(id, title, 'out/renderer could not be built (npm run build)', rows(null, null, null, null));
  const { chromium } = await import('playwright-core');

  const root = mkdtempSync(path.join(os.tmpdir(), 'parley-bench-renderer-'));
  const relay = await startServer('parley', { dataDir: path.join(root, 'relay') });
  const profileDir = path.join(root, 'profile');
  let service: InstanceType<ServiceModule['ParleyService']> | null = null;
  let bridge: { url: string; close(): Promise<void> } | null = null;
  let browser: Awaited<ReturnType<typeof chromium.launch>> | null = null;
  try {
    // A profile whose store holds one huge and one small conversation.
    const me = await fixture(1);
    {
      const s = new svc.mod.ParleyService({ profileDir, vault: 'file', passphrase: PASS, kdfIterations: 600_000 });
      await s.createIdentityFrom(me.secret, { username: `viewer${Date.now().toString(36)}`, relayUrl: relay.url, vault: 'file', passphrase: PASS });
      const { dbKey } = await vault.mod.openVault(s.profile, { kind: 'file', passphrase: PASS, iterations: 600_000 }).load();
      const dbPath = s.profile.paths.db;
      await s.close();
      const t0 = now();
      const st = store.mod.openHistoryStore({ path: dbPath, key: dbKey });
      try {
        const big = await fixture(0);
        const small = await fixture(2);
        st.addContact({ username: 'bigchat', identity: big.public, fingerprint: big.fingerprint });
        st.addContact({ username: 'smallchat', identity: small.public, fingerprint: small.fingerprint });
        const start = Date.now() - n * 60_000;
        const msg = (contact: string, i: number): NewMessage => ({
          id: randomBytes(16).toString('base64url'),
          contact,
          direction: i % 3 === 0 ? 'out' : 'in',
          senderFingerprint: null,
          body: `message ${i}: ${'lorem ipsum dolor sit amet '.repeat(1 + (i % 4))}`,
          sentAt: start + i * 60_000,
          receivedAt: start + i * 60_000,
          state: i % 3 === 0 ? 'delivered' : 'delivered',
          unread: false,
        });
        for (let i = 0; i < n; i += 10_000) st.transaction(() => {
          for (let k = i; k < Math.min(n, i + 10_000); k++) st.insertMessage(msg('bigchat', k));
        });
        st.transaction(() => {
          for (let k = 0; k < 50; k++) st.insertMessage(msg('smallchat', k));
        });
      } finally {
        st.close();
      }
      o.log(`renderer: store with ${n} + 50 messages built in ${((now() - t0) / 1000).toFixed(1)} s`);
    }
    service = new svc.mod.ParleyService({ profileDir, vault: 'file', passphrase: PASS, kdfIterations: 600_000 });
    await service.start();
    bridge = await bridgeMod.mod.startBridge({ core: service, rendererDir });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    const page = await browser.newPage({ viewport: { width: 1200, height: 760 } });
    await page.goto(bridge.url);
    await page.waitForSelector('[data-testid="conversation"][data-username="bigchat"]', { timeout: 60_000 });
    await page.evaluate(`(() => {
      window.__longtasks = [];
      new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__longtasks.push(e.duration); })
        .observe({ type: 'longtask', buffered: true });
    })()`);

    /**
     * Click a conversation; ms until the first frame with message bubbles for it. Page code is passed as text:
     * tsx's name-keeping helper (__name) does not exist in the page.
     */
    const open = (username: string): Promise<number> =>
      page.evaluate(`(async (u) => {
        const el = document.querySelector('[data-testid="conversation"][data-username="' + u + '"]');
        const t0 = performance.now();
        el.click();
        await new Promise((resolve) => {
          const check = () => {
            const chat = document.querySelector('[data-testid="chat"]');
            const ok = chat && (chat.getAttribute('aria-label') || '').endsWith(u) && chat.querySelector('[data-testid="message"]');
            if (ok) requestAnimationFrame(() => resolve());
            else requestAnimationFrame(check);
          };
          check();
        });
        return performance.now() - t0;
      })(${JSON.stringify(username)})`);
    const countNodes = async (): Promise<number> => (await page.evaluate(`document.querySelectorAll('[data-testid="message"]').length`)) as number;

    // PARLEY_BENCH_PROFILE=1: CPU-profile one opening of the big chat and print where the page's time went.
    if (process.env.PARLEY_BENCH_PROFILE) {
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
      await open('smallchat');
      await cdp.send('Profiler.start');
      const ms = await open('bigchat');
      const { profile } = (await cdp.send('Profiler.stop')) as unknown as { profile: CpuProfile };
      console.log(`renderer profile: opening bigchat took ${ms.toFixed(0)} ms; self time by function:`);
      console.log(summarizeProfile(profile));
    }
    const paints: number[] = [];
    const basePaints: number[] = [];
    let maxNodes = 0;
    await open('smallchat'); // warm-up (first render of the chat screen, code paths JIT-compiled)
    await open('bigchat');
    for (let r = 0; r < Math.max(3, o.runs); r++) {
      basePaints.push(await open('smallchat'));
      await sleep(200);
      paints.push(await open('bigchat'));
      await sleep(300);
      maxNodes = Math.max(maxNodes, await countNodes());
    }
    // Scroll to the top: jump there and let the UI page in older messages until the first one shows.
    await page.evaluate('window.__longtasks = []');
    const cdp = process.env.PARLEY_BENCH_PROFILE ? await page.context().newCDPSession(page) : null;
    if (cdp) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 500 });
      await cdp.send('Profiler.start');
    }
    const budgetMs = o.quick ? 30_000 : 120_000;
    const t0 = now();
    let reachedTop = false;
    let samples = 0;
    while (now() - t0 < budgetMs) {
      const st = (await page.evaluate(`(() => {
        const box = document.querySelector('[data-testid="messages"]');
        box.scrollTop = 0;
        // The conversation's first message (its body starts "message 0: ") is rendered: history fully paged in.
        const nodes = document.querySelectorAll('[data-testid="message"]');
        const top = Array.from(nodes).some((m) => (m.textContent || '').includes('message 0: '));
        return { top, nodes: nodes.length };
      })()`)) as { top: boolean; nodes: number };
      maxNodes = Math.max(maxNodes, st.nodes);
      samples++;
      if (st.top) {
        reachedTop = true;
        break;
      }
      await sleep(100);
    }
    const scrollMs = now() - t0;
    if (cdp) {
      const { profile } = (await cdp.send('Profiler.stop')) as unknown as { profile: CpuProfile };
      console.log('renderer profile: scrolling to the top; self time by function:');
      console.log(summarizeProfile(profile));
    }
    const longtasks = (await page.evaluate('window.__longtasks')) as number[];
    const longest = longtasks.length ? Math.max(...longtasks) : 0;
    const paint = median(paints);
    const basePaint = median(basePaints);
    return {
      id,
      title,
      rows: rows(maxNodes, paint, basePaint, longest),
      notes: [
        `scroll to top: ${reachedTop ? `reached the first message in ${(scrollMs / 1000).toFixed(1)} s` : `NOT reached within ${(budgetMs / 1000).toFixed(0)} s`} (${samples} samples); ${longtasks.length} long task(s) > 50 ms${longtasks.length ? `: ${longtasks.slice(0, 8).map((x) => x.toFixed(0)).join(', ')} ms` : ''}`,
        `first paint = click → first animation frame with bubbles (bridge round trip + store query + React render); ratio vs a 50-message chat`,
      ],
      details: { paints, basePaints, longtasks, reachedTop, scrollMs, maxNodes, messages: n },
    };
  } finally {
    await browser?.close().catch(() => undefined);
    await bridge?.close().catch(() => undefined);
    await service?.close().catch(() => undefined);
    await relay.stop();
    rmSync(root, { recursive: true, force: true });
  }
};
