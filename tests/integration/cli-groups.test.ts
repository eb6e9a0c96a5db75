/**
 * Story: alice, bob and carol each run the headless client (three profiles, separate processes) against one real
 * relay, keys in the real keyring. Alice creates a group with bob and carol; everyone's messages reach the other
 * two in order; carol offline catches up; after carol's removal a later message never reaches her and the relay's
 * data holds no plaintext of it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cleanupAll, fixtureFile, onCleanup, removeKeychainEntry, requireDbusSession, runCli, spawnCli, startTestRelay, tmpDir, type TestRelay } from '../helpers/core.js';

type Line = Record<string, unknown>;
const isOnline = (l: Line) => l.event === 'connection' && l.status === 'online';

let relay: TestRelay;
const dirs: Record<string, string> = {};

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
const bodiesOf = async (who: string, ref: string) =>
  (await cli(who, 'history', ref, '--json')).stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { body: string; sender: string | null });

describe('three CLI profiles in one group', { timeout: 300_000 }, () => {
  test('create, talk in order, offline catch-up, removal', async () => {
    expect((await cli('alice', 'add', 'bob')).code).toBe(0);
    expect((await cli('alice', 'add', 'carol')).code).toBe(0);
    const created = await cli('alice', 'group-create', 'team', 'bob', 'carol');
    expect(created.code).toBe(0);
    const id = /^group #([0-9a-f]{32})$/m.exec(created.stdout)?.[1];
    expect(id).toBeDefined();
    const ref = `#${id}`;

    const bobListen = spawnCli(['--profile', dirs.bob!, 'listen']);
    const carolListen = spawnCli(['--profile', dirs.carol!, 'listen']);
    await bobListen.waitForLine(isOnline);
    await carolListen.waitForLine(isOnline);

    for (const t of ['a1', 'a2']) expect((await cli('alice', 'send', ref, t)).code).toBe(0);
    const groupMsg = (l: Line) => l.event === 'message' && l.conversation === `g:${id}`;
    await bobListen.waitForCount(groupMsg, 2);
    await carolListen.waitForCount(groupMsg, 2);
    expect(bobListen.lines.filter(groupMsg).map((l) => [l.sender, l.body])).toEqual([['alice', 'a1'], ['alice', 'a2']]);
    // Asked only now: being online says nothing about whether bob has processed the group's creation yet (a group
    // message of it arriving does).
    expect(JSON.parse((await cli('bob', 'group-info', ref, '--json')).stdout)).toMatchObject({ name: 'team', version: 1, members: [{ username: 'alice', role: 'admin' }, { username: 'bob' }, { username: 'carol' }] });
    expect(await carolListen.stop()).toBe(0);
    expect(await bobListen.stop()).toBe(0); // one connection per identity: bob's send below would replace it

    // Carol is offline: bob's message waits for her.
    expect((await cli('bob', 'send', ref, 'b1')).code).toBe(0);
    expect((await bodiesOf('alice', ref)).map((m) => m.body)).toEqual(expect.arrayContaining(['a1', 'a2']));
    const carolBack = spawnCli(['--profile', dirs.carol!, 'listen']);
    await carolBack.waitForCount((l) => groupMsg(l) && l.body === 'b1', 1);
    expect(await carolBack.stop()).toBe(0);
    expect((await bodiesOf('carol', ref)).map((m) => `${m.sender}:${m.body}`)).toEqual(['alice:a1', 'alice:a2', 'bob:b1']);

    // Carol removed: a later message never reaches her, and the relay holds no plaintext of it.
    expect((await cli('alice', 'group-remove', ref, 'carol')).code).toBe(0);
    const secret = 'after-removal-7f3a9c';
    expect((await cli('alice', 'send', ref, secret)).code).toBe(0);
    const bobLate = spawnCli(['--profile', dirs.bob!, 'listen']);
    await bobLate.waitForCount((l) => groupMsg(l) && l.body === secret, 1);
    expect(await bobLate.stop()).toBe(0);
    expect(JSON.parse((await cli('bob', 'group-info', ref, '--json')).stdout).members.map((m: { username: string }) => m.username)).toEqual(['alice', 'bob']);
    const carolLate = spawnCli(['--profile', dirs.carol!, 'listen']);
    await carolLate.waitForLine(isOnline);
    expect((await runCli(['--profile', dirs.carol!, 'group-info', ref, '--json'])).code).toBe(0);
    expect(await carolLate.stop()).toBe(0);
    expect(carolLate.lines.some((l) => l.body === secret)).toBe(false);
    expect((await bodiesOf('carol', ref)).some((m) => m.body === secret)).toBe(false);
    const info = JSON.parse((await cli('carol', 'group-info', ref, '--json')).stdout) as { active: boolean };
    expect(info.active).toBe(false);
    // Every file the relay keeps (its SQLite files and the blobs folder), not only the top level.
    const files = readdirSync(relay.dataDir, { recursive: true, encoding: 'utf8' }).map((f) => path.join(relay.dataDir, f)).filter((f) => statSync(f).isFile());
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(readFileSync(f).includes(secret), f).toBe(false);
  });
});
