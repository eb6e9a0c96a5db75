/** Chromium for the benchmarks that drive the real UI (renderer, startup, catchup-ui): binary, flags, build. */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './common.js';

const BINARY = process.env.PARLEY_CHROMIUM ?? '/usr/bin/chromium';
/** The Chromium binary, or null when it is not installed. */
export const CHROMIUM: string | null = existsSync(BINARY) ? BINARY : null;
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** out/renderer, rebuilt when missing or older than renderer/ sources; null when the build fails. */
export function ensureRendererBuild(log: (m: string) => void): string | null {
  const out = path.join(ROOT, 'out/renderer');
  const index = path.join(out, 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newestMtime(path.join(ROOT, 'renderer'))) return out;
  log('building out/renderer (electron-vite build)');
  const r = spawnSync(path.join(ROOT, 'node_modules/.bin/electron-vite'), ['build'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0 || !existsSync(index)) return null;
  return out;
}
