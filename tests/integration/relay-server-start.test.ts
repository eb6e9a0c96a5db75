/**
 * Starting and stopping a relay (relay/server/relay.ts): options that are refused before anything listens, the URL
 * and TLS default for each kind of host, the startup log line, the TTL sweep (at start and on its timer, and a sweep
 * that fails), and close(). Real relays in this process (so mutation testing reaches them) on 127.0.0.1 / ::1, each
 * with a real SQLite store; the one fault is injected into that store.
 */
import { readdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { relayFingerprint, relayFingerprintIfExists, startRelay, type RunningRelay, type StartRelayOptions } from '../../relay/server/index.js';
import { createInvite } from '../../relay/server/invites.js';
import type { SqliteEnvelopeStore } from '../../relay/server/store/sqlite.js';
import { cleanupAll, onCleanup, tmpDir, waitUntil } from '../helpers/core.js';
import { jsonLogger, makeParties, RelayClient, sealText, type Party } from '../helpers/relay.js';
import { startRedis } from '../helpers/redis.js';
import { openSqliteStore } from '../helpers/stores.js';

let alice: Party;
let bob: Party;

beforeAll(async () => {
  [alice, bob] = (await makeParties('alice', 'bob')) as [Party, Party];
});

afterEach(cleanupAll);

async function start(o: Partial<StartRelayOptions> = {}): Promise<RunningRelay> {
  const relay = await startRelay({ host: '127.0.0.1', port: 0, dataDir: tmpDir('relay-start'), logger: false, ...o });
  onCleanup(() => relay.close());
  return relay;
}

/** Queue one envelope from Alice to Bob straight into the store, already expired (or not). */
async function queue(store: SqliteEnvelopeStore, expired: boolean): Promise<void> {
  const envelope = await sealText(alice, [bob], 'hello');
  const now = Date.now();
  await store.enqueue({ envelope, size: JSON.stringify(envelope).length, receivedAt: now - 10_000, expiresAt: expired ? now - 1 : now + 600_000 });
}

/** The subject alternative names of the certificate served on 127.0.0.1:port. */
function certificateNames(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(s.getPeerCertificate().subjectaltname ?? '');
      s.destroy();
    });
    s.once('error', reject);
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('options refused before anything listens', () => {
  it('a cluster URL that is not redis://, a cluster without a shared store, a bad registration mode, a bad origin', async () => {
    const dataDir = tmpDir('relay-start-bad');
    await expect(startRelay({ host: '127.0.0.1', port: 0, dataDir, logger: false, clusterUrl: 'http://redis.example:6379' })).rejects.toThrow(
      new TypeError('bad cluster URL: expected redis://host:port'),
    );
    await expect(startRelay({ host: '127.0.0.1', port: 0, dataDir, logger: false, clusterUrl: 'http://evil.example/redis://x' })).rejects.toThrow(
      'bad cluster URL',
    );
    await expect(startRelay({ host: '127.0.0.1', port: 0, dataDir, logger: false, clusterUrl: 'redis://127.0.0.1:1' })).rejects.toThrow(
      new TypeError('cluster mode needs a store every node shares (--store postgres://…)'),
    );
    // with a store URL the cluster has its shared store: the start goes on to open it (nothing listens on that port)
    const withStoreUrl = await startRelay({ host: '127.0.0.1', port: 0, dataDir, logger: false, clusterUrl: 'redis://127.0.0.1:1', storeUrl: 'postgres://parley@127.0.0.1:1/parley' }).then(
      () => 'started',
      (e: Error) => e.message,
    );
    expect(withStoreUrl).not.toMatch(/cluster mode needs/);
    expect(withStoreUrl).not.toBe('started');
    await expect(startRelay({ host: '127.0.0.1', port: 0, dataDir, logger: false, registration: 'invite-only' as never })).rejects.toThrow(
      new TypeError('bad registration mode invite-only: open, token or closed'),
    );
    await expect(startRelay({ host: '127.0.0.1', port: 0, dataDir, logger: false, allowOrigins: ['https://ok.example/path'] })).rejects.toThrow(TypeError);
  });

  it('a port already taken rejects the start with the listen error', async () => {
    const taken = await start();
    await expect(startRelay({ host: '127.0.0.1', port: taken.port, dataDir: tmpDir('relay-start-taken'), logger: false })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(await listening(taken.port)).toBe(true); // the first relay is untouched
  });
});

describe('cluster mode', () => {
  it('with a Redis URL and a store every node shares, the relay coordinates over Redis: logged, and its metrics name its node', async () => {
    const redis = await startRedis(); // a private redis-server on 127.0.0.1
    onCleanup(() => redis.kill());
    const dataDir = tmpDir('relay-start-cluster');
    const { lines, logger } = jsonLogger();
    const relay = await start({ dataDir, store: await openSqliteStore(dataDir), clusterUrl: redis.url, logger });
    const node = relay.metrics().node;
    expect(node).toMatch(/^[0-9a-f]{12}$/); // newNodeId: 6 random bytes
    expect(node).not.toBe('local');
    expect(lines.find((l) => l.msg === 'cluster mode: coordinating over Redis')).toMatchObject({ level: 30, node });
    const alone = await start();
    expect(alone.metrics().node).toBe('local');
  });
});

describe('addresses', () => {
  it('loopback relays speak plain HTTP unless asked for TLS; an IPv6 host is bracketed in the URL', async () => {
    const v4 = await start();
    expect(v4).toMatchObject({ host: '127.0.0.1', tls: false });
    expect(v4.url).toBe(`http://127.0.0.1:${v4.port}`);
    expect(v4.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    const v6 = await start({ host: '::1' });
    expect(v6.url).toBe(`http://[::1]:${v6.port}`);
    expect(v6.tls).toBe(false);
    const named = await start({ host: 'localhost' });
    expect(named.url).toBe(`http://localhost:${named.port}`);
    const tls = await start({ tls: true });
    expect(tls.url).toBe(`https://127.0.0.1:${tls.port}`);
    expect(tls.tls).toBe(true);
  });

  it('any other address gets TLS by default (here ::ffff:127.0.0.1, which is not written as loopback)', async () => {
    const relay = await start({ host: '::ffff:127.0.0.1', advertise: false });
    expect(relay.tls).toBe(true);
    expect(relay.url).toBe(`https://[::ffff:127.0.0.1]:${relay.port}`);
    const res = await fetch(`http://127.0.0.1:${relay.port}/healthz`).then(
      () => 'answered over plain HTTP',
      () => 'refused plain HTTP',
    );
    expect(res).toBe('refused plain HTTP');
  });

  it("a non-loopback relay's certificate names its address", async () => {
    const relay = await start({ host: '::ffff:127.0.0.1', advertise: false });
    const san = await certificateNames(relay.port);
    expect(san).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:0:0:0:0:0:FFFF:7F00:1');
  });

  it("a loopback relay with TLS names only the loopback names and addresses", async () => {
    const relay = await start({ tls: true });
    expect(relay.tls).toBe(true);
    const san = await certificateNames(relay.port);
    expect(san).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
  });

  it('without a host it listens on 127.0.0.1', async () => {
    const relay = await startRelay({ port: 0, dataDir: tmpDir('relay-start-default'), logger: false });
    onCleanup(() => relay.close());
    expect(relay.url).toBe(`http://127.0.0.1:${relay.port}`);
  });

  it("a data folder's fingerprint can be read before the relay starts, and is the one it then uses", async () => {
    const dataDir = tmpDir('relay-start-fp');
    expect(relayFingerprintIfExists(dataDir)).toBeNull(); // creates nothing
    expect(relayFingerprintIfExists(dataDir)).toBeNull();
    const fp = relayFingerprint(dataDir); // creates the key
    expect(fp).toMatch(/^[0-9a-f]{64}$/);
    expect(relayFingerprintIfExists(dataDir)).toBe(fp);
    expect((await start({ dataDir })).fingerprint).toBe(fp);
  });

  it('the same data folder keeps its fingerprint across restarts', async () => {
    const dataDir = tmpDir('relay-start-same');
    const first = await start({ dataDir });
    await first.close();
    const second = await start({ dataDir });
    expect(second.fingerprint).toBe(first.fingerprint);
  });
});

describe('the startup log', () => {
  it('says where it listens, its fingerprint, TLS, advertising, limits, origins and registration mode', async () => {
    const { lines, logger } = jsonLogger();
    const relay = await start({ logger, allowOrigins: ['HTTPS://Page.Example/'], registration: 'token', limits: { queueQuota: 50 } });
    const line = lines.find((l) => l.msg === 'relay listening');
    expect(line).toMatchObject({
      level: 30,
      url: relay.url,
      fingerprint: relay.fingerprint,
      tls: false,
      advertise: false,
      allowOrigins: ['https://page.example'],
      registration: 'token',
      limits: expect.objectContaining({ queueQuota: 50 }),
    });
    expect(lines.filter((l) => l.msg === 'mDNS advertising needs a concrete LAN address (not a wildcard); not advertising')).toEqual([]);
  });
});

describe('what a running relay reports and serves', () => {
  it('metrics count open connections; the socket.io browser client script is not served', async () => {
    const relay = await start();
    expect(relay.metrics().connections).toBe(0);
    const c = await RelayClient.connect(relay.url);
    expect(relay.metrics().connections).toBe(1);
    c.close();
    await waitUntil(() => relay.metrics().connections === 0, 10_000, 'the connection gone');
    expect((await fetch(`${relay.url}/socket.io/socket.io.js`)).status).not.toBe(200);
  });
});

describe('the TTL sweep', () => {
  it('at start drops what expired while the relay was down, counts it and logs it; what has not expired stays', async () => {
    const dataDir = tmpDir('relay-start-sweep');
    const store = await openSqliteStore(dataDir);
    await queue(store, true);
    await queue(store, true);
    await queue(store, false);
    const { lines, logger } = jsonLogger();
    const relay = await start({ dataDir, store, logger });
    expect(relay.metrics()).toMatchObject({ expired: 2, queuedEnvelopes: 1 });
    expect(lines.find((l) => l.msg === 'expired envelopes swept')).toMatchObject({ level: 30, dropped: 2 });
  });

  it('runs again every sweepIntervalMs; with nothing to drop it logs nothing', async () => {
    const dataDir = tmpDir('relay-start-sweep-timer');
    const store = await openSqliteStore(dataDir);
    const { lines, logger } = jsonLogger();
    const relay = await start({ dataDir, store, logger, limits: { sweepIntervalMs: 50 } });
    expect(relay.metrics().expired).toBe(0);
    expect(lines.some((l) => l.msg === 'expired envelopes swept')).toBe(false);
    await queue(store, true);
    await waitUntil(() => relay.metrics().expired === 1, 10_000, 'the timer sweep');
    expect(lines.filter((l) => l.msg === 'expired envelopes swept')).toHaveLength(1);
  });

  it('a sweep that fails is logged; the relay starts, serves, and the next sweep works', async () => {
    const dataDir = tmpDir('relay-start-sweep-fault');
    const store = await openSqliteStore(dataDir);
    const sweep = store.sweep.bind(store);
    let failures = 1;
    store.sweep = async (now) => {
      if (failures > 0) {
        failures--;
        throw new Error('disk I/O error');
      }
      return sweep(now);
    };
    await queue(store, true);
    const { lines, logger } = jsonLogger();
    const relay = await start({ dataDir, store, logger, limits: { sweepIntervalMs: 50 } });
    expect(lines.find((l) => l.msg === 'sweep failed')).toMatchObject({ level: 50, err: 'disk I/O error' });
    const c = await RelayClient.connect(relay.url);
    expect(c.challenges).toHaveLength(1);
    c.close();
    await waitUntil(() => relay.metrics().expired === 1, 10_000, 'the next sweep');
  });
});

describe('invites', () => {
  it('an invite-only relay deletes expired invites when it sweeps; an open relay leaves its folder alone', async () => {
    const files = (dir: string) => readdirSync(path.join(dir, 'invites'));
    const tokenDir = tmpDir('relay-start-invites');
    const valid = createInvite(tokenDir);
    createInvite(tokenDir, { ttlMs: 1, now: Date.now() - 60_000 }); // made after: its own pruning ran in the past
    expect(files(tokenDir)).toHaveLength(2);
    await start({ dataDir: tokenDir, registration: 'token' });
    expect(files(tokenDir)).toHaveLength(1);
    expect(valid.expiresAt).toBeGreaterThan(Date.now());
    const openDir = tmpDir('relay-start-invites-open');
    createInvite(openDir, { ttlMs: 1, now: Date.now() - 60_000 });
    await start({ dataDir: openDir, registration: 'open' });
    expect(files(openDir)).toHaveLength(1);
  });
});

describe('close', () => {
  it('drops clients, stops listening, commits what the store accepted, logs once; a second call is the same close', async () => {
    const dataDir = tmpDir('relay-start-close');
    const store = await openSqliteStore(dataDir);
    const { lines, logger } = jsonLogger();
    const relay = await start({ dataDir, store, logger });
    const c = await RelayClient.connect(relay.url);
    const gone = new Promise<void>((resolve) => c.socket.once('disconnect', () => resolve()));
    const envelope = await sealText(alice, [bob], 'last words');
    const now = Date.now();
    // handed to the store (its write is queued synchronously), not yet committed
    const accepted = store.enqueue({ envelope, size: JSON.stringify(envelope).length, receivedAt: now, expiresAt: now + 600_000 });
    const a = relay.close();
    const b = relay.close();
    expect(b).toBe(a);
    await a;
    expect(await accepted).toMatchObject({ duplicate: false });
    await gone;
    expect(await listening(relay.port)).toBe(false);
    expect(lines.filter((l) => l.msg === 'relay stopped')).toHaveLength(1);
    await expect(queue(store, false)).rejects.toThrow('store closed');
    const again = await openSqliteStore(dataDir);
    onCleanup(() => again.close());
    expect(await again.pending(bob.fingerprint, 0, 10)).toHaveLength(1);
  });
});
