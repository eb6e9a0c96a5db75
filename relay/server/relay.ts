/**
 * The Parley relay: socket.io 4 over HTTP(S), challenge–response auth, durable store-and-forward with group commit,
 * flow-controlled in-order delivery, token-bucket rate limits, abuse disconnects, /healthz and /metrics.
 * Envelope bodies are never logged: logs carry ids, sizes and fingerprints only.
 *
 * This file composes the parts: session.ts (challenge, register, lookup, auth), ingest.ts (send), delivery.ts
 * (pump, fetch, ack), dispatch.ts (connections and event routing), http.ts (health and metrics).
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { Server } from 'socket.io';
import { MAX_BLOB_PIECE_BYTES, type ClientToServer, type ServerToClient } from '../protocol/index.js';
import { blobHandlers } from './blobs/handlers.js';
import { blobHttpHandler } from './blobs/http.js';
import { BlobTokens } from './blobs/tokens.js';
import { BlobStore } from './blobs/store.js';
import { createContext, REGISTRATION_MODES, type RegistrationMode } from './context.js';
import { deliveryHandlers } from './delivery.js';
import { attachConnections, type Handlers } from './dispatch.js';
import { createMetrics, httpHandler, type RelayMetrics } from './http.js';
import { loadRelayIdentity, relayKey, relayKeyFingerprintIfExists } from './identity.js';
import { sendHandler } from './ingest.js';
import { resolveLimits, type RelayLimits } from './limits.js';
import { advertiseRelay, type Advertisement } from './mdns.js';
import { advertisingDecision } from './advertising.js';
import { guardOrigins, normalizeOrigin } from './origin.js';
import { pruneInvites } from './invites.js';
import { sessionHandlers } from './session.js';
import { openStore } from './store/open.js';
import { newNodeId, redisBus } from './cluster.js';
import type { EnvelopeStore } from './store/types.js';

export { RELAY_VERSION, type RelayMetrics } from './http.js';
export type { RegistrationMode } from './context.js';

export interface StartRelayOptions {
  host?: string;
  port?: number;
  dataDir: string;
  /** Serve TLS with the relay's self-signed certificate; forced on when host is not loopback. */
  tls?: boolean;
  /** Publish over mDNS (only when listening on a non-loopback address); default true. */
  advertise?: boolean;
  logger?: pino.Logger | false;
  limits?: Partial<RelayLimits>;
  /** Alternative storage backend; default SQLite in dataDir. */
  store?: EnvelopeStore;
  /** Without `store`: a postgres:// URL for a shared PostgreSQL store (cluster mode) instead of SQLite. */
  storeUrl?: string;
  /**
   * Cluster mode: a redis:// URL; nodes sharing one PostgreSQL store coordinate over it (cluster.ts). Needs a store
   * shared by every node (storeUrl or store).
   */
  clusterUrl?: string;
  /**
   * Browser origins (scheme://host[:port]) allowed to connect; socket.io requests carrying any other `Origin` header
   * are refused. Default none: Parley's clients send no Origin.
   */
  allowOrigins?: readonly string[];
  /**
   * Who may register a new username: 'open' (default; rate-limited per address), 'token' (needs an invite from
   * createInvite / `relay invite`), 'closed'. Registered identities may always re-register and rotate.
   */
  registration?: RegistrationMode;
  /** Clock of the blob store (expiry); tests inject one. Default Date.now. */
  blobClock?: () => number;
  /**
   * What publishes the relay when it advertises; default advertiseRelay (mdns.ts, multicast DNS). Tests in the
   * machine's own network namespace pass one that records the call: mDNS may only be sent inside namespaces a test
   * creates (relay-mdns.test.ts does that with a relay process).
   */
  advertiser?: typeof advertiseRelay;
}

export interface RunningRelay {
  url: string;
  port: number;
  host: string;
  fingerprint: string;
  tls: boolean;
  close(): Promise<void>;
  metrics(): RelayMetrics;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** Fingerprint of the relay whose data folder is `dataDir` (creates the key if absent). */
export function relayFingerprint(dataDir: string): string {
  return relayKey(dataDir).fingerprint;
}

/** Fingerprint of the relay key in `dataDir`, or null if there is none; creates nothing. */
export function relayFingerprintIfExists(dataDir: string): string | null {
  return relayKeyFingerprintIfExists(dataDir);
}

export async function startRelay(o: StartRelayOptions): Promise<RunningRelay> {
  const host = o.host ?? '127.0.0.1';
  const loopback = isLoopback(host);
  const tls = o.tls === true || !loopback;
  const limits = resolveLimits(o.limits ?? {});
  const log: pino.Logger = o.logger === false ? pino({ level: 'silent' }) : (o.logger ?? pino({ name: 'parley-relay' }));
  const ident = await loadRelayIdentity(o.dataDir, loopback ? [] : [host]);
  const relayFp = ident.fingerprint;
  if (o.clusterUrl !== undefined && !/^rediss?:\/\//i.test(o.clusterUrl)) throw new TypeError('bad cluster URL: expected redis://host:port');
  if (o.clusterUrl !== undefined && !o.store && o.storeUrl === undefined) {
    throw new TypeError('cluster mode needs a store every node shares (--store postgres://…)');
  }
  const store: EnvelopeStore = o.store ?? (await openStore(o.dataDir, o.storeUrl, limits, log));
  const blobs = await BlobStore.open(o.dataDir, limits, o.blobClock);

  const allowOrigins = (o.allowOrigins ?? []).map(normalizeOrigin); // bad entries fail before anything starts
  const registration = o.registration ?? 'open';
  if (!REGISTRATION_MODES.includes(registration)) throw new TypeError(`bad registration mode ${String(registration)}: open, token or closed`);
  const ctx = createContext({ store, limits, log, relayFp, dataDir: o.dataDir, registration });
  const m = createMetrics(ctx, await store.stats(), () => io.engine?.clientsCount ?? 0);
  const blobTokens = new BlobTokens(o.blobClock);
  const onBlobRequest = blobHttpHandler(ctx, blobs, blobTokens);
  const onMetricsRequest = httpHandler(ctx, m);
  const onRequest: http.RequestListener = (req, res) => void (onBlobRequest(req, res) || onMetricsRequest(req, res));
  const httpServer = tls
    ? https.createServer({ key: ident.keyPem, cert: ident.certPem, minVersion: 'TLSv1.2' }, onRequest)
    : http.createServer(onRequest);

  const io = new Server<ClientToServer, ServerToClient>(httpServer, {
    serveClient: false,
    // Allow-listed origins may also read polling responses; for all others the guard below refuses the request.
    cors: { origin: allowOrigins.length > 0 ? allowOrigins : false },
    // Big enough for an oversize envelope to arrive and be refused with TOO_LARGE; far larger frames drop the socket.
    maxHttpBufferSize: Math.max(limits.maxEnvelopeBytes * 2, MAX_BLOB_PIECE_BYTES) + 64 * 1024,
    pingInterval: 20_000,
    pingTimeout: 20_000,
  });

  if (o.clusterUrl !== undefined) {
    ctx.bus = await redisBus(ctx, io, o.clusterUrl, newNodeId());
    log.info({ node: ctx.bus.nodeId }, 'cluster mode: coordinating over Redis');
  }
  const handlers: Handlers = { ...sessionHandlers(ctx), send: sendHandler(ctx), ...deliveryHandlers(ctx), ...blobHandlers(ctx, blobs, blobTokens) };
  guardOrigins(ctx, io, allowOrigins);
  attachConnections(ctx, io, handlers);

  // ---- TTL sweep ----------------------------------------------------------------------------------------------
  const sweep = async () => {
    try {
      const dropped = await store.sweep(Date.now());
      if (dropped > 0) {
        ctx.counters.expired += dropped;
        ctx.usageCache.clear();
        ctx.senderPending.clear();
        log.info({ dropped }, 'expired envelopes swept');
      }
      for (const [fp, b] of ctx.sendBuckets) if (!ctx.sessions.has(fp) && b.full()) ctx.sendBuckets.delete(fp);
      for (const [addr, b] of ctx.registrationBuckets) if (b.full()) ctx.registrationBuckets.delete(addr);
      if (registration === 'token') pruneInvites(o.dataDir);
      const blobsExpired = await blobs.sweep();
      if (blobsExpired > 0) log.info({ blobs: blobsExpired }, 'expired blobs deleted');
      await m.refreshStats();
    } catch (e) {
      log.error({ err: (e as Error).message }, 'sweep failed');
    }
  };
  const sweepTimer = setInterval(() => void sweep(), limits.sweepIntervalMs);
  sweepTimer.unref();
  await sweep();

  await new Promise<void>((resolve, rejectListen) => {
    httpServer.once('error', rejectListen);
    httpServer.listen(o.port ?? 0, host, () => {
      httpServer.off('error', rejectListen);
      resolve();
    });
  });
  const port = (httpServer.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `${tls ? 'https' : 'http'}://${urlHost}:${port}`;

  const advertising = advertisingDecision(host, loopback, o.advertise);
  if (advertising.warning) log.warn(advertising.warning);
  const advert: Advertisement | null = advertising.advertise ? (o.advertiser ?? advertiseRelay)({ host, port, fingerprint: relayFp, tls }) : null;
  log.info({ url, fingerprint: relayFp, tls, advertise: !!advert, limits, allowOrigins, registration }, 'relay listening');

  let closed: Promise<void> | null = null;
  const close = () => {
    closed ??= (async () => {
      ctx.closing = true;
      clearInterval(sweepTimer);
      await advert?.stop();
      io.disconnectSockets(true);
      await new Promise<void>((r) => io.close(() => r()));
      await store.close(); // commits what is pending
      await blobs.close();
      await ctx.bus.close();
      log.info('relay stopped');
    })();
    return closed;
  };

  return { url, port, host, fingerprint: relayFp, tls, close, metrics: m.metrics };
}
