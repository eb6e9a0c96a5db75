/**
 * A private PostgreSQL 15 server for tests: initdb in a temp folder, listening on 127.0.0.1 and a socket in that
 * folder, trust auth for user `parley`; never the system service. PostgreSQL refuses to run as root, so when the
 * tests run as root the folder is given to the `postgres` user and the binaries run under runuser.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './ports.js';

const BIN = process.env.PARLEY_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export function postgresAvailable(): boolean {
  return existsSync(path.join(BIN, 'initdb')) && existsSync(path.join(BIN, 'pg_ctl'));
}

export interface TestPostgres {
  port: number;
  dir: string;
  /** URL of database `db` (default `parley`). */
  url(db?: string): string;
  createDatabase(name: string): Promise<string>;
  /** Fast shutdown and start again on the same folder and port. */
  restart(): Promise<void>;
  /**
   * Fast shutdown (open transactions abort, clients are disconnected); `start()` brings it back on the same port.
   * Both run pg_ctl asynchronously: a test's own sockets keep answering the relay's pings meanwhile (a shutdown
   * checkpoint on a busy disk takes seconds; a blocked event loop would look like a dead client to the relay).
   */
  halt(): Promise<void>;
  start(): Promise<void>;
  stop(): void;
}


function ownerCommand(args: string[]): [string, string[]] {
  const asRoot = process.getuid?.() === 0;
  const [cmd, ...rest] = asRoot ? ['runuser', '-u', 'postgres', '--', ...args] : args;
  return [cmd!, rest];
}

/** runAsOwner without blocking the event loop. */
function runAsOwnerAsync(args: string[]): Promise<void> {
  const [cmd, rest] = ownerCommand(args);
  return new Promise((resolve, reject) => {
    execFile(cmd, rest, { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${args[0]} failed: ${stderr || stdout || err.message}`)) : resolve(),
    );
  });
}

function runAsOwner(args: string[]): void {
  const [cmd, rest] = ownerCommand(args);
  const r = spawnSync(cmd, rest, { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${args[0]} failed: ${r.stderr || r.stdout}`);
}

export async function startPostgres(): Promise<TestPostgres> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-pg-'));
  const data = path.join(dir, 'data');
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  runAsOwner([path.join(BIN, 'initdb'), '-D', data, '-A', 'trust', '-U', 'parley', '--no-sync']);
  const port = await freePort();
  const startArgs = [
    path.join(BIN, 'pg_ctl'), '-D', data, '-l', path.join(dir, 'log'), '-w', '-t', '60', '-o',
    `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c max_connections=300`, 'start',
  ];
  const stopArgs = [path.join(BIN, 'pg_ctl'), '-D', data, '-m', 'fast', '-w', 'stop'];
  const stopServer = () => runAsOwner(stopArgs);
  runAsOwner(startArgs);
  const url = (db = 'postgres') => `postgres://parley@127.0.0.1:${port}/${db}`;
  let stopped = false;
  let running = true;
  const halt = async () => {
    running = false;
    await runAsOwnerAsync(stopArgs);
  };
  const start = async () => {
    await runAsOwnerAsync(startArgs);
    running = true;
  };
  return {
    port,
    dir,
    url,
    async createDatabase(name) {
      const c = new pg.Client({ connectionString: url('postgres') });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      return url(name);
    },
    async restart() {
      await halt();
      await start();
    },
    halt,
    start,
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        if (running) stopServer();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
