/**
 * The dev/test bridge is a local door into a real core, so it must only open for the page it served: these checks
 * talk to a real bridge (real core, empty profile) over real sockets.
 */
import path from 'node:path';
import { expect, test } from '@playwright/test';
import WebSocket from 'ws';
import { removeDir, startPerson, tempDir } from './harness.js';
import type { Person } from './harness.js';

let root = '';
let eve: Person | null = null;

test.beforeAll(async () => {
  root = tempDir('bridge');
  eve = await startPerson('eve', root);
});
test.afterAll(async () => {
  await eve?.stop();
  if (root) removeDir(root);
});

function origin(): string {
  return `http://127.0.0.1:${eve!.port}`;
}

/** Opens /rpc with the given Origin, optionally says hello with a token, makes one call; resolves with what happened. */
function rpc(o: { origin: string; token?: string; call?: { method: string; args: unknown } }): Promise<{ opened: boolean; status?: number; closeCode?: number; result?: unknown }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${eve!.port}/rpc`, { headers: { Origin: o.origin } });
    let settled = false;
    const done = (r: { opened: boolean; status?: number; closeCode?: number; result?: unknown }): void => {
      if (settled) return;
      settled = true;
      resolve(r);
      if (ws.readyState === WebSocket.OPEN) ws.terminate();
    };
    ws.on('unexpected-response', (req, res) => {
      done({ opened: false, status: res.statusCode });
      req.destroy();
    });
    ws.on('error', () => done({ opened: false }));
    ws.on('open', () => {
      if (o.token !== undefined) ws.send(JSON.stringify({ type: 'hello', token: o.token }));
    });
    ws.on('close', (code) => done({ opened: true, closeCode: code }));
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as { type: string };
      if (m.type === 'ready') {
        if (o.call) ws.send(JSON.stringify({ type: 'call', id: 1, method: o.call.method, args: o.call.args }));
        else done({ opened: true, result: 'ready' });
      } else if (m.type === 'result') done({ opened: true, result: m });
    });
  });
}

test('only the page it served, with the run token, reaches the core', async ({ request }) => {
  // The right origin and token: a call goes through to the real core.
  const ok = await rpc({ origin: origin(), token: eve!.token, call: { method: 'getState', args: [] } });
  expect(ok.result).toMatchObject({ type: 'result', id: 1, ok: true, value: { phase: 'onboarding' } });

  // Another origin (a web page the user visits) is refused before any WebSocket exists.
  expect(await rpc({ origin: 'http://evil.example', token: eve!.token })).toEqual({ opened: false, status: 403 });
  expect(await rpc({ origin: 'http://localhost:' + eve!.port, token: eve!.token })).toEqual({ opened: false, status: 403 });
  // Our origin but a wrong or missing token: closed with 4401.
  expect(await rpc({ origin: origin(), token: 'x'.repeat(48) })).toEqual({ opened: true, closeCode: 4401 });
  expect(await rpc({ origin: origin(), token: eve!.token.slice(0, -1) })).toEqual({ opened: true, closeCode: 4401 });

  // Only contract methods, with schema-checked arguments; errors are {code, message}.
  const unknown = await rpc({ origin: origin(), token: eve!.token, call: { method: 'constructor', args: [] } });
  expect(unknown.result).toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' } });
  const bad = await rpc({ origin: origin(), token: eve!.token, call: { method: 'exportIdentity', args: [{ passphrase: 'long enough!', path: '/etc/passwd' }] } });
  expect(bad.result).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENTS' } });
  expect(Object.keys((bad.result as { error: object }).error).sort()).toEqual(['code', 'message']);

  // Static files: only out/renderer, with the CSP header; no path traversal; loopback only.
  const page = await request.get(`${origin()}/`);
  expect(page.status()).toBe(200);
  expect(page.headers()['content-security-policy']).toContain("script-src 'self'");
  expect((await request.get(`${origin()}/..%2F..%2Fpackage.json`)).status()).toBe(404);
  expect((await request.get(`${origin()}/%2e%2e/%2e%2e/package.json`)).status()).toBe(404);
  expect((await request.post(`${origin()}/`)).status()).toBe(405);
  expect(path.isAbsolute(root)).toBe(true);
});
