/**
 * The app's attachment API (contract/attachments.ts) through ParleyService, with a real relay, real SQLite profiles
 * and real sockets: staging a file in slices (as the sandboxed renderer does), sending it with a renderer-made
 * thumbnail, progress events, downloading into the encrypted cache, reading an image's bytes for display, "Save as…"
 * and "Open" through the shell hooks (stand-ins for Electron's dialogs and shell.openPath, which cannot run here),
 * cancelling an upload and a download, and the checks on every argument (the IPC schemas and the core).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { toB64u } from '../../relay/protocol/index.js';
import type { MessageView } from '../../electron/contract/api.js';
import { STAGE_CHUNK_BYTES } from '../../electron/contract/attachments.js';
import type { ParleyService } from '../../electron/core/service.js';
import { validateArgs } from '../../electron/main/ipc-validate.js';
import { cleanupAll, collect, fixtureService, startTestRelay, tmpDir, waitUntil, type TestRelay } from '../helpers/core.js';

let relay: TestRelay;
let alice: ParleyService;
let bob: ParleyService;
const downloads = tmpDir('downloads');
const opened: string[] = [];
let saveAnswer: string | null = null;

/** What the renderer does with a File: announce it, then send its bytes in order, in slices. */
async function stage(svc: ParleyService, name: string, bytes: Buffer): Promise<string> {
  const { token } = await svc.stageAttachment({ name, size: bytes.length });
  for (let at = 0; at < bytes.length; at += STAGE_CHUNK_BYTES) {
    const r = await svc.stageAttachmentChunk({ token, offset: at, data: toB64u(bytes.subarray(at, at + STAGE_CHUNK_BYTES)) });
    expect(r.received).toBe(Math.min(bytes.length, at + STAGE_CHUNK_BYTES));
  }
  return token;
}

async function received(id: string, got: MessageView[]): Promise<MessageView> {
  return (await waitUntil(() => got.find((m) => m.id === id), 30_000, `bob receives ${id}`))!;
}

const stagingDir = (svc: ParleyService) => path.join(svc.profile.dir, 'staging');
const thumb = toB64u(randomBytes(600));

beforeAll(async () => {
  relay = await startTestRelay();
  alice = await fixtureService(0, 'alice', relay.url);
  bob = await fixtureService(1, 'bob', relay.url, {
    attachments: {
      pickSavePath: async (name) => (saveAnswer === null ? null : path.join(downloads, saveAnswer || name)),
      openPath: async (file) => {
        opened.push(file);
      },
    },
  });
  await Promise.all([alice.waitOnline(), bob.waitOnline()]);
  await alice.addContact({ username: 'bob' });
  await bob.addContact({ username: 'alice' });
}, 120_000);

afterAll(cleanupAll);

describe('attachments through the app API', () => {
  test('an image staged in slices arrives with its thumbnail; bob reads, downloads, saves and opens it', async () => {
    const image = randomBytes(3 * STAGE_CHUNK_BYTES + 1234); // a GIF by name: sent as is (no metadata to strip)
    const doc = Buffer.from('%PDF-1.4 not really\n'.repeat(100));
    const got = collect(bob, 'message-received');
    const upload = collect(alice, 'attachment-progress');
    const states = collect(alice, 'message-state');
    const tokens = [await stage(alice, 'cat.gif', image), await stage(alice, 'paper.pdf', doc)];
    expect(readdirSync(stagingDir(alice))).toHaveLength(2);
    const sent = await alice.sendAttachments({ conversation: 'd:bob', tokens, caption: 'a cat and a paper', thumbnails: [{ thumb, width: 640, height: 480 }, null] });
    expect(sent.attachments).toEqual([
      { index: 0, name: 'cat.gif', size: image.length, type: 'image/gif', width: 640, height: 480, thumbnail: thumb, state: 'pending' },
      { index: 1, name: 'paper.pdf', size: doc.length, type: 'application/pdf', state: 'pending' },
    ]);
    const m = await received(sent.id, got);
    expect(m.body).toBe('a cat and a paper');
    expect(m.attachments).toEqual([
      { index: 0, name: 'cat.gif', size: image.length, type: 'image/gif', width: 640, height: 480, thumbnail: thumb, state: 'pending' },
      { index: 1, name: 'paper.pdf', size: doc.length, type: 'application/pdf', state: 'pending' },
    ]);
    await waitUntil(() => states.some((s) => s.id === sent.id && s.state !== 'sending'), 30_000, 'sent');
    // Upload progress reached the end of each file; the staged copies are gone once uploaded.
    for (const index of [0, 1]) {
      const last = upload.filter((p) => p.messageId === sent.id && p.index === index).at(-1)!;
      expect(last).toMatchObject({ conversation: 'd:bob', direction: 'upload' });
      expect(last.done).toBe(last.total);
    }
    await waitUntil(() => readdirSync(stagingDir(alice)).length === 0, 10_000, 'staged copies removed');

    const down = collect(bob, 'attachment-progress');
    const read = await bob.readAttachment({ messageId: m.id, index: 0 });
    expect(read.type).toBe('image/gif');
    expect(Buffer.from(read.data, 'base64url').equals(image)).toBe(true);
    expect(down.at(-1)).toMatchObject({ messageId: m.id, conversation: 'd:alice', index: 0, direction: 'download' });
    expect(down.at(-1)!.done).toBe(down.at(-1)!.total);
    await expect(bob.readAttachment({ messageId: m.id, index: 1 })).rejects.toMatchObject({ code: 'INVALID' });

    expect(await bob.downloadAttachment({ messageId: m.id, index: 1 })).toMatchObject({ index: 1, state: 'complete' });
    saveAnswer = null;
    expect(await bob.saveAttachment({ messageId: m.id, index: 1 })).toEqual({ saved: false, location: null });
    saveAnswer = '';
    const saved = await bob.saveAttachment({ messageId: m.id, index: 1 });
    expect(saved).toEqual({ saved: true, location: path.join(downloads, 'paper.pdf') });
    expect(readFileSync(saved.location!).equals(doc)).toBe(true);

    expect(await bob.openAttachment({ messageId: m.id, index: 1 })).toEqual({ opened: true });
    expect(readFileSync(opened.at(-1)!).equals(doc)).toBe(true);
    expect(opened.at(-1)!.startsWith(bob.profile.dir)).toBe(false); // plaintext never lands in the profile
  }, 120_000);

  test('an executable type opens only after the user confirmed the warning', async () => {
    const got = collect(bob, 'message-received');
    const sent = await alice.sendAttachments({ conversation: 'd:bob', tokens: [await stage(alice, 'setup.sh', Buffer.from('echo hi\n'))] });
    const m = await received(sent.id, got);
    const before = opened.length;
    expect(await bob.openAttachment({ messageId: m.id, index: 0 })).toEqual({ opened: false, warning: 'executable' });
    expect(opened).toHaveLength(before);
    expect(await bob.openAttachment({ messageId: m.id, index: 0, confirmed: true })).toEqual({ opened: true });
    expect(opened).toHaveLength(before + 1);
  }, 60_000);

  test('an upload cancelled while it runs fails the message as cancelled; a download cancelled can start again', async () => {
    const big = randomBytes(6 * 1024 * 1024);
    const token = await stage(alice, 'big.bin', big);
    const states = collect(alice, 'message-state');
    const offs: Array<() => void> = [];
    const firstPiece = new Promise<void>((resolve) => offs.push(alice.on('attachment-progress', () => resolve())));
    const sent = await alice.sendAttachments({ conversation: 'd:bob', tokens: [token] });
    await firstPiece;
    await alice.cancelAttachment({ messageId: sent.id, index: 0 });
    const failed = await waitUntil(() => states.find((s) => s.id === sent.id && s.state !== 'sending'), 30_000, 'upload stops');
    expect(failed).toMatchObject({ state: 'failed', error: expect.stringMatching(/cancelled/) });
    offs.forEach((off) => off());

    const got = collect(bob, 'message-received');
    const sent2 = await alice.sendAttachments({ conversation: 'd:bob', tokens: [await stage(alice, 'big2.bin', big)] });
    const m = await received(sent2.id, got);
    const firstDown = new Promise<void>((resolve) => offs.push(bob.on('attachment-progress', (p) => p.messageId === m.id && resolve())));
    const dl = bob.downloadAttachment({ messageId: m.id, index: 0 });
    await firstDown;
    await bob.cancelAttachment({ messageId: m.id, index: 0 });
    await expect(dl).rejects.toMatchObject({ code: 'CANCELLED' });
    offs.forEach((off) => off());
    expect(await bob.downloadAttachment({ messageId: m.id, index: 0 })).toMatchObject({ state: 'complete' });
    saveAnswer = 'big-saved.bin';
    const saved = await bob.saveAttachment({ messageId: m.id, index: 0 });
    expect(readFileSync(saved.location!).equals(big)).toBe(true);
  }, 120_000);

  test('bad staging calls get typed errors and change nothing', async () => {
    const { token } = await alice.stageAttachment({ name: 'a.txt', size: 10 });
    await expect(alice.stageAttachmentChunk({ token, offset: 5, data: toB64u(Buffer.from('hello')) })).rejects.toMatchObject({ code: 'INVALID' });
    await alice.stageAttachmentChunk({ token, offset: 0, data: toB64u(Buffer.from('hello')) });
    await expect(alice.stageAttachmentChunk({ token, offset: 5, data: toB64u(Buffer.from('hello world')) })).rejects.toMatchObject({ code: 'INVALID' });
    await expect(alice.sendAttachments({ conversation: 'd:bob', tokens: [token] })).rejects.toMatchObject({ code: 'INVALID', message: expect.stringMatching(/5 of 10/) });
    await expect(alice.stageAttachmentChunk({ token: 'A'.repeat(22), offset: 0, data: 'AAAA' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(alice.stageAttachment({ name: '../evil', size: 1 })).rejects.toMatchObject({ code: 'INVALID' });
    await expect(alice.stageAttachment({ name: 'huge.bin', size: 101 * 1024 * 1024 })).rejects.toMatchObject({ code: 'INVALID' });
    // A preview is for images only.
    await alice.stageAttachmentChunk({ token, offset: 5, data: toB64u(Buffer.from('world')) });
    await expect(alice.sendAttachments({ conversation: 'd:bob', tokens: [token], thumbnails: [{ thumb }] })).rejects.toMatchObject({ code: 'INVALID' });
    await alice.discardStaged({ token });
    expect(readdirSync(stagingDir(alice))).toEqual([]);
    await expect(alice.sendAttachments({ conversation: 'd:bob', tokens: [token] })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // No dialog in this runtime: the renderer falls back to its file input.
    expect(await alice.chooseAttachments()).toEqual({ files: null });
    await expect(bob.readAttachment({ messageId: 'nope', index: 0 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  test('the IPC schemas bound every argument before the core sees it', () => {
    const bad = (m: Parameters<typeof validateArgs>[0], args: unknown[]) => expect(() => validateArgs(m, args)).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENTS' }));
    bad('stageAttachment', [{ name: 'a', size: -1 }]);
    bad('stageAttachment', [{ name: 'a', size: 100 * 1024 * 1024 + 1 }]);
    bad('stageAttachmentChunk', [{ token: 'short', offset: 0, data: 'AAAA' }]);
    bad('stageAttachmentChunk', [{ token: 'A'.repeat(22), offset: 0, data: 'A'.repeat(Math.ceil((STAGE_CHUNK_BYTES * 4) / 3) + 1) }]);
    bad('stageAttachmentChunk', [{ token: 'A'.repeat(22), offset: 0, data: 'not base64url!' }]);
    bad('readAttachment', [{ messageId: 'x', index: 10 }]);
    bad('readAttachment', [{ messageId: 'x', index: -1 }]);
    bad('saveAttachment', [{ messageId: 'x', index: 0, path: '/etc/passwd' }]); // the renderer never names a path
    bad('sendAttachments', [{ conversation: 'd:bob', tokens: [] }]);
    bad('sendAttachments', [{ conversation: 'd:bob', tokens: ['A'.repeat(22)], thumbnails: [{ thumb: 'A'.repeat(11_000) }] }]);
    bad('sendAttachments', [{ conversation: 'd:bob', tokens: ['A'.repeat(22)], thumbnails: [{ width: 10 }] }]);
    bad('openAttachment', [{ messageId: 'x', index: 0, confirmed: 'yes' }]);
    expect(validateArgs('openAttachment', [{ messageId: 'x', index: 9, confirmed: true }])).toEqual([{ messageId: 'x', index: 9, confirmed: true }]);
    expect(existsSync(downloads)).toBe(true);
  });
});
