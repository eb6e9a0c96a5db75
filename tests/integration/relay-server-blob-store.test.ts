/**
 * The relay's blob store (relay/server/blobs/store.ts) through its own interface, on real files in a temporary data
 * folder with an injected clock: every rule's refusal and exact message, quotas at their boundaries and given back,
 * completion (retried, re-shared, after a restart when the running hash is gone), reads at every offset, acks and
 * aborts, and what a start-up finds on disk. The socket and HTTP transfers that drive it through a relay are
 * relay-blobs, relay-blob-http and relay-server-blob-http; TTL and crash recovery with a relay are relay-blob-store.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BlobStore } from '../../relay/server/blobs/store.js';
import { DEFAULT_BLOB_LIMITS, type BlobLimits } from '../../relay/server/blobs/limits.js';
import { cleanupAll, onCleanup, tmpDir } from '../helpers/core.js';

const UPLOADER = 'a'.repeat(64);
const BOB = 'b'.repeat(64);
const CAROL = 'c'.repeat(64);
const STRANGER = 'f'.repeat(64);
const T0 = 1_800_000_000_000;

afterEach(cleanupAll);

const sha = (x: Uint8Array) => createHash('sha256').update(x).digest('base64url');

async function open(limits: Partial<BlobLimits> = {}, dataDir = tmpDir('blob-store')): Promise<{ store: BlobStore; dataDir: string; dir: string }> {
  const store = await BlobStore.open(dataDir, { ...DEFAULT_BLOB_LIMITS, ...limits }, () => T0);
  onCleanup(() => store.close());
  return { store, dataDir, dir: path.join(dataDir, 'blobs') };
}

/** A blob of `bytes` from UPLOADER, complete for `recipients`. */
async function completeBlob(store: BlobStore, bytes: Buffer, recipients = [BOB]): Promise<string> {
  const { blob } = await store.begin(UPLOADER, bytes.length);
  expect(await store.put(UPLOADER, blob, 0, bytes)).toEqual({ offset: bytes.length, accepted: true });
  await store.complete(UPLOADER, blob, sha(bytes), recipients);
  return blob;
}

async function* pieces(...parts: Buffer[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield p;
}

describe('begin: sizes and quotas', () => {
  it('refuses a blob over the largest size, and beyond an uploader’s count, bytes or the relay’s total, with the limit named', async () => {
    const { store } = await open({ maxBlobBytes: 100, blobQuotaCount: 2, blobQuotaBytes: 150, blobTotalBytes: 200 });
    await expect(store.begin(UPLOADER, 101)).rejects.toMatchObject({ code: 'TOO_LARGE', message: 'blob is 101 bytes; limit 100' });
    const { blob, expiresAt } = await store.begin(UPLOADER, 100);
    expect(expiresAt).toBe(T0 + DEFAULT_BLOB_LIMITS.blobTtlMs);
    expect(store.meta(blob)).toMatchObject({ uploader: UPLOADER, size: 100, createdAt: T0, expiresAt, complete: false });
    await expect(store.begin(UPLOADER, 51)).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED', message: 'uploader quota: at most 150 bytes of blobs stored' });
    await store.begin(UPLOADER, 50); // exactly the uploader's bytes
    await expect(store.begin(UPLOADER, 1)).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED', message: 'uploader quota: at most 2 blobs stored' });
    expect(store.usage(UPLOADER)).toEqual({ bytes: 150, count: 2 });
    expect(store.usage(BOB)).toEqual({ bytes: 0, count: 0 });
    // the relay's total: 150 held, 50 more is exactly the total, 51 is not
    await expect(store.begin(BOB, 51)).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED', message: 'the relay has no room for more blobs' });
    await store.begin(BOB, 50);
    expect(store.usage()).toEqual({ bytes: 200, count: 3 });
  });

  it("an uploader's very first blob is held to the uploader's bytes too", async () => {
    const { store } = await open({ maxBlobBytes: 100, blobQuotaBytes: 50 });
    await expect(store.begin(UPLOADER, 51)).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED', message: 'uploader quota: at most 50 bytes of blobs stored' });
    expect(store.usage()).toEqual({ bytes: 0, count: 0 });
  });

  it('gives the room back when a blob goes, per uploader and in total', async () => {
    const { store } = await open({ blobQuotaCount: 2 });
    const first = await completeBlob(store, randomBytes(40));
    const { blob: second } = await store.begin(UPLOADER, 60);
    expect(store.usage(UPLOADER)).toEqual({ bytes: 100, count: 2 });
    expect(await store.abort(UPLOADER, second)).toEqual({ deleted: true });
    expect(store.usage(UPLOADER)).toEqual({ bytes: 40, count: 1 });
    expect(await store.ack(BOB, first)).toEqual({ deleted: true });
    expect(store.usage(UPLOADER)).toEqual({ bytes: 0, count: 0 });
    expect(store.usage()).toEqual({ bytes: 0, count: 0 });
    // the count came back: two more fit
    await store.begin(UPLOADER, 1);
    await store.begin(UPLOADER, 1);
  });
});

describe('pieces', () => {
  it('put: only the uploader, only while in progress, only up to the declared size', async () => {
    const { store } = await open();
    const bytes = randomBytes(100);
    const { blob } = await store.begin(UPLOADER, 100);
    await expect(store.put(STRANGER, blob, 0, bytes)).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'no such upload' });
    await expect(store.put(UPLOADER, blob, 0, Buffer.concat([bytes, Buffer.alloc(1)]))).rejects.toMatchObject({
      code: 'TOO_LARGE',
      message: 'piece ends at 101; the blob was declared 100 bytes',
    });
    expect(await store.put(UPLOADER, blob, 0, bytes.subarray(0, 60))).toEqual({ offset: 60, accepted: true });
    await expect(store.put(UPLOADER, blob, 60, bytes.subarray(40))).rejects.toMatchObject({ message: 'piece ends at 120; the blob was declared 100 bytes' });
    expect(await store.put(UPLOADER, blob, 60, bytes.subarray(60))).toEqual({ offset: 100, accepted: true });
    await store.complete(UPLOADER, blob, sha(bytes), [BOB]);
    const ended = { code: 'NOT_FOUND', message: 'no upload in progress for that blob' };
    await expect(store.put(UPLOADER, blob, 100, Buffer.alloc(0))).rejects.toMatchObject(ended);
    await expect(store.putStream(UPLOADER, blob, 100, 1, pieces(Buffer.alloc(1)))).rejects.toMatchObject(ended);
    expect(() => store.authorize(UPLOADER, blob, 'put')).toThrow(expect.objectContaining(ended));
  });

  it('putStream: the announced length is the rule: more is refused, less is refused after the bytes that came are kept', async () => {
    const { store } = await open();
    const bytes = randomBytes(300_000);
    const { blob } = await store.begin(UPLOADER, bytes.length);
    await expect(store.putStream(UPLOADER, blob, 0, 300_001, pieces(bytes, Buffer.alloc(1)))).rejects.toMatchObject({
      code: 'TOO_LARGE',
      message: 'the data ends at 300001; the blob was declared 300000 bytes',
    });
    const part = bytes.subarray(0, 100_000);
    await expect(store.putStream(UPLOADER, blob, 0, 100_000, pieces(part, Buffer.alloc(1)))).rejects.toMatchObject({
      code: 'TOO_LARGE',
      message: 'more bytes than announced',
    });
    expect(await store.offset(UPLOADER, blob)).toEqual({ offset: 100_000, size: 300_000, complete: false }); // what was announced is kept
    await expect(store.putStream(UPLOADER, blob, 100_000, 150_000, pieces(bytes.subarray(100_000, 200_000)))).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: 'the data ended after 100000 of 150000 bytes',
    });
    expect((await store.offset(UPLOADER, blob)).offset).toBe(200_000);
    expect(await store.putStream(UPLOADER, blob, 200_000, 100_000, pieces(bytes.subarray(200_000)))).toEqual({ offset: 300_000, accepted: true });
    await store.complete(UPLOADER, blob, sha(bytes), [BOB]);
    expect((await store.read(BOB, blob, 0, bytes.length)).data.equals(bytes)).toBe(true);
  });

  it('putStream: a body that breaks off keeps what arrived, and the upload resumes from there', async () => {
    const { store } = await open();
    const bytes = randomBytes(200_000);
    const { blob } = await store.begin(UPLOADER, bytes.length);
    async function* breaksOff(): AsyncIterable<Uint8Array> {
      yield bytes.subarray(0, 70_000);
      throw new Error('connection reset');
    }
    await expect(store.putStream(UPLOADER, blob, 0, bytes.length, breaksOff())).rejects.toThrow('connection reset');
    expect(await store.offset(UPLOADER, blob)).toEqual({ offset: 70_000, size: 200_000, complete: false });
    expect(await store.putStream(UPLOADER, blob, 70_000, 130_000, pieces(bytes.subarray(70_000)))).toEqual({ offset: 200_000, accepted: true });
    await store.complete(UPLOADER, blob, sha(bytes), [BOB]);
  });
});

describe('who may ask, read and act', () => {
  it('offset: the uploader while in progress; the uploader and recipients once complete; nobody else', async () => {
    const { store } = await open();
    const bytes = randomBytes(10);
    const { blob } = await store.begin(UPLOADER, 10);
    const none = { code: 'NOT_FOUND', message: 'no such blob' };
    await expect(store.offset(BOB, blob)).rejects.toMatchObject(none);
    expect(await store.offset(UPLOADER, blob)).toEqual({ offset: 0, size: 10, complete: false });
    await store.put(UPLOADER, blob, 0, bytes);
    await store.complete(UPLOADER, blob, sha(bytes), [BOB]);
    for (const who of [UPLOADER, BOB]) expect(await store.offset(who, blob)).toEqual({ offset: 10, size: 10, complete: true });
    await expect(store.offset(STRANGER, blob)).rejects.toMatchObject(none);
    await expect(store.offset(UPLOADER, 'not an id')).rejects.toMatchObject(none);
  });

  it('read and authorize: complete blobs only, for their uploader and recipients, at offsets up to the size', async () => {
    const { store } = await open();
    const bytes = randomBytes(1000);
    const { blob: inProgress } = await store.begin(UPLOADER, 5);
    const unfinished = { code: 'NOT_FOUND', message: 'no such blob (or its upload is not complete)' };
    await expect(store.read(UPLOADER, inProgress, 0, 5)).rejects.toMatchObject(unfinished);
    expect(() => store.authorize(UPLOADER, inProgress, 'get')).toThrow(expect.objectContaining(unfinished));
    const blob = await completeBlob(store, bytes);
    const notShared = { code: 'FORBIDDEN', message: 'this blob was not shared with you' };
    await expect(store.read(STRANGER, blob, 0, 10)).rejects.toMatchObject(notShared);
    expect(() => store.authorize(STRANGER, blob, 'get')).toThrow(expect.objectContaining(notShared));
    expect(() => store.authorize(BOB, blob, 'get')).not.toThrow();
    expect(() => store.authorize(BOB, blob, 'put')).toThrow(expect.objectContaining({ code: 'NOT_FOUND', message: 'no such upload' }));
    await expect(store.read(BOB, blob, 1001, 1)).rejects.toMatchObject({ code: 'BAD_REQUEST', message: "offset beyond the blob's 1000 bytes" });
    expect(await store.read(BOB, blob, 1000, 10)).toEqual({ data: Buffer.alloc(0), size: 1000, eof: true });
    expect(await store.read(BOB, blob, 300, 200)).toEqual({ data: bytes.subarray(300, 500), size: 1000, eof: false });
    expect(await store.read(UPLOADER, blob, 900, 500)).toEqual({ data: bytes.subarray(900), size: 1000, eof: true });
    const tail = await store.openRead(BOB, blob, 999);
    expect(tail.size).toBe(1000);
    const got: Buffer[] = [];
    for await (const c of tail.stream) got.push(c as Buffer);
    expect(Buffer.concat(got).equals(bytes.subarray(999))).toBe(true);
  });

  it('a complete blob whose file lost its tail is never read as if whole', async () => {
    const { store, dir } = await open();
    const blob = await completeBlob(store, randomBytes(1000));
    truncateSync(path.join(dir, `${blob}.data`), 600);
    await expect(store.read(BOB, blob, 500, 300)).rejects.toThrow('blob file shorter than its metadata');
  });

  it('ack: recipients only; the last one deletes the blob and its files; acks are kept sorted and are idempotent', async () => {
    const { store, dir } = await open();
    const blob = await completeBlob(store, randomBytes(20), [CAROL, BOB]);
    await expect(store.ack(STRANGER, blob)).rejects.toMatchObject({ code: 'FORBIDDEN', message: 'only a recipient acknowledges a blob' });
    await expect(store.ack(UPLOADER, blob)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(await store.ack(CAROL, blob)).toEqual({ deleted: false });
    expect(await store.ack(CAROL, blob)).toEqual({ deleted: false });
    expect(store.meta(blob)).toMatchObject({ recipients: [BOB, CAROL], acked: [CAROL] });
    expect(JSON.parse(readFileSync(path.join(dir, `${blob}.json`), 'utf8'))).toMatchObject({ acked: [CAROL] });
    expect(await store.ack(BOB, blob)).toEqual({ deleted: true });
    expect(store.meta(blob)).toBeNull();
    expect(readdirSync(dir)).toEqual([]);
    expect(await store.ack(BOB, blob)).toEqual({ deleted: false });
  });

  it('acks are kept sorted; a re-share drops the acks of recipients no longer named', async () => {
    const { store } = await open();
    const bytes = randomBytes(20);
    const blob = await completeBlob(store, bytes, [BOB, CAROL, STRANGER]);
    await store.ack(CAROL, blob);
    await store.ack(BOB, blob);
    expect(store.meta(blob)).toMatchObject({ acked: [BOB, CAROL] });
    await store.complete(UPLOADER, blob, sha(bytes), [STRANGER, BOB]); // Carol is no longer named
    expect(store.meta(blob)).toMatchObject({ recipients: [BOB, STRANGER], acked: [BOB] });
  });

  it('deletions are idempotent even when they race: a repeated ack or abort, a sweep after an ack; a piece after an abort is refused', async () => {
    const { store } = await open();
    const acked = await completeBlob(store, randomBytes(10));
    expect(await Promise.all([store.ack(BOB, acked), store.ack(BOB, acked)])).toEqual([{ deleted: true }, { deleted: false }]);
    const { blob: aborted } = await store.begin(UPLOADER, 10);
    const racing = [store.abort(UPLOADER, aborted), store.abort(UPLOADER, aborted), store.put(UPLOADER, aborted, 0, Buffer.alloc(10))] as const;
    expect(await racing[0]).toEqual({ deleted: true });
    expect(await racing[1]).toEqual({ deleted: false });
    await expect(racing[2]).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'no such blob' });
    // the sweep finds a blob that an ack is deleting: it counts only what it deleted itself, and goes on
    const first = await completeBlob(store, randomBytes(10));
    await completeBlob(store, randomBytes(10));
    const [ack, swept] = await Promise.all([store.ack(BOB, first), store.sweep(T0 + DEFAULT_BLOB_LIMITS.blobTtlMs)]);
    expect(ack).toEqual({ deleted: true });
    expect(swept).toBe(1);
    expect(store.usage()).toEqual({ bytes: 0, count: 0 });
  });

  it('abort: the uploader’s alone; an unknown blob is no error', async () => {
    const { store, dir } = await open();
    const { blob } = await store.begin(UPLOADER, 10);
    await expect(store.abort(BOB, blob)).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'no such blob' });
    expect(existsSync(path.join(dir, `${blob}.data`))).toBe(true);
    expect(await store.abort(UPLOADER, blob)).toEqual({ deleted: true });
    expect(readdirSync(dir)).toEqual([]);
    expect(await store.abort(UPLOADER, blob)).toEqual({ deleted: false });
    await expect(store.put(UPLOADER, blob, 0, Buffer.alloc(1))).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'no such upload' });
  });
});

describe('complete', () => {
  it('needs every declared byte and the declared SHA-256; recipients are stored once each, sorted, none acknowledged', async () => {
    const { store, dir } = await open();
    const bytes = randomBytes(100);
    const { blob } = await store.begin(UPLOADER, 100);
    await store.put(UPLOADER, blob, 0, bytes.subarray(0, 99));
    await expect(store.complete(UPLOADER, blob, sha(bytes), [BOB])).rejects.toMatchObject({
      code: 'BLOB_MISMATCH',
      message: 'the relay holds 99 of the declared 100 bytes',
    });
    await store.put(UPLOADER, blob, 99, bytes.subarray(99));
    await expect(store.complete(STRANGER, blob, sha(bytes), [BOB])).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'no such upload' });
    await expect(store.complete(UPLOADER, 'Z'.repeat(22), sha(bytes), [BOB])).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'no such upload' });
    const { blob: other } = await store.begin(UPLOADER, 1);
    await store.put(UPLOADER, other, 0, Buffer.from([7]));
    await expect(store.complete(UPLOADER, other, sha(bytes), [BOB])).rejects.toMatchObject({
      code: 'BLOB_MISMATCH',
      message: 'the stored bytes do not match the declared SHA-256',
    });
    expect(await store.complete(UPLOADER, blob, sha(bytes), [CAROL, BOB, CAROL])).toEqual({ size: 100, expiresAt: T0 + DEFAULT_BLOB_LIMITS.blobTtlMs });
    const meta = { complete: true, sha256: sha(bytes), recipients: [BOB, CAROL], acked: [] };
    expect(store.meta(blob)).toMatchObject(meta);
    expect(JSON.parse(readFileSync(path.join(dir, `${blob}.json`), 'utf8'))).toMatchObject(meta);
  });

  it('retried with the same hash and recipients (in any order) changes nothing; other recipients re-share it, keeping their acks', async () => {
    const { store, dir } = await open();
    const bytes = randomBytes(50);
    const blob = await completeBlob(store, bytes, [BOB, CAROL]);
    await store.ack(CAROL, blob);
    const metaFile = path.join(dir, `${blob}.json`);
    const written = readFileSync(metaFile, 'utf8');
    const first = await store.complete(UPLOADER, blob, sha(bytes), [CAROL, BOB]);
    expect(first).toEqual({ size: 50, expiresAt: T0 + DEFAULT_BLOB_LIMITS.blobTtlMs });
    expect(readFileSync(metaFile, 'utf8')).toBe(written);
    // a recipient's key changed: Bob is named again under his new key (here: Stranger), Carol stays with her ack
    expect(await store.complete(UPLOADER, blob, sha(bytes), [STRANGER, CAROL])).toEqual(first);
    expect(store.meta(blob)).toMatchObject({ recipients: [CAROL, STRANGER], acked: [CAROL] });
    await expect(store.read(BOB, blob, 0, 1)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(await store.ack(STRANGER, blob)).toEqual({ deleted: true });
    // another uploader's or another hash's completion of a complete blob is no retry
    const again = await completeBlob(store, bytes);
    await expect(store.complete(STRANGER, again, sha(bytes), [BOB])).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'no such upload' });
    await expect(store.complete(UPLOADER, again, sha(randomBytes(50)), [BOB])).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'no upload in progress for that blob',
    });
  });

  it('after a restart (no running hash) takes the rest of the upload and reads the file to check the SHA-256', async () => {
    const { store, dataDir } = await open();
    const bytes = randomBytes(3 * 1024 * 1024 + 7);
    const half = 1024 * 1024;
    const { blob } = await store.begin(UPLOADER, bytes.length);
    await store.put(UPLOADER, blob, 0, bytes.subarray(0, half));
    await store.close();
    const reopened = (await open({}, dataDir)).store;
    expect(await reopened.put(UPLOADER, blob, half, bytes.subarray(half))).toEqual({ offset: bytes.length, accepted: true });
    await expect(reopened.complete(UPLOADER, blob, sha(randomBytes(8)), [BOB])).rejects.toMatchObject({ code: 'BLOB_MISMATCH' });
    expect(await reopened.complete(UPLOADER, blob, sha(bytes), [BOB])).toMatchObject({ size: bytes.length });
    expect((await reopened.read(BOB, blob, 0, bytes.length)).data.equals(bytes)).toBe(true);
  });
});

describe('start-up', () => {
  it('drops leftovers, unreadable or misnamed metadata and complete blobs whose data is gone; keeps the rest', async () => {
    const { store, dataDir, dir } = await open();
    const kept = await completeBlob(store, randomBytes(30));
    const gone = await completeBlob(store, randomBytes(30));
    const { blob: inProgress } = await store.begin(UPLOADER, 30);
    await store.put(UPLOADER, inProgress, 0, randomBytes(10));
    await store.close();
    const misnamed = 'M'.repeat(22);
    writeFileSync(path.join(dir, `${misnamed}.json`), readFileSync(path.join(dir, `${kept}.json`))); // names another id
    writeFileSync(path.join(dir, `${'U'.repeat(22)}.json`), '{ not json');
    writeFileSync(path.join(dir, `${kept}.json.abcd.tmp`), 'half a write');
    writeFileSync(path.join(dir, `${'D'.repeat(22)}.data`), 'data without metadata');
    rmSync(path.join(dir, `${gone}.data`)); // its metadata says complete, its data is missing

    const reopened = (await open({}, dataDir)).store;
    expect(readdirSync(dir).sort()).toEqual([`${inProgress}.data`, `${inProgress}.json`, `${kept}.data`, `${kept}.json`, `${misnamed}.json`].sort());
    expect(reopened.meta(kept)).toMatchObject({ complete: true });
    expect(reopened.meta(gone)).toBeNull();
    expect(reopened.meta(misnamed)).toBeNull();
    expect(await reopened.offset(UPLOADER, inProgress)).toEqual({ offset: 10, size: 30, complete: false });
    expect(reopened.usage(UPLOADER)).toEqual({ bytes: 60, count: 2 });
  });
});
