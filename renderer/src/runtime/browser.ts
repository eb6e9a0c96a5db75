/**
 * Browser runtime (development and tests only): the same ParleyBridge, implemented as a client of the local bridge
 * host (electron/bridge/server.ts) over one WebSocket on this page's own origin. The per-run token arrives in the
 * URL fragment (#token=…), is kept for this tab only and is sent as the first message. Calls are
 * {id, method, args} → {id, ok, value | error}; events are {event, payload}. When the host goes away the client
 * keeps retrying, and after a reconnect it re-announces the state (a 'state-changed' event) so the UI catches up.
 */
import type { AppState, EventName, ParleyBridge } from '../../../electron/contract/api.js';
import { ApiError } from './errors.js';
import { eventHub } from './event-batch.js';

type Pending = { resolve: (v: unknown) => void; reject: (e: unknown) => void };
type Incoming =
  | { type: 'ready' }
  | { type: 'result'; id: number; ok: true; value: unknown }
  | { type: 'result'; id: number; ok: false; error: { code: string; message: string } }
  | { type: 'event'; event: EventName; payload: unknown };

export type BridgeLinkStatus = 'connecting' | 'open' | 'lost';

export function readToken(): string | null {
  const m = /(?:^|[#&])token=([A-Za-z0-9_-]{16,128})/.exec(location.hash);
  if (m) {
    sessionStorage.setItem('parley-bridge-token', m[1]!);
    history.replaceState(null, '', location.pathname + location.search);
    return m[1]!;
  }
  return sessionStorage.getItem('parley-bridge-token');
}

export function browserBridge(token: string, onLink?: (s: BridgeLinkStatus) => void): ParleyBridge {
  const pending = new Map<number, Pending>();
  const queue: string[] = [];
  let nextId = 1;
  let ws: WebSocket | null = null;
  let ready = false;
  let everReady = false;

  // A burst of events (a catch-up announces each stored message) reaches the listeners in one task (event-batch.ts).
  const events = eventHub();

  const connect = (): void => {
    onLink?.('connecting');
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const sock = new WebSocket(`${proto}//${location.host}/rpc`);
    ws = sock;
    sock.onopen = () => sock.send(JSON.stringify({ type: 'hello', token }));
    sock.onmessage = (ev) => {
      let msg: Incoming;
      try {
        msg = JSON.parse(String(ev.data)) as Incoming;
      } catch {
        return;
      }
      if (msg.type === 'ready') {
        ready = true;
        onLink?.('open');
        for (const q of queue.splice(0)) sock.send(q);
        if (everReady) {
          // The host restarted: fetch fresh state so screens refresh.
          void call('getState', []).then((s) => events.emit('state-changed', s as AppState), () => undefined);
        }
        everReady = true;
      } else if (msg.type === 'result') {
        events.flush(); // the events sent before this result come first
        const p = pending.get(msg.id);
        if (!p) return;
        pending.delete(msg.id);
        if (msg.ok) p.resolve(msg.value);
        else p.reject(new ApiError(msg.error.code, msg.error.message));
      } else if (msg.type === 'event') {
        events.push(msg.event, msg.payload);
      }
    };
    sock.onclose = () => {
      events.flush();
      ws = null;
      ready = false;
      onLink?.('lost');
      for (const [id, p] of pending) {
        pending.delete(id);
        p.reject(new ApiError('BRIDGE_DOWN', 'Lost the connection to Parley. Retrying…'));
      }
      setTimeout(connect, 500);
    };
  };

  const call = (method: string, args: unknown[]): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      const frame = JSON.stringify({ type: 'call', id, method, args });
      if (ready && ws) ws.send(frame);
      else queue.push(frame);
    });

  connect();

  return new Proxy({} as ParleyBridge, {
    get(_t, prop) {
      if (prop === 'on') return events.on;
      if (typeof prop !== 'string' || prop === 'then') return undefined;
      return (...args: unknown[]) => call(prop, args);
    },
  });
}
