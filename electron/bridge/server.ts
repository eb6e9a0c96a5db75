/**
 * Browser bridge host — DEVELOPMENT AND TESTS ONLY, never packaged (electron-builder.yml excludes electron/bridge).
 *
 * Serves the built renderer (out/renderer) and one WebSocket RPC endpoint (/rpc) on 127.0.0.1, so the same UI that
 * runs in Electron can run in plain Chromium against the real core (Playwright e2e). It is the browser-side
 * counterpart of the preload + ipcMain pair and keeps the same rules:
 *  - exactly the contract's METHODS and EVENTS, arguments validated with the same zod schemas (ipc-validate);
 *  - errors cross as {code, message} only;
 *  - a per-run random token (given to the page in the URL fragment, sent as the first WebSocket message), and an
 *    Origin check (only pages served by this bridge may connect), loopback only;
 *  - no file paths from the page: export/import use the path configured on the host (ParleyService.pickBackupFile).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { EVENTS, METHODS } from '../contract/api.js';
import type { ParleyApi } from '../contract/api.js';
import { contentSecurityPolicy } from '../main/csp.js';
import type { CoreLog } from '../main/desktop-log.js';
import type { ParleyCore } from '../main/host.js';
import { dispatch } from '../main/ipc-validate.js';

export interface BridgeOptions {
  core: ParleyCore;
  /** Built renderer folder (out/renderer). */
  rendererDir: string;
  /** TCP port on 127.0.0.1 (0 = any free port). */
  port?: number;
  /** Per-run token; random when omitted. Pass the previous one to keep an open page working across a restart. */
  token?: string;
  /** Diagnostics (connections, refusals, failed calls by method and code; never a token or an argument). */
  log?: CoreLog;
}

export interface RunningBridge {
  /** Page URL including the token fragment. */
  url: string;
  origin: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

const MAX_FRAME = 256 * 1024;

function tokenEquals(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function startBridge(o: BridgeOptions): Promise<RunningBridge> {
  const token = o.token ?? randomBytes(24).toString('base64url');
  const root = path.resolve(o.rendererDir);
  if (!existsSync(path.join(root, 'index.html'))) {
    throw new Error(`bridge: ${root}/index.html not found; run \`npm run build\` first`);
  }
  let origin = '';
  const csp = (): string => contentSecurityPolicy();

  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    const headers = {
      'Content-Security-Policy': csp(),
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-store',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Opener-Policy': 'same-origin',
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, headers).end();
      return;
    }
    let rel: string;
    try {
      rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      res.writeHead(400, headers).end();
      return;
    }
    if (rel === '/') rel = '/index.html';
    const file = path.resolve(root, `.${rel}`);
    if (!file.startsWith(root + path.sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  };

  const http = createServer(serve);
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME });
  const authed = new Set<WebSocket>();

  http.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/rpc' || req.headers.origin !== origin) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const api: ParleyApi = o.core;
  const log = (msg: string, level: 'info' | 'warn' = 'info'): void => o.log?.(msg, { scope: 'bridge', level });
  const methods: readonly string[] = METHODS;
  wss.on('connection', (ws: WebSocket) => {
    let ok = false;
    const helloTimer = setTimeout(() => ws.close(4401, 'no hello'), 5000);
    ws.on('message', (data) => {
      let msg: { type?: unknown; token?: unknown; id?: unknown; method?: unknown; args?: unknown };
      try {
        msg = JSON.parse(String(data)) as typeof msg;
      } catch {
        ws.close(4400, 'bad frame');
        return;
      }
      if (!ok) {
        if (msg.type === 'hello' && typeof msg.token === 'string' && tokenEquals(msg.token, token)) {
          ok = true;
          clearTimeout(helloTimer);
          authed.add(ws);
          ws.send(JSON.stringify({ type: 'ready' }));
          log('page connected');
        } else {
          log('page refused: bad token', 'warn');
          ws.close(4401, 'bad token');
        }
        return;
      }
      if (msg.type !== 'call' || typeof msg.id !== 'number' || !Number.isSafeInteger(msg.id)) {
        ws.close(4400, 'bad frame');
        return;
      }
      const id = msg.id;
      // No sender frame here: the Origin check and the token stand in for it. Arguments pass the same schemas.
      const method = msg.method;
      void dispatch(api, method, msg.args, null, null).then((r) => {
        if (!r.ok) log(`${typeof method === 'string' && methods.includes(method) ? method : 'unknown method'} failed: ${r.error.code}`, 'warn');
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'result', id, ...r }));
      });
    });
    ws.on('close', () => {
      clearTimeout(helloTimer);
      authed.delete(ws);
    });
    ws.on('error', () => ws.terminate());
  });

  for (const ev of EVENTS) {
    o.core.on(ev, (payload) => {
      const frame = JSON.stringify({ type: 'event', event: ev, payload });
      for (const ws of authed) if (ws.readyState === ws.OPEN) ws.send(frame);
    });
  }

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(o.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;

  return {
    url: `${origin}/#token=${token}`,
    origin,
    port,
    token,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
