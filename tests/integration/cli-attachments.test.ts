/**
 * Story: alice, bob and carol each run the headless client (separate processes, keys in the real keyring) against
 * one real relay. Alice sends bob a file with a caption (`send-file`), bob's `listen` lists it, bob saves it
 * (`save-attachment`) byte for byte; then files in a group of three: alice's file reaches bob and carol, and bob's
 * file (carol is not his contact) reaches alice and carol. Bad input gets clear errors and exit codes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cleanupAll, fixtureFile, onCleanup, removeKeychainEntry, requireDbusSession, runCli, spawnCli, startTestRelay, tmpDir, type TestRelay } from '../helpers/core.js';

type Line = Record<string, unknown>;
const isOnline = (l: Line) => l.event === 'connection' && l.status === 'online';
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

let relay: TestRelay;
const dirs: Record<string, string> = {};
const files = tmpDir('cli-files');

beforeAll(async () => {
  requireDbusSession();
  relay = await startTestRelay();
  for (const [name, n] of [['alice', 0], ['bob', 1], ['carol', 2]] as const) {
    const dir = tmpDir(name);
    dirs[name] = dir;
    onCleanup(() => removeKeychainEntry(dir));
    const r = await runCli(['--profile', dir, '--relay', relay.url, '--vault', 'keychain', 'init', name, '--test-identity', await fixtureFile(n)]);
    expect(r.code).toBe(0);
  }
});

afterAll(cleanupAll);

const cli = (who: string, ...args: string[]) => runCli(['--profile', dirs[who]!, ...args]);
const sentId = (stdout: string) => /^sent ([A-Za-z0-9_-]{22})$/m.exec(stdout)?.[1];

describe('files from the command line', { timeout: 300_000 }, () => {
  test('send-file to a contact: listen lists the file, save-attachment writes the same bytes', async () => {
    const report = path.join(files, 'report.bin');
    writeFileSync(report, randomBytes(1_500_000)); // three relay pieces
    expect((await cli('alice', 'add', 'bob')).code).toBe(0);
    const bobListen = spawnCli(['--profile', dirs.bob!, 'listen']);
    await bobListen.waitForLine(isOnline);

    const sent = await cli('alice', 'send-file', 'bob', report, '--caption', 'the report');
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(0);
    const id = sentId(sent.stdout);
    expect(id).toBeDefined();

    const got = await bobListen.waitForLine((l) => l.event === 'message' && l.id === id);
    expect(got).toMatchObject({ conversation: 'd:alice', sender: 'alice', body: 'the report' });
    expect(got.attachments).toEqual([{ index: 0, name: 'report.bin', size: 1_500_000, type: 'application/octet-stream' }]);
    expect(await bobListen.stop()).toBe(0);

    const out = path.join(files, 'bob-report.bin');
    const saved = await cli('bob', 'save-attachment', id!, '0', out);
    expect(saved.stderr).toBe('');
    expect(saved.code).toBe(0);
    expect(saved.stdout.trim()).toBe(`saved ${out}`);
    expect(sha(out)).toBe(sha(report));
    // Saved once, it is served from the profile's cache (no relay needed) and history shows the file.
    const again = path.join(files, 'bob-report-again.bin');
    expect((await cli('bob', 'save-attachment', `#${id}`, '0', again)).code).toBe(0);
    expect(sha(again)).toBe(sha(report));
    const history = await cli('bob', 'history', 'alice');
    expect(history.stdout).toContain(`the report [file 0: report.bin, 1500000 bytes, application/octet-stream] #${id}`);
  });

  test('bad input: clear errors and exit codes, nothing sent', async () => {
    const missing = await cli('alice', 'send-file', 'bob', path.join(files, 'no-such-file'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/Not a readable file: no-such-file \[INVALID\]/);
    const stranger = await cli('alice', 'send-file', 'mallory', path.join(files, 'report.bin'));
    expect(stranger.code).toBe(1);
    expect(stranger.stderr).toMatch(/No contact named mallory \[NOT_FOUND\]/);
    const usage = await cli('alice', 'send-file', 'bob');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('missing <username|#groupId> <path>');
    const badIndex = await cli('bob', 'save-attachment', 'AAAAAAAAAAAAAAAAAAAAAA', 'x', path.join(files, 'x'));
    expect(badIndex.code).toBe(2);
    const noMessage = await cli('bob', 'save-attachment', 'AAAAAAAAAAAAAAAAAAAAAA', '0', path.join(files, 'x'));
    expect(noMessage.code).toBe(1);
    expect(noMessage.stderr).toMatch(/No such message \[NOT_FOUND\]/);
  });

  test('files in a group of three: every member receives and saves them', { timeout: 600_000 }, async () => {
    expect((await cli('alice', 'add', 'carol')).code).toBe(0);
    const created = await cli('alice', 'group-create', 'team', 'bob', 'carol');
    expect(created.code).toBe(0);
    const groupId = /^group #([0-9a-f]{32})$/m.exec(created.stdout)?.[1];
    expect(groupId).toBeDefined();
    const ref = `#${groupId}`;
    const inGroup = (id: string | undefined) => (l: Line) => l.event === 'message' && l.conversation === `g:${groupId}` && l.id === id;

    const photo = path.join(files, 'plan.txt');
    writeFileSync(photo, 'the plan, in plain text\n'.repeat(40_000)); // ~1 MiB
    const bobListen = spawnCli(['--profile', dirs.bob!, 'listen']);
    const carolListen = spawnCli(['--profile', dirs.carol!, 'listen']);
    await bobListen.waitForLine(isOnline);
    await carolListen.waitForLine(isOnline);
    const sent = await cli('alice', 'send-file', ref, photo, '--caption', 'for the team');
    expect(sent.code).toBe(0);
    const id = sentId(sent.stdout);
    const listed = [{ index: 0, name: 'plan.txt', size: 960_000, type: 'text/plain' }];
    for (const listener of [bobListen, carolListen]) {
      const got = await listener.waitForLine(inGroup(id));
      expect(got).toMatchObject({ sender: 'alice', body: 'for the team' });
      expect(got.attachments).toEqual(listed);
    }
    expect(await bobListen.stop()).toBe(0);
    expect(await carolListen.stop()).toBe(0);
    for (const who of ['bob', 'carol']) {
      const out = path.join(files, `${who}-plan.txt`);
      const saved = await cli(who, 'save-attachment', id!, '0', out);
      expect(saved.code, saved.stderr).toBe(0);
      expect(sha(out)).toBe(sha(photo));
    }
    // Alice's own history shows the file in the group; no one outside the group got a direct message.
    expect((await cli('alice', 'history', ref)).stdout).toContain('for the team [file 0: plan.txt, 960000 bytes, text/plain]');
    expect((await cli('carol', 'history', 'alice')).stdout).not.toContain('for the team');

    // Bob sends a file to the group; carol is not his contact (the fan-out pins her from the group state).
    const notes = path.join(files, 'notes.bin');
    writeFileSync(notes, randomBytes(700_000));
    const aliceListen = spawnCli(['--profile', dirs.alice!, 'listen']);
    const carolBack = spawnCli(['--profile', dirs.carol!, 'listen']);
    await aliceListen.waitForLine(isOnline);
    await carolBack.waitForLine(isOnline);
    const fromBob = await cli('bob', 'send-file', ref, notes);
    expect(fromBob.code, fromBob.stderr).toBe(0);
    const bobsId = sentId(fromBob.stdout);
    for (const listener of [aliceListen, carolBack]) {
      const got = await listener.waitForLine(inGroup(bobsId));
      expect(got).toMatchObject({ sender: 'bob', body: '' });
      expect(got.attachments).toEqual([{ index: 0, name: 'notes.bin', size: 700_000, type: 'application/octet-stream' }]);
    }
    expect(await aliceListen.stop()).toBe(0);
    expect(await carolBack.stop()).toBe(0);
    for (const who of ['alice', 'carol']) {
      const out = path.join(files, `${who}-notes.bin`);
      const saved = await cli(who, 'save-attachment', bobsId!, '0', out);
      expect(saved.code, saved.stderr).toBe(0);
      expect(sha(out)).toBe(sha(notes));
    }
  });

  test('relay down: send-file queues (exit 3); with the relay back, the next listen uploads and sends it', { timeout: 300_000 }, async () => {
    const port = Number(new URL(relay.url).port);
    await relay.close();
    const late = path.join(files, 'late.txt');
    writeFileSync(late, 'sent while the relay was down\n');
    const queued = await cli('alice', '--timeout', '2', 'send-file', 'bob', late);
    expect(queued.code).toBe(3);
    const id = /^queued ([A-Za-z0-9_-]{22})$/m.exec(queued.stdout)?.[1];
    expect(id).toBeDefined();
    expect(queued.stderr).toContain(`queued ${id}: the relay is not reachable`);

    relay = await startTestRelay({ dataDir: relay.dataDir, port });
    const aliceBack = spawnCli(['--profile', dirs.alice!, 'listen']);
    await aliceBack.waitForLine((l) => l.event === 'state' && l.id === id && (l.state === 'sent' || l.state === 'delivered'), 120_000);
    expect(await aliceBack.stop()).toBe(0);
    const bobListen = spawnCli(['--profile', dirs.bob!, 'listen']);
    const got = await bobListen.waitForLine((l) => l.event === 'message' && l.id === id, 60_000);
    expect(got.attachments).toEqual([{ index: 0, name: 'late.txt', size: 30, type: 'text/plain' }]);
    expect(await bobListen.stop()).toBe(0);
  });
});
