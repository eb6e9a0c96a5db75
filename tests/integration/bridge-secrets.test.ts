/**
 * The browser bridge (dev/test host of the real core) keeps its secrets off the command line, where `ps` shows them
 * to every local user: the page token comes from PARLEY_BRIDGE_TOKEN or a 0600 --token-file, never argv; and its
 * --relay passes the same address check as everywhere else. Real bridge processes (tsx), real /proc.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ROOT, cleanupAll, onCleanup, tmpDir } from '../helpers/core.js';

afterAll(cleanupAll);

const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

/** A renderer folder with just an index.html: the bridge only needs something to serve. */
function rendererDir(): string {
  const dir = tmpDir('bridge-renderer');
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>bridge test</title>');
  return dir;
}

function launch(args: string[], env: Record<string, string> = {}): { child: ChildProcessWithoutNullStreams; ready: Promise<{ token: string }>; exit: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(TSX, ['electron/bridge/cli.ts', '--renderer', rendererDir(), ...args], { cwd: ROOT, env: { ...process.env, ...env } });
  onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    }
  });
  let out = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
  const ready = new Promise<{ token: string }>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('PARLEY_BRIDGE_READY '));
      if (line) resolve(JSON.parse(line.slice('PARLEY_BRIDGE_READY '.length)) as { token: string });
    });
    void exit.then(({ code }) => reject(new Error(`bridge exited (${String(code)}) before it was ready: ${stderr}`)));
  });
  ready.catch(() => undefined); // a bridge that is meant to refuse never gets ready; tests that expect it await `ready`
  return { child, ready, exit };
}

/** The pid and every descendant's pid (tsx runs node in a child process). */
function processTree(root: number): number[] {
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may contain spaces, so split after the last ')'.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parents.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* the process ended meanwhile */
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) for (const [pid, ppid] of parents) if (ppid === tree[i] && !tree.includes(pid)) tree.push(pid);
  return tree;
}

function cmdlines(pids: number[]): string[] {
  return pids.flatMap((pid) => {
    try {
      return [readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')];
    } catch {
      return [];
    }
  });
}

describe('bridge secrets stay off argv', { timeout: 60_000 }, () => {
  test('the token from PARLEY_BRIDGE_TOKEN is used and appears in no process command line', async () => {
    const token = `tok-${randomBytes(16).toString('hex')}`;
    const b = launch(['--profile', tmpDir('bridge-env')], { PARLEY_BRIDGE_TOKEN: token, PARLEY_PASSPHRASE: 'bridge pass marker 1' });
    expect((await b.ready).token).toBe(token);
    const tree = processTree(b.child.pid!);
    const lines = cmdlines(tree);
    expect(lines.some((l) => l.includes('electron/bridge/cli.ts'))).toBe(true); // we looked at the right processes
    for (const l of lines) {
      expect(l).not.toContain(token);
      expect(l).not.toContain('bridge pass marker 1');
    }
  });

  test('--token-file is read when private, refused when others can read it', async () => {
    const dir = tmpDir('bridge-tokfile');
    const file = path.join(dir, 'token');
    const token = `file-${randomBytes(16).toString('hex')}`;
    writeFileSync(file, `${token}\n`, { mode: 0o644 });
    const open = launch(['--profile', tmpDir('bridge-tf1'), '--token-file', file]);
    const refused = await open.exit;
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/readable by other users: chmod 600/);

    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    const ok = launch(['--profile', tmpDir('bridge-tf2'), '--token-file', file]);
    expect((await ok.ready).token).toBe(token);
    const lines = cmdlines(processTree(ok.child.pid!));
    expect(lines.some((l) => l.includes('electron/bridge/cli.ts'))).toBe(true); // not an empty set of processes
    for (const l of lines) expect(l).not.toContain(token);
  });

  test('--relay goes through the same address check (plain remote refused without --insecure-relay)', async () => {
    const b = launch(['--profile', tmpDir('bridge-relay'), '--relay', 'http://192.0.2.10:7070']);
    const r = await b.exit;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bridge: 192\.0\.2\.10:7070 is not this computer/);
  });
});
