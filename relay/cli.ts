/**
 * Standalone relay: `npm run relay -- --host 127.0.0.1 --port 7070 --data ./relay-data`.
 * Logs are pino JSON on stdout; the line with msg "relay listening" carries url and fingerprint.
 * `npm run relay -- invite --data <dir>` makes an invite code for a relay in `--registration token` mode.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import {
  createInvite,
  DEFAULT_LIMITS,
  isLoopback,
  isPostgresUrl,
  normalizeOrigin,
  relayFingerprintIfExists,
  resolveLimits,
  startRelay,
  type RegistrationMode,
} from './server/index.js';
import { formatFingerprint } from './protocol/index.js';

const USAGE = `Parley relay: a blind store-and-forward server for sealed envelopes.

Usage: npm run relay -- [options]
       npm run relay -- invite [--data <dir>] [--hours <n>]

  --host <addr>       address to listen on (default 127.0.0.1; any non-loopback address turns TLS on
                      and, unless --no-advertise, publishes the relay over mDNS as _parley._tcp)
  --port <n>          TCP port (default 7070; 0 picks a free one)
  --data <dir>        data folder: relay key, certificate, SQLite queue (default ./relay-data). Relays sharing
                      one --store use copies of the same key and certificate, so clients pin one fingerprint
  --store <url>       keep the queue in PostgreSQL (postgres://user[:password]@host:port/database) instead of
                      SQLite in --data; several relays may share it. The schema is created/migrated on start
  --cluster <url>     cluster mode (needs --store): coordinate with the other relays on one Redis
                      (redis://host:port): cross-node delivery, one connection per identity, key rotations
  --tls               serve TLS also on loopback (self-signed certificate carrying the relay key)
  --no-advertise      never publish over mDNS
  --limits <json>     override limits, e.g. '{"queueQuota":5000,"sendPerSec":50}'. Defaults:
                      ${JSON.stringify(DEFAULT_LIMITS)}
  --allow-origin <o>  let browser pages from origin <o> (scheme://host[:port]) connect; repeatable. By default
                      any socket.io request carrying an Origin header is refused (Parley's clients send none)
  --registration <m>  who may register a new username: open (default; rate-limited per address),
                      token (needs an invite code made with the invite command) or closed
  --log-level <lvl>   pino level (default info)
  -h, --help          this text and the relay fingerprint for --data, if it has a key (creates nothing)

invite: print a single-use invite code for the relay whose data folder is --data, valid --hours
(default 168 = 7 days). Works while the relay runs; only a hash of the code is stored.

Clients pin the relay fingerprint (SHA-256 of the relay key's SPKI) on first connect.`;

function fail(message: string): never {
  process.stderr.write(`parley-relay: ${message}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: '7070' },
        data: { type: 'string', default: './relay-data' },
        store: { type: 'string' },
        cluster: { type: 'string' },
        tls: { type: 'boolean', default: false },
        'no-advertise': { type: 'boolean', default: false },
        limits: { type: 'string' },
        'allow-origin': { type: 'string', multiple: true, default: [] },
        registration: { type: 'string', default: 'open' },
        hours: { type: 'string', default: '168' },
        'log-level': { type: 'string', default: 'info' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (e) {
    fail(`${(e as Error).message}\n\n${USAGE}`);
  }
  const { values: args, positionals } = parsed;
  const dataDir = path.resolve(args.data!);
  if (args.help) {
    // Help has no side effects: it reads the key if there is one and creates nothing.
    const fp = relayFingerprintIfExists(dataDir);
    const where = fp ? `Relay fingerprint (${dataDir}):\n  ${fp}\n  ${formatFingerprint(fp)}` : `No relay key in ${dataDir} yet (made on first start).`;
    process.stdout.write(`${USAGE}\n\n${where}\n`);
    return;
  }
  if (positionals.length > 1 || (positionals.length === 1 && positionals[0] !== 'invite')) {
    fail(`unknown command ${positionals.join(' ')}\n\n${USAGE}`);
  }
  if (positionals[0] === 'invite') {
    const hours = Number(args.hours);
    if (!Number.isFinite(hours) || hours <= 0 || hours > 24 * 365) fail(`bad --hours ${args.hours}`);
    const invite = createInvite(dataDir, { ttlMs: Math.round(hours * 3600 * 1000) });
    process.stdout.write(`${invite.code}\n`);
    process.stderr.write(`single-use invite for the relay in ${dataDir}, valid until ${new Date(invite.expiresAt).toISOString()}\n`);
    return;
  }
  const registration = args.registration as RegistrationMode;
  if (!['open', 'token', 'closed'].includes(registration)) fail(`bad --registration ${args.registration}: open, token or closed`);
  const port = Number(args.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`bad --port ${args.port}`);
  let limits;
  try {
    limits = resolveLimits(args.limits ? JSON.parse(args.limits) : {});
  } catch (e) {
    fail(`bad --limits: ${(e as Error).message}`);
  }
  const allowOrigins = args['allow-origin'] ?? [];
  for (const origin of allowOrigins) {
    try {
      normalizeOrigin(origin);
    } catch (e) {
      fail(`bad --allow-origin: ${(e as Error).message}`);
    }
  }
  if (args.store !== undefined && !isPostgresUrl(args.store)) fail('bad --store: expected postgres://user@host:port/database');
  if (args.cluster !== undefined && !/^rediss?:\/\//i.test(args.cluster)) fail('bad --cluster: expected redis://host:port');
  if (args.cluster !== undefined && args.store === undefined) fail('--cluster needs --store postgres://… (one queue for every node)');
  const level = args['log-level']!;
  if (!Object.keys(pino.levels.values).includes(level) && level !== 'silent') fail(`bad --log-level ${level}`);
  const logger = pino({ name: 'parley-relay', level });
  const host = args.host!;
  if (!isLoopback(host)) logger.warn({ host }, 'listening beyond loopback: TLS on');

  const relay = await startRelay({
    host,
    port,
    dataDir,
    tls: args.tls,
    advertise: !args['no-advertise'],
    logger,
    limits,
    allowOrigins,
    registration,
    storeUrl: args.store,
    clusterUrl: args.cluster,
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    relay.close().then(
      () => process.exit(0),
      (e: unknown) => {
        logger.error({ err: (e as Error).message }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((e: unknown) => fail((e as Error).message ?? String(e)));
