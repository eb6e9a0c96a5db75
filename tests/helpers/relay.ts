/**
 * Real relay processes and real socket.io clients for integration tests.
 *
 * spawnRelay() runs `relay/cli.ts` under tsx in a child process (port 0, a temp data dir) and resolves once the
 * relay logs "relay listening". RelayClient wraps a socket.io-client socket: challenge capture, register, auth
 * (signing the fingerprint the client expects — the pinned one — never the one a challenge claims), send, fetch, ack,
 * delivery collection. pinningAgent() does the TOFU / pin check on the TLS certificate the relay presents.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import Database from 'better-sqlite3';
import pg from 'pg';
import pino from 'pino';
import { io, type Socket } from 'socket.io-client';
import { fixtureIdentities } from './identities.js';
import { canRunInProcess, startInProcessRelay } from './relay-inprocess.js';
import {
  LABELS,
  RelayPinError,
  authInput,
  registrationInput,
  registrationKeyProof,
  subtle,
  fingerprint as identityFingerprint,
  relayFingerprintFromCert,
  toB64u,
  fromB64u,
  challengeSchema,
  type Ack,
  type Challenge,
  type ClientToServer,
  type Delivered,
  type Envelope,
  type PublicIdentity,
  type ServerToClient,
} from '../../relay/protocol/index.js';
import {
  encodePayload,
  loadIdentity,
  newMessageId,
  open,
  seal,
  signLabeled,
  type IdentityKeys,
  type IdentitySecret,
} from '../../electron/core/crypto/index.js';

export const REPO_ROOT = path.resolve(__dirname, '../..');

export function tempDir(prefix = 'parley-relay-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface SpawnedRelay {
  url: string;
  port: number;
  fingerprint: string;
  dataDir: string;
  child: ChildProcess;
  /** Every stdout/stderr line so far. */
  logs: string[];
  /** How the process ended, once it has: exit code, signal, and whether stop() or kill9() asked for it. */
  exit: RelayExit | null;
  /** For a failure message: url, pid, running or how it ended, and the last `lines` log lines. */
  describe(lines?: number): string;
  /** SIGTERM and wait for exit (graceful). */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for exit. */
  kill9(): Promise<void>;
}

export interface RelayExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stop() or kill9() was called before it ended. */
  requested: boolean;
}

/**
 * The relays among `relays` that ended without the test asking (a crash: an uncaught exception or rejection exits with
 * code 1 and its stack in the log), each described with its last log lines; empty when none did.
 */
export function unexpectedExits(relays: Iterable<SpawnedRelay | null | undefined>): string[] {
  return [...relays].filter((r) => r?.exit && !r.exit.requested).map((r) => r!.describe());
}

/** The last `n` lines of `logs`, indented, for a failure message. */
function tail(logs: readonly string[], n: number): string {
  const from = Math.max(0, logs.length - n);
  return `${from > 0 ? `  … ${from} earlier lines\n` : ''}${logs.slice(from).map((l) => `  ${l}`).join('\n')}`;
}

export interface SpawnOptions {
  dataDir?: string;
  tls?: boolean;
  host?: string;
  port?: number;
  limits?: Record<string, number>;
  logLevel?: string;
  /** Prefix the command (e.g. ['ip', 'netns', 'exec', 'ns1']). */
  wrap?: string[];
  extraArgs?: string[];
  /** Browser origins the relay allows (`--allow-origin`, or startRelay's allowOrigins in-process). */
  allowOrigins?: string[];
  /** Extra environment variables for the relay process (e.g. a test hook). */
  env?: Record<string, string>;
  /**
   * Always a child process, also under mutation testing (PARLEY_INPROCESS_RELAY): for tests that kill the relay with
   * SIGKILL, which closing an in-process relay cannot stand for (it would finish every write first).
   */
  childProcess?: boolean;
}

/**
 * Under PARLEY_TEST_STORE=postgres (tests/helpers/pg-global-setup.ts): `--store` with a database of its own per data
 * folder, so a relay restarted on the same folder finds its queue again, as with SQLite.
 */
async function storeArgs(dataDir: string): Promise<string[]> {
  const base = process.env.PARLEY_TEST_PG_URL;
  if (process.env.PARLEY_TEST_STORE !== 'postgres') return [];
  if (!base) throw new Error('PARLEY_TEST_STORE=postgres but no test PostgreSQL (vitest globalSetup did not run)');
  const name = relayDatabaseName(dataDir);
  const c = new pg.Client({ connectionString: base });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${name}`);
  } catch (e) {
    if ((e as { code?: string }).code !== '42P04') throw e; // exists: a restart on the same data folder
  } finally {
    await c.end();
  }
  const u = new URL(base);
  u.pathname = `/${name}`;
  return ['--store', u.toString()];
}

function relayDatabaseName(dataDir: string): string {
  return `relay_${createHash('sha256').update(dataDir).digest('hex').slice(0, 24)}`;
}

/**
 * Make an identity `ms` older in the store of the (stopped) relay whose data folder is `dataDir`, whichever store
 * this run uses; returns the rows changed.
 */
export async function ageIdentity(dataDir: string, fingerprint: string, ms: number): Promise<number> {
  if (relayStoreKind() === 'postgres') {
    const u = new URL(process.env.PARLEY_TEST_PG_URL!);
    u.pathname = `/${relayDatabaseName(dataDir)}`;
    const c = new pg.Client({ connectionString: u.toString() });
    await c.connect();
    try {
      return (await c.query('UPDATE identities SET registered_at = registered_at - $1 WHERE fingerprint = $2', [ms, fingerprint])).rowCount ?? 0;
    } finally {
      await c.end();
    }
  }
  const db = new Database(path.join(dataDir, 'relay.sqlite'), { fileMustExist: true });
  try {
    return db.prepare('UPDATE identities SET registered_at = registered_at - ? WHERE fingerprint = ?').run(ms, fingerprint).changes;
  } finally {
    db.close();
  }
}

/**
 * Under PARLEY_TEST_STORE=postgres: the files holding the relay's queue (after a CHECKPOINT): the server's WAL and
 * the relay database's own folder. Empty for SQLite (its files are in the data folder).
 */
export async function relayStoreFiles(dataDir: string): Promise<string[]> {
  if (relayStoreKind() !== 'postgres') return [];
  const c = new pg.Client({ connectionString: process.env.PARLEY_TEST_PG_URL! });
  await c.connect();
  let oid: string;
  try {
    await c.query('CHECKPOINT');
    oid = String((await c.query('SELECT oid FROM pg_database WHERE datname = $1', [relayDatabaseName(dataDir)])).rows[0]!.oid);
  } finally {
    await c.end();
  }
  const data = path.join(process.env.PARLEY_TEST_PG_DIR!, 'data');
  const under = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? under(path.join(dir, e.name)) : [path.join(dir, e.name)]));
  return [...under(path.join(data, 'pg_wal')), ...under(path.join(data, 'base', oid))];
}

/** The store spawnRelay() gives relays in this run (PARLEY_TEST_STORE; SQLite unless it says postgres). */
export function relayStoreKind(): 'sqlite' | 'postgres' {
  return process.env.PARLEY_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';
}

/** Start `relay/cli.ts` in a child process; resolves when it listens. */
export async function spawnRelay(o: SpawnOptions = {}): Promise<SpawnedRelay> {
  const dataDir = o.dataDir ?? tempDir();
  if (canRunInProcess(o)) return startInProcessRelay(o, dataDir);
  const viaStore = o.extraArgs?.includes('--store') ? [] : await storeArgs(dataDir);
  const args = [
    '--import',
    'tsx',
    path.join(REPO_ROOT, 'relay/cli.ts'),
    '--host',
    o.host ?? '127.0.0.1',
    '--port',
    String(o.port ?? 0),
    '--data',
    dataDir,
    '--log-level',
    o.logLevel ?? 'info',
    ...(o.tls ? ['--tls'] : []),
    ...(o.limits ? ['--limits', JSON.stringify(o.limits)] : []),
    ...(o.allowOrigins ?? []).flatMap((origin) => ['--allow-origin', origin]),
    ...(o.extraArgs ?? []),
    ...viaStore,
  ];
  const cmd = o.wrap ? o.wrap[0]! : process.execPath;
  const cmdArgs = o.wrap ? [...o.wrap.slice(1), process.execPath, ...args] : args;
  const child = spawn(cmd, cmdArgs, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...o.env } });
  const logs: string[] = [];
  let requested = false;
  let exit: RelayExit | null = null;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = { code, signal, requested };
      resolve(code);
    }),
  );
  const ready = new Promise<{ url: string; fingerprint: string }>((resolve, reject) => {
    const onLine = (line: string) => {
      logs.push(line);
      if (line.includes('"relay listening"')) {
        const j = JSON.parse(line) as { url: string; fingerprint: string };
        resolve({ url: j.url, fingerprint: j.fingerprint });
      }
    };
    for (const stream of [child.stdout!, child.stderr!]) {
      let buf = '';
      stream.setEncoding('utf8');
      stream.on('data', (d: string) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          onLine(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      });
      stream.on('end', () => {
        if (buf) onLine(buf); // a crash's last words may lack a newline
        buf = '';
      });
    }
    void exited.then((code) => reject(new Error(`relay exited (${code}) before listening:\n${logs.join('\n')}`)));
    setTimeout(() => reject(new Error(`relay did not start in 30 s:\n${logs.join('\n')}`)), 30_000).unref();
  });
  const { url, fingerprint } = await ready;
  return {
    url,
    port: Number(new URL(url).port),
    fingerprint,
    dataDir,
    child,
    logs,
    get exit() {
      return exit;
    },
    describe(lines = 40) {
      const e = exit as RelayExit | null;
      const state = e
        ? `exited (code ${e.code}, signal ${e.signal}${e.requested ? ', as the test asked' : ', UNEXPECTEDLY'})`
        : 'running';
      return `relay ${url} (pid ${child.pid}): ${state}; last log lines:\n${tail(logs, lines)}`;
    },
    stop: async () => {
      requested = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    kill9: async () => {
      requested = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * An https.Agent that checks the relay's certificate against a pin (TOFU when `pin.value` is undefined: the first
 * fingerprint seen is stored in `pin.value`). A mismatch destroys the connection with RelayPinError.
 */
export function pinningAgent(pin: { value?: string; seen?: string; error?: Error }): https.Agent {
  const agent = new https.Agent({ keepAlive: false });
  agent.createConnection = ((options: tls.ConnectionOptions) => {
    const sock = tls.connect({ ...options, rejectUnauthorized: false });
    sock.once('secureConnect', () => {
      const cert = sock.getPeerX509Certificate();
      const fp = cert ? relayFingerprintFromCert(new Uint8Array(cert.raw)) : 'none';
      pin.seen = fp;
      if (pin.value === undefined) pin.value = fp; // trust on first use
      if (fp !== pin.value) {
        pin.error = new RelayPinError(pin.value, fp);
        sock.destroy(pin.error);
      }
    });
    return sock; // the agent calls its own callback with the returned socket
  }) as unknown as https.Agent['createConnection'];
  return agent;
}

export type ClientSocket = Socket<ServerToClient, ClientToServer>;

export interface Party {
  secret: IdentitySecret;
  keys: IdentityKeys;
  identity: PublicIdentity;
  fingerprint: string;
  username: string;
}

export async function makeParty(secret: IdentitySecret, username: string): Promise<Party> {
  const keys = await loadIdentity(secret);
  return { secret, keys, identity: secret.public, fingerprint: await identityFingerprint(secret.public), username };
}

/** Parties named in order, from fixture identities 0, 1, … (RSA-4096 generation would cost ~2 s each). */
export async function makeParties(...usernames: string[]): Promise<Party[]> {
  const ids = await fixtureIdentities(usernames.length, 0);
  return Promise.all(usernames.map((name, i) => makeParty(ids[i]!, name)));
}

/** Register each party's username and identity over one anonymous connection; every registration must succeed. */
export async function registerParties(url: string, parties: Party[]): Promise<void> {
  const c = await RelayClient.connect(url);
  try {
    for (const p of parties) {
      const r = await c.register(p);
      if (!r.ok) throw new Error(`register ${p.username}: ${r.error.code} ${r.error.message}`);
    }
  } finally {
    c.close();
  }
}

/** The refusal an ack carries, as { code, message }; throws (failing the test) if the request succeeded. */
export function refusal(r: Ack): { code: string; message: string; retryAfterMs?: number } {
  if (r.ok) throw new Error(`expected a refusal, got ${JSON.stringify(r)}`);
  return r.error;
}

export class RelayClient {
  readonly deliveries: Delivered[] = [];
  readonly challenges: Challenge[] = [];
  sessionReplaced = false;
  /** How long call() waits for the relay's answer before rejecting (a client's patience; load tests raise it). */
  timeoutMs = 10_000;
  /** Why socket.io closed the connection ('transport close', 'ping timeout', 'io server disconnect', …), once it did. */
  disconnectReason: string | null = null;
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: ClientSocket) {
    socket.on('challenge', (c) => {
      const parsed = challengeSchema.safeParse(c);
      if (parsed.success) this.challenges.push(parsed.data);
      this.notify();
    });
    socket.on('deliver', (p) => {
      this.deliveries.push(...p.envelopes);
      this.notify();
    });
    socket.on('session-replaced', () => {
      this.sessionReplaced = true;
      this.notify();
    });
    socket.on('disconnect', (reason) => {
      this.disconnectReason = String(reason);
      this.notify();
    });
  }

  private notify() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolve when `cond()` holds (checked on every event), reject after `ms`. */
  async until(cond: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  static async connect(url: string, o: { pin?: { value?: string; seen?: string; error?: Error } } = {}): Promise<RelayClient> {
    const secure = url.startsWith('https');
    const socket: ClientSocket = io(url, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      timeout: 10_000,
      ...(secure ? { agent: pinningAgent(o.pin ?? {}) as unknown as string, rejectUnauthorized: false } : {}),
    });
    const client = new RelayClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (e) => {
        socket.close();
        reject(o.pin?.error ?? e);
      });
    });
    await client.until(() => client.challenges.length > 0, 10_000, 'challenge').catch((e: unknown) => {
      socket.close(); // no connection left behind for a caller that retries
      throw e;
    });
    return client;
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  /** Emit with an ack; times out after `timeoutMs`. */
  async call<T extends object = object>(event: string, ...args: unknown[]): Promise<Ack<T>> {
    const s = this.socket as unknown as { timeout(ms: number): { emitWithAck(ev: string, ...a: unknown[]): Promise<Ack<T>> } };
    return s.timeout(this.timeoutMs).emitWithAck(event, ...args);
  }

  /**
   * The proof of both keys for a registration of `p` (PROTOCOL.md "Registration proof"): asks this connection's relay
   * for a register-challenge, decrypts it with p's RSA key and signs with p's Ed25519 key. `relayFp` defaults to the
   * fingerprint the latest challenge names.
   */
  async registrationProof(p: Party, username = p.username, relayFp = this.challenges[this.challenges.length - 1]!.relay) {
    const ch = await this.call<{ wrapped: string }>('register-challenge', { identity: p.identity });
    if (!ch.ok) throw new Error(`register-challenge ${p.username}: ${ch.error.code} ${ch.error.message}`);
    const value = new Uint8Array(await subtle.decrypt({ name: 'RSA-OAEP' }, p.keys.encKey, fromB64u(ch.wrapped)));
    const key = await registrationKeyProof(relayFp, p.fingerprint, value);
    const sig = await signLabeled(p.keys, LABELS.register, ...registrationInput(username, p.identity, relayFp));
    return { sig: toB64u(sig), key: toB64u(key) };
  }

  /** Register p (with proof); `extra` adds fields such as rotation or invite. */
  async register(p: Party, extra: Record<string, unknown> = {}): Promise<Ack<{ fingerprint: string; rotated: boolean }>> {
    return this.call('register', { username: p.username, identity: p.identity, proof: await this.registrationProof(p), ...extra });
  }

  /** Answer the latest challenge, signing `relayFp` (the fingerprint this client trusts). */
  async authPayload(p: Party, relayFp: string, challenge = this.challenges[this.challenges.length - 1]!) {
    const clientNonce = new Uint8Array(randomBytes(32));
    const sig = await signLabeled(p.keys, LABELS.auth, ...authInput(relayFp, fromB64u(challenge.nonce), clientNonce, p.fingerprint));
    return { fingerprint: p.fingerprint, clientNonce: toB64u(clientNonce), sig: toB64u(sig) };
  }

  async auth(p: Party, relayFp: string): Promise<Ack<{ fingerprint: string; username: string | null; queued: number }>> {
    const c = this.challenges[this.challenges.length - 1]!;
    if (c.relay !== relayFp) throw new Error(`challenge names relay ${c.relay}, expected ${relayFp}`);
    return this.call('auth', await this.authPayload(p, relayFp, c));
  }

  send(envelope: unknown): Promise<Ack<{ id: string; duplicate: boolean }>> {
    return this.call('send', { envelope });
  }

  fetch(recipient: string, limit?: number): Promise<Ack<{ envelopes: Delivered[]; more: boolean }>> {
    return this.call('fetch', limit === undefined ? { recipient } : { recipient, limit });
  }

  ack(items: Array<{ from: string; id: string }>): Promise<Ack<{ removed: number }>> {
    return this.call('ack', { items });
  }

  close(): void {
    this.socket.close();
  }
}

/** Connect, register (idempotent) and authenticate `p`; throws on any refusal. */
export async function login(url: string, relayFp: string, p: Party, o: { pin?: { value?: string } } = {}): Promise<RelayClient> {
  const c = await RelayClient.connect(url, o);
  const r = await c.register(p);
  if (!r.ok) throw new Error(`register ${p.username}: ${r.error.code} ${r.error.message}`);
  const a = await c.auth(p, relayFp);
  if (!a.ok) throw new Error(`auth ${p.username}: ${a.error.code} ${a.error.message}`);
  return c;
}

/** A real sealed text envelope from `from` to `to` (core crypto: RSA-OAEP wrap, AES-GCM, Ed25519 signature). */
export async function sealText(from: Party, to: Party[], body: string, id = newMessageId()): Promise<Envelope> {
  return seal({ sender: from.keys, recipients: to.map((t) => t.identity), payload: { v: 1, type: 'text', ts: Date.now(), body }, id });
}

/** Open a delivered envelope as `me`; returns the text body. */
export async function openText(me: Party, sender: Party, envelope: unknown): Promise<string> {
  const { payload } = await open({ envelope, me: me.keys, sender: sender.identity });
  if (payload.type !== 'text') throw new Error('not a text payload');
  return payload.body;
}

export { encodePayload };

/** Remove a temp dir (best effort). */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A pino logger at `level` that keeps each line it writes, parsed, so a test can read the operator's log. */
export function jsonLogger(level: pino.Level = 'info'): { lines: Record<string, unknown>[]; logger: pino.Logger } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { lines, logger };
}
