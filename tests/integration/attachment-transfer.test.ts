/**
 * Attachments end to end through a real relay process: encrypt-and-upload streaming from a file, download into a
 * recipient's profile folder, verify, save. A 30 MiB file with a marker repeated inside arrives with the same SHA-256
 * and the marker is nowhere in the relay's data folder or either profile folder. A damaged blob fails verification
 * with AttachmentStreamError and leaves no file behind; uploads and downloads resume after a lost connection.
 * The blob channel is the test helper's socket (same events and schemas as the core's RelayClient.blobRequest).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { AttachmentStreamError } from '../../electron/core/attachments/stream.js';
import {
  ackBlob,
  downloadBlob,
  fileSource,
  saveBlobFile,
  uploadAttachment,
  verifyBlobFile,
  type BlobChannel,
  type UploadState,
} from '../../electron/core/attachments/transfer.js';
import type { BlobEventName } from '../../relay/protocol/index.js';
import { login, makeParties, registerParties, removeDir, spawnRelay, tempDir, type Party, type RelayClient, type SpawnedRelay } from '../helpers/relay.js';

let alice: Party;
let bob: Party;
let relay: SpawnedRelay;
let a: RelayClient;
let b: RelayClient;
const root = tempDir('parley-attach-');
const aliceProfile = path.join(root, 'alice-profile');
const bobProfile = path.join(root, 'bob-profile');
const outside = path.join(root, 'files'); // the user's own files: not a profile folder

class RelayRefusal extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function channel(c: RelayClient, o: { failAfterPuts?: number } = {}): BlobChannel {
  let puts = 0;
  return {
    async blobRequest<S extends z.ZodType>(event: BlobEventName, payload: object, schema: S): Promise<z.infer<S>> {
      if (event === 'blob-put' && o.failAfterPuts !== undefined && ++puts > o.failAfterPuts) {
        c.close(); // the connection drops mid-upload
        throw new RelayRefusal('OFFLINE', 'connection lost');
      }
      const r = await c.call(event, payload);
      if (!r.ok) throw new RelayRefusal(r.error.code, r.error.message);
      return schema.parse(r);
    },
  };
}

function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (d) => h.update(d))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** Write a file of `size` bytes: random data with `marker` every 64 KiB (streamed, never whole in memory). */
function writeMarkedFile(file: string, size: number, marker: Buffer): void {
  const piece = 1024 * 1024;
  writeFileSync(file, Buffer.alloc(0));
  for (let off = 0; off < size; off += piece) {
    const buf = randomBytes(Math.min(piece, size - off));
    for (let i = 0; i + marker.length <= buf.length; i += 64 * 1024) marker.copy(buf, i);
    writeFileSync(file, buf, { flag: 'a' });
  }
}

beforeAll(async () => {
  for (const d of [aliceProfile, bobProfile, outside]) mkdirSync(d, { recursive: true });
  [alice, bob] = (await makeParties('alice', 'bob')) as [Party, Party];
  relay = await spawnRelay({ dataDir: path.join(root, 'relay') });
  await registerParties(relay.url, [alice, bob]);
  [a, b] = await Promise.all([login(relay.url, relay.fingerprint, alice), login(relay.url, relay.fingerprint, bob)]);
});

afterAll(async () => {
  a?.close();
  b?.close();
  await relay?.kill9();
  removeDir(root);
});

describe('attachments through a relay', () => {
  it('a 30 MiB file with a marker: SHA-256 equal after the trip; the marker is nowhere in the relay data or either profile', async () => {
    const marker = Buffer.from('PARLEY-ATTACHMENT-MARKER-7f3a9c');
    const src = path.join(outside, 'big.bin');
    writeMarkedFile(src, 30 * 1024 * 1024, marker);
    const plainSize = statSync(src).size;
    let progress = 0;
    const up = await uploadAttachment(channel(a), { open: fileSource(src), plainSize, recipients: [bob.fingerprint], onProgress: (s) => (progress = s) });
    expect(progress).toBe(up.blobSize);
    // Alice keeps only what resuming needs in her profile (the real client keeps it in its encrypted database).
    writeFileSync(path.join(aliceProfile, 'upload-state.json'), JSON.stringify({ blob: up.blob }));

    const cached = path.join(bobProfile, 'attachments', `${up.blob}.blob`);
    mkdirSync(path.dirname(cached), { recursive: true });
    const d = { key: up.key, size: plainSize, chunk: up.chunk, sha256: up.sha256 };
    await downloadBlob(channel(b), up.blob, cached);
    await verifyBlobFile(cached, d);
    expect(await ackBlob(channel(b), up.blob)).toBe(true);
    const saved = path.join(outside, 'saved.bin');
    await saveBlobFile(cached, d, saved);
    expect(await sha256File(saved)).toBe(await sha256File(src));

    for (const file of [...filesUnder(relay.dataDir), ...filesUnder(aliceProfile), ...filesUnder(bobProfile)]) {
      expect(readFileSync(file).includes(marker), file).toBe(false);
    }
    expect(filesUnder(bobProfile)).toEqual([cached]); // the cache holds ciphertext only
  });

  it('a damaged blob fails verification with AttachmentStreamError, and saving leaves no file', async () => {
    const src = path.join(outside, 'doc.pdf');
    writeFileSync(src, randomBytes(300_000));
    const up = await uploadAttachment(channel(a), { open: fileSource(src), plainSize: 300_000, recipients: [bob.fingerprint] });
    const onRelay = path.join(relay.dataDir, 'blobs', `${up.blob}.data`);
    const bytes = readFileSync(onRelay);
    bytes[100_000]! ^= 0x01; // one bit rots on the relay's disk after completion
    writeFileSync(onRelay, bytes);
    const cached = path.join(bobProfile, 'attachments', `${up.blob}.blob`);
    await downloadBlob(channel(b), up.blob, cached);
    const d = { key: up.key, size: 300_000, chunk: up.chunk, sha256: up.sha256 };
    await expect(verifyBlobFile(cached, d)).rejects.toMatchObject({ name: 'AttachmentStreamError', reason: 'bad-chunk' });
    const saved = path.join(outside, 'doc-saved.pdf');
    await expect(saveBlobFile(cached, d, saved)).rejects.toBeInstanceOf(AttachmentStreamError);
    expect(readdirSync(outside).filter((f) => f.startsWith('doc-saved'))).toEqual([]);
  });

  it('an upload resumes on a new connection after the old one dropped mid-upload', async () => {
    const src = path.join(outside, 'resume.bin');
    writeFileSync(src, randomBytes(5 * 1024 * 1024 + 3));
    const plainSize = statSync(src).size;
    let state: UploadState | undefined;
    const first = await login(relay.url, relay.fingerprint, alice);
    await expect(
      uploadAttachment(channel(first, { failAfterPuts: 4 }), { open: fileSource(src), plainSize, recipients: [bob.fingerprint], onBegin: (s) => void (state = s), window: 1 }),
    ).rejects.toMatchObject({ code: 'OFFLINE' });
    expect(state).toBeDefined();
    a = await login(relay.url, relay.fingerprint, alice);
    const held = await a.call<{ offset: number }>('blob-offset', { blob: state!.blob });
    expect(held.ok && held.offset).toBe(4 * 512 * 1024);
    const up = await uploadAttachment(channel(a), { open: fileSource(src), plainSize, recipients: [bob.fingerprint], resume: state });
    const cached = path.join(bobProfile, 'attachments', `${up.blob}.blob`);
    await downloadBlob(channel(b), up.blob, cached);
    const saved = path.join(outside, 'resume-saved.bin');
    await saveBlobFile(cached, { key: up.key, size: plainSize, chunk: up.chunk, sha256: up.sha256 }, saved);
    expect(await sha256File(saved)).toBe(await sha256File(src));
  });

  it('a download resumes from the bytes already in the cache file', async () => {
    const src = path.join(outside, 'resume-down.bin');
    writeFileSync(src, randomBytes(3 * 1024 * 1024));
    const up = await uploadAttachment(channel(a), { open: fileSource(src), plainSize: 3 * 1024 * 1024, recipients: [bob.fingerprint] });
    const cached = path.join(bobProfile, 'attachments', `${up.blob}.blob`);
    const stop = new AbortController();
    await expect(
      downloadBlob(channel(b), up.blob, cached, { window: 1, signal: stop.signal, onProgress: (got) => got >= 1024 * 1024 && stop.abort() }),
    ).rejects.toMatchObject({ code: 'cancelled' });
    const partial = statSync(cached).size;
    expect(partial).toBeGreaterThanOrEqual(1024 * 1024);
    expect(partial).toBeLessThan(up.blobSize);
    const gets: number[] = [];
    const counting: BlobChannel = {
      blobRequest: (event, payload, schema) => {
        if (event === 'blob-get') gets.push((payload as { offset: number }).offset);
        return channel(b).blobRequest(event, payload, schema);
      },
    };
    await downloadBlob(counting, up.blob, cached);
    expect(gets[0]).toBe(partial); // continued, not restarted
    await verifyBlobFile(cached, { key: up.key, size: 3 * 1024 * 1024, chunk: up.chunk, sha256: up.sha256 });
    expect(existsSync(cached)).toBe(true);
  });
});
