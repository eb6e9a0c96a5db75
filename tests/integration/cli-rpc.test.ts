/**
 * Story: a bot drives Alice's profile through `cli rpc` (JSON-RPC 2.0 over stdin/stdout, one unlocked, connected
 * core) against a real relay, while Bob uses the ordinary CLI. The bot adds Bob and sends; Bob's `listen` gets the
 * message; Bob's reply reaches the bot as a `message` notification with `listen`'s fields. Failing commands come
 * back as JSON-RPC errors; a line that is not JSON gets a parse error and the process keeps serving.
 * File vaults (passphrase in the environment), so no keyring is needed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { childEnv, CLI, cleanupAll, fixtureFile, onCleanup, ROOT, runCli, spawnCli, startTestRelay, tmpDir, type TestRelay } from '../helpers/core.js';

type Msg = Record<string, unknown>;
const env = childEnv({ PARLEY_PASSPHRASE: 'rpc test passphrase' });

/** The `rpc` process: write requests, await responses by id and notifications by predicate. */
function startRpc(profile: string): { proc: ChildProcess; lines: Msg[]; raw: string[]; call: (method: string, params?: unknown) => Promise<Msg>; sendRaw: (line: string) => void; waitFor: (pred: (m: Msg) => boolean, ms?: number) => Promise<Msg>; stderr: () => string } {
  const proc = spawn(process.execPath, ['--import', 'tsx', CLI, '--profile', profile, 'rpc'], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  onCleanup(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  const lines: Msg[] = [];
  const raw: string[] = [];
  const waiters = new Set<() => void>();
  let buf = '';
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      raw.push(line);
      lines.push(JSON.parse(line) as Msg); // every stdout line must be JSON: this throws (and fails the test) otherwise
    }
    for (const w of [...waiters]) w();
  });
  proc.on('close', () => {
    for (const w of [...waiters]) w();
  });
  const waitFor = (pred: (m: Msg) => boolean, ms = 30_000): Promise<Msg> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const hit = lines.find(pred);
        if (hit) {
          done();
          resolve(hit);
        } else if (proc.exitCode !== null || proc.signalCode !== null) {
          done();
          reject(new Error(`rpc exited (${proc.exitCode ?? proc.signalCode}); stderr: ${err}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out; last lines: ${raw.slice(-3).join(' | ')}; stderr: ${err}`));
      }, ms);
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  let nextId = 1;
  const sendRaw = (line: string): void => void proc.stdin!.write(line + '\n');
  const call = (method: string, params?: unknown): Promise<Msg> => {
    const id = nextId++;
    sendRaw(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params !== undefined ? { params } : {}) }));
    return waitFor((m) => m.id === id);
  };
  return { proc, lines, raw, call, sendRaw, waitFor, stderr: () => err };
}

let relay: TestRelay;
let alice: string;
let bob: string;

beforeAll(async () => {
  relay = await startTestRelay();
  alice = tmpDir('rpc-alice');
  bob = tmpDir('rpc-bob');
  for (const [dir, name, n] of [[alice, 'alice', 0], [bob, 'bob', 1]] as const) {
    const r = await runCli(['--profile', dir, '--relay', relay.url, '--vault', 'file', 'init', name, '--test-identity', await fixtureFile(n)], { env });
    expect(r.stderr + r.stdout).toContain(`Created identity ${name}`);
  }
});

afterAll(cleanupAll);

describe('cli rpc: JSON-RPC 2.0 on one unlocked, connected core', { timeout: 120_000 }, () => {
  test('send and receive, errors as JSON-RPC errors, bad JSON answered without crashing', async () => {
    const rpc = startRpc(alice);
    await rpc.waitFor((m) => m.method === 'connection' && (m.params as Msg).status === 'online');

    // Not JSON: a parse error with id null, and the process keeps serving.
    rpc.sendRaw('{"jsonrpc": "2.0", "method": "whoami", "id": 1');
    const parseErr = await rpc.waitFor((m) => (m.error as Msg | undefined)?.code === -32700);
    expect(parseErr).toMatchObject({ jsonrpc: '2.0', id: null });
    rpc.sendRaw('"just a string"');
    await rpc.waitFor((m) => (m.error as Msg | undefined)?.code === -32600);

    const who = await rpc.call('whoami');
    expect(who).toMatchObject({ jsonrpc: '2.0', result: { username: 'alice', vault: 'file' } });

    expect(await rpc.call('no-such-method')).toMatchObject({ error: { code: -32601 } });
    expect(await rpc.call('init', { username: 'x' })).toMatchObject({ error: { code: -32601 } });
    expect(await rpc.call('send', { to: 'bob' })).toMatchObject({ error: { code: -32602 } });
    // Bob is not a contact yet: the core's typed error, as a JSON-RPC command error with its code.
    const notContact = await rpc.call('send', { to: 'bob', text: 'too early' });
    expect(notContact).toMatchObject({ error: { code: -32000, data: { code: expect.stringMatching(/^[A-Z_]+$/) } } });
    expect(notContact.error).not.toMatchObject({ data: { code: 'INTERNAL' } });

    const bobListen = spawnCli(['--profile', bob, 'listen'], { env });
    await bobListen.waitForLine((l) => l.event === 'connection' && l.status === 'online');

    expect(await rpc.call('add', { username: 'bob' })).toMatchObject({ result: { username: 'bob' } });
    const sent = await rpc.call('send', { to: 'bob', text: 'hello from the bot' });
    const sentId = (sent.result as Msg).id;
    expect(sentId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(typeof (sent.result as Msg).state).toBe('string');
    const got = await bobListen.waitForLine((l) => l.event === 'message');
    expect(got).toMatchObject({ contact: 'alice', direction: 'in', body: 'hello from the bot' });
    // Its later states arrive as notifications for the same id.
    await rpc.waitFor((m) => m.method === 'state' && (m.params as Msg).id === sentId && (m.params as Msg).state === 'delivered');
    expect(await bobListen.stop()).toBe(0);

    // Bob answers with the ordinary CLI: the bot gets a `message` notification with listen's fields.
    expect((await runCli(['--profile', bob, 'send', 'alice', 'hi bot'], { env })).code).toBe(0);
    const note = await rpc.waitFor((m) => m.method === 'message');
    expect(note).toMatchObject({ jsonrpc: '2.0', method: 'message', params: { contact: 'bob', direction: 'in', body: 'hi bot' } });
    expect(note).not.toHaveProperty('id');

    const history = await rpc.call('history', { username: 'bob', limit: 10 });
    expect((history.result as Msg[]).map((m) => m.body)).toEqual(expect.arrayContaining(['hello from the bot', 'hi bot']));
    // search: the hits as `search --json` prints them, newest first; bad params are JSON-RPC errors.
    const found = await rpc.call('search', { query: 'BOT', in: 'bob' });
    expect((found.result as Msg[]).map((h) => (h.snippet as Msg).text)).toEqual(['hi bot', 'hello from the bot']);
    expect(await rpc.call('search', { query: 'x', limit: 500 })).toMatchObject({ error: { code: -32602 } });

    // A batch gets one array back; a notification (no id) inside it gets no entry.
    rpc.sendRaw(JSON.stringify([{ jsonrpc: '2.0', id: 'b1', method: 'contacts' }, { jsonrpc: '2.0', method: 'whoami' }]));
    const batch = await rpc.waitFor((m) => Array.isArray(m));
    expect(batch).toHaveLength(1);
    expect((batch as unknown as Msg[])[0]).toMatchObject({ id: 'b1', result: [expect.objectContaining({ username: 'bob' })] });

    // End of input: the process answers what it read, then exits cleanly.
    rpc.proc.stdin!.end();
    const code = await new Promise<number | null>((resolve) => rpc.proc.on('close', resolve));
    expect(code).toBe(0);
    expect(rpc.stderr()).not.toContain('hello from the bot'); // bodies are never logged
  });
});
