/**
 * `verify` on the command line marks a contact verified only when the user confirms the 60 digits they compared:
 * with --confirm (spaces allowed) or typed at the prompt when stdin is a terminal. Printing the number alone, or
 * confirming other digits, marks nothing. Real relay, real CLI processes, file-vault profiles.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CLI, ROOT, childEnv, cleanupAll, fixtureFile, runCli, startTestRelay, tmpDir } from '../helpers/core.js';

const env = childEnv({ PARLEY_PASSPHRASE: 'verify passphrase 1' });
const cara = tmpDir('verify-cara');
const dan = tmpDir('verify-dan');
const isVerified = async (): Promise<boolean> => /^dan .*verified/m.test((await runCli(['--profile', cara, 'contacts'], { env })).stdout);
const groups = (s: string): string => s.match(/^(\d{5} ){11}\d{5}$/m)![0];

/** Runs the CLI with stdin, stdout and stderr on a pseudo-terminal (python's pty), typing `input` when prompted. */
function runOnTerminal(args: string[], input: string): Promise<{ code: number | null; output: string }> {
  const py = [
    'import os, pty, sys',
    'pid, fd = pty.fork()',
    'if pid == 0:',
    '    os.execvp(sys.argv[1], sys.argv[1:])',
    'out = b""',
    'sent = False',
    'while True:',
    '    try:',
    '        chunk = os.read(fd, 4096)',
    '    except OSError:',
    '        break',
    '    if not chunk:',
    '        break',
    '    out += chunk',
    '    if not sent and b"type them here" in out:',
    `        os.write(fd, ${JSON.stringify(input)}.encode() + b"\\r")`,
    '        sent = True',
    '_, status = os.waitpid(pid, 0)',
    'sys.stdout.write(out.decode(errors="replace"))',
    'sys.exit(os.waitstatus_to_exitcode(status))',
  ].join('\n');
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', py, process.execPath, '--import', 'tsx', CLI, ...args], { cwd: ROOT, env });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`terminal run timed out: ${output}`));
    }, 45_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

beforeAll(async () => {
  const relay = await startTestRelay();
  for (const [dir, name, n] of [[cara, 'cara', 6], [dan, 'dan', 7]] as const) {
    const r = await runCli(['--profile', dir, '--relay', relay.url, '--vault', 'file', 'init', name, '--test-identity', await fixtureFile(n)], { env });
    expect(r.code, r.stderr).toBe(0);
  }
  expect((await runCli(['--profile', cara, 'add', 'dan'], { env })).code).toBe(0);
  expect((await runCli(['--profile', dan, 'add', 'cara'], { env })).code).toBe(0);
}, 120_000);

afterAll(cleanupAll);

describe('verify needs the compared digits', { timeout: 180_000 }, () => {
  test('printing alone or confirming other digits marks nothing; the matching digits do', async () => {
    const shown = await runCli(['--profile', cara, 'verify', 'dan'], { env });
    expect(shown.code).toBe(1);
    expect(shown.stderr).toMatch(/dan is NOT marked verified.*--confirm/);
    const theirs = groups((await runCli(['--profile', dan, 'verify', 'cara'], { env })).stdout);
    expect(groups(shown.stdout)).toBe(theirs);
    expect(await isVerified()).toBe(false);

    const last = theirs.at(-1) === '0' ? '1' : '0';
    const wrong = await runCli(['--profile', cara, 'verify', 'dan', '--confirm', theirs.slice(0, -1) + last], { env });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/dan is NOT marked verified: the digits do not match .*\[MISMATCH\]/);
    const short = await runCli(['--profile', cara, 'verify', 'dan', '--confirm', theirs.slice(0, 20)], { env });
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/60 digits/);
    expect(await isVerified()).toBe(false);

    const ok = await runCli(['--profile', cara, 'verify', 'dan', '--confirm', theirs], { env });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/Marked dan as verified/);
    expect(await isVerified()).toBe(true);
  });

  test('on a terminal the digits are typed at the prompt', async () => {
    // Dan has not verified Cara yet.
    const danVerified = async (): Promise<boolean> => /^cara .*verified/m.test((await runCli(['--profile', dan, 'contacts'], { env })).stdout);
    const theirs = groups((await runCli(['--profile', cara, 'verify', 'dan'], { env })).stdout);
    expect(await danVerified()).toBe(false);
    const wrong = await runOnTerminal(['--profile', dan, 'verify', 'cara'], '1'.repeat(60));
    expect(wrong.code).toBe(1);
    expect(wrong.output).toMatch(/NOT marked verified: the digits do not match/);
    expect(await danVerified()).toBe(false);
    const typed = await runOnTerminal(['--profile', dan, 'verify', 'cara'], theirs);
    expect(typed.code, typed.output).toBe(0);
    expect(typed.output).toMatch(/Marked cara as verified/);
    expect(await danVerified()).toBe(true);
  });
});
