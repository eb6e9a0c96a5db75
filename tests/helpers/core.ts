/**
 * Test harness for the messenger core and the headless client: a real relay (in-process startRelay, real sockets
 * on 127.0.0.1, real SQLite in a temp dir), CLI child processes (the real `electron/cli/index.ts` under tsx),
 * in-process ParleyServices on real encrypted SQLite files, and fixture identities so tests skip RSA generation.
 */
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startRelay, type RunningRelay } from '../../relay/server/index.js';
import type { RelayLimits } from '../../relay/server/limits.js';
import { ParleyService, type ParleyServiceOptions } from '../../electron/core/service.js';
import { openVault } from '../../electron/core/vault/index.js';
import { openHistoryStore } from '../../electron/core/store/index.js';
import { readProfile } from '../../electron/core/profile.js';
import type { HistoryStore } from '../../electron/core/store/types.js';
import type { ParleyEvents } from '../../electron/contract/api.js';
import { fixtureIdentity } from './identities.js';

export const ROOT = path.resolve(__dirname, '../..');
export const CLI = path.join(ROOT, 'electron/cli/index.ts');
/** The protocol's minimum PBKDF2 work: keeps file-vault tests fast without weakening the format. */
export const TEST_KDF_ITERATIONS = 600_000;
export const PASSPHRASE = 'correct horse battery staple';

const cleanups: Array<() => Promise<void> | void> = [];

/** A fresh temp folder, removed by cleanupAll(). */
export function tmpDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `parley-${prefix}-`));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs every registered cleanup (services, relays, child processes, temp folders), newest first. */
export async function cleanupAll(): Promise<void> {
  while (cleanups.length > 0) {
    const fn = cleanups.pop()!;
    try {
      await fn();
    } catch {
      /* best effort */
    }
  }
}

export interface TestRelay {
  relay: RunningRelay;
  url: string;
  dataDir: string;
  /** The relay's SQLite file (for tampering tests). */
  dbFile: string;
  close(): Promise<void>;
}

/** A real relay on 127.0.0.1 with its data in a temp dir. */
export async function startTestRelay(o: { limits?: Partial<RelayLimits>; dataDir?: string; port?: number } = {}): Promise<TestRelay> {
  const dataDir = o.dataDir ?? tmpDir('relay');
  const relay = await startRelay({ host: '127.0.0.1', port: o.port ?? 0, dataDir, logger: false, ...(o.limits ? { limits: o.limits } : {}) });
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await relay.close();
  };
  cleanups.push(close);
  return { relay, url: relay.url, dataDir, dbFile: path.join(dataDir, 'relay.sqlite'), close };
}

/** Envelopes the relay still holds unacknowledged for `username` (read from the relay's SQLite file). */
export function unackedFor(relay: TestRelay, username: string): number {
  const db = new Database(relay.dbFile, { readonly: true, fileMustExist: true });
  try {
    return (
      db
        .prepare('SELECT COUNT(*) AS n FROM deliveries d JOIN identities i ON i.fingerprint = d.recipient WHERE i.username = ? AND d.acked_at IS NULL')
        .get(username) as { n: number }
    ).n;
  } finally {
    db.close();
  }
}

/** Writes fixture identity n as an IdentitySecret JSON file (for `init --test-identity`) in a temp dir. */
export async function fixtureFile(n: number): Promise<string> {
  const dir = tmpDir('fixture');
  const file = path.join(dir, `identity-${n}.json`);
  writeFileSync(file, JSON.stringify(await fixtureIdentity(n)), { mode: 0o600 });
  return file;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Environment for CLI children: the test's own (D-Bus session included) plus overrides; undefined deletes. */
export function childEnv(over: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_NO_WARNINGS: '1' };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Runs the CLI to completion. */
export function runCli(args: string[], o: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, env: o.env ?? childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cli ${args.join(' ')} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, o.timeoutMs ?? 45_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A long-running CLI process (`listen`) whose stdout is read as JSON lines. */
export interface CliProcess {
  proc: ChildProcess;
  lines: Array<Record<string, unknown>>;
  stderr(): string;
  /** Resolves with the first line matching `pred` (already seen ones count). */
  waitForLine(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves when `count` lines match. */
  waitForCount(pred: (l: Record<string, unknown>) => boolean, count: number, timeoutMs?: number): Promise<void>;
  /** SIGINT and wait for exit. */
  stop(): Promise<number | null>;
  exited: Promise<number | null>;
}

export function spawnCli(args: string[], o: { env?: NodeJS.ProcessEnv } = {}): CliProcess {
  const proc = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, env: o.env ?? childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Array<Record<string, unknown>> = [];
  let buf = '';
  let err = '';
  const waiters = new Set<() => void>();
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ text: line });
      }
    }
    for (const w of [...waiters]) w();
  });
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
  void exited.then(() => {
    for (const w of [...waiters]) w();
  });
  const killIfAlive = (): void => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  };
  cleanups.push(killIfAlive);
  const count = (pred: (l: Record<string, unknown>) => boolean): number =>
    lines.filter((l) => pred(l as Record<string, unknown>)).length;
  const waitForCount = (pred: (l: Record<string, unknown>) => boolean, n: number, timeoutMs = 30_000): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (count(pred) >= n) {
          cleanup();
          resolve();
        } else if (proc.exitCode !== null || proc.signalCode !== null) {
          cleanup();
          reject(new Error(`cli exited (${proc.exitCode ?? proc.signalCode}) before ${n} matching lines; got ${count(pred)}\nstderr: ${err}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${n} lines (got ${count(pred)})\nstderr: ${err}\nlast: ${JSON.stringify(lines.slice(-3))}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  return {
    proc,
    lines,
    stderr: () => err,
    exited,
    waitForCount,
    async waitForLine(pred, timeoutMs) {
      await waitForCount(pred, 1, timeoutMs);
      return lines.find((l) => pred(l as Record<string, unknown>)) as Record<string, unknown>;
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGINT');
      const t = setTimeout(killIfAlive, 10_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/** An in-process ParleyService onboarded with fixture identity n (no key generation). */
export async function fixtureService(
  n: number,
  username: string,
  relayUrl: string,
  o: Partial<ParleyServiceOptions> & { vault?: 'keychain' | 'file' } = {},
): Promise<ParleyService> {
  const vault = o.vault ?? 'file';
  const svc = new ParleyService({
    profileDir: o.profileDir ?? tmpDir(`profile-${username}`),
    vault,
    kdfIterations: TEST_KDF_ITERATIONS,
    cryptoPoolSize: 1,
    reconnect: { baseMs: 100, maxMs: 1000 },
    messenger: { keyCheckOnSendMs: 0, keyCheckIntervalMs: 0 },
    ...(vault === 'file' ? { passphrase: PASSPHRASE } : {}),
    ...o,
  });
  cleanups.push(async () => {
    await svc.close();
    if (vault === 'keychain') await openVault(svc.profile, { kind: 'keychain' }).remove().catch(() => undefined);
  });
  await svc.createIdentityFrom(await fixtureIdentity(n), {
    username,
    relayUrl,
    vault,
    ...(vault === 'file' ? { passphrase: PASSPHRASE } : {}),
  });
  return svc;
}

/**
 * Alice (fixture 0) and Bob (fixture 1), each a fixtureService online at `relayUrl`; `contacts` says who adds the
 * other first: both (default), only Alice, or nobody.
 */
export async function aliceAndBob(
  relayUrl: string,
  o: { contacts?: 'both' | 'alice' | 'none' } = {},
): Promise<{ alice: ParleyService; bob: ParleyService }> {
  const alice = await fixtureService(0, 'alice', relayUrl);
  const bob = await fixtureService(1, 'bob', relayUrl);
  await Promise.all([alice.waitOnline(), bob.waitOnline()]);
  const contacts = o.contacts ?? 'both';
  if (contacts !== 'none') await alice.addContact({ username: 'bob' });
  if (contacts === 'both') await bob.addContact({ username: 'alice' });
  return { alice, bob };
}

/** Re-opens an existing profile (same test options as fixtureService) and starts it. */
export async function reopenService(
  profileDir: string,
  o: Partial<ParleyServiceOptions> = {},
  beforeStart?: (svc: ParleyService) => void,
): Promise<ParleyService> {
  const svc = new ParleyService({
    profileDir,
    passphrase: PASSPHRASE,
    kdfIterations: TEST_KDF_ITERATIONS,
    cryptoPoolSize: 1,
    reconnect: { baseMs: 100, maxMs: 1000 },
    messenger: { keyCheckOnSendMs: 0, keyCheckIntervalMs: 0 },
    ...o,
  });
  cleanups.push(() => svc.close());
  beforeStart?.(svc);
  await svc.start();
  return svc;
}

/** Collects a service's events of one kind. */
export function collect<E extends keyof ParleyEvents>(svc: ParleyService, event: E): Array<ParleyEvents[E]> {
  const out: Array<ParleyEvents[E]> = [];
  svc.on(event, (p) => out.push(p));
  return out;
}

/**
 * Opens a profile's history DB directly (key from its vault), for assertions independent of the service; read-only
 * unless `writable` (a test planting rows while the profile is closed).
 */
export async function openProfileStore(profileDir: string, o: { passphrase?: string; writable?: boolean } = {}): Promise<HistoryStore> {
  const profile = readProfile(profileDir);
  if (!profile?.meta.vault) throw new Error(`no identity in ${profileDir}`);
  const vault = openVault(profile, { kind: profile.meta.vault, ...(o.passphrase ? { passphrase: o.passphrase } : {}) });
  const { dbKey } = await vault.load();
  return openHistoryStore({ path: profile.paths.db, key: dbKey, readonly: !o.writable });
}

/** Removes the keychain entry of a CLI-made profile (keychain vault), if any. */
export async function removeKeychainEntry(profileDir: string): Promise<void> {
  const profile = readProfile(profileDir);
  if (profile?.meta.vault === 'keychain') await openVault(profile, { kind: 'keychain' }).remove();
}

/** Registers a cleanup (e.g. keychain entries of CLI profiles). */
export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

/** Polls until fn returns a truthy value. */
export async function waitUntil<T>(fn: () => T | Promise<T>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Fails loudly (never skips) when the test process has no D-Bus session with a Secret Service. */
export function requireDbusSession(): void {
  if (!process.env.DBUS_SESSION_BUS_ADDRESS) {
    throw new Error(
      'keychain tests need a D-Bus session with an unlocked GNOME keyring: run inside ' +
        "dbus-run-session -- bash -c 'echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null; npx vitest run <file>'",
    );
  }
}
