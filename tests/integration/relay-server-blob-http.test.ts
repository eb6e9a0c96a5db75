/**
 * The relay's HTTP blob handler (relay/server/blobs/http.ts) at the level of the wire: each refusal's status and exact
 * message, the answers' headers, the PUT's Content-Length rules at their boundaries, the bearer header's exact form,
 * and a GET of a blob whose file vanished (a typed answer, logged, counted; the relay keeps serving).
 * relay-blob-http.test.ts covers who gets a token and what a token allows.
 *
 * A real relay in this process (so mutation testing reaches it) on 127.0.0.1, real clients over socket.io for the
 * tokens, and raw HTTP requests over node:http, so every header is the test's own.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { MAX_BLOB_HTTP_PUT_BYTES, type Ack } from '../../relay/protocol/index.js';
import { startRelay, type RunningRelay } from '../../relay/server/index.js';
import { jsonLogger, login, makeParties, registerParties, removeDir, tempDir, type Party, type RelayClient } from '../helpers/relay.js';

let alice: Party; // uploader
let bob: Party; // recipient
let relay: RunningRelay;
let a: RelayClient;
let b: RelayClient;
let log: Record<string, unknown>[];
const root = tempDir('parley-blob-http-wire-');

// Made once, in a beforeEach: Stryker's vitest runner counts tests skipped by a failing beforeAll as passing.
let fixture: Promise<void> | null = null;
beforeEach(() =>
  (fixture ??= (async () => {
    [alice, bob] = (await makeParties('alice', 'bob')) as [Party, Party];
    const { lines, logger } = jsonLogger('debug');
    log = lines;
    relay = await startRelay({ host: '127.0.0.1', port: 0, dataDir: path.join(root, 'relay'), logger });
    await registerParties(relay.url, [alice, bob]);
    [a, b] = (await Promise.all([alice, bob].map((p) => login(relay.url, relay.fingerprint, p)))) as [RelayClient, RelayClient];
  })()));

afterAll(async () => {
  for (const c of [a, b]) c?.close();
  await relay?.close();
  removeDir(root);
});

function ok<T extends object>(r: Ack<T>): { ok: true } & T {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r;
}

const sha = (x: Uint8Array) => createHash('sha256').update(x).digest('base64url');
const token = async (c: RelayClient, blob: string, op: 'put' | 'get') => ok(await c.call<{ token: string }>('blob-token', { blob, op })).token;
const begin = async (size: number) => ok(await a.call<{ blob: string }>('blob-begin', { size })).blob;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  json: { ok: boolean; error?: { code: string; message: string }; accepted?: boolean; offset?: number } | null;
  bytes: Buffer;
}

/**
 * One raw HTTP request: the method, path and headers exactly as given; `body` written as is. On its own connection,
 * or on `agent`'s (see keptAlive).
 */
function request(method: string, urlPath: string, headers: Record<string, string>, body?: Buffer | Buffer[], agent: http.Agent | false = false): Promise<Answer> {
  const { port } = new URL(relay.url);
  return new Promise<Answer>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, headers, agent }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const bytes = Buffer.concat(parts);
        const json = res.headers['content-type'] === 'application/json' ? (JSON.parse(bytes.toString('utf8')) as Answer['json']) : null;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json, bytes });
      });
    });
    req.on('error', reject);
    for (const part of Array.isArray(body) ? body : body ? [body] : []) req.write(part);
    req.end();
  });
}

/**
 * A connection the client keeps open (so a `Connection: close` in an answer is the relay's choice, and the relay
 * finishes its side of a transfer before the client hangs up), closed after the test.
 */
function keptAlive(): http.Agent {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  onTestFinished(() => agent.destroy());
  return agent;
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

/** A refusal: its status, its JSON error, and the headers every refusal carries. */
function expectRefusal(r: Answer, status: number, code: string, message: string): void {
  expect({ status: r.status, error: r.json?.error }).toEqual({ status, error: { code, message } });
  expect(r.headers).toMatchObject({ 'content-type': 'application/json', 'cache-control': 'no-store', connection: 'close' });
}

/** A complete blob of `bytes` from Alice to Bob, uploaded in one PUT. */
async function complete(bytes: Buffer): Promise<string> {
  const blob = await begin(bytes.length);
  const r = await request('PUT', `/blobs/${blob}?offset=0`, { ...bearer(await token(a, blob, 'put')), 'content-length': String(bytes.length) }, bytes);
  expect(r.json).toEqual({ ok: true, accepted: true, offset: bytes.length });
  ok(await a.call('blob-complete', { blob, sha256: sha(bytes), recipients: [bob.fingerprint] }));
  return blob;
}

describe('refusals, each with its status and message', () => {
  it('the method, the blob id, the query, the token and what the token is for', async () => {
    const blob = await complete(randomBytes(1000));
    const get = async () => bearer(await token(b, blob, 'get'));
    expectRefusal(await request('DELETE', `/blobs/${blob}?offset=0`, await get()), 400, 'BAD_REQUEST', 'blob transfers are PUT or GET');
    expectRefusal(await request('GET', '/blobs/not-a-blob?offset=0', await get()), 404, 'NOT_FOUND', 'no such blob');
    const query = 'expected exactly one query parameter, offset=<decimal integer>';
    for (const q of ['', '?offset=', '?offset=01', '?offset=-1', '?limit=1&offset=0', `?offset=${'9'.repeat(16)}`]) {
      expectRefusal(await request('GET', `/blobs/${blob}${q}`, await get()), 400, 'BAD_REQUEST', query);
    }
    const needsToken = 'a blob transfer needs a token from blob-token';
    expectRefusal(await request('GET', `/blobs/${blob}?offset=0`, {}), 401, 'UNAUTHENTICATED', needsToken);
    // the header is exactly "Bearer <token>": a real token with anything before or after it is no token
    const real = await token(b, blob, 'get');
    expectRefusal(await request('GET', `/blobs/${blob}?offset=0`, { authorization: `xBearer ${real}` }), 401, 'UNAUTHENTICATED', needsToken);
    expectRefusal(await request('GET', `/blobs/${blob}?offset=0`, { authorization: `Bearer ${real} x` }), 401, 'UNAUTHENTICATED', needsToken);
    expectRefusal(await request('GET', `/blobs/${blob}?offset=0`, bearer('A'.repeat(43))), 401, 'UNAUTHENTICATED', 'unknown, used or expired blob token');
    const other = await complete(randomBytes(10));
    expectRefusal(await request('GET', `/blobs/${other}?offset=0`, await get()), 403, 'FORBIDDEN', 'this token is for another blob or operation');
    // the real token was never spent by the malformed headers: it still works
    expect((await request('GET', `/blobs/${blob}?offset=0`, bearer(real))).status).toBe(200);
    expect(relay.metrics().rejects).toMatchObject({ BAD_REQUEST: 7, NOT_FOUND: 1, UNAUTHENTICATED: 4, FORBIDDEN: 1 });
  });
});

describe('a PUT', () => {
  it('needs a plain decimal Content-Length: chunked bodies and a length written with a leading zero are refused', async () => {
    const blob = await begin(100);
    const rule = 'a blob PUT needs a Content-Length (no chunked encoding)';
    const chunked = await request('PUT', `/blobs/${blob}?offset=0`, { ...bearer(await token(a, blob, 'put')), 'transfer-encoding': 'chunked' }, [randomBytes(50), randomBytes(50)]);
    expectRefusal(chunked, 400, 'BAD_REQUEST', rule);
    const zeroLed = await request('PUT', `/blobs/${blob}?offset=0`, { ...bearer(await token(a, blob, 'put')), 'content-length': '050' }, randomBytes(50));
    expectRefusal(zeroLed, 400, 'BAD_REQUEST', rule);
    const bytes = randomBytes(100); // nothing was stored by either: the upload starts at 0
    const r = await request('PUT', `/blobs/${blob}?offset=0`, { ...bearer(await token(a, blob, 'put')), 'content-length': '100' }, bytes);
    expect(r.json).toEqual({ ok: true, accepted: true, offset: 100 });
  });

  it(`carries 1 to ${MAX_BLOB_HTTP_PUT_BYTES} bytes: exactly the maximum and a single byte are taken, one byte more and an empty body are refused`, async () => {
    const blob = await begin(MAX_BLOB_HTTP_PUT_BYTES + 1);
    const range = `a blob PUT carries 1…${MAX_BLOB_HTTP_PUT_BYTES} bytes`;
    const put = async (length: number, body?: Buffer, offset = 0) =>
      request('PUT', `/blobs/${blob}?offset=${offset}`, { ...bearer(await token(a, blob, 'put')), 'content-length': String(length) }, body);
    expectRefusal(await put(0), 413, 'TOO_LARGE', range);
    // refused on its headers: the relay answers and closes without reading the body (none is sent here)
    expectRefusal(await put(MAX_BLOB_HTTP_PUT_BYTES + 1), 413, 'TOO_LARGE', range);
    const most = randomBytes(MAX_BLOB_HTTP_PUT_BYTES);
    expect((await put(most.length, most)).json).toEqual({ ok: true, accepted: true, offset: MAX_BLOB_HTTP_PUT_BYTES });
    expect((await put(1, randomBytes(1), MAX_BLOB_HTTP_PUT_BYTES)).json).toEqual({ ok: true, accepted: true, offset: MAX_BLOB_HTTP_PUT_BYTES + 1 });
  });

  it('is answered as JSON that no cache keeps; a PUT at the wrong offset is answered and its connection closed', async () => {
    const bytes = randomBytes(200);
    const blob = await begin(bytes.length);
    const agent = keptAlive();
    const at = async (offset: number, part: Buffer) =>
      request('PUT', `/blobs/${blob}?offset=${offset}`, { ...bearer(await token(a, blob, 'put')), 'content-length': String(part.length) }, part, agent);
    const taken = await at(0, bytes.subarray(0, 100));
    expect(taken).toMatchObject({ status: 200, json: { ok: true, accepted: true, offset: 100 } });
    expect(taken.headers).toMatchObject({ 'content-type': 'application/json', 'cache-control': 'no-store' });
    expect(taken.headers.connection).not.toBe('close');
    const gap = await at(150, bytes.subarray(150));
    expect(gap).toMatchObject({ status: 200, json: { ok: true, accepted: false, offset: 100 } });
    expect(gap.headers).toMatchObject({ 'content-type': 'application/json', 'cache-control': 'no-store', connection: 'close' });
  });
});

describe('a GET', () => {
  it('streams from the offset to the end as octet-stream with its length, no cache, and logs what it read', async () => {
    const bytes = randomBytes(5000);
    const blob = await complete(bytes);
    const r = await request('GET', `/blobs/${blob}?offset=1234`, bearer(await token(b, blob, 'get')), undefined, keptAlive());
    expect(r.status).toBe(200);
    expect(r.headers).toMatchObject({ 'content-type': 'application/octet-stream', 'content-length': '3766', 'cache-control': 'no-store' });
    expect(r.bytes.equals(bytes.subarray(1234))).toBe(true);
    await expect.poll(() => log.find((l) => l.msg === 'blob read over HTTP' && l.blob === blob)).toMatchObject({
      level: 20,
      fp: bob.fingerprint,
      offset: 1234,
      bytes: 3766,
    });
  });

  it('of a blob whose file vanished is answered INTERNAL, logged and counted; the relay keeps serving', async () => {
    const blob = await complete(randomBytes(3000));
    const spare = randomBytes(100);
    const other = await complete(spare);
    rmSync(path.join(root, 'relay', 'blobs', `${blob}.data`));
    const rejects = relay.metrics().rejects.INTERNAL ?? 0;
    const r = await request('GET', `/blobs/${blob}?offset=0`, bearer(await token(b, blob, 'get')));
    expectRefusal(r, 500, 'INTERNAL', 'the relay could not move the blob');
    expect(relay.metrics().rejects.INTERNAL).toBe(rejects + 1);
    const line = log.find((l) => l.msg === 'blob transfer over HTTP failed');
    expect(line).toMatchObject({ level: 50, err: expect.stringContaining('ENOENT') });
    expect(JSON.stringify(log)).not.toMatch(/Bearer/);
    const again = await request('GET', `/blobs/${other}?offset=0`, bearer(await token(b, other, 'get')));
    expect(again.bytes.equals(spare)).toBe(true);
  });
});
