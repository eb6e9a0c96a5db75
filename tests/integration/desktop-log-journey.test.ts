/**
 * Desktop logs through a full journey in the real core host: the browser bridge process (the dev/test host of the
 * same core the Electron main process runs, with the same desktop log) on a file-vault profile made by the CLI, a
 * real relay, and Bob as an in-process core. Alice's page (a WebSocket client with the run token) adds Bob, sends
 * marked message bodies, receives Bob's marked replies, copies the debug log; a page with a wrong (marked) token is
 * refused. Then every file under Alice's logs/ is scanned: none holds a body, the passphrase or a token, and the
 * expected lines are there (so the check cannot pass on an empty log).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import { ROOT, childEnv, cleanupAll, fixtureFile, fixtureService, onCleanup, runCli, startTestRelay, tmpDir, waitUntil } from '../helpers/core.js';

afterAll(cleanupAll);

const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const mark = (what: string): string => `MARK-${what}-${randomBytes(6).toString('hex')}`;

type Frame = { type: string; id?: number; ok?: boolean; value?: unknown; error?: { code: string }; event?: string; payload?: Record<string, unknown> };

/** A page of the bridge: hello with the token, then calls; events are collected. */
async function page(port: number, token: string): Promise<{ call: (method: string, ...args: unknown[]) => Promise<unknown>; events: Frame[]; closed: Promise<number>; close: () => void }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/rpc`, { origin: `http://127.0.0.1:${port}` });
  const events: Frame[] = [];
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
  ws.on('message', (d) => {
    const f = JSON.parse(String(d)) as Frame;
    if (f.type === 'ready') ready();
    else if (f.type === 'event') events.push(f);
    else if (f.type === 'result' && f.id !== undefined) {
      const p = pending.get(f.id);
      pending.delete(f.id);
      if (f.ok) p?.resolve(f.value);
      else p?.reject(Object.assign(new Error(f.error?.code ?? 'error'), f.error));
    }
  });
  await new Promise<void>((r, j) => {
    ws.once('open', () => r());
    ws.once('error', j);
  });
  ws.send(JSON.stringify({ type: 'hello', token }));
  let next = 1;
  return {
    events,
    closed,
    close: () => ws.close(),
    call: async (method, ...args) => {
      await isReady;
      const id = next++;
      const done = new Promise<unknown>((resolve, reject) => pending.set(id, { resolve, reject }));
      ws.send(JSON.stringify({ type: 'call', id, method, args }));
      return done;
    },
  };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

describe('desktop logs keep secrets out', { timeout: 180_000 }, () => {
  test('a full journey through the bridge host writes useful logs without bodies, passphrase or token', async () => {
    const relay = await startTestRelay();
    const passphrase = mark('passphrase');
    const token = mark('token');
    const wrongToken = mark('wrongtoken');
    const bodies = [mark('body1'), mark('body2'), mark('body3')];
    const replies = [mark('reply1'), mark('reply2')];

    const alice = path.join(tmpDir('dlog-journey'), 'alice');
    const env = childEnv({ PARLEY_PASSPHRASE: passphrase });
    const init = await runCli(['--profile', alice, '--relay', relay.url, '--vault', 'file', 'init', 'alice', '--test-identity', await fixtureFile(0)], { env });
    expect(init.code, init.stderr).toBe(0);
    const bob = await fixtureService(1, 'bob', relay.url);
    await bob.waitOnline();

    const renderer = tmpDir('dlog-renderer');
    writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>t</title>');
    const child = spawn(TSX, ['electron/bridge/cli.ts', '--profile', alice, '--renderer', renderer, '--kdf-iterations', '600000'], {
      cwd: ROOT,
      env: { ...env, PARLEY_BRIDGE_TOKEN: token, PARLEY_LOG_LEVEL: 'debug' },
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    onCleanup(async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    });
    let out = '';
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n').find((l) => l.startsWith('PARLEY_BRIDGE_READY '));
        if (line) resolve((JSON.parse(line.slice('PARLEY_BRIDGE_READY '.length)) as { port: number }).port);
      });
      void exited.then(() => reject(new Error(`bridge exited: ${out}`)));
    });

    // A page with a wrong token is refused (and its token must not be logged either).
    const intruder = await page(port, wrongToken);
    expect(await intruder.closed).toBe(4401);

    const p = await page(port, token);
    await waitUntil(async () => ((await p.call('getState')) as { connection: { status: string } }).connection.status === 'online', 20_000, 'alice online');
    await p.call('addContact', { username: 'bob' });
    await bob.addContact({ username: 'alice' });
    for (const text of bodies) await p.call('sendMessage', { conversation: 'd:bob', text });
    await waitUntil(async () => (await bob.loadMessages({ conversation: 'd:alice', limit: 10 })).messages.filter((m) => m.direction === 'in').length === bodies.length, 20_000, 'bob got them');
    for (const text of replies) await bob.sendMessage({ conversation: 'd:alice', text });
    await waitUntil(() => p.events.filter((e) => e.event === 'message-received').length >= replies.length, 20_000, 'alice got the replies');
    await expect(p.call('addContact', { username: 'nobody-here' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const copied = ((await p.call('getDebugLog')) as { text: string }).text;
    p.close();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);

    const secrets = [passphrase, token, wrongToken, ...bodies, ...replies];
    const files = filesUnder(path.join(alice, 'logs'));
    expect(files.length).toBeGreaterThan(0);
    const all = files.map((f) => readFileSync(f, 'utf8')).join('');
    for (const s of secrets) {
      expect(all, `${s} in the log files`).not.toContain(s);
      expect(copied, `${s} in the copied log`).not.toContain(s);
    }
    for (const f of files) expect(statSync(f).mode & 0o777).toBe(0o600);
    // The log is not empty: lifecycle, relay, bridge, per-message (debug) and failure lines are there, with scopes.
    const lines = all.trim().split('\n').map((l) => JSON.parse(l) as { scope?: string; msg: string; level: number });
    const has = (scope: string, re: RegExp): boolean => lines.some((l) => l.scope === scope && re.test(l.msg));
    expect(has('core', /^profile opened \(file vault\)$/)).toBe(true);
    expect(has('core', /^identity unlocked/)).toBe(true);
    expect(has('relay', /^relay online$/)).toBe(true);
    expect(has('bridge', /^serving$/)).toBe(true);
    expect(has('bridge', /^page connected$/)).toBe(true);
    expect(has('bridge', /^page refused: bad token$/)).toBe(true);
    expect(has('bridge', /^addContact failed: NOT_FOUND$/)).toBe(true);
    expect(lines.filter((l) => l.scope === 'core' && /^message \S+ (sent|sending|delivered)$/.test(l.msg))).toHaveLength(bodies.length);
    expect(lines.filter((l) => l.scope === 'messenger' && /^message \S+ received/.test(l.msg)).length).toBeGreaterThanOrEqual(replies.length);
    expect(copied).toMatch(/"msg":"page connected"/);
  });
});
