/**
 * The relay refuses browser origins: a real relay process (with `--allow-origin`), raw WebSocket upgrades and raw
 * HTTP long-polling requests with and without an `Origin` header, and Node's socket.io-client (which sends none).
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { io } from 'socket.io-client';
import { RelayClient, removeDir, spawnRelay, type SpawnedRelay } from '../helpers/relay.js';

const ALLOWED = 'https://allowed.example';
const EVIL = 'https://evil.example';
let relay: SpawnedRelay;

beforeAll(async () => {
  relay = await spawnRelay({ extraArgs: ['--allow-origin', ALLOWED, '--allow-origin', 'http://localhost:5173'] });
});

afterAll(async () => {
  await relay?.stop();
  if (relay) removeDir(relay.dataDir);
});

/** Open a raw WebSocket to the engine.io endpoint; resolves with the first frame, or the refusal's HTTP status. */
function rawWebSocket(origin?: string): Promise<{ opened: true; first: string } | { opened: false; status: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${relay.port}/socket.io/?EIO=4&transport=websocket`, origin ? { origin } : {});
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
function poll(query: string, origin?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port: relay.port, path: `/socket.io/?EIO=4&transport=polling${query}`, headers: origin ? { origin } : {} },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
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
    expect((await poll('', ALLOWED)).status).toBe(200);
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
});
