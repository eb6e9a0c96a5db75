/** The relay's plain HTTP surface next to socket.io: GET /healthz and GET /metrics (JSON, no secrets). */
import type http from 'node:http';
import { PROTOCOL_VERSION, type ErrorCode } from '../protocol/index.js';
import type { Counters, RelayContext } from './context.js';
import type { StoreStats } from './store/types.js';

export const RELAY_VERSION = '0.1.0';

export interface RelayMetrics extends Counters {
  /** Which relay node answered (cluster mode: one id per process; 'local' for a relay alone). */
  node: string;
  connections: number;
  authenticated: number;
  queuedEnvelopes: number;
  identities: number;
  commits: number;
  committedWrites: number;
  foldedAcks: number;
  rejects: Partial<Record<ErrorCode, number>>;
  rejectsTotal: number;
  /**
   * Token buckets held for rate limits: one per sender that sent recently or is connected, one per address that
   * registered recently. The sweep drops those that are full again, so this stays near the number of active users.
   */
  rateBuckets: number;
}

/** Metrics with store counts cached: the store is asked at most once per metrics()/sweep//metrics call. */
export function createMetrics(ctx: RelayContext, initial: StoreStats, connections: () => number) {
  let cachedStats = initial;
  const snapshot = (): RelayMetrics => ({
    node: ctx.bus.nodeId,
    connections: connections(),
    authenticated: ctx.sessions.size,
    queuedEnvelopes: cachedStats.queued,
    identities: cachedStats.identities,
    ...ctx.counters,
    commits: cachedStats.commits,
    committedWrites: cachedStats.committedWrites,
    foldedAcks: cachedStats.foldedAcks ?? 0,
    rejects: { ...ctx.rejects },
    rejectsTotal: ctx.rejectsTotal,
    rateBuckets: ctx.sendBuckets.size + ctx.registrationBuckets.size,
  });
  const refreshStats = async () => {
    if (!ctx.closing) cachedStats = await ctx.store.stats();
  };
  const metrics = (): RelayMetrics => {
    void refreshStats().catch(() => undefined); // store counts are as of the previous call, sweep or /metrics
    return snapshot();
  };
  return { snapshot, refreshStats, metrics };
}

export function httpHandler(ctx: RelayContext, m: ReturnType<typeof createMetrics>) {
  return (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (req.url?.startsWith('/socket.io')) return; // socket.io's own listener answers these
    const send = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(text);
    };
    if (req.method !== 'GET') return send(405, { ok: false, error: 'method not allowed' });
    const url = (req.url ?? '/').split('?')[0];
    if (url === '/healthz') {
      return send(200, { ok: !ctx.closing, version: RELAY_VERSION, protocol: PROTOCOL_VERSION, fingerprint: ctx.relayFp });
    }
    if (url === '/metrics') {
      m.refreshStats()
        .then(() => send(200, m.snapshot()))
        .catch(() => send(500, { ok: false }));
      return;
    }
    send(404, { ok: false, error: 'not found' });
  };
}
