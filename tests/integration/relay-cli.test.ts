/**
 * The relay CLI and registration modes, against real relay processes: `--help` has no side effects; `--registration
 * token` admits new users only with a single-use, expiring invite made by `relay invite` (stored hashed);
 * `--registration closed` admits no new users while registered ones keep working.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RelayClient as AppRelayClient } from '../../electron/core/transport/relay-client.js';
import type { Ack } from '../../relay/protocol/index.js';
import { createInvite } from '../../relay/server/index.js';
import { login, makeParties, RelayClient, REPO_ROOT, removeDir, spawnRelay, tempDir, type Party, type SpawnedRelay } from '../helpers/relay.js';

const run = promisify(execFile);
const CLI = ['--import', 'tsx', path.join(REPO_ROOT, 'relay/cli.ts')];
const code = (r: Ack) => (r.ok ? 'ok' : r.error.code);
const dirs: string[] = [];
const relays: SpawnedRelay[] = [];
let alice: Party;
let bob: Party;
let carol: Party;
let dave: Party;

beforeAll(async () => {
  [alice, bob, carol, dave] = (await makeParties('alice', 'bob', 'carol', 'dave')) as [Party, Party, Party, Party];
});

afterAll(async () => {
  for (const r of relays) await r.stop();
  for (const d of dirs) removeDir(d);
});

describe('relay CLI', () => {
  it('--help prints usage and creates nothing', async () => {
    const root = tempDir();
    dirs.push(root);
    const dataDir = path.join(root, 'relay-data');
    const { stdout } = await run(process.execPath, [...CLI, '--help', '--data', dataDir], { cwd: REPO_ROOT });
    expect(stdout).toContain('Usage: npm run relay');
    expect(stdout).toContain(`No relay key in ${dataDir} yet`);
    expect(existsSync(dataDir)).toBe(false);
    expect(readdirSync(root)).toEqual([]);
  });

  it('token mode: new users need a single-use, unexpired invite from `relay invite`; then closed mode admits none', async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    let relay = await spawnRelay({ dataDir, extraArgs: ['--registration', 'token'] });
    relays.push(relay);
    const c = await RelayClient.connect(relay.url);
    expect(code(await c.register(alice))).toBe('INVITE_REQUIRED');

    // The operator makes an invite while the relay runs; only its hash is on disk.
    const { stdout, stderr } = await run(process.execPath, [...CLI, 'invite', '--data', dataDir, '--hours', '1'], { cwd: REPO_ROOT });
    const invite = stdout.trim();
    expect(invite).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(stderr).toContain('single-use invite');
    const files = readdirSync(path.join(dataDir, 'invites'));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(path.join(dataDir, 'invites', files[0]!), 'utf8')).not.toContain(invite);

    expect(code(await c.register(alice, { invite }))).toBe('ok');
    expect(code(await c.register(bob, { invite }))).toBe('INVITE_REQUIRED'); // used up
    expect(code(await c.register(alice))).toBe('ok'); // re-registering a registered identity needs none
    const expired = createInvite(dataDir, { ttlMs: 1000, now: Date.now() - 5000 });
    expect(code(await c.register(bob, { invite: expired.code }))).toBe('INVITE_REQUIRED');
    c.close();

    // The app's client registers with an invite it was given.
    const fresh = createInvite(dataDir);
    const app = new AppRelayClient({ url: relay.url, identity: carol.keys, registerAs: 'carol', registerInvite: fresh.code, reconnect: { enabled: false } });
    try {
      app.connect();
      await app.waitOnline(15_000);
      expect(app.online).toBe(true);
    } finally {
      app.close();
    }

    // Closed: no new users, even with an invite; registered ones keep registering (idempotent) and logging in.
    await relay.stop();
    relay = await spawnRelay({ dataDir, extraArgs: ['--registration', 'closed'] });
    relays.push(relay);
    const d = await RelayClient.connect(relay.url);
    expect(code(await d.register(dave, { invite: createInvite(dataDir).code }))).toBe('REGISTRATION_CLOSED');
    d.close();
    const a = await login(relay.url, relay.fingerprint, alice);
    a.close();

    const bad = await run(process.execPath, [...CLI, '--registration', 'maybe', '--data', dataDir], { cwd: REPO_ROOT }).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(bad?.code).toBe(2);
    expect(bad?.stderr).toContain('bad --registration');
  });
});
