/**
 * Attachments as messages, through a real relay and two real ParleyService profiles (real SQLite, real sockets):
 * alice sends two files with a caption, bob receives the descriptors (a files message is stored with its
 * attachments, not as a bare caption), saves both and gets the same bytes; a party that is not a recipient cannot
 * fetch the blob; a blob damaged on the relay fails that attachment with a clear reason and keeps the message.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ParleyService } from '../../electron/core/service.js';
import type { MessageView } from '../../electron/contract/api.js';
import { aliceAndBob, cleanupAll, collect, startTestRelay, tmpDir, waitUntil, type TestRelay } from '../helpers/core.js';
import { fixtureIdentities } from '../helpers/identities.js';
import { login, makeParty } from '../helpers/relay.js';

let relay: TestRelay;
let alice: ParleyService;
let bob: ParleyService;
const files = tmpDir('files');

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

function blobsOnRelay(): string[] {
  return readdirSync(path.join(relay.dataDir, 'blobs')).filter((f) => f.endsWith('.data'));
}

async function sendAndReceive(paths: string[], caption: string): Promise<{ sent: MessageView; got: MessageView }> {
  const got = collect(bob, 'message-received');
  const states = collect(alice, 'message-state');
  const sent = await alice.sendFiles({ conversation: 'd:bob', paths, caption });
  await waitUntil(() => got.some((m) => m.id === sent.id) || states.some((s) => s.id === sent.id && s.state === 'failed'), 30_000, 'bob receives the files');
  expect(states.find((s) => s.id === sent.id && s.state === 'failed')).toBeUndefined();
  return { sent, got: got.find((m) => m.id === sent.id)! };
}

beforeAll(async () => {
  relay = await startTestRelay();
  ({ alice, bob } = await aliceAndBob(relay.url));
}, 120_000);

afterAll(cleanupAll);

describe('attachments in messages', () => {
  test('two files with a caption arrive as descriptors; bob saves both, byte for byte', async () => {
    const one = path.join(files, 'report.bin');
    const two = path.join(files, 'notes.txt');
    writeFileSync(one, randomBytes(300_000));
    writeFileSync(two, 'line one\nline two\n');
    const { sent, got } = await sendAndReceive([one, two], 'two files');
    expect(sent).toMatchObject({ direction: 'out', state: 'sending', body: 'two files' });
    expect(sent.attachments).toEqual([
      { index: 0, name: 'report.bin', size: 300_000, type: 'application/octet-stream', state: 'pending' },
      { index: 1, name: 'notes.txt', size: 18, type: 'text/plain', state: 'pending' },
    ]);
    expect(got).toMatchObject({ body: 'two files', direction: 'in', contact: 'alice' });
    expect(got.attachments).toEqual([
      { index: 0, name: 'report.bin', size: 300_000, type: 'application/octet-stream', state: 'pending' },
      { index: 1, name: 'notes.txt', size: 18, type: 'text/plain', state: 'pending' },
    ]);
    // No key and no thumbnail bytes in the event.
    expect(JSON.stringify(got)).not.toMatch(/"key"|"thumb"|"blob"/);

    const outOne = path.join(files, 'saved-report.bin');
    const outTwo = path.join(files, 'saved-notes.txt');
    await bob.saveAttachment({ messageId: got.id, index: 0, path: outOne });
    await bob.saveAttachment({ messageId: got.id, index: 1, path: outTwo });
    expect(sha(outOne)).toBe(sha(one));
    expect(sha(outTwo)).toBe(sha(two));

    const page = await bob.loadMessages({ conversation: 'd:alice' });
    const row = page.messages.find((m) => m.id === got.id)!;
    expect(row.attachments?.map((a) => a.state)).toEqual(['complete', 'complete']);
    const mine = (await alice.loadMessages({ conversation: 'd:bob' })).messages.find((m) => m.id === sent.id)!;
    expect(mine.attachments?.map((a) => a.state)).toEqual(['complete', 'complete']);
    await expect(bob.saveAttachment({ messageId: got.id, index: 2, path: outTwo })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  test('a party that is not a recipient cannot fetch the blob', async () => {
    const before = new Set(blobsOnRelay());
    const f = path.join(files, 'private.bin');
    writeFileSync(f, randomBytes(10_000));
    await sendAndReceive([f], '');
    const blob = blobsOnRelay().find((b) => !before.has(b))!.replace(/\.data$/, '');
    const carol = await makeParty((await fixtureIdentities(1, 2))[0]!, 'carol');
    const c = await login(relay.url, relay.relay.fingerprint, carol);
    try {
      const r = await c.call('blob-get', { blob, offset: 0, length: 1024 });
      expect(r.ok).toBe(false);
      const again = await c.call('blob-offset', { blob });
      expect(again.ok).toBe(false);
    } finally {
      c.close();
    }
  });

  test('a blob damaged on the relay fails the attachment with a reason and keeps the message', async () => {
    const before = new Set(blobsOnRelay());
    const f = path.join(files, 'damaged.bin');
    writeFileSync(f, randomBytes(200_000));
    const { got } = await sendAndReceive([f], 'this one breaks');
    const stored = path.join(relay.dataDir, 'blobs', blobsOnRelay().find((b) => !before.has(b))!);
    const bytes = readFileSync(stored);
    bytes[100_000]! ^= 0x01;
    writeFileSync(stored, bytes);

    const out = path.join(files, 'never.bin');
    await expect(bob.saveAttachment({ messageId: got.id, index: 0, path: out })).rejects.toMatchObject({ code: 'INVALID', message: expect.stringMatching(/does not verify/) });
    expect(readdirSync(files).filter((n) => n.startsWith('never.bin'))).toEqual([]);
    const row = (await bob.loadMessages({ conversation: 'd:alice' })).messages.find((m) => m.id === got.id)!;
    expect(row.body).toBe('this one breaks');
    expect(row.attachments).toEqual([
      expect.objectContaining({ index: 0, name: 'damaged.bin', state: 'failed', error: expect.stringMatching(/does not verify \(hash-mismatch\)/) }),
    ]);
  });

  test('a JPEG loses its Exif segment before it is sent; the received size is the stripped size', async () => {
    const plain = readFileSync(new URL('../fixtures/attachments/plain.jpg', import.meta.url));
    const secret = Buffer.from('Exif\0\0GPS-48.8567N-2.2944E-secret-position');
    const app1 = Buffer.concat([Buffer.from([0xff, 0xe1, (secret.length + 2) >> 8, (secret.length + 2) & 0xff]), secret]);
    const photo = path.join(files, 'photo.jpg');
    writeFileSync(photo, Buffer.concat([plain.subarray(0, 2), app1, plain.subarray(2)]));
    const { got } = await sendAndReceive([photo], 'holiday');
    const out = path.join(files, 'saved-photo.jpg');
    await bob.saveAttachment({ messageId: got.id, index: 0, path: out });
    const saved = readFileSync(out);
    expect(saved.includes(Buffer.from('secret-position'))).toBe(false);
    expect(got.attachments).toEqual([{ index: 0, name: 'photo.jpg', size: saved.length, type: 'image/jpeg', state: 'pending' }]);
    expect(saved.length).toBeLessThan(readFileSync(photo).length);
    expect(saved.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
  });

  test('bad input gets typed errors', async () => {
    await expect(alice.sendFiles({ conversation: 'd:bob', paths: [] })).rejects.toMatchObject({ code: 'INVALID' });
    await expect(alice.sendFiles({ conversation: 'd:bob', paths: [files] })).rejects.toMatchObject({ code: 'INVALID' });
    await expect(alice.sendFiles({ conversation: 'd:bob', paths: [path.join(files, 'missing')] })).rejects.toMatchObject({ code: 'INVALID' });
    await expect(bob.saveAttachment({ messageId: 'AAAAAAAAAAAAAAAAAAAAAA', index: 0, path: path.join(files, 'x') })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
