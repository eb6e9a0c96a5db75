/**
 * Story: the client is killed with SIGKILL in the middle of a transfer, and started again. Alice's `send-file` of a
 * 48 MiB file is killed as soon as it reports its first uploaded piece (the relay then holds part of the blob);
 * her next `listen` continues the same upload from the relay's offset and sends the message. Bob's
 * `save-attachment` is killed as soon as it reports its first downloaded piece (his profile's cache then holds part
 * of the blob); run again, it continues and writes the file. Both SHA-256 equal the original. Real relay, real
 * CLI processes, real keyring.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CLI, ROOT, childEnv, cleanupAll, fixtureFile, onCleanup, removeKeychainEntry, requireDbusSession, runCli, spawnCli, startTestRelay, tmpDir, type TestRelay } from '../helpers/core.js';

const FILE_BYTES = 48 * 1024 * 1024;

let relay: TestRelay;
let alice: string;
let bob: string;
const files = tmpDir('resume-files');

async function sha(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(file)) h.update(c as Buffer);
  return h.digest('hex');
}

/** The relay's blob data files (ciphertext) and their sizes. */
function relayBlobs(): Array<{ file: string; size: number }> {
  const dir = path.join(relay.dataDir, 'blobs');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.data'))
    .map((f) => ({ file: f, size: statSync(path.join(dir, f)).size }));
}

/**
 * Runs a CLI command with --progress and SIGKILLs it after its first progress line that is neither the first nor the
 * last piece, once `ready()` holds. Resolves with that line's numbers once the process is gone.
 */
function killOnFirstProgress(args: string[], ready: () => boolean = () => true): Promise<{ id: string; done: number; total: number }> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', CLI, ...args, '--progress'], { cwd: ROOT, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    onCleanup(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let err = '';
    let seen: { id: string; done: number; total: number } | null = null;
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      // The first line with some bytes moved and some left (a 0/total line may come first: killing there would leave
      // nothing on the relay, and the test would depend on how fast the first piece went).
      const m = [...err.matchAll(/^progress (\S+) 0 (?:up|down) (\d+)\/(\d+)$/gm)].find((l) => Number(l[2]) > 0 && Number(l[2]) < Number(l[3]));
      if (!seen && m) {
        seen = { id: m[1]!, done: Number(m[2]), total: Number(m[3]) };
        // Then wait for the state the test needs (e.g. bytes on the relay's disk: an upload reports the bytes it
        // handed to the connection, which the relay may not have written yet), polled, at most 30 s.
        const deadline = Date.now() + 30_000;
        const killWhenReady = () => {
          let ok = false;
          try {
            ok = ready();
          } catch {
            // e.g. the relay's blob folder not made yet: not ready
          }
          if (ok || Date.now() > deadline) child.kill('SIGKILL');
          else setTimeout(killWhenReady, 5);
        };
        killWhenReady();
      }
    });
    child.on('close', (code, signal) => {
      if (seen && signal === 'SIGKILL') resolve(seen);
      else reject(new Error(`expected a progress line and a kill; exit ${code} ${signal}\n${err}`));
    });
  });
}

beforeAll(async () => {
  requireDbusSession();
  relay = await startTestRelay();
  alice = tmpDir('alice');
  bob = tmpDir('bob');
  onCleanup(() => removeKeychainEntry(alice));
  onCleanup(() => removeKeychainEntry(bob));
  for (const [dir, name, n] of [[alice, 'alice', 0], [bob, 'bob', 1]] as const) {
    const r = await runCli(['--profile', dir, '--relay', relay.url, '--vault', 'keychain', 'init', name, '--test-identity', await fixtureFile(n)]);
    expect(r.code).toBe(0);
  }
  expect((await runCli(['--profile', alice, 'add', 'bob'])).code).toBe(0);
});

afterAll(cleanupAll);

describe('kill -9 of the client mid-transfer', { timeout: 300_000 }, () => {
  test('an upload and a download killed halfway both finish intact when started again', async () => {
    const big = path.join(files, 'big.bin');
    const piece = randomBytes(1024 * 1024);
    writeFileSync(big, Buffer.concat(Array.from({ length: FILE_BYTES / piece.length }, (_, i) => Buffer.concat([Buffer.from([i]), piece.subarray(1)]))));

    // Upload killed after its first acknowledged piece: the relay holds part of the blob, the message waits.
    const up = await killOnFirstProgress(['--profile', alice, 'send-file', 'bob', big], () => relayBlobs().some((b) => b.size > 0));
    const partial = relayBlobs();
    expect(partial).toHaveLength(1);
    expect(partial[0]!.size).toBeGreaterThan(0);
    expect(partial[0]!.size).toBeLessThan(up.total);
    const waiting = await runCli(['--profile', alice, 'history', 'bob', '--json']);
    expect(JSON.parse(waiting.stdout.trim().split('\n').at(-1)!)).toMatchObject({ id: up.id, state: 'sending' });

    // Started again: the same blob continues (still one blob on the relay) and the message goes out.
    const aliceAgain = spawnCli(['--profile', alice, 'listen']);
    await aliceAgain.waitForLine((l) => l.event === 'state' && l.id === up.id && (l.state === 'sent' || l.state === 'delivered'), 120_000);
    expect(await aliceAgain.stop()).toBe(0);
    expect(aliceAgain.lines.some((l) => l.event === 'state' && l.id === up.id && l.state === 'failed')).toBe(false);
    const complete = relayBlobs();
    expect(complete.map((b) => b.file)).toEqual(partial.map((b) => b.file));
    expect(complete[0]!.size).toBe(up.total);

    const bobListen = spawnCli(['--profile', bob, 'listen']);
    const got = await bobListen.waitForLine((l) => l.event === 'message' && l.id === up.id, 60_000);
    expect(got.attachments).toEqual([{ index: 0, name: 'big.bin', size: FILE_BYTES, type: 'application/octet-stream' }]);
    expect(await bobListen.stop()).toBe(0);

    // Download killed after its first piece: bob's cache holds part of the ciphertext, nothing is saved.
    const out = path.join(files, 'bob-big.bin');
    const down = await killOnFirstProgress(['--profile', bob, 'save-attachment', up.id, '0', out]);
    expect(down.total).toBe(up.total);
    const cacheDir = path.join(bob, 'attachments');
    const cached = readdirSync(cacheDir).map((f) => statSync(path.join(cacheDir, f)).size);
    expect(cached).toHaveLength(1);
    expect(cached[0]).toBeLessThan(up.total);
    expect(readdirSync(files).filter((f) => f.startsWith('bob-big'))).toEqual([]);

    // Run again: it continues from what the cache holds (its first piece ends past it), verifies, writes the bytes.
    const saved = await runCli(['--profile', bob, 'save-attachment', up.id, '0', out, '--progress'], { timeoutMs: 120_000 });
    expect(saved.code, saved.stderr).toBe(0);
    const firstPiece = /^progress \S+ 0 down (\d+)\/\d+$/m.exec(saved.stderr);
    expect(Number(firstPiece?.[1])).toBeGreaterThan(cached[0]!);
    expect(await sha(out)).toBe(await sha(big));
  });
});
