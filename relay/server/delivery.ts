/**
 * Delivery: pushing queued envelopes to an authenticated connection in seq order under flow control (at most
 * deliverWindow unacknowledged), `fetch` of the own queue, and `ack`, which frees the window and the quota.
 */
import { LIMITS, ProtocolError, type AckRequest, type Delivered, type FetchRequest } from '../protocol/index.js';
import type { AnySocket, ConnState, Handler, RelayContext } from './context.js';

/** Push queued envelopes in seq order, at most deliverWindow unacknowledged. */
export async function pump(ctx: RelayContext, socket: AnySocket, st: ConnState): Promise<void> {
  const { store, limits, sessions, uncommitted, counters, log } = ctx;
  if (st.pumping) {
    st.pumpAgain = true;
    return;
  }
  st.pumping = true;
  try {
    do {
      st.pumpAgain = false;
      while (socket.connected && st.fp && sessions.get(st.fp) === socket && st.inflight.size < limits.deliverWindow) {
        const room = Math.min(limits.deliverBatch, limits.deliverWindow - st.inflight.size);
        // Nothing uncommitted for this identity before the read and after it: every enqueue that could still commit
        // started after the read began, saw this connection not live and kicks this pump after its commit. (The store
        // read is asynchronous: a network database may commit other writes while it runs.)
        const before = uncommitted.get(st.fp) ?? 0;
        const rows = await store.pending(st.fp, st.cursor, room);
        const exhausted = rows.length < room && before === 0 && (uncommitted.get(st.fp) ?? 0) === 0;
        const envelopes: Delivered[] = [];
        for (const r of rows) {
          st.cursor = Math.max(st.cursor, r.seq);
          const key = `${r.envelope.from}/${r.envelope.id}`;
          if (st.liveKeys.has(key) || st.inflight.has(key)) continue; // already pushed live
          st.inflight.set(key, r.seq);
          envelopes.push({ envelope: r.envelope, receivedAt: r.receivedAt });
        }
        if (envelopes.length > 0) {
          counters.delivered += envelopes.length;
          socket.emit('deliver', { envelopes });
          log.debug({ fp: st.fp, count: envelopes.length, upTo: st.cursor }, 'delivered');
        }
        if (exhausted) {
          // caught up: new envelopes may go out live (not in a cluster: see ClusterBus.liveForwarding)
          if (ctx.bus.liveForwarding) st.live = true;
          break;
        }
        if (rows.length === 0) break;
      }
    } while (st.pumpAgain);
  } catch (e) {
    log.error({ err: (e as Error).message, fp: st.fp }, 'delivery failed');
  } finally {
    st.pumping = false;
  }
}

/** Start (or re-run) the pump of `fp`'s connection, if it is online. */
export function kick(ctx: RelayContext, fp: string): void {
  const s = ctx.sessions.get(fp);
  const st = s && ctx.state.get(s);
  if (s && st) void pump(ctx, s, st);
}

export function deliveryHandlers(ctx: RelayContext): { fetch: Handler<FetchRequest>; ack: Handler<AckRequest> } {
  const { store, limits, counters } = ctx;
  return {
    fetch: async (_socket, st, p) => {
      if (p.recipient !== st.fp) throw new ProtocolError('FORBIDDEN', 'you may fetch only your own queue');
      const limit = Math.min(p.limit ?? limits.deliverBatch, LIMITS.maxBatch);
      const rows = await store.pending(st.fp, 0, limit + 1);
      const envelopes = rows.slice(0, limit).map((r) => ({ envelope: r.envelope, receivedAt: r.receivedAt }));
      return { envelopes, more: rows.length > limit };
    },

    ack: async (socket, st, p) => {
      const fp = st.fp!;
      const r = await store.ack(fp, p.items);
      if (r.bytes === undefined) ctx.usageCache.delete(fp); // recount from the store next time
      else ctx.release(fp, r.removed, r.bytes);
      // Every item removed: each was one pending envelope of its sender. Otherwise which ones is unknown: recount.
      if (r.removed === p.items.length) for (const it of p.items) ctx.releaseSender(fp, it.from);
      else ctx.senderPending.delete(fp);
      counters.acked += r.removed;
      for (const it of p.items) st.inflight.delete(`${it.from}/${it.id}`);
      // Live: everything queued for this identity has been pushed already, so there is nothing to read; otherwise
      // the freed window may take envelopes from the store.
      if (!st.live) void pump(ctx, socket, st);
      return { removed: r.removed };
    },
  };
}
