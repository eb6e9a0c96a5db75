/**
 * Streaming holds: sending and then receiving a 100 MiB file through a real relay (upload, download into the cache,
 * verify, save) grows this process's resident memory by at most 64 MiB. RSS is sampled every 10 ms while the
 * transfer runs (a memory bound, not a speed gate); the peak growth is printed for the record.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { z } from 'zod';
import { downloadBlob, fileSource, saveBlobFile, uploadAttachment, verifyBlobFile, type BlobChannel } from '../../electron/core/attachments/transfer.js';
import type { BlobEventName } from '../../relay/protocol/index.js';
import { login, makeParties, registerParties, removeDir, spawnRelay, tempDir, type Party, type RelayClient } from '../helpers/relay.js';

const root = tempDir('parley-attach-mem-');
afterAll(() => removeDir(root));

function channel(c: RelayClient): BlobChannel {
  return {
    async blobRequest<S extends z.ZodType>(event: BlobEventName, payload: object, schema: S): Promise<z.infer<S>> {
      const r = await c.call(event, payload);
      if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
      return schema.parse(r);
    },
  };
}

it('a 100 MiB file out and back in grows RSS by at most 64 MiB', async () => {
  const [alice, bob] = (await makeParties('alice', 'bob')) as [Party, Party];
  const relay = await spawnRelay({ dataDir: path.join(root, 'relay') });
  try {
    await registerParties(relay.url, [alice, bob]);
    const [a, b] = await Promise.all([login(relay.url, relay.fingerprint, alice), login(relay.url, relay.fingerprint, bob)]);
    const src = path.join(root, 'src.bin');
    writeFileSync(src, Buffer.alloc(0));
    for (let i = 0; i < 100; i++) writeFileSync(src, randomBytes(1024 * 1024), { flag: 'a' });
    const plainSize = statSync(src).size;
    mkdirSync(path.join(root, 'cache'));
    const cached = path.join(root, 'cache', 'blob');

    const base = process.memoryUsage.rss();
    let peak = base;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
    try {
      const up = await uploadAttachment(channel(a), { open: fileSource(src), plainSize, recipients: [bob.fingerprint] });
      await downloadBlob(channel(b), up.blob, cached);
      const d = { key: up.key, size: plainSize, chunk: up.chunk, sha256: up.sha256 };
      await verifyBlobFile(cached, d);
      await saveBlobFile(cached, d, path.join(root, 'saved.bin'));
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage.rss());
    const growthMiB = (peak - base) / (1024 * 1024);
    console.log(`attachment memory: 100 MiB out and in, peak RSS growth ${growthMiB.toFixed(1)} MiB`);
    expect(growthMiB).toBeLessThanOrEqual(64);
    expect(statSync(path.join(root, 'saved.bin')).size).toBe(plainSize);
    a.close();
    b.close();
  } finally {
    await relay.kill9();
  }
}, 240_000);
