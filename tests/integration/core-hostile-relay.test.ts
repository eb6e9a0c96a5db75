/**
 * Story: the client talks to a hostile (or broken) relay, a real socket.io server on 127.0.0.1 that answers with
 * garbage. Every server payload is validated: a bad challenge or a malformed acknowledgement becomes a clear
 * offline reason or a typed BAD_RESPONSE error, malformed pushes are ignored, and nothing crashes.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Server, type Socket } from 'socket.io';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { RelayClient } from '../../electron/core/transport/relay-client.js';
import { TransportError } from '../../electron/core/transport/errors.js';
import { toB64u } from '../../relay/protocol/index.js';
import { cleanupAll } from '../helpers/core.js';
import { fixtureKeys } from '../helpers/identities.js';

type Handler = (s: Socket) => void;
const servers: Array<{ close: () => Promise<void> }> = [];
const clients: RelayClient[] = [];

async function hostileRelay(onConnection: Handler): Promise<string> {
  const httpServer = http.createServer();
  const io = new Server(httpServer);
  io.on('connection', onConnection);
  await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
  servers.push({ close: () => new Promise((r) => io.close(() => r())) });
  return `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
}

const goodChallenge = () => ({ v: 1, relay: 'ab'.repeat(32), nonce: toB64u(new Uint8Array(randomBytes(32))) });

async function client(url: string): Promise<RelayClient> {
  const c = new RelayClient({ url, identity: await fixtureKeys(0), reconnect: { enabled: false }, requestTimeoutMs: 2000 });
  clients.push(c);
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
});
afterAll(cleanupAll);

describe('a hostile relay', () => {
  test('a malformed challenge leaves the client offline with the reason', async () => {
    const url = await hostileRelay((s) => s.emit('challenge', { v: 1, relay: 'not-a-fingerprint', nonce: '!!' }));
    const c = await client(url);
    c.connect();
    await expect(c.waitOnline(1500)).rejects.toThrow(/invalid challenge/);
    expect(c.state).toMatchObject({ status: 'offline', reason: 'The relay sent an invalid challenge' });
  });

  test('a malformed auth acknowledgement is a BAD_RESPONSE, not a crash', async () => {
    const url = await hostileRelay((s) => {
      s.on('register', (_p: unknown, ack: (r: unknown) => void) => ack({ ok: true, fingerprint: 'zz', rotated: 'yes' }));
      s.on('auth', (_p: unknown, ack: (r: unknown) => void) => ack({ ok: true }));
      s.emit('challenge', goodChallenge());
    });
    const c = await client(url);
    c.connect();
    await expect(c.waitOnline(1500)).rejects.toThrow(/invalid payload/);
    expect(c.online).toBe(false);
  });

  test('garbage pushes are ignored and garbage answers are typed errors', async () => {
    let sock: Socket | null = null;
    const url = await hostileRelay((s) => {
      sock = s;
      s.on('auth', (p: { fingerprint: string }, ack: (r: unknown) => void) => ack({ ok: true, fingerprint: p.fingerprint, username: null, queued: 0 }));
      s.on('fetch', (_p: unknown, ack: (r: unknown) => void) => ack({ ok: true, envelopes: 'lots', more: false }));
      s.on('lookup', (_p: unknown, ack: (r: unknown) => void) => ack({ ok: false, error: { code: 'NOT_A_CODE', message: 'x' } }));
      s.on('send', () => undefined); // never answers
      s.emit('challenge', goodChallenge());
    });
    const c = await client(url);
    const delivered: unknown[] = [];
    c.on('deliver', (d) => delivered.push(d));
    c.connect();
    await c.waitOnline(3000);

    sock!.emit('deliver', { envelopes: 'not an array' });
    sock!.emit('deliver', null);
    await new Promise((r) => setTimeout(r, 200));
    expect(delivered).toEqual([]);

    await expect(c.fetch()).rejects.toMatchObject({ code: 'BAD_RESPONSE' });
    await expect(c.lookup({ username: 'alice' })).rejects.toMatchObject({ code: 'BAD_RESPONSE' });
    const env = { v: 1 } as never;
    await expect(c.send(env)).rejects.toMatchObject({ code: 'TIMEOUT' });

    // A session-replaced push (even a malformed one) stops the client for good, with the plain message.
    sock!.emit('session-replaced', { message: 42 });
    await new Promise((r) => setTimeout(r, 200));
    expect(c.state).toMatchObject({ status: 'offline', reason: 'This identity is now active on another device' });
    await expect(c.fetch()).rejects.toBeInstanceOf(TransportError);
  });
});
