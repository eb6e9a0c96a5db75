/**
 * Files in a group, in process: alice, bob and carol are ParleyService profiles (real SQLite, real relay over real
 * sockets). Alice sends a file with a caption to the group: bob and carol receive one group message each (in
 * the group's conversation, not as a direct message) with the file's descriptor, save it byte for byte, and their
 * delivery receipts make alice's message delivered. The relay lets only the group's members download the blob.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { MessageView } from '../../electron/contract/api.js';
import type { ParleyService } from '../../electron/core/service.js';
import { cleanupAll, collect, fixtureService, startTestRelay, tmpDir, waitUntil, type TestRelay } from '../helpers/core.js';

let relay: TestRelay;
let alice: ParleyService;
let bob: ParleyService;
let carol: ParleyService;
let dave: ParleyService;
const files = tmpDir('group-files');
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

beforeAll(async () => {
  relay = await startTestRelay();
  alice = await fixtureService(0, 'alice', relay.url);
  bob = await fixtureService(1, 'bob', relay.url);
  carol = await fixtureService(2, 'carol', relay.url);
  dave = await fixtureService(3, 'dave', relay.url);
  await Promise.all([alice, bob, carol, dave].map((s) => s.waitOnline()));
  for (const u of ['bob', 'carol', 'dave']) await alice.addContact({ username: u });
}, 120_000);

afterAll(cleanupAll);

describe('files in a group', () => {
  test('every member receives the file in the group, saves it, and their receipts mark it delivered', { timeout: 120_000 }, async () => {
    const g = await (await alice.groups()).create('team', ['bob', 'carol']);
    const knows = async (svc: ParleyService) => (await svc.groups()).list().some((x) => x.id === g.id);
    await waitUntil(async () => (await knows(bob)) && (await knows(carol)), 30_000, 'the group reaches bob and carol');
    const report = path.join(files, 'report.bin');
    writeFileSync(report, randomBytes(800_000));
    const got = { bob: collect(bob, 'message-received'), carol: collect(carol, 'message-received') };
    const states = collect(alice, 'message-state');

    const sent = await alice.sendFiles({ conversation: g.conversation, paths: [report], caption: 'for the team' });
    expect(sent).toMatchObject({ conversation: g.conversation, direction: 'out', state: 'sending', body: 'for the team' });
    const listed = [{ index: 0, name: 'report.bin', size: 800_000, type: 'application/octet-stream', state: 'pending' }];
    for (const [who, svc] of [['bob', bob], ['carol', carol]] as const) {
      await waitUntil(() => got[who].some((m) => m.id === sent.id), 30_000, `${who} receives the file`);
      const m = got[who].find((x) => x.id === sent.id) as MessageView;
      expect(m).toMatchObject({ conversation: g.conversation, sender: 'alice', body: 'for the team' });
      expect(m.attachments).toEqual(listed);
      // Not a direct message from alice.
      expect((await svc.loadMessages({ conversation: 'd:alice' }).catch(() => ({ messages: [] }))).messages.some((x) => x.id === sent.id)).toBe(false);
      const page = await svc.loadMessages({ conversation: g.conversation });
      expect(page.messages.find((x) => x.id === sent.id)?.attachments).toEqual(listed);
      const out = path.join(files, `${who}-report.bin`);
      await svc.saveAttachment({ messageId: sent.id, index: 0, path: out });
      expect(sha(out)).toBe(sha(report));
    }
    await waitUntil(() => states.some((s) => s.id === sent.id && s.state === 'delivered'), 30_000, 'both receipts arrive');
    expect(states.some((s) => s.id === sent.id && s.state === 'failed')).toBe(false);
    const mine = (await alice.loadMessages({ conversation: g.conversation })).messages.find((x) => x.id === sent.id)!;
    expect(mine.attachments?.map((a) => a.state)).toEqual(['complete']);
  });

  test('a group file cannot be sent where nobody else is, and bad conversations are typed errors', async () => {
    const alone = await (await alice.groups()).create('just me', []);
    const file = path.join(files, 'x.txt');
    writeFileSync(file, 'x');
    await expect(alice.sendFiles({ conversation: alone.conversation, paths: [file] })).rejects.toMatchObject({ code: 'INVALID' });
    await expect(alice.sendFiles({ conversation: `g:${'0'.repeat(32)}`, paths: [file] })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(alice.sendFiles({ conversation: 'nonsense' as never, paths: [file] })).rejects.toMatchObject({ code: 'INVALID' });
    // Dave is alice's contact but not in the group: he never gets the group's file.
    expect((await dave.groups()).list()).toEqual([]);
  });
});
