/**
 * The relay refuses browser origins: a real relay (a child process with `--allow-origin`; in this process under
 * mutation testing, see tests/helpers/relay-inprocess.ts), raw WebSocket upgrades and raw HTTP long-polling requests
 * with and without an `Origin` header, and Node's socket.io-client (which sends none).
 */
import http from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { io } from 'socket.io-client';
import { normalizeOrigin } from '../../relay/server/origin.js';
import { waitUntil } from '../helpers/core.js';
import { RelayClient, removeDir, spawnRelay, type SpawnedRelay } from '../helpers/relay.js';

const ALLOWED = 'https://allowed.example';
const EVIL = 'https://evil.example';
let relay: SpawnedRelay;

// A relay per test, started in beforeEach rather than once: under mutation testing a mutant in the relay's start-up
// (its CORS options, say) counts as covered only by the tests that ran while the relay started, so each test must
// start its own; and vitest reports tests skipped by a failing beforeAll as passed to Stryker (docs/mutation.md).
beforeEach(async () => {
  relay = await spawnRelay({ allowOrigins: [ALLOWED, 'http://localhost:5173'] });
});

afterEach(async () => {
  await relay.stop();
  removeDir(relay.dataDir);
});

/** Open a raw WebSocket to the engine.io endpoint; resolves with the first frame, or the refusal's HTTP status. */
function rawWebSocket(origin?: string, port = relay.port): Promise<{ opened: true; first: string } | { opened: false; status: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`, origin ? { origin } : {});
    ws.once('message', (d: Buffer) => {
      resolve({ opened: true, first: d.toString('utf8') });
      ws.close();
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve({ opened: false, status: res.statusCode ?? 0 });
      res.resume();
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

/** One raw HTTP GET on the polling transport. */
function poll(query: string, origin?: string, port = relay.port): Promise<{ status: number; body: string; allowOrigin?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: `/socket.io/?EIO=4&transport=polling${query}`, headers: origin ? { origin } : {} },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        const allow = res.headers['access-control-allow-origin'];
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ...(allow ? { allowOrigin: String(allow) } : {}) }));
      },
    );
    req.once('error', reject);
  });
}

async function metrics(): Promise<{ originsRefused: number }> {
  const r = await fetch(`${relay.url}/metrics`);
  return (await r.json()) as { originsRefused: number };
}

describe('browser origins', () => {
  it('refuses a WebSocket upgrade carrying a foreign Origin; accepts one without, and an allow-listed one', async () => {
    const before = (await metrics()).originsRefused;
    expect(await rawWebSocket(EVIL)).toEqual({ opened: false, status: 400 });
    expect(await rawWebSocket('null')).toEqual({ opened: false, status: 400 }); // sandboxed frames and file:// pages
    expect((await metrics()).originsRefused - before).toBe(2);
    const plain = await rawWebSocket();
    expect(plain.opened && plain.first.startsWith('0{')).toBe(true); // engine.io open packet
    const allowed = await rawWebSocket(ALLOWED);
    expect(allowed.opened && allowed.first.startsWith('0{')).toBe(true);
  });

  it('refuses long-polling with a foreign Origin, at the handshake and within an open session', async () => {
    const refused = await poll('', EVIL);
    expect(refused.status).toBe(403);
    expect(refused.body).toContain('origin not allowed');
    const ok = await poll('');
    expect(ok.status).toBe(200);
    expect(ok.body.startsWith('0{')).toBe(true);
    const fromPage = await poll('', ALLOWED);
    expect(fromPage.status).toBe(200);
    expect(fromPage.allowOrigin).toBe(ALLOWED); // an allow-listed page may read the polling answer (CORS)
    expect(ok.allowOrigin).toBeUndefined();
    // A session opened without Origin cannot be continued from a page.
    const sid = (JSON.parse(ok.body.slice(1)) as { sid: string }).sid;
    expect((await poll(`&sid=${encodeURIComponent(sid)}`, EVIL)).status).toBe(400);
  });

  it("Node's socket.io-client sends no Origin: it connects over polling and over WebSocket and gets a challenge", async () => {
    for (const transports of [['polling'], ['websocket'], ['polling', 'websocket']]) {
      const s = io(relay.url, { transports, forceNew: true, reconnection: false, timeout: 10_000 });
      try {
        const challenge = await new Promise<{ relay: string }>((resolve, reject) => {
          s.once('challenge', resolve);
          s.once('connect_error', reject);
        });
        expect(challenge.relay).toBe(relay.fingerprint);
      } finally {
        s.close();
      }
    }
    const c = await RelayClient.connect(relay.url); // the tests' client, as the app's: websocket only
    expect(c.challenges).toHaveLength(1);
    c.close();
  });

  it('matches an allow-listed origin whatever its case; a session opened from it may go on from it', async () => {
    const upper = await rawWebSocket('HTTPS://ALLOWED.EXAMPLE');
    expect(upper.opened && upper.first.startsWith('0{')).toBe(true);
    expect(await rawWebSocket('https://allowed.example:8443')).toEqual({ opened: false, status: 400 }); // another port
    const open = await poll('', ALLOWED);
    const sid = (JSON.parse(open.body.slice(1)) as { sid: string }).sid;
    const before = (await metrics()).originsRefused;
    expect((await poll(`&sid=${encodeURIComponent(sid)}`, EVIL)).status).toBe(400);
    expect((await metrics()).originsRefused - before).toBe(1);
    // The allowed page's next request in that session passes the guard: a POST of engine.io's close packet.
    const closed = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: relay.port, method: 'POST', path: `/socket.io/?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`, headers: { origin: ALLOWED, 'content-type': 'text/plain' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.once('error', reject);
      req.end('1');
    });
    expect(closed).toBe(200);
    expect((await metrics()).originsRefused - before).toBe(1);
  });

  it("logs each refusal at warn with the origin (cut at 200 characters) and the peer's address", async () => {
    const long = `https://${'a'.repeat(300)}.example`;
    expect(await rawWebSocket(long)).toEqual({ opened: false, status: 400 });
    const line = await waitUntil(() =>
      relay.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'request with a browser origin refused' && String(l.origin).startsWith('https://aaa')),
      10_000,
      'the refusal logged',
    );
    expect(line).toMatchObject({ level: 40, origin: long.slice(0, 200), addr: expect.stringMatching(/127\.0\.0\.1$/) });
  });

  it('a relay without an allow-list refuses every origin, an allow-listed one elsewhere included', async () => {
    const plain = await spawnRelay();
    try {
      expect(await rawWebSocket(ALLOWED, plain.port)).toEqual({ opened: false, status: 400 });
      const ok = await rawWebSocket(undefined, plain.port);
      expect(ok.opened).toBe(true);
      // nor may any page read a polling answer: no CORS header, whatever the Origin
      const fromPage = await poll('', ALLOWED, plain.port);
      expect(fromPage).toMatchObject({ status: 403 });
      expect(fromPage.allowOrigin).toBeUndefined();
      const noOrigin = await poll('', undefined, plain.port);
      expect(noOrigin.status).toBe(200);
      expect(noOrigin.allowOrigin).toBeUndefined();
    } finally {
      await plain.stop();
      removeDir(plain.dataDir);
    }
  });
});

describe('normalizeOrigin (the allow-list entries)', () => {
  it('keeps scheme://host[:port] in lower case, without a trailing slash', () => {
    expect(normalizeOrigin('https://Allowed.Example')).toBe('https://allowed.example');
    expect(normalizeOrigin('https://allowed.example/')).toBe('https://allowed.example');
    expect(normalizeOrigin('http://localhost:5173')).toBe('http://localhost:5173');
    expect(normalizeOrigin('http://[::1]:8080')).toBe('http://[::1]:8080');
  });

  it('refuses what is not an origin, with a TypeError naming the entry', () => {
    expect(() => normalizeOrigin('allowed.example')).toThrow(new TypeError('bad origin "allowed.example": expected scheme://host[:port]'));
    for (const bad of ['https://allowed.example/app', 'https://allowed.example?x=1', 'https://allowed.example#top', 'https://user@allowed.example', 'https://allowed.example:443', 'file:///tmp/page.html', 'null']) {
      expect(() => normalizeOrigin(bad), bad).toThrow(TypeError);
      expect(() => normalizeOrigin(bad), bad).toThrow(`bad origin ${JSON.stringify(bad)}`);
    }
    expect(() => normalizeOrigin('https://allowed.example/app')).toThrow('expected scheme://host[:port] with nothing after it');
  });
});
