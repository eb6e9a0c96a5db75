/**
 * Browser origins. A web page can open a WebSocket (or long-poll) to any address the browser reaches, including a
 * relay on loopback or the app's embedded relay; socket.io's `cors` setting only stops it from reading polling
 * responses. Parley's own clients (Node socket.io-client, no browser) send no `Origin` header, so the relay refuses
 * every socket.io request that carries one, unless the operator allow-listed that exact origin.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from 'socket.io';
import type { RelayContext } from './context.js';

/** Canonical form of an allow-list entry (scheme://host[:port], lowercase); throws TypeError on anything else. */
export function normalizeOrigin(origin: string): string {
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    throw new TypeError(`bad origin ${JSON.stringify(origin)}: expected scheme://host[:port]`);
  }
  if (u.origin === 'null' || `${u.origin}` !== origin.replace(/\/$/, '').toLowerCase()) {
    throw new TypeError(`bad origin ${JSON.stringify(origin)}: expected scheme://host[:port] with nothing after it`);
  }
  return u.origin;
}

/**
 * Refuse socket.io requests with a non-allow-listed Origin: handshakes (polling or WebSocket) through allowRequest
 * (HTTP 403 for polling, 400 for an upgrade, message "origin not allowed"), and every later request of a session
 * (polling with a sid, a transport upgrade) through an engine middleware.
 */
export function guardOrigins(ctx: RelayContext, io: Server, allowed: readonly string[]): void {
  const allow = new Set(allowed.map(normalizeOrigin));
  const refused = (req: IncomingMessage): boolean => {
    const origin = req.headers.origin;
    if (origin === undefined) return false;
    if (allow.has(origin.toLowerCase())) return false;
    ctx.counters.originsRefused++;
    ctx.log.warn({ origin: origin.slice(0, 200), addr: req.socket.remoteAddress }, 'request with a browser origin refused');
    return true;
  };
  io.engine.opts.allowRequest = (req, callback) => callback('origin not allowed', !refused(req));
  io.engine.use((req: IncomingMessage & { _query?: Record<string, string> }, _res: ServerResponse, next: (err?: Error) => void) => {
    // Handshakes (no sid) are answered by allowRequest, with its clearer 403.
    if (req._query?.sid && refused(req)) return next(new Error('origin not allowed'));
    next();
  });
}
