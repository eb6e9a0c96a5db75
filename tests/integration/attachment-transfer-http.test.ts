/**
 * The core's attachment transfers over HTTP (transfer.ts with a channel that has the relay's HTTP route, as
 * RelayClient has) through a real relay process: the bytes move without a single socket piece, a download checks the
 * descriptor's SHA-256 as it arrives, kill -9 of the relay mid-upload resumes from the durable offset, and a relay
 * the client cannot reach over HTTP gets the same upload in socket pieces.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { downloadBlob, fileSource, saveBlobFile, uploadAttachment, type BlobChannel, type UploadState } from '../../electron/core/attachments/transfer.js';
import { ciphertextSize } from '../../electron/core/attachments/stream.js';
import { blobHttp } from '../../electron/core/transport/blob-http.js';
import { TransportError } from '../../electron/core/transport/errors.js';
import type { BlobEventName, ErrorCode } from '../../relay/protocol/index.js';
import { login, makeParties, removeDir, spawnRelay, tempDir, type Party, type RelayClient, type SpawnedRelay } from '../helpers/relay.js';

let alice: Party;
let bob: Party;
const root = tempDir('parley-attach-http-');
const files = path.join(root, 'files');
const relays: SpawnedRelay[] = [];

/** A blob channel like RelayClient's: socket events (counted) plus the HTTP route to `url` (or none). */
function channel(c: RelayClient, http: { url: string; fingerprint: string } | null, events: string[] = []): BlobChannel {
  return {
    blobHttp: http ? blobHttp(http.url, http.fingerprint) : null,
    async blobRequest<S extends z.ZodType>(event: BlobEventName, payload: object, schema: S): Promise<z.infer<S>> {
      if (!c.socket.connected) throw new TransportError('OFFLINE', 'not connected');
      events.push(event);
      const r = await c.call(event, payload);
      if (!r.ok) throw new TransportError(r.error.code as ErrorCode, r.error.message);
      return schema.parse(r);
    },
  };
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

async function relayAt(dataDir: string): Promise<SpawnedRelay> {
  const r = await spawnRelay({ dataDir });
  relays.push(r);
  return r;
}

beforeAll(async () => {
  mkdirSync(files, { recursive: true });
  [alice, bob] = (await makeParties('alice', 'bob')) as [Party, Party];
});

afterAll(async () => {
  for (const r of relays) await r.kill9();
  removeDir(root);
});

describe('attachment transfers over HTTP', () => {
  it('upload and download move every byte over HTTP (no socket piece) and the download is checked against the SHA-256', async () => {
    const relay = await relayAt(path.join(root, 'relay-1'));
    const [a, b] = await Promise.all([login(relay.url, relay.fingerprint, alice), login(relay.url, relay.fingerprint, bob)]);
    const src = path.join(files, 'plain.bin');
    writeFileSync(src, randomBytes(5 * 1024 * 1024 + 17));
    const plainSize = statSync(src).size;
    const events: string[] = [];
    const up = await uploadAttachment(channel(a, relay, events), { open: fileSource(src), plainSize, recipients: [bob.fingerprint] });
    const cached = path.join(root, 'bob.blob');
    const expect_ = { blobSize: ciphertextSize(plainSize, up.chunk), sha256: up.sha256 };
    await downloadBlob(channel(b, relay, events), up.blob, cached, { expect: expect_ });
    expect(events).not.toContain('blob-put');
    expect(events).not.toContain('blob-get');
    expect(events.filter((e) => e === 'blob-token')).toHaveLength(2); // one PUT (≤ 16 MiB) and one GET
    const saved = path.join(files, 'plain-saved.bin');
    await saveBlobFile(cached, { key: up.key, size: plainSize, chunk: up.chunk, sha256: up.sha256 }, saved);
    expect(sha256(saved)).toBe(sha256(src));

    // A descriptor naming other bytes: the download itself fails, before anything is decrypted.
    const other = path.join(root, 'other.blob');
    await expect(downloadBlob(channel(b, relay), up.blob, other, { expect: { ...expect_, sha256: 'A'.repeat(43) } })).rejects.toMatchObject({
      name: 'AttachmentStreamError',
      reason: 'hash-mismatch',
    });
    await expect(downloadBlob(channel(b, relay), up.blob, other, { expect: { ...expect_, blobSize: expect_.blobSize + 1 } })).rejects.toMatchObject({
      reason: 'size-mismatch',
    });
    a.close();
    b.close();
  });

  it('kill -9 of the relay mid-upload over HTTP: the upload resumes from the durable offset and completes intact', async () => {
    const dataDir = path.join(root, 'relay-2');
    const first = await relayAt(dataDir);
    const src = path.join(files, 'kill.bin');
    writeFileSync(src, randomBytes(24 * 1024 * 1024));
    const plainSize = statSync(src).size;
    let state: UploadState | undefined;
    let killed: Promise<void> | null = null;
    const a1 = await login(first.url, first.fingerprint, alice);
    await expect(
      uploadAttachment(channel(a1, first), {
        open: fileSource(src),
        plainSize,
        recipients: [bob.fingerprint],
        onBegin: (s) => void (state = s),
        onProgress: (sent) => void (sent >= 20 * 1024 * 1024 && (killed ??= first.kill9())),
      }),
    ).rejects.toThrow(); // the HTTP leg broke off; the socket fallback finds the relay gone too
    expect(killed).not.toBeNull();
    await killed;
    a1.close();

    const second = await relayAt(dataDir);
    const [a2, b2] = await Promise.all([login(second.url, second.fingerprint, alice), login(second.url, second.fingerprint, bob)]);
    const held = await a2.call<{ offset: number; complete: boolean }>('blob-offset', { blob: state!.blob });
    expect(held).toMatchObject({ ok: true, complete: false });
    expect(held.ok && held.offset).toBeGreaterThanOrEqual(16 * 1024 * 1024); // the first PUT was answered
    const up = await uploadAttachment(channel(a2, second), { open: fileSource(src), plainSize, recipients: [bob.fingerprint], resume: state });
    const cached = path.join(root, 'kill.blob');
    await downloadBlob(channel(b2, second), up.blob, cached, { expect: { blobSize: ciphertextSize(plainSize, up.chunk), sha256: up.sha256 } });
    const saved = path.join(files, 'kill-saved.bin');
    await saveBlobFile(cached, { key: up.key, size: plainSize, chunk: up.chunk, sha256: up.sha256 }, saved);
    expect(sha256(saved)).toBe(sha256(src));
    a2.close();
    b2.close();
  });

  it('a relay the client cannot reach over HTTP gets the same transfer in socket pieces', async () => {
    const relay = await relayAt(path.join(root, 'relay-3'));
    const [a, b] = await Promise.all([login(relay.url, relay.fingerprint, alice), login(relay.url, relay.fingerprint, bob)]);
    const nowhere = { url: 'http://127.0.0.1:9', fingerprint: relay.fingerprint }; // nothing listens on the discard port
    const src = path.join(files, 'fallback.bin');
    writeFileSync(src, randomBytes(1024 * 1024 + 5));
    const plainSize = statSync(src).size;
    const events: string[] = [];
    const up = await uploadAttachment(channel(a, nowhere, events), { open: fileSource(src), plainSize, recipients: [bob.fingerprint] });
    expect(events).toContain('blob-put');
    const cached = path.join(root, 'fallback.blob');
    await downloadBlob(channel(b, nowhere, events), up.blob, cached, { expect: { blobSize: ciphertextSize(plainSize, up.chunk), sha256: up.sha256 } });
    expect(events).toContain('blob-get');
    const saved = path.join(files, 'fallback-saved.bin');
    await saveBlobFile(cached, { key: up.key, size: plainSize, chunk: up.chunk, sha256: up.sha256 }, saved);
    expect(sha256(saved)).toBe(sha256(src));
    a.close();
    b.close();
  });
});
