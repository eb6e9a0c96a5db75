/** The relay embedded in-process (as the app runs it) and the CLI's --help / argument errors. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelay } from '../../relay/server/index.js';
import { login, openText, REPO_ROOT, sealText, removeDir, tempDir, type Party, makeParties } from '../helpers/relay.js';

const run = promisify(execFile);
const dirs: string[] = [];
let alice: Party;
let bob: Party;

beforeAll(async () => {
  [alice, bob] = (await makeParties('alice', 'bob')) as [Party, Party];
});

afterAll(() => {
  for (const d of dirs) removeDir(d);
});

describe('embedded relay', () => {
  it('starts in-process, serves, closes gracefully and keeps its queue across restarts', async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const relay = await startRelay({ dataDir, logger });
    expect(relay.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // fsync happens on the writer thread, not the event loop
    expect(lines.find((l) => l.includes('"store open"'))).toContain('"writer":"worker"');
    expect(relay.tls).toBe(false);
    const a = await login(relay.url, relay.fingerprint, alice);
    const b = await login(relay.url, relay.fingerprint, bob);
    b.close();
    const envs = await Promise.all([1, 2, 3].map((i) => sealText(alice, [bob], `embedded ${i}`)));
    for (const e of envs) expect((await a.send(e)).ok).toBe(true);
    const m = relay.metrics();
    expect(m.envelopesAccepted).toBe(3);
    expect(m.authenticated).toBe(1);
    a.close();
    await relay.close();
    await relay.close(); // idempotent
    await expect(fetch(`${relay.url}/healthz`)).rejects.toThrow();

    const again = await startRelay({ dataDir, logger: false, tls: true });
    expect(again.fingerprint).toBe(relay.fingerprint);
    // the three unacknowledged envelopes survived the restart: the store counts them before anyone connects
    expect(again.metrics().queuedEnvelopes).toBe(3);
    expect(again.url).toMatch(/^https:/);
    const b2 = await login(again.url, again.fingerprint, bob, { pin: { value: again.fingerprint } });
    await b2.until(() => b2.deliveries.length === 3, 10_000, 'queue after restart');
    expect(await Promise.all(b2.deliveries.map((d) => openText(bob, alice, d.envelope)))).toEqual(['embedded 1', 'embedded 2', 'embedded 3']);
    const acked = await b2.ack(b2.deliveries.map((d) => ({ from: d.envelope.from, id: d.envelope.id })));
    expect(acked).toEqual({ ok: true, removed: 3 });
    // metrics() answers from the previous store count and refreshes it in the background: poll until it shows the ack
    await b2.until(() => again.metrics().queuedEnvelopes === 0, 10_000, 'queue empty after the ack');
    b2.close();
    await again.close();
  });

  it('refuses bad limits with a clear error', async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    await expect(startRelay({ dataDir, logger: false, limits: { deliverBatch: 100_000 } })).rejects.toThrow(/bad relay limits: deliverBatch/);
  });

  it('CLI --help prints usage and the fingerprint of the data folder; bad arguments exit 2', async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const cli = ['--import', 'tsx', path.join(REPO_ROOT, 'relay/cli.ts')];
    // --help reads an existing key and creates none (relay-cli.test.ts): start the relay first to have one.
    const relay = await startRelay({ dataDir, logger: false });
    await relay.close();
    const { stdout } = await run(process.execPath, [...cli, '--help', '--data', dataDir], { cwd: REPO_ROOT });
    expect(stdout).toContain('Usage: npm run relay');
    const fp = /Relay fingerprint[^\n]*\n\s+([0-9a-f]{64})/.exec(stdout)?.[1];
    expect(fp).toMatch(/^[0-9a-f]{64}$/);
    expect(relay.fingerprint).toBe(fp);
    const bad = await run(process.execPath, [...cli, '--port', 'x', '--data', dataDir], { cwd: REPO_ROOT }).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(bad?.code).toBe(2);
    expect(bad?.stderr).toMatch(/bad --port/);
    const badLimits = await run(process.execPath, [...cli, '--limits', '{"nope":1}', '--data', dataDir], { cwd: REPO_ROOT }).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(badLimits?.code).toBe(2);
    expect(badLimits?.stderr).toMatch(/bad --limits/);
  });
});
