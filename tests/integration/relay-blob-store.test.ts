/**
 * The relay's BlobStore on real files with an injected clock: TTL expiry of complete blobs and of uploads in
 * progress, the relay's start-up sweep (a real in-process relay whose blob clock is past the expiry), and the
 * clean-up of leftovers a crash can leave (temporary metadata, data without metadata, complete blobs whose file
 * does not have the declared size).
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProtocolError } from '../../relay/protocol/index.js';
import { BlobStore } from '../../relay/server/blobs/store.js';
import { DEFAULT_BLOB_LIMITS } from '../../relay/server/blobs/limits.js';
import { startRelay } from '../../relay/server/index.js';
import { removeDir, tempDir } from '../helpers/relay.js';

const UP = 'a'.repeat(64);
const BOB = 'b'.repeat(64);
const DAY = 24 * 3600 * 1000;
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

function dir(): string {
  const d = tempDir('parley-blobstore-');
  dirs.push(d);
  return d;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('base64url');

async function completeBlob(s: BlobStore, bytes: Buffer, recipients = [BOB]): Promise<string> {
  const { blob } = await s.begin(UP, bytes.length);
  await s.put(UP, blob, 0, bytes);
  await s.complete(UP, blob, sha(bytes), recipients);
  return blob;
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return e instanceof ProtocolError ? e.code : String(e);
  }
}

describe('blob store TTL (injected clock)', () => {
  it('a complete blob lives blobTtlMs from its completion, then is deleted with its files', async () => {
    const d = dir();
    let now = 1_000_000;
    const s = await BlobStore.open(d, { ...DEFAULT_BLOB_LIMITS, blobTtlMs: 30 * DAY }, () => now);
    const bytes = randomBytes(3000);
    const { blob } = await s.begin(UP, bytes.length);
    await s.put(UP, blob, 0, bytes);
    now += 5 * DAY; // a slow upload: the clock starts at completion
    await s.complete(UP, blob, sha(bytes), [BOB]);
    expect(s.meta(blob)?.expiresAt).toBe(now + 30 * DAY);
    now += 30 * DAY - 1;
    expect(await s.sweep()).toBe(0);
    expect((await s.read(BOB, blob, 0, 10_000)).data.equals(bytes)).toBe(true);
    now += 1;
    expect(await s.sweep()).toBe(1);
    expect(await code(s.read(BOB, blob, 0, 10))).toBe('NOT_FOUND');
    expect(readdirSync(path.join(d, 'blobs'))).toEqual([]);
    expect(s.usage()).toEqual({ bytes: 0, count: 0 });
    await s.close();
  });

  it('an upload in progress expires blobTtlMs after it began and gives its quota back', async () => {
    const d = dir();
    let now = 0;
    const s = await BlobStore.open(d, { ...DEFAULT_BLOB_LIMITS, blobTtlMs: DAY, blobQuotaBytes: 1000 }, () => now);
    const { blob } = await s.begin(UP, 1000);
    await s.put(UP, blob, 0, randomBytes(10));
    expect(await code(s.begin(UP, 1))).toBe('QUOTA_EXCEEDED');
    now = DAY;
    expect(await s.sweep()).toBe(1);
    expect(await code(s.put(UP, blob, 10, randomBytes(10)))).toBe('NOT_FOUND');
    expect(await code(s.begin(UP, 1000))).toBe('resolved');
    await s.close();
  });

  it('a relay started after the expiry deletes the blob in its start-up sweep (real relay, injected blob clock)', async () => {
    const d = dir();
    const s = await BlobStore.open(d, DEFAULT_BLOB_LIMITS);
    const blob = await completeBlob(s, randomBytes(100));
    await s.close();
    expect(existsSync(path.join(d, 'blobs', `${blob}.data`))).toBe(true);
    const relay = await startRelay({ dataDir: d, logger: false, blobClock: () => Date.now() + 31 * DAY });
    try {
      expect(existsSync(path.join(d, 'blobs', `${blob}.data`))).toBe(false);
      expect(existsSync(path.join(d, 'blobs', `${blob}.json`))).toBe(false);
    } finally {
      await relay.close();
    }
  });
});

describe('blob store start-up after a crash', () => {
  it('removes temporary metadata, data without metadata and complete blobs of the wrong length; resumes uploads', async () => {
    const d = dir();
    const s1 = await BlobStore.open(d, DEFAULT_BLOB_LIMITS);
    const good = await completeBlob(s1, randomBytes(500));
    const short = await completeBlob(s1, randomBytes(500));
    const { blob: open } = await s1.begin(UP, 400);
    await s1.put(UP, open, 0, randomBytes(100));
    await s1.close();
    const blobs = path.join(d, 'blobs');
    writeFileSync(path.join(blobs, `${short}.data`), randomBytes(499));
    writeFileSync(path.join(blobs, 'AAAAAAAAAAAAAAAAAAAAAA.data'), randomBytes(50)); // data whose metadata never got written
    writeFileSync(path.join(blobs, `${good}.json.1234.tmp`), '{"half');
    writeFileSync(path.join(blobs, 'BBBBBBBBBBBBBBBBBBBBBA.json'), 'not json');
    mkdirSync(path.join(blobs, 'stray-folder'));

    const s2 = await BlobStore.open(d, DEFAULT_BLOB_LIMITS);
    expect(readdirSync(blobs).sort()).toEqual([`${good}.data`, `${good}.json`, `${open}.data`, `${open}.json`, 'stray-folder'].sort());
    expect((await s2.read(BOB, good, 0, 1000)).data.length).toBe(500);
    expect(await code(s2.read(BOB, short, 0, 1000))).toBe('NOT_FOUND');
    expect(await s2.offset(UP, open)).toEqual({ offset: 100, size: 400, complete: false });
    expect(s2.usage(UP)).toEqual({ bytes: 900, count: 2 });
    await s2.close();
  });
});
