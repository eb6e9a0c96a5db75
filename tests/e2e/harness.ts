/**
 * The cast of the end-to-end story: one real relay and one real Parley core per person, each core behind its own
 * dev/test browser bridge, all as child processes on 127.0.0.1 with temp folders. Nothing is mocked.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

export function tempDir(name: string): string {
  return mkdtempSync(path.join(tmpdir(), `parley-e2e-${name}-`));
}

/** Waits for a stdout line starting with `prefix` and returns the rest; fails with the process output otherwise. */
function waitLine(child: ChildProcessWithoutNullStreams, match: (line: string) => string | null, what: string, ms = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let buf = '';
    const timer = setTimeout(() => done(new Error(`${what}: not ready after ${ms} ms\n${out.slice(-4000)}`)), ms);
    const onData = (d: Buffer): void => {
      out += d.toString();
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const r = match(line);
        if (r !== null) return done(null, r);
      }
    };
    const onErr = (d: Buffer): void => {
      out += d.toString();
    };
    const onExit = (code: number | null): void => done(new Error(`${what}: exited with ${code}\n${out.slice(-4000)}`));
    function done(err: Error | null, v?: string): void {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.stderr.off('data', onErr);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(v!);
    }
    child.stdout.on('data', onData);
    child.stderr.on('data', onErr);
    child.on('exit', onExit);
  });
}

async function stop(child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 8000);
  await exited;
  clearTimeout(t);
}

export interface Relay {
  url: string;
  fingerprint: string;
  close(): Promise<void>;
  /** Starts the relay again on the same port with the same data (same key, so clients' pins still hold). */
  restart(): Promise<Relay>;
}

export async function startRelayProcess(dataDir: string, limits: Record<string, number> = {}, port = 0): Promise<Relay> {
  const args = ['relay/cli.ts', '--port', String(port), '--data', dataDir, '--no-advertise', '--log-level', 'info'];
  if (Object.keys(limits).length) args.push('--limits', JSON.stringify(limits));
  const child = spawn(TSX, args, { cwd: ROOT });
  const line = await waitLine(child, (l) => (l.includes('"relay listening"') ? l : null), 'relay');
  const info = JSON.parse(line) as { url: string; fingerprint: string };
  child.stdout.resume();
  const relay: Relay = {
    url: info.url,
    fingerprint: info.fingerprint,
    close: () => stop(child),
    restart: async () => {
      await stop(child);
      return startRelayProcess(dataDir, limits, Number(new URL(info.url).port));
    },
  };
  return relay;
}

export interface Person {
  name: string;
  profileDir: string;
  url: string;
  port: number;
  token: string;
  /** Stops this person's core and bridge (the page stays open and shows that it lost its core). */
  stop(): Promise<void>;
  /** Starts the core and bridge again on the same port and token, so the open page reconnects by itself. */
  restart(): Promise<void>;
  /** Rotates the identity (new key signed by the old one): contacts see a key change. */
  rotate(): Promise<string>;
}

export async function startPerson(name: string, root: string, o: { args?: string[]; env?: Record<string, string> } = {}): Promise<Person> {
  const profileDir = path.join(root, name);
  mkdirSync(profileDir, { recursive: true });
  let child: ChildProcessWithoutNullStreams | null = null;
  let port = 0;
  // Fixed per person for the run, so a restarted bridge accepts the page that is already open.
  const token = randomBytes(24).toString('hex');
  const launch = async (): Promise<{ url: string; port: number; token: string }> => {
    const args = ['electron/bridge/cli.ts', '--profile', profileDir, '--port', String(port), '--kdf-iterations', '600000'];
    args.push(...(o.args ?? []));
    // The token goes through the environment: argv is visible to every local user in `ps`.
    const c = spawn(TSX, args, { cwd: ROOT, env: { ...process.env, ...o.env, PARLEY_BRIDGE_TOKEN: token } });
    child = c;
    const line = await waitLine(c, (l) => (l.startsWith('PARLEY_BRIDGE_READY ') ? l.slice('PARLEY_BRIDGE_READY '.length) : null), `${name}'s bridge`);
    c.stdout.resume();
    c.stderr.on('data', (d: Buffer) => process.stderr.write(`[${name}] ${d}`));
    return JSON.parse(line) as { url: string; port: number; token: string };
  };
  const first = await launch();
  port = first.port;
  const person: Person = {
    name,
    profileDir,
    url: first.url,
    port,
    token,
    stop: async () => {
      if (child) await stop(child);
      child = null;
    },
    restart: async () => {
      if (child) await stop(child);
      await launch();
    },
    rotate: async () => {
      const c = child;
      if (!c) throw new Error(`${name} is not running`);
      c.stdin.write('rotate\n');
      const line = await waitLine(c, (l) => (l.startsWith('PARLEY_BRIDGE_ROTATED ') || l.startsWith('PARLEY_BRIDGE_ERROR ') ? l : null), `${name} rotate`);
      if (line.startsWith('PARLEY_BRIDGE_ERROR')) throw new Error(line);
      c.stdout.resume();
      return (JSON.parse(line.slice('PARLEY_BRIDGE_ROTATED '.length)) as { fingerprint: string }).fingerprint;
    },
  };
  return person;
}

/** Runs a TypeScript script with tsx to completion; returns the stdout line starting with `prefix` (rest of it). */
export async function runScript(args: string[], prefix: string, ms = 120_000): Promise<string> {
  const child = spawn(TSX, args, { cwd: ROOT });
  const line = await waitLine(child, (l) => (l.startsWith(prefix) ? l.slice(prefix.length) : null), args[0] ?? 'script', ms);
  await new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
  return line;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
