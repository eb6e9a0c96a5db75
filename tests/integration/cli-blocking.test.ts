/**
 * The headless client's `blocked` and `unblock <username|#groupId>` (two profiles in separate processes, one real
 * relay, keys in the real keyring): a blocked user and a blocked group request are listed, unblocking brings each
 * back as a message request, and bad refs get one clear error line.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cleanupAll, fixtureFile, onCleanup, removeKeychainEntry, requireDbusSession, runCli, spawnCli, startTestRelay, tmpDir, type TestRelay } from '../helpers/core.js';

type Line = Record<string, unknown>;

let relay: TestRelay;
const dirs: Record<string, string> = {};

beforeAll(async () => {
  requireDbusSession();
  relay = await startTestRelay();
  for (const [name, n] of [['alice', 0], ['bob', 1]] as const) {
    const dir = tmpDir(name);
    dirs[name] = dir;
    onCleanup(() => removeKeychainEntry(dir));
    const r = await runCli(['--profile', dir, '--relay', relay.url, '--vault', 'keychain', 'init', name, '--test-identity', await fixtureFile(n)]);
    expect(r.code).toBe(0);
  }
});

afterAll(cleanupAll);

const cli = (who: string, ...args: string[]) => runCli(['--profile', dirs[who]!, ...args]);

/** Bob listens until a message matching `pred` arrives (processed and stored), then stops. */
async function bobReceives(pred: (l: Line) => boolean): Promise<void> {
  const listen = spawnCli(['--profile', dirs.bob!, 'listen']);
  await listen.waitForCount((l) => l.event === 'message' && pred(l), 1);
  expect(await listen.stop()).toBe(0);
}

describe('CLI: blocked, unblock', { timeout: 240_000 }, () => {
  test('a blocked user and a blocked group request are listed and come back as requests', async () => {
    expect((await cli('alice', 'add', 'bob')).code).toBe(0);
    expect((await cli('alice', 'send', 'bob', 'hello bob')).code).toBe(0);
    await bobReceives((l) => l.body === 'hello bob');
    expect((await cli('bob', 'blocked')).stdout.trim()).toBe('Nobody is blocked.');
    expect((await cli('bob', 'block', 'alice')).stdout.trim()).toBe('Blocked alice');

    // A group from alice (blocked): bob never sees it. So unblock her, take the group as a request, block that.
    expect((await cli('bob', 'unblock', 'alice')).code).toBe(0);
    expect((await cli('bob', 'contacts')).stdout).toMatch(/^alice .*\(message request\)$/m);
    const created = await cli('alice', 'group-create', 'team', 'bob');
    expect(created.code).toBe(0);
    const id = /^group #([0-9a-f]{32})$/m.exec(created.stdout)?.[1];
    expect(id).toBeDefined();
    expect((await cli('alice', 'send', `#${id}`, 'welcome')).code).toBe(0);
    await bobReceives((l) => l.conversation === `g:${id}` && l.body === 'welcome');
    expect((await cli('bob', 'group-block', `#${id}`)).code).toBe(0);

    const listed = await cli('bob', 'blocked');
    expect(listed.code).toBe(0);
    expect(listed.stdout.trim().split('\n')).toEqual(['alice', `#${id} “team” (added by alice)`]);
    const json = (await cli('bob', 'blocked', '--json')).stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);
    expect(json).toEqual([
      { kind: 'user', username: 'alice', displayName: null },
      { kind: 'group', id, name: 'team', addedBy: 'alice' },
    ]);

    const unblocked = await cli('bob', 'unblock', `#${id}`);
    expect(unblocked.code).toBe(0);
    expect(unblocked.stdout.trim()).toBe(`Unblocked #${id}: their next messages arrive as a message request`);
    expect((await cli('bob', 'group-info', `#${id}`)).stdout).toMatch(/\(request\)/);
    expect((await cli('bob', 'unblock', 'alice')).code).toBe(0);
    expect((await cli('bob', 'blocked')).stdout.trim()).toBe('Nobody is blocked.');

    // Alice's next group message arrives (the group is a request again; nothing from the block is replayed).
    expect((await cli('alice', 'send', `#${id}`, 'are you back?')).code).toBe(0);
    await bobReceives((l) => l.conversation === `g:${id}` && l.body === 'are you back?');

    // Errors: one line on stderr with the code, non-zero exit.
    const again = await cli('bob', 'unblock', 'alice');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/alice is not blocked \[INVALID\]/);
    const bad = await cli('bob', 'unblock', '#xyz');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/Not a group id.*\[INVALID\]/);
    expect((await cli('bob', 'unblock', 'nobody1')).stderr).toMatch(/\[NOT_FOUND\]/);
  });
});
