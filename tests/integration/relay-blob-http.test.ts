/**
 * Blob transfers over HTTP with single-use tokens (PROTOCOL.md "Blob transfers over HTTP"), against a real relay over
 * real sockets: a token is issued only to whoever may move the blob (the uploader for a PUT, the uploader and the
 * recipients for a GET), names one blob and one operation, works once, and expires; every malformed request gets a
 * typed error. The relay runs in this process (startRelay) so the expiry test can move its clock.
 */
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { BLOB_TOKEN_TTL_MS, MAX_BLOB_HTTP_PUT_BYTES, type Ack } from '../../relay/protocol/index.js';
import { startRelay, type RunningRelay } from '../../relay/server/index.js';
import { blobHttp } from '../../electron/core/transport/blob-http.js';
import { login, makeParties, registerParties, removeDir, spawnRelay, tempDir, type Party, type RelayClient } from '../helpers/relay.js';

let alice: Party; // uploader
let bob: Party; // recipient
let dave: Party; // registered, never a recipient
let relay: RunningRelay;
let a: RelayClient;
let b: RelayClient;
let d: RelayClient;
let clockOffset = 0;
const root = tempDir('parley-blob-http-');

const sha = (x: Uint8Array) => createHash('sha256').update(x).digest('base64url');

function ok<T extends object>(r: Ack<T>): { ok: true } & T {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r;
}

async function token(c: RelayClient, blob: string, op: 'put' | 'get'): Promise<string> {
  return ok(await c.call<{ token: string; expiresAt: number }>('blob-token', { blob, op })).token;
}

/** One raw HTTP request to the relay; the JSON answer (or the bytes of a GET) and the status. */
async function http(method: 'PUT' | 'GET' | 'POST', url: string, o: { token?: string; body?: Buffer; headers?: Record<string, string> } = {}) {
  const res = await fetch(`${relay.url}${url}`, {
    method,
    headers: { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...o.headers },
    ...(o.body ? { body: new Uint8Array(o.body) } : {}),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  const json = res.headers.get('content-type')?.startsWith('application/json') ? (JSON.parse(bytes.toString('utf8')) as Record<string, unknown>) : null;
  return { status: res.status, json, bytes };
}

/** A complete blob from alice to bob, uploaded over HTTP in two PUTs. */
async function completeOverHttp(bytes: Buffer): Promise<string> {
  const { blob } = ok(await a.call<{ blob: string }>('blob-begin', { size: bytes.length }));
  const half = Math.floor(bytes.length / 2);
  for (const [from, to] of [[0, half], [half, bytes.length]] as const) {
    const r = await http('PUT', `/blobs/${blob}?offset=${from}`, { token: await token(a, blob, 'put'), body: bytes.subarray(from, to) });
    expect(r).toMatchObject({ status: 200, json: { ok: true, accepted: true, offset: to } });
  }
  ok(await a.call('blob-complete', { blob, sha256: sha(bytes), recipients: [bob.fingerprint] }));
  return blob;
}

// Made once, before the first test, in a beforeEach: under mutation testing a fixture that a mutant breaks must fail
// every test, and Stryker's vitest runner counts tests skipped by a failing beforeAll as passing.
let fixture: Promise<void> | null = null;
beforeEach(() =>
  (fixture ??= (async () => {
    [alice, bob, dave] = (await makeParties('alice', 'bob', 'dave')) as [Party, Party, Party];
    relay = await startRelay({ dataDir: path.join(root, 'relay'), logger: false, blobClock: () => Date.now() + clockOffset });
    await registerParties(relay.url, [alice, bob, dave]);
    [a, b, d] = (await Promise.all([alice, bob, dave].map((p) => login(relay.url, relay.fingerprint, p)))) as [RelayClient, RelayClient, RelayClient];
  })()));

afterAll(async () => {
  for (const c of [a, b, d]) c?.close();
  await relay?.close();
  removeDir(root);
});

describe('blob transfers over HTTP', () => {
  it('uploads in PUTs and downloads with GET from any offset; the bytes are the blob', async () => {
    const bytes = randomBytes(300_000);
    const blob = await completeOverHttp(bytes);
    const all = await http('GET', `/blobs/${blob}?offset=0`, { token: await token(b, blob, 'get') });
    expect(all.status).toBe(200);
    expect(all.bytes.equals(bytes)).toBe(true);
    const tail = await http('GET', `/blobs/${blob}?offset=123456`, { token: await token(a, blob, 'get') });
    expect(tail.bytes.equals(bytes.subarray(123_456))).toBe(true);
  });

  it('a non-recipient gets no token, and an upload in progress gives no GET token to anyone', async () => {
    const blob = await completeOverHttp(randomBytes(1000));
    expect(await d.call('blob-token', { blob, op: 'get' })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await d.call('blob-token', { blob, op: 'put' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await b.call('blob-token', { blob, op: 'put' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await a.call('blob-token', { blob, op: 'put' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } }); // complete: no more bytes
    const { blob: open } = ok(await a.call<{ blob: string }>('blob-begin', { size: 10 }));
    expect(await a.call('blob-token', { blob: open, op: 'get' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await b.call('blob-token', { blob: open, op: 'get' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await a.call('blob-token', { blob: open, op: 'delete' })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
  });

  it('a token names one blob and one operation: used on another blob or for the other operation it is refused (and spent)', async () => {
    const first = await completeOverHttp(randomBytes(1000));
    const second = await completeOverHttp(randomBytes(1000));
    const t = await token(b, first, 'get');
    expect(await http('GET', `/blobs/${second}?offset=0`, { token: t })).toMatchObject({ status: 403, json: { ok: false, error: { code: 'FORBIDDEN' } } });
    expect(await http('GET', `/blobs/${first}?offset=0`, { token: t })).toMatchObject({ status: 401, json: { error: { code: 'UNAUTHENTICATED' } } });
    const { blob: open } = ok(await a.call<{ blob: string }>('blob-begin', { size: 10 }));
    const put = await token(a, open, 'put');
    expect(await http('GET', `/blobs/${open}?offset=0`, { token: put })).toMatchObject({ status: 403 });
  });

  it('a token works once', async () => {
    const bytes = randomBytes(5000);
    const blob = await completeOverHttp(bytes);
    const t = await token(b, blob, 'get');
    expect((await http('GET', `/blobs/${blob}?offset=0`, { token: t })).bytes.equals(bytes)).toBe(true);
    expect(await http('GET', `/blobs/${blob}?offset=0`, { token: t })).toMatchObject({ status: 401, json: { error: { code: 'UNAUTHENTICATED' } } });
  });

  it(`a token expires ${BLOB_TOKEN_TTL_MS / 1000} s after it was issued`, async () => {
    const blob = await completeOverHttp(randomBytes(1000));
    const late = await token(b, blob, 'get');
    const inTime = await token(b, blob, 'get');
    clockOffset = BLOB_TOKEN_TTL_MS - 1_000;
    try {
      expect((await http('GET', `/blobs/${blob}?offset=0`, { token: inTime })).status).toBe(200);
      clockOffset = BLOB_TOKEN_TTL_MS + 1_000;
      expect(await http('GET', `/blobs/${blob}?offset=0`, { token: late })).toMatchObject({ status: 401, json: { error: { code: 'UNAUTHENTICATED' } } });
    } finally {
      clockOffset = 0;
    }
  });

  it('the PUT rules are the socket piece rules: the offset must be what the relay holds, the data must fit', async () => {
    const bytes = randomBytes(4000);
    const { blob } = ok(await a.call<{ blob: string }>('blob-begin', { size: bytes.length }));
    const gap = await http('PUT', `/blobs/${blob}?offset=100`, { token: await token(a, blob, 'put'), body: bytes.subarray(100, 200) });
    expect(gap).toMatchObject({ status: 200, json: { ok: true, accepted: false, offset: 0 } });
    const over = await http('PUT', `/blobs/${blob}?offset=0`, { token: await token(a, blob, 'put'), body: Buffer.concat([bytes, Buffer.alloc(1)]) });
    expect(over).toMatchObject({ status: 413, json: { error: { code: 'TOO_LARGE' } } });
    const r = await http('PUT', `/blobs/${blob}?offset=0`, { token: await token(a, blob, 'put'), body: bytes });
    expect(r.json).toMatchObject({ accepted: true, offset: bytes.length });
    ok(await a.call('blob-complete', { blob, sha256: sha(bytes), recipients: [bob.fingerprint] }));
    expect(MAX_BLOB_HTTP_PUT_BYTES).toBe(16 * 1024 * 1024);
  });

  it('bad requests get typed errors and never reach a blob', async () => {
    const blob = await completeOverHttp(randomBytes(1000));
    const t = () => token(b, blob, 'get');
    expect(await http('GET', `/blobs/${blob}?offset=0`)).toMatchObject({ status: 401, json: { error: { code: 'UNAUTHENTICATED' } } });
    expect(await http('GET', `/blobs/${blob}?offset=0`, { headers: { authorization: 'Bearer not-a-token' } })).toMatchObject({ status: 401 });
    expect(await http('GET', `/blobs/${blob}?offset=0`, { token: 'A'.repeat(43) })).toMatchObject({ status: 401 });
    expect(await http('GET', `/blobs/${blob}?offset=-1`, { token: await t() })).toMatchObject({ status: 400, json: { error: { code: 'BAD_REQUEST' } } });
    expect(await http('GET', `/blobs/${blob}?offset=1e3`, { token: await t() })).toMatchObject({ status: 400 });
    expect(await http('GET', `/blobs/${blob}?offset=0&x=1`, { token: await t() })).toMatchObject({ status: 400 });
    expect(await http('GET', `/blobs/${blob}?offset=1001`, { token: await t() })).toMatchObject({ status: 400 });
    expect(await http('GET', `/blobs/not-a-blob?offset=0`, { token: await t() })).toMatchObject({ status: 404, json: { error: { code: 'NOT_FOUND' } } });
    expect(await http('POST', `/blobs/${blob}?offset=0`, { token: await t(), body: Buffer.from('x') })).toMatchObject({ status: 400 });
    expect((await http('GET', '/healthz')).status).toBe(200); // the relay is fine
  });
});

describe('blob transfers over HTTPS', () => {
  it('the client checks the relay certificate against the fingerprint the socket verified before it sends the token', async () => {
    const dataDir = tempDir('parley-blob-https-');
    const tlsRelay = await spawnRelay({ dataDir, tls: true });
    try {
      const [ta, tb] = await Promise.all([login(tlsRelay.url, tlsRelay.fingerprint, alice, { pin: { value: tlsRelay.fingerprint } }), login(tlsRelay.url, tlsRelay.fingerprint, bob, { pin: { value: tlsRelay.fingerprint } })]);
      const bytes = randomBytes(70_000);
      const { blob } = ok(await ta.call<{ blob: string }>('blob-begin', { size: bytes.length }));
      const right = blobHttp(tlsRelay.url, tlsRelay.fingerprint);
      const wrong = blobHttp(tlsRelay.url, 'f'.repeat(64));
      const one = async function* () {
        yield bytes;
      };
      await expect(wrong.put(blob, await token(ta, blob, 'put'), 0, bytes.length, one())).rejects.toMatchObject({ code: 'RELAY_CHANGED' });
      expect(await right.put(blob, await token(ta, blob, 'put'), 0, bytes.length, one())).toEqual({ offset: bytes.length, accepted: true });
      ok(await ta.call('blob-complete', { blob, sha256: sha(bytes), recipients: [bob.fingerprint] }));
      const { length, body } = await right.get(blob, await token(tb, blob, 'get'), 0);
      const parts: Buffer[] = [];
      for await (const c of body) parts.push(c as Buffer);
      expect(length).toBe(bytes.length);
      expect(Buffer.concat(parts).equals(bytes)).toBe(true);
      await expect(right.get(blob, 'B'.repeat(43), 0)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      ta.close();
      tb.close();
    } finally {
      await tlsRelay.kill9();
      removeDir(dataDir);
    }
  });
});
