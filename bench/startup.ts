/**
 * 10. Start-up (issue 16): from the moment the core is asked to unlock a profile whose encrypted history holds
 * 1 000 000 messages in 2 000 conversations (--quick: 100 000 in 2 000) to the conversation list being ready, against
 * the same with an empty profile in the same run (runs alternate between the two). Target ≤ 1.5 × the empty profile.
 *  - core: ParleyService.unlock() → listConversations() returned (file vault, real relay to connect to);
 *  - bridge: the real UI in Chromium on the bridge: click Unlock → the first animation frame after the list's rows
 *    are in the DOM (includes the bridge round trips, the state refresh and React's render).
 * Both print where the time goes (the service's start-up phases: vault unlock, identity import, database
 * open/keying, migrations check, dedupe pruning, list query) and when the relay came online, which the list must
 * not wait for. Profiles are built once (direct SQL, see lib/big-profile.ts) and copied fresh for every run; the copy
 * leaves the files in the page cache, so this is a warm start (a cold one needs dropping caches, i.e. root).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { median, notMeasured, now, row, tryImport, type Bench, type Row } from './lib/common.js';
import { startServer } from './lib/server.js';
import { BIG_PROFILE_PASSPHRASE, bigProfile, copyProfile, type BigProfileSpec } from './lib/big-profile.js';
import { CHROMIUM, CHROMIUM_ARGS, ensureRendererBuild } from './lib/chromium.js';
import type { ServiceLike } from './lib/apis.js';
import type { ConnectionState } from '../electron/contract/api.js';
import type { BrowserType } from 'playwright-core';

interface StartupPhase {
  phase: string;
  ms: number;
}
type StartupService = ServiceLike & {
  start(): Promise<void>;
  /** Phases of the last unlock (electron/core/startup-timings.ts); absent on a core without them. */
  startupTimings?(): StartupPhase[];
};
interface ServiceModule {
  ParleyService: new (o: { profileDir: string; vault?: 'keychain' | 'file'; relayUrl?: string }) => StartupService;
}
interface BridgeModule {
  startBridge(o: { core: ServiceLike; rendererDir: string }): Promise<{ url: string; close(): Promise<void> }>;
}

interface Sample {
  ms: number;
  phases: StartupPhase[];
  /** ms from the unlock request until the relay connection was online (null: not within the run). */
  onlineMs: number | null;
  conversations: number;
}

/** Opens a fresh copy of `cached` locked, and calls the service until the relay comes online or 20 s passed. */
async function withService<T>(
  mod: ServiceModule,
  cached: string,
  root: string,
  relayUrl: string,
  fn: (s: StartupService, online: () => number | null, t0: { at: number }) => Promise<T>,
): Promise<T> {
  const dir = copyProfile(cached, mkdtempSync(path.join(root, 'run-')));
  const s = new mod.ParleyService({ profileDir: dir, vault: 'file', relayUrl });
  const t0 = { at: 0 };
  let onlineAt: number | null = null;
  s.on('connection-changed', (c: ConnectionState) => {
    if (c.status === 'online' && onlineAt === null) onlineAt = now();
  });
  try {
    await s.start(); // no passphrase given: the profile stays locked
    return await fn(s, () => (onlineAt === null ? null : onlineAt - t0.at), t0);
  } finally {
    await s.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Core only: unlock() → listConversations(). */
async function coreRun(mod: ServiceModule, cached: string, root: string, relayUrl: string): Promise<Sample> {
  return withService(mod, cached, root, relayUrl, async (s, online, t0) => {
    t0.at = now();
    await s.unlock({ passphrase: BIG_PROFILE_PASSPHRASE });
    const list = await s.listConversations({});
    const ms = now() - t0.at;
    await waitFor(() => online() !== null, 20_000);
    return { ms, phases: s.startupTimings?.() ?? [], onlineMs: online(), conversations: list.length };
  });
}

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = now() + ms;
  while (!cond() && now() < end) await new Promise((r) => setTimeout(r, 20));
}

type Browser = Awaited<ReturnType<BrowserType['launch']>>;

/** The UI: click Unlock → first frame after the conversation list (rows or its empty state) is in the DOM. */
async function bridgeRun(
  mod: ServiceModule,
  bridgeMod: BridgeModule,
  browser: Browser,
  rendererDir: string,
  cached: string,
  root: string,
  relayUrl: string,
): Promise<Sample> {
  return withService(mod, cached, root, relayUrl, async (s, online, t0) => {
    const bridge = await bridgeMod.startBridge({ core: s, rendererDir });
    const page = await browser.newPage({ viewport: { width: 1200, height: 760 } });
    try {
      await page.goto(bridge.url);
      await page.waitForSelector('#unlock-pass', { timeout: 60_000 });
      await page.fill('#unlock-pass', BIG_PROFILE_PASSPHRASE);
      // Page code as text: tsx's name-keeping helper (__name) does not exist in the page.
      const pageRun = page.evaluate(`(async () => {
        const button = document.querySelector('form button[type="submit"]');
        const t0 = performance.now();
        button.click();
        await new Promise((resolve) => {
          const check = () => {
            const list = document.querySelector('[data-testid="conversation-list"]');
            if (list && list.getAttribute('aria-busy') === 'false') requestAnimationFrame(() => setTimeout(resolve, 0));
            else requestAnimationFrame(check);
          };
          check();
        });
        return { ms: performance.now() - t0, rows: document.querySelectorAll('[data-testid="conversation"]').length };
      })()`) as Promise<{ ms: number; rows: number }>;
      t0.at = now(); // Node's clock for the relay-online time; the page measures the paint on its own clock
      const r = await pageRun;
      await waitFor(() => online() !== null, 20_000);
      return { ms: r.ms, phases: s.startupTimings?.() ?? [], onlineMs: online(), conversations: r.rows };
    } finally {
      await page.close().catch(() => undefined);
      await bridge.close().catch(() => undefined);
    }
  });
}

function phaseMedians(samples: Sample[]): string {
  const names = [...new Set(samples.flatMap((x) => x.phases.map((p) => p.phase)))];
  if (!names.length) return 'no phase timings (core without startupTimings)';
  return names
    .map((n) => `${n} ${median(samples.map((x) => x.phases.find((p) => p.phase === n)?.ms ?? 0)).toFixed(1)}`)
    .join(', ');
}

export const startupBench: Bench = async (o) => {
  const id = 'startup';
  const spec: BigProfileSpec = o.quick ? { messages: 100_000, conversations: 2_000 } : { messages: 1_000_000, conversations: 2_000 };
  const label = `${spec.messages.toLocaleString('en-US')} messages / ${spec.conversations.toLocaleString('en-US')} conversations`;
  const title = `Start-up: unlock → conversation list, ${label} vs an empty profile`;
  const rows = (core: number | null, coreBase: number | null, ui: number | null, uiBase: number | null): Row[] => [
    row({ metric: 'core: unlock → list ready', unit: 'ms', parley: core, baseline: coreBase, target: 'ratio ≤ 1.5', met: core === null || coreBase === null ? null : core / coreBase <= 1.5, baselineLabel: 'empty profile' }),
    row({ metric: 'UI: unlock → list painted', unit: 'ms', parley: ui, baseline: uiBase, target: 'ratio ≤ 1.5', met: ui === null || uiBase === null ? null : ui / uiBase <= 1.5, baselineLabel: 'empty profile' }),
  ];
  const svc = await tryImport<ServiceModule>('electron/core/service.ts');
  const bridgeMod = await tryImport<BridgeModule>('electron/bridge/server.ts');
  if (!svc.mod || !bridgeMod.mod) return notMeasured(id, title, [svc.error, bridgeMod.error].filter(Boolean).join('; '), rows(null, null, null, null));
  const runs = o.quick ? 1 : Math.max(3, o.runs);
  const root = mkdtempSync(path.join(os.tmpdir(), 'parley-bench-startup-'));
  const relay = await startServer('parley', { dataDir: path.join(root, 'relay') });
  let browser: Browser | null = null;
  try {
    const full = await bigProfile(spec, relay.url, o.log);
    const empty = await bigProfile({ messages: 0, conversations: 0 }, relay.url, o.log);
    const core = { full: [] as Sample[], empty: [] as Sample[] };
    await coreRun(svc.mod, empty, root, relay.url); // warm-up: modules loaded, code compiled, files cached
    await coreRun(svc.mod, full, root, relay.url);
    for (let r = 0; r < runs; r++) {
      // Alternate which goes first, so a drift in the machine's speed hits both alike.
      for (const kind of r % 2 ? (['full', 'empty'] as const) : (['empty', 'full'] as const)) {
        core[kind].push(await coreRun(svc.mod, kind === 'full' ? full : empty, root, relay.url));
      }
    }
    const coreFull = median(core.full.map((x) => x.ms));
    const coreEmpty = median(core.empty.map((x) => x.ms));

    const ui = { full: [] as Sample[], empty: [] as Sample[] };
    let uiNote = '';
    const rendererDir = ensureRendererBuild(o.log);
    const { chromium } = await import('playwright-core');
    if (rendererDir && CHROMIUM) {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
      await bridgeRun(svc.mod, bridgeMod.mod, browser, rendererDir, empty, root, relay.url); // warm-up
      for (let r = 0; r < runs; r++) {
        for (const kind of r % 2 ? (['full', 'empty'] as const) : (['empty', 'full'] as const)) {
          ui[kind].push(await bridgeRun(svc.mod, bridgeMod.mod, browser, rendererDir, kind === 'full' ? full : empty, root, relay.url));
        }
      }
    } else uiNote = rendererDir ? 'UI not measured: Chromium not found' : 'UI not measured: out/renderer could not be built';
    const uiFull = ui.full.length ? median(ui.full.map((x) => x.ms)) : null;
    const uiEmpty = ui.empty.length ? median(ui.empty.map((x) => x.ms)) : null;
    const online = (xs: Sample[]): string => {
      const v = xs.map((x) => x.onlineMs).filter((x): x is number => x !== null);
      return v.length ? `${median(v).toFixed(0)} ms` : 'not within 20 s';
    };
    return {
      id,
      title,
      rows: rows(coreFull, coreEmpty, uiFull, uiEmpty),
      notes: [
        `core phases, medians in ms (${label}): ${phaseMedians(core.full)}`,
        `core phases, medians in ms (empty): ${phaseMedians(core.empty)}`,
        ...(ui.full.length ? [`UI runs: core phases (${label}): ${phaseMedians(ui.full)}; list painted with ${ui.full[0]!.conversations} rows`] : []),
        `relay online after unlock (median): core runs ${online(core.full)} (${label}) / ${online(core.empty)} (empty)${ui.full.length ? `; UI runs ${online(ui.full)} / ${online(ui.empty)}` : ''}; the list does not wait for it`,
        `runs: core ${core.full.map((x) => x.ms.toFixed(0)).join(', ')} vs ${core.empty.map((x) => x.ms.toFixed(0)).join(', ')} ms${ui.full.length ? `; UI ${ui.full.map((x) => x.ms.toFixed(0)).join(', ')} vs ${ui.empty.map((x) => x.ms.toFixed(0)).join(', ')} ms` : ''}`,
        ...(uiNote ? [uiNote] : []),
        'warm start: the profile files are in the page cache (each run works on a fresh copy)',
      ],
      details: { spec, core, ui },
    };
  } finally {
    await browser?.close().catch(() => undefined);
    await relay.stop();
    rmSync(root, { recursive: true, force: true });
  }
};
