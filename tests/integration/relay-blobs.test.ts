/**
 * The relay's blob store over real sockets, with a real relay process and its data folder (PROTOCOL.md "Blobs"):
 * who may download, an unfinished blob is never readable, resume after a disconnect and after kill -9 of the relay
 * mid-upload (never a partial or corrupt blob served as complete), quotas, deletion once every recipient acknowledged.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Ack } from '../../relay/protocol/index.js';
import { login, makeParties, registerParties, removeDir, spawnRelay, tempDir, type Party, type RelayClient, type SpawnedRelay } from '../helpers/relay.js';

let alice: Party; // uploader
let bob: Party; // recipient
let carol: Party; // recipient
let dave: Party; // registered, never a recipient
const relays: SpawnedRelay[] = [];
const dirs: string[] = [];
const PIECE = 256 * 1024;

beforeAll(async () => {
  [alice, bob, carol, dave] = (await makeParties('alice', 'bob', 'carol', 'dave')) as [Party, Party, Party, Party];
});

afterAll(async () => {
  for (const r of relays) await r.kill9();
  for (const d of dirs) removeDir(d);
});

async function relay(o: { dataDir?: string; limits?: Record<string, number>; childProcess?: boolean } = {}): Promise<SpawnedRelay> {
  const dataDir = o.dataDir ?? tempDir('parley-relay-blobs-');
  if (!dirs.includes(dataDir)) dirs.push(dataDir);
  const r = await spawnRelay({ dataDir, limits: o.limits, childProcess: o.childProcess });
  relays.push(r);
  return r;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('base64url');

function ok<T extends object>(r: Ack<T>): { ok: true } & T {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r;
}

async function putAll(c: RelayClient, blob: string, bytes: Buffer, from = 0): Promise<void> {
  for (let off = from; off < bytes.length; off += PIECE) {
    const r = ok(await c.call<{ offset: number; accepted: boolean }>('blob-put', { blob, offset: off, data: bytes.subarray(off, off + PIECE) }));
    expect(r).toMatchObject({ accepted: true, offset: Math.min(bytes.length, off + PIECE) });
  }
}

async function download(c: RelayClient, blob: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let off = 0; ; ) {
    const r = ok(await c.call<{ data: Buffer; size: number; eof: boolean }>('blob-get', { blob, offset: off }));
    parts.push(Buffer.from(r.data));
    off += r.data.byteLength;
    if (r.eof) return Buffer.concat(parts);
  }
}

async function uploadComplete(c: RelayClient, bytes: Buffer, recipients: string[]): Promise<string> {
  const { blob } = ok(await c.call<{ blob: string }>('blob-begin', { size: bytes.length }));
  await putAll(c, blob, bytes);
  ok(await c.call('blob-complete', { blob, sha256: sha(bytes), recipients }));
  return blob;
}

describe('relay blobs', () => {
  let r: SpawnedRelay;
  let a: RelayClient;
  let b: RelayClient;
  let d: RelayClient;

  // Made once in a beforeEach: a fixture a mutant breaks must fail every test (Stryker's vitest runner counts tests
  // skipped by a failing beforeAll as passing).
  let fixture: Promise<void> | null = null;
  beforeEach(() =>
    (fixture ??= (async () => {
      r = await relay();
      await registerParties(r.url, [alice, bob, carol, dave]);
      [a, b, d] = await Promise.all([login(r.url, r.fingerprint, alice), login(r.url, r.fingerprint, bob), login(r.url, r.fingerprint, dave)]);
    })()));

  afterAll(() => {
    for (const c of [a, b, d]) c?.close();
  });

  it('uploads in pieces, completes, and the recipient downloads exactly the bytes; the file on disk is the blob', async () => {
    const bytes = randomBytes(3 * PIECE + 1234);
    const blob = await uploadComplete(a, bytes, [bob.fingerprint]);
    expect((await download(b, blob)).equals(bytes)).toBe(true);
    expect((await download(a, blob)).equals(bytes)).toBe(true); // the uploader may read its own blob
    expect(readFileSync(path.join(r.dataDir, 'blobs', `${blob}.data`)).equals(bytes)).toBe(true);
    expect(ok(await b.call('blob-offset', { blob }))).toMatchObject({ offset: bytes.length, size: bytes.length, complete: true });
  });

  it('a non-recipient cannot download, ask about, acknowledge or abort it', async () => {
    const blob = await uploadComplete(a, randomBytes(1000), [bob.fingerprint]);
    const get = await d.call('blob-get', { blob, offset: 0 });
    expect(get).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await d.call('blob-offset', { blob })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await d.call('blob-ack', { blob })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await d.call('blob-abort', { blob })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await d.call('blob-put', { blob, offset: 0, data: Buffer.from('x') })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect((await download(b, blob)).length).toBe(1000); // still there for bob
  });

  it('its uploader can name the recipients of a complete blob again (a key change): the list is replaced', async () => {
    const bytes = randomBytes(5000);
    const blob = await uploadComplete(a, bytes, [bob.fingerprint]);
    expect(await d.call('blob-get', { blob, offset: 0 })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    // Only the uploader, and only with the blob's own hash.
    expect(await b.call('blob-complete', { blob, sha256: sha(bytes), recipients: [dave.fingerprint] })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await a.call('blob-complete', { blob, sha256: sha(randomBytes(5000)), recipients: [dave.fingerprint] })).toMatchObject({ ok: false });
    ok(await a.call('blob-complete', { blob, sha256: sha(bytes), recipients: [dave.fingerprint] }));
    expect((await download(d, blob)).equals(bytes)).toBe(true);
    expect(await b.call('blob-get', { blob, offset: 0 })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
  });

  it('an unfinished blob cannot be read by anyone, and cannot be completed short or with another hash', async () => {
    const bytes = randomBytes(2 * PIECE);
    const { blob } = ok(await a.call<{ blob: string }>('blob-begin', { size: bytes.length }));
    await putAll(a, blob, bytes.subarray(0, PIECE));
    for (const c of [a, b, d]) expect(await c.call('blob-get', { blob, offset: 0 })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    const short = await a.call('blob-complete', { blob, sha256: sha(bytes), recipients: [bob.fingerprint] });
    expect(short).toMatchObject({ ok: false, error: { code: 'BLOB_MISMATCH' } });
    await putAll(a, blob, bytes, PIECE);
    const lie = await a.call('blob-complete', { blob, sha256: sha(randomBytes(8)), recipients: [bob.fingerprint] });
    expect(lie).toMatchObject({ ok: false, error: { code: 'BLOB_MISMATCH' } });
    expect(await b.call('blob-get', { blob, offset: 0 })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  });

  it('recipients must be registered; pieces beyond the declared size and malformed requests are typed errors', async () => {
    const bytes = randomBytes(100);
    const { blob } = ok(await a.call<{ blob: string }>('blob-begin', { size: 100 }));
    expect(await a.call('blob-put', { blob, offset: 0, data: Buffer.alloc(101) })).toMatchObject({ ok: false, error: { code: 'TOO_LARGE' } });
    await putAll(a, blob, bytes);
    expect(await a.call('blob-complete', { blob, sha256: sha(bytes), recipients: ['ab'.repeat(32)] })).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    });
    for (const bad of [
      { blob, offset: 0, data: 'not binary' },
      { blob, offset: -1, data: Buffer.from('x') },
      { blob: 'short', offset: 0, data: Buffer.from('x') },
      { blob, offset: 0, data: Buffer.alloc(0) },
      { blob, offset: 0, data: Buffer.from('x'), extra: 1 },
    ]) {
      expect(await a.call('blob-put', bad)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    }
    expect(await a.call('blob-get', { blob, offset: 0, length: 512 * 1024 + 1 })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(ok(await a.call('blob-complete', { blob, sha256: sha(bytes), recipients: [bob.fingerprint] }))).toMatchObject({ size: 100 });
  });

  it('a piece sent twice (a lost acknowledgement) is not written twice: the answer names the offset to continue from', async () => {
    const bytes = randomBytes(3 * PIECE);
    const { blob } = ok(await a.call<{ blob: string }>('blob-begin', { size: bytes.length }));
    await putAll(a, blob, bytes.subarray(0, PIECE));
    expect(ok(await a.call('blob-put', { blob, offset: 0, data: bytes.subarray(0, PIECE) }))).toMatchObject({ accepted: false, offset: PIECE });
    expect(ok(await a.call('blob-put', { blob, offset: 2 * PIECE, data: bytes.subarray(2 * PIECE) }))).toMatchObject({ accepted: false, offset: PIECE });
    await putAll(a, blob, bytes, PIECE);
    ok(await a.call('blob-complete', { blob, sha256: sha(bytes), recipients: [bob.fingerprint] }));
    expect((await download(b, blob)).equals(bytes)).toBe(true);
  });

  it('resumes after the uploader disconnects: a new connection asks the offset and continues', async () => {
    const bytes = randomBytes(4 * PIECE + 17);
    const first = await login(r.url, r.fingerprint, alice); // replaces `a`'s session for a moment
    const { blob } = ok(await first.call<{ blob: string }>('blob-begin', { size: bytes.length }));
    await putAll(first, blob, bytes.subarray(0, 2 * PIECE));
    first.close();
    a = await login(r.url, r.fingerprint, alice);
    const { offset } = ok(await a.call<{ offset: number }>('blob-offset', { blob }));
    expect(offset).toBe(2 * PIECE);
    await putAll(a, blob, bytes, offset);
    ok(await a.call('blob-complete', { blob, sha256: sha(bytes), recipients: [bob.fingerprint] }));
    expect((await download(b, blob)).equals(bytes)).toBe(true);
  });

  it('is deleted from disk when every recipient has acknowledged it; acks are idempotent', async () => {
    const c = await login(r.url, r.fingerprint, carol);
    const blob = await uploadComplete(a, randomBytes(5000), [bob.fingerprint, carol.fingerprint]);
    const files = () => readdirSync(path.join(r.dataDir, 'blobs')).filter((f) => f.startsWith(blob));
    expect(files().sort()).toEqual([`${blob}.data`, `${blob}.json`]);
    expect(ok(await b.call('blob-ack', { blob }))).toMatchObject({ deleted: false });
    expect(ok(await b.call('blob-ack', { blob }))).toMatchObject({ deleted: false });
    expect((await download(c, blob)).length).toBe(5000);
    expect(ok(await c.call('blob-ack', { blob }))).toMatchObject({ deleted: true });
    expect(files()).toEqual([]);
    expect(await c.call('blob-get', { blob, offset: 0 })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(ok(await c.call('blob-ack', { blob }))).toMatchObject({ deleted: false });
    c.close();
  });

  it('the uploader can abort an upload; its files are gone', async () => {
    const { blob } = ok(await a.call<{ blob: string }>('blob-begin', { size: 10 }));
    expect(existsSync(path.join(r.dataDir, 'blobs', `${blob}.data`))).toBe(true);
    expect(ok(await a.call('blob-abort', { blob }))).toMatchObject({ deleted: true });
    expect(existsSync(path.join(r.dataDir, 'blobs', `${blob}.data`))).toBe(false);
    expect(existsSync(path.join(r.dataDir, 'blobs', `${blob}.json`))).toBe(false);
  });

  it('blob events need an authenticated connection', async () => {
    const { RelayClient } = await import('../helpers/relay.js');
    const anon = await RelayClient.connect(r.url);
    expect(await anon.call('blob-begin', { size: 1 })).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED' } });
    anon.close();
  });
});

describe('relay blobs: quotas', () => {
  it('per blob, per uploader (bytes and count) and in total; room comes back when a blob goes', async () => {
    const r = await relay({ limits: { maxBlobBytes: 1000, blobQuotaBytes: 2000, blobQuotaCount: 3, blobTotalBytes: 3000 } });
    await registerParties(r.url, [alice, bob, carol]);
    const [a, b] = await Promise.all([login(r.url, r.fingerprint, alice), login(r.url, r.fingerprint, bob)]);
    expect(await a.call('blob-begin', { size: 1001 })).toMatchObject({ ok: false, error: { code: 'TOO_LARGE' } });
    const first = ok(await a.call<{ blob: string }>('blob-begin', { size: 1000 })).blob;
    ok(await a.call('blob-begin', { size: 1000 }));
    const perUploader = await a.call('blob-begin', { size: 1 });
    expect(perUploader).toMatchObject({ ok: false, error: { code: 'QUOTA_EXCEEDED' } });
    expect(ok(await b.call('blob-begin', { size: 999 })));
    expect(await b.call('blob-begin', { size: 2 })).toMatchObject({ ok: false, error: { code: 'QUOTA_EXCEEDED', message: expect.stringMatching(/no room/) } });
    ok(await a.call('blob-abort', { blob: first }));
    ok(await b.call('blob-begin', { size: 1 }));
    ok(await b.call('blob-begin', { size: 0 }));
    expect(await b.call('blob-begin', { size: 0 })).toMatchObject({ ok: false, error: { code: 'QUOTA_EXCEEDED', message: expect.stringMatching(/at most 3 blobs/) } });
    a.close();
    b.close();
  });
});

describe('relay blobs: kill -9', () => {
  it('kill -9 mid-upload with pieces in flight: after a restart the upload resumes from the durable offset and completes intact', async () => {
    const dataDir = tempDir('parley-relay-blobs-kill-');
    const r1 = await relay({ dataDir, childProcess: true });
    await registerParties(r1.url, [alice, bob]);
    const a1 = await login(r1.url, r1.fingerprint, alice);
    const bytes = randomBytes(16 * PIECE + 99);
    const { blob } = ok(await a1.call<{ blob: string }>('blob-begin', { size: bytes.length }));
    await putAll(a1, blob, bytes.subarray(0, 4 * PIECE));
    // Pipeline the rest and kill the relay once the first of them is acknowledged: some land, some do not.
    const inflight: Array<Promise<unknown>> = [];
    let firstAcked!: () => void;
    const acked = new Promise<void>((res) => (firstAcked = res));
    for (let off = 4 * PIECE; off < bytes.length; off += PIECE) {
      inflight.push(a1.call('blob-put', { blob, offset: off, data: bytes.subarray(off, off + PIECE) }).then(firstAcked, () => undefined));
    }
    await acked;
    await r1.kill9();
    await Promise.allSettled(inflight);
    a1.close();

    const r2 = await relay({ dataDir, childProcess: true });
    const [a2, b2] = await Promise.all([login(r2.url, r2.fingerprint, alice), login(r2.url, r2.fingerprint, bob)]);
    expect(await b2.call('blob-get', { blob, offset: 0 })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    const { offset, complete } = ok(await a2.call<{ offset: number; complete: boolean }>('blob-offset', { blob }));
    expect(complete).toBe(false);
    expect(offset).toBeGreaterThanOrEqual(5 * PIECE); // everything acknowledged before the kill is there
    expect(offset).toBeLessThan(bytes.length);
    await putAll(a2, blob, bytes, offset);
    ok(await a2.call('blob-complete', { blob, sha256: sha(bytes), recipients: [bob.fingerprint] }));
    expect((await download(b2, blob)).equals(bytes)).toBe(true);
    a2.close();
    b2.close();
  });

  it('a complete blob whose file was damaged while the relay was down is never served; bytes changed before completion fail it', async () => {
    const dataDir = tempDir('parley-relay-blobs-damage-');
    const r1 = await relay({ dataDir, childProcess: true });
    await registerParties(r1.url, [alice, bob]);
    const a1 = await login(r1.url, r1.fingerprint, alice);
    const bytes = randomBytes(2 * PIECE);
    const done = await uploadComplete(a1, bytes, [bob.fingerprint]);
    const { blob: partial } = ok(await a1.call<{ blob: string }>('blob-begin', { size: bytes.length }));
    await putAll(a1, partial, bytes.subarray(0, PIECE));
    a1.close();
    await r1.kill9();
    truncateSync(path.join(dataDir, 'blobs', `${done}.data`), PIECE); // a lost tail
    const partialFile = path.join(dataDir, 'blobs', `${partial}.data`);
    const garbled = readFileSync(partialFile);
    garbled[7]! ^= 0xff; // a bit rotted on disk
    writeFileSync(partialFile, garbled);

    const r2 = await relay({ dataDir, childProcess: true });
    const [a2, b2] = await Promise.all([login(r2.url, r2.fingerprint, alice), login(r2.url, r2.fingerprint, bob)]);
    expect(await b2.call('blob-get', { blob: done, offset: 0 })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(existsSync(path.join(dataDir, 'blobs', `${done}.json`))).toBe(false);
    await putAll(a2, partial, bytes, PIECE);
    expect(await a2.call('blob-complete', { blob: partial, sha256: sha(bytes), recipients: [bob.fingerprint] })).toMatchObject({
      ok: false,
      error: { code: 'BLOB_MISMATCH' },
    });
    expect(await b2.call('blob-get', { blob: partial, offset: 0 })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    a2.close();
    b2.close();
  });
});
