/**
 * Story: Alice and Bob each run the headless client (separate processes, real relay, real encrypted SQLite files,
 * file vaults so no keyring is needed). Alice writes in several scripts, edits one message and deletes another for
 * everyone; Bob reacts. Bob's `history` shows the edit, the deletion and his reaction; `search` finds by folded
 * diacritics, prefixes, Cyrillic and a 2-character CJK query, highlights the matches, follows edits and deletions,
 * narrows to one conversation with --in, and fails clearly on a bad --in or a missing query.
 * About 20 CLI processes in sequence: minutes on a loaded 2-core machine, hence the long timeout.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { childEnv, cleanupAll, fixtureFile, runCli, spawnCli, startTestRelay, tmpDir, unackedFor, waitUntil, type TestRelay } from '../helpers/core.js';

type Line = Record<string, unknown>;
const env = childEnv({ PARLEY_PASSPHRASE: 'search test passphrase' });
const cli = (args: string[]) => runCli(args, { env });

let relay: TestRelay;
let alice: string;
let bob: string;
const ids: Record<string, string> = {};

beforeAll(async () => {
  relay = await startTestRelay();
  alice = tmpDir('search-alice');
  bob = tmpDir('search-bob');
  for (const [dir, name, n] of [[alice, 'alice', 0], [bob, 'bob', 1]] as const) {
    const r = await cli(['--profile', dir, '--relay', relay.url, '--vault', 'file', 'init', name, '--test-identity', await fixtureFile(n)]);
    expect(r.stderr + r.stdout).toContain(`Created identity ${name}`);
  }
}, 120_000);

afterAll(cleanupAll);

describe('cli search and history with edits, deletes and reactions', { timeout: 600_000 }, () => {
  test('Alice writes, edits and deletes; Bob reacts; history shows all three', async () => {
    const bobListen = spawnCli(['--profile', bob, 'listen'], { env });
    await bobListen.waitForLine((l) => l.event === 'connection' && l.status === 'online');
    expect((await cli(['--profile', alice, 'add', 'bob'])).code).toBe(0);
    const texts: Record<string, string> = {
      cafe: 'Meet me at the Café tomorrow',
      cyrillic: 'Привет! Доставка завтра утром',
      cjk: '我们明天去東京タワー吧',
      edit: 'the delivery arrived, typo',
      gone: 'secret plan, delete me',
    };
    for (const [k, text] of Object.entries(texts)) {
      const r = await cli(['--profile', alice, 'send', 'bob', text]);
      expect(r.code, r.stderr).toBe(0);
      ids[k] = /^(?:sent|delivered) (\S+)$/m.exec(r.stdout)![1]!;
    }
    await bobListen.waitForCount((l) => l.event === 'message', Object.keys(texts).length);

    const edited = await cli(['--profile', alice, 'edit', ids.edit!, 'the delivery arrived at noon']);
    expect(edited.code, edited.stderr).toBe(0);
    const deleted = await cli(['--profile', alice, 'delete', ids.gone!, '--everyone']);
    expect(deleted.code, deleted.stderr).toBe(0);
    // Bob's listen has applied both once the relay holds nothing unacknowledged for him.
    await waitUntil(() => unackedFor(relay, 'bob') === 0, 60_000, "bob's queue on the relay to drain");
    expect(await bobListen.stop()).toBe(0);

    const reacted = await cli(['--profile', bob, 'react', ids.cafe!, '👍']);
    expect(reacted.code, reacted.stderr).toBe(0);

    const hist = await cli(['--profile', bob, 'history', 'alice']);
    expect(hist.code, hist.stderr).toBe(0);
    const line = (id: string) => hist.stdout.split('\n').find((l) => l.endsWith(`#${id}`)) ?? '';
    expect(line(ids.edit!)).toContain('the delivery arrived at noon (edited)');
    expect(line(ids.gone!)).toContain('[This message was deleted]');
    expect(hist.stdout).not.toContain('secret plan');
    expect(line(ids.cafe!)).toMatch(/Meet me at the Café tomorrow \{👍 \S+\}/);
    const json = (await cli(['--profile', bob, 'history', 'alice', '--json'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);
    expect(json.find((m) => m.id === ids.edit)).toMatchObject({ body: 'the delivery arrived at noon', edited: true });
    expect(json.find((m) => m.id === ids.gone)).toMatchObject({ deleted: true });
    expect(Object.keys((json.find((m) => m.id === ids.cafe)!.reactions ?? {}) as object)).toEqual(['👍']);
  });

  test('search: folded diacritics, prefixes, Cyrillic, 2-character CJK, highlighted, newest first', async () => {
    const cafe = await cli(['--profile', bob, 'search', 'cafe']);
    expect(cafe.code, cafe.stderr).toBe(0);
    expect(cafe.stdout.trim()).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d alice alice: Meet me at the \\*\\*Café\\*\\* tomorrow #${ids.cafe}$`));

    const prefix = await cli(['--profile', bob, 'search', 'deliv']);
    expect(prefix.stdout.trim()).toBe(prefix.stdout.trim().split('\n')[0]); // one hit
    expect(prefix.stdout).toContain('the **delivery** arrived at noon');

    expect((await cli(['--profile', bob, 'search', 'доста'])).stdout).toContain('Привет! **Доставка** завтра утром');
    const cjk = await cli(['--profile', bob, 'search', '東京']);
    expect(cjk.stdout).toContain(`我们明天去**東京**タワー吧 #${ids.cjk}`);

    // Two words: both must match; results newest first.
    const two = await cli(['--profile', alice, 'search', 'the', 'a', '--json']);
    const hits = two.stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);
    expect(hits.map((h) => h.id)).toEqual([ids.edit, ids.cafe]);
    expect(hits[0]).toMatchObject({ conversation: 'd:bob', direction: 'out', sender: null, snippet: { cutStart: false, cutEnd: false } });
  });

  test('search follows edits and deletions', async () => {
    const old = await cli(['--profile', bob, 'search', 'typo']);
    expect(old.code).toBe(0);
    expect(old.stdout.trim()).toBe('No messages match "typo".');
    expect((await cli(['--profile', bob, 'search', 'secret'])).stdout.trim()).toBe('No messages match "secret".');
    expect((await cli(['--profile', bob, 'search', 'noon'])).stdout).toContain(`#${ids.edit}`);
  });

  test('--in narrows to one conversation; bad input fails clearly', async () => {
    const inBob = await cli(['--profile', alice, 'search', 'tomorrow', '--in', 'bob']);
    expect(inBob.code, inBob.stderr).toBe(0);
    expect(inBob.stdout).toContain(`#${ids.cafe}`);
    const unknown = await cli(['--profile', alice, 'search', 'tomorrow', '--in', 'carol']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/No conversation with carol \[NOT_FOUND\]/);
    const badGroup = await cli(['--profile', alice, 'search', 'tomorrow', '--in', '#nothex']);
    expect(badGroup.code).toBe(1);
    const noQuery = await cli(['--profile', alice, 'search']);
    expect(noQuery.code).toBe(2);
    expect(noQuery.stderr).toMatch(/missing <query>/);
    const tooMany = await cli(['--profile', alice, 'search', 'x', '--limit', '300']);
    expect(tooMany.code).toBe(1);
    expect(tooMany.stderr).toMatch(/limit must be an integer in 1\.\.200 \[INVALID\]/);
    // Operators and quotes are plain text, never FTS5 syntax.
    const ops = await cli(['--profile', alice, 'search', '"cafe" OR NEAR(*']);
    expect(ops.code, ops.stderr).toBe(0);
  });
});
