/**
 * Node-to-node coordination. A relay alone uses the local bus (nothing to tell anyone). In cluster mode
 * (`--cluster redis://…`) the nodes share a PostgreSQL store and talk over Redis pub/sub through socket.io's Redis
 * adapter: the store stays the source of truth, a lost notification only delays a delivery until the recipient's
 * next ack or reconnect.
 *
 * What crosses nodes: "envelopes committed for these recipients" (their node reads them from the store), "this node
 * authenticated fingerprint X" (one connection per identity across nodes: older ones elsewhere are replaced), and
 * "X was rotated away" (identity caches and X's connections everywhere).
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'socket.io';
import type { AnySocket, RelayContext } from './context.js';
import { kick } from './delivery.js';

export interface ClusterBus {
  readonly nodeId: string;
  /**
   * False in cluster mode: envelopes are not forwarded before their commit, because another node's commit for the
   * same recipient may hold a lower sequence number than this node's live one (see delivery.ts cursor).
   */
  readonly liveForwarding: boolean;
  /** True when other nodes share the store: this node's quota caches miss their enqueues and acks (ingest.ts). */
  readonly clustered: boolean;
  committed(recipients: readonly string[]): void;
  claimed(fp: string, at: number): void;
  rotated(previous: string): void;
  close(): Promise<void>;
}

export function localBus(nodeId = 'local'): ClusterBus {
  return { nodeId, liveForwarding: true, clustered: false, committed() {}, claimed() {}, rotated() {}, close: async () => {} };
}

export function newNodeId(): string {
  return randomBytes(6).toString('hex');
}

/**
 * The safety net under notifications: pump every recipient connected here whose newest unacknowledged envelope in the
 * store is past what this node pushed it (its cursor). Catches a lost "committed" notification (Redis down, a node
 * killed between its commit and its publish) and a pump that stopped on a store error (database restarted).
 * One query per 1 000 connected recipients. Returns how many pumps it started.
 */
export async function resync(ctx: RelayContext): Promise<number> {
  const { store, sessions, state } = ctx;
  if (!store.newestPending || sessions.size === 0) return 0;
  const fps = [...sessions.keys()];
  let kicked = 0;
  for (let i = 0; i < fps.length; i += 1_000) {
    const newest = await store.newestPending(fps.slice(i, i + 1_000));
    for (const [fp, seq] of newest) {
      const s = sessions.get(fp);
      const st = s && state.get(s);
      if (st && seq > st.cursor) {
        kicked++;
        kick(ctx, fp);
      }
    }
  }
  return kicked;
}

/**
 * Whether a login on node `by` at time `at` replaces this node's session of the same identity, authenticated here at
 * `mine`. The newer login wins. At the same millisecond the higher node id wins, so exactly one of two simultaneous
 * logins survives (comparing times alone, both nodes dropped theirs and the identity was connected nowhere). A claim
 * without a node id (from a relay of an earlier version) replaces a session of the same millisecond, as it did.
 */
export function claimReplaces(mine: number, localNode: string, at: number, by: string | undefined): boolean {
  if (mine !== at) return mine < at;
  return by === undefined || by > localNode;
}

function drop(ctx: RelayContext, socket: AnySocket, message: string): void {
  ctx.counters.sessionsReplaced++;
  socket.emit('session-replaced', { message });
  socket.disconnect(true);
}

/** Redis bus: socket.io's Redis adapter carries server-side events between the nodes. */
export async function redisBus(ctx: RelayContext, io: Server, redisUrl: string, nodeId: string): Promise<ClusterBus> {
  const [{ createAdapter }, { Redis }] = await Promise.all([import('@socket.io/redis-adapter'), import('ioredis')]);
  // Redis down: commands queue and the client reconnects; meanwhile nodes miss notifications (delivery only slows)
  const opts = { maxRetriesPerRequest: null, enableOfflineQueue: true, retryStrategy: (n: number) => Math.min(n * 200, 2000) };
  const pub = new Redis(redisUrl, opts);
  const sub = pub.duplicate();
  for (const c of [pub, sub]) c.on('error', (e: Error) => ctx.log.warn({ err: e.message, node: nodeId }, 'redis connection problem'));
  io.adapter(createAdapter(pub, sub, { key: 'parley' }));
  const ns = io.of('/') as unknown as { on(ev: string, f: (...a: unknown[]) => void): void };
  const emit = (ev: string, ...args: unknown[]) => {
    // Redis down: dropped rather than queued without bound in ioredis's offline queue (resync below delivers anyway)
    if (pub.status !== 'ready') return;
    try {
      (io as unknown as { serverSideEmit(ev: string, ...a: unknown[]): void }).serverSideEmit(ev, ...args);
    } catch (e) {
      ctx.log.warn({ err: (e as Error).message, node: nodeId }, 'cluster notification not sent');
    }
  };
  const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  ns.on('parley:committed', (fps: unknown) => {
    for (const fp of strings(fps)) {
      // another node queued for fp: this node's counts of fp's queue are low now; recount at its next send here
      ctx.usageCache.delete(fp);
      ctx.senderPending.delete(fp);
      kick(ctx, fp);
    }
  });
  ns.on('parley:claimed', (fp: unknown, at: unknown, by: unknown) => {
    if (typeof fp !== 'string' || typeof at !== 'number') return;
    const s = ctx.sessions.get(fp);
    const st = s && ctx.state.get(s);
    if (s && st && claimReplaces(st.authedAt ?? 0, nodeId, at, typeof by === 'string' ? by : undefined)) {
      ctx.sessions.delete(fp);
      ctx.log.info({ sid: s.id, fp, authedAt: st.authedAt, claimedAt: at }, 'session replaced by a login on another node');
      drop(ctx, s, 'this identity connected from elsewhere');
    }
  });
  ns.on('parley:rotated', (prev: unknown) => {
    if (typeof prev !== 'string') return;
    ctx.identities.delete(prev);
    ctx.verifyKeys.delete(prev);
    const s = ctx.sessions.get(prev);
    if (s) drop(ctx, s, 'identity rotated; this key is no longer registered');
  });
  let resyncing = false;
  const runResync = () => {
    if (resyncing || ctx.closing) return;
    resyncing = true;
    resync(ctx)
      .then((n) => {
        if (n > 0) ctx.log.debug({ node: nodeId, pumped: n }, 'resync found undelivered envelopes');
      })
      .catch((e: unknown) => ctx.log.warn({ err: (e as Error).message, node: nodeId }, 'resync failed'))
      .finally(() => (resyncing = false));
  };
  const resyncTimer = setInterval(runResync, ctx.limits.clusterResyncMs);
  resyncTimer.unref();
  sub.on('ready', runResync); // back from an outage: what was committed meanwhile, now rather than at the next tick
  return {
    nodeId,
    liveForwarding: false,
    clustered: true,
    committed: (recipients) => emit('parley:committed', [...recipients]),
    claimed: (fp, at) => emit('parley:claimed', fp, at, nodeId),
    rotated: (prev) => emit('parley:rotated', prev),
    async close() {
      clearInterval(resyncTimer);
      await Promise.allSettled([pub.quit(), sub.quit()]);
      pub.disconnect();
      sub.disconnect();
    },
  };
}
