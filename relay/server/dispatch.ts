/**
 * Connections: the per-address connection cap (at the handshake), the per-connection request bucket, event routing
 * with schema validation, typed rejects, and dropping a connection that keeps sending bad requests.
 */
import type { Server } from 'socket.io';
import {
  CLIENT_EVENTS,
  CLIENT_SCHEMAS,
  PROTOCOL_VERSION,
  PUBLIC_EVENTS,
  ProtocolError,
  type ClientEventName,
  type ClientToServer,
  type ErrorCode,
  type ServerToClient,
} from '../protocol/index.js';
import { reply, type AckFn, type AnySocket, type ConnState, type Handler, type RelayContext } from './context.js';
import { remoteAddress } from './address.js';
import { TokenBucket } from './limits.js';
import { issueChallenge } from './session.js';

/** Rejects that count towards abuseRejectsPerMinute: a well-behaved client does not cause them. */
const ABUSE_CODES: ReadonlySet<ErrorCode> = new Set([
  'BAD_REQUEST',
  'UNKNOWN_EVENT',
  'UNSUPPORTED_VERSION',
  'UNAUTHENTICATED',
  'AUTH_FAILED',
  'FORBIDDEN',
  'BAD_SIGNATURE',
  'PROOF_FAILED',
  'TOO_LARGE',
  'RATE_LIMITED',
]);

export type Handlers = { [K in ClientEventName]: Handler<never> };

export function attachConnections(ctx: RelayContext, io: Server<ClientToServer, ServerToClient>, handlers: Handlers): void {
  const { limits, log, counters, sessions } = ctx;

  const reject = (socket: AnySocket, st: ConnState, ack: AckFn | null, event: string, err: ProtocolError) => {
    ctx.countReject(err.code);
    log.debug({ sid: socket.id, event, code: err.code }, 'rejected');
    reply(ack, { ok: false, error: err.toWire() });
    if (ABUSE_CODES.has(err.code)) {
      const now = Date.now();
      st.rejectTimes.push(now);
      while (st.rejectTimes.length && st.rejectTimes[0]! < now - 60_000) st.rejectTimes.shift();
      if (st.rejectTimes.length > limits.abuseRejectsPerMinute && socket.connected) {
        counters.abuseDisconnects++;
        log.warn({ sid: socket.id, fp: st.fp, rejects: st.rejectTimes.length }, 'dropping abusive connection');
        socket.disconnect(true);
      }
    }
  };

  // ---- connections per remote address (refused at the handshake: the client sees connect_error) -----------------
  const perAddress = new Map<string, number>();
  io.use((socket, next) => {
    const addr = remoteAddress(socket);
    const open = perAddress.get(addr) ?? 0;
    if (open >= limits.maxConnectionsPerAddress) {
      ctx.countReject('RATE_LIMITED');
      counters.connectionsRefused++;
      log.warn({ addr, open }, 'connection refused: too many from this address');
      const err = new Error(`too many connections from this address (limit ${limits.maxConnectionsPerAddress})`);
      (err as Error & { data: unknown }).data = new ProtocolError('RATE_LIMITED', err.message, 5_000).toWire();
      return next(err);
    }
    perAddress.set(addr, open + 1);
    socket.once('disconnect', () => {
      const n = (perAddress.get(addr) ?? 1) - 1;
      if (n > 0) perAddress.set(addr, n);
      else perAddress.delete(addr);
    });
    next();
  });

  io.on('connection', (raw) => {
    const socket = raw as AnySocket;
    if (ctx.closing) {
      socket.disconnect(true);
      return;
    }
    const st: ConnState = {
      nonce: null,
      registrations: new Map(),
      fp: null,
      username: null,
      bucket: new TokenBucket(limits.connBurst, limits.connPerSec),
      rejectTimes: [],
      cursor: 0,
      inflight: new Map(),
      live: false,
      liveKeys: new Set(),
      pumping: false,
      pumpAgain: false,
      sendChain: Promise.resolve(),
    };
    ctx.state.set(socket, st);
    log.debug({ sid: socket.id }, 'connected');

    socket.onAny((event: unknown, ...args: unknown[]) => {
      const last = args[args.length - 1];
      const ack = typeof last === 'function' ? (last as AckFn) : null;
      const payloads = ack ? args.slice(0, -1) : args;
      const name = typeof event === 'string' ? event : String(event);
      const fail = (code: ErrorCode, message: string, retryAfterMs?: number) =>
        reject(socket, st, ack, name, new ProtocolError(code, message, retryAfterMs));

      const wait = st.bucket.take();
      if (wait > 0) return fail('RATE_LIMITED', 'too many requests on this connection', wait);
      if (!(CLIENT_EVENTS as readonly string[]).includes(name)) return fail('UNKNOWN_EVENT', `unknown event`);
      const ev = name as ClientEventName;
      if (!PUBLIC_EVENTS.has(ev) && !st.fp) return fail('UNAUTHENTICATED', `${ev} needs an authenticated connection`);
      if (payloads.length !== 1) return fail('BAD_REQUEST', 'expected exactly one payload object');
      const payload = payloads[0];
      let body: string | undefined; // a send's envelope JSON: measured here, stored as is
      if (ev === 'send' && payload && typeof payload === 'object' && 'envelope' in payload) {
        body = JSON.stringify((payload as { envelope: unknown }).envelope) ?? '';
        const size = Buffer.byteLength(body, 'utf8');
        if (size > limits.maxEnvelopeBytes) return fail('TOO_LARGE', `envelope is ${size} bytes; limit ${limits.maxEnvelopeBytes}`);
      }
      const inner = ev === 'send' ? 'envelope' : ev === 'register' || ev === 'register-challenge' ? 'identity' : null;
      const versioned = inner && payload && typeof payload === 'object' ? (payload as Record<string, unknown>)[inner] : null;
      if (versioned && typeof versioned === 'object' && 'v' in versioned && (versioned as { v: unknown }).v !== PROTOCOL_VERSION) {
        return fail('UNSUPPORTED_VERSION', `${inner}: protocol version ${PROTOCOL_VERSION} only`);
      }
      const parsed = CLIENT_SCHEMAS[ev].safeParse(payload);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        return fail('BAD_REQUEST', `${ev}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}`.slice(0, 300));
      }
      const handler = handlers[ev] as Handler<unknown>;
      handler(socket, st, parsed.data, body).then(
        (result) => reply(ack, { ok: true, ...result }),
        (e: unknown) => {
          if (e instanceof ProtocolError) reject(socket, st, ack, name, e);
          else {
            log.error({ event: name, err: (e as Error)?.message }, 'handler failed');
            reject(socket, st, ack, name, new ProtocolError('INTERNAL', 'relay error; retry later'));
          }
        },
      );
    });

    socket.on('disconnect', (reason) => {
      if (st.fp && sessions.get(st.fp) === socket) sessions.delete(st.fp);
      // an authenticated session's end at the level of its start ('authenticated'), with socket.io's reason: 'ping
      // timeout' (the client stopped answering), 'transport close', 'server namespace disconnect' (dropped here)
      log[st.fp ? 'info' : 'debug']({ sid: socket.id, fp: st.fp, reason: String(reason) }, 'disconnected');
    });

    issueChallenge(ctx, socket, st);
  });
}
