/**
 * The relay connection: socket.io-client typed with the protocol's maps reversed, the relay's challenge/response
 * authentication, relay pinning (trust on first use), reconnects with jittered exponential backoff, and a
 * connection state for the UI. Every server payload is validated; requests use emitWithAck with a timeout.
 */
import { randomBytes } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { io, type Socket } from 'socket.io-client';
import type { z } from 'zod';
import {
  LABELS,
  LIMITS,
  authInput,
  challengeSchema,
  fromB64u,
  registrationInput,
  registrationKeyProof,
  sessionReplacedSchema,
  toB64u,
  type AuthResult,
  type BlobEventName,
  type Challenge,
  type ClientToServer,
  type Envelope,
  type LookupRequest,
  type PublicIdentity,
  type ServerToClient,
} from '../../../relay/protocol/index.js';
import type { ConnectionState } from '../../contract/api.js';
import { signLabeled, type IdentityKeys } from '../crypto/index.js';
import { rsaOaepDecrypt } from '../crypto/primitives.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { blobHttp, type BlobHttp } from './blob-http.js';
import { TypedEmitter } from './emitter.js';
import { TransportError } from './errors.js';
import {
  ackFailureSchema,
  ackResultSchema,
  authResultSchema,
  fetchResultSchema,
  looseDeliverSchema,
  lookupResultSchema,
  registerChallengeResultSchema,
  registerResultSchema,
  sendResultSchema,
  type LooseDelivered,
} from './schemas.js';
import { peerFingerprint } from './tls-pin.js';
import { parseRelayUrl, usesTls } from './relay-url.js';

export const SESSION_REPLACED_MESSAGE = 'This identity is now active on another device';

export interface RelayClientOptions {
  /** http(s)://host:port of the relay. */
  url: string;
  /** The identity to authenticate as; null for an anonymous probe (testRelay, lookups before onboarding). */
  identity: IdentityKeys | null;
  /** The relay fingerprint pinned for this profile; null on first use. */
  pinnedFingerprint?: string | null;
  /** Called once with the relay's fingerprint when nothing was pinned yet (the caller stores it). */
  onPin?: (fingerprint: string) => void | Promise<void>;
  /** Register this username with the identity before authenticating (idempotent on the relay). */
  registerAs?: string | null;
  /** Invite code for a relay that registers new users by invite only (`--registration token`); used with registerAs. */
  registerInvite?: string | null;
  /** Reconnect policy (default on; 500 ms doubling to 30 s, ±25 % jitter). */
  reconnect?: BackoffOptions & { enabled?: boolean };
  /** Per-request acknowledgement timeout (default 15 s). */
  requestTimeoutMs?: number;
  /** Connection attempt timeout (default 10 s). */
  connectTimeoutMs?: number;
  /**
   * TEST HOOK, off by default: acknowledgements are never sent (ack() stays pending). Everything the client commits
   * then stays queued on the relay, so a crash test kills inside the stored-but-unacknowledged window every time.
   */
  testHoldAcks?: boolean;
}

export interface RelayClientEvents {
  state: ConnectionState;
  authenticated: AuthResult;
  deliver: LooseDelivered[];
  'session-replaced': { message: string };
}

export interface LookupAnswer {
  username: string;
  identity: PublicIdentity;
  fingerprint: string;
  /** The rotation signature the relay kept for this identity, if the relay serves it. */
  rotation: { from: string; sig: string } | null;
}

type ClientSocket = Socket<ServerToClient, ClientToServer>;

export class RelayClient extends TypedEmitter<RelayClientEvents> {
  private socket: ClientSocket | null = null;
  private stopped = false;
  private authed = false;
  private pinned: string | null;
  private current: ConnectionState;
  private manualAttempts = 0;
  private manualTimer: NodeJS.Timeout | null = null;
  private lastChallenge: Challenge | null = null;
  private readonly timeoutMs: number;

  constructor(private readonly o: RelayClientOptions) {
    super();
    this.pinned = o.pinnedFingerprint ?? null;
    this.timeoutMs = o.requestTimeoutMs ?? 15_000;
    this.current = { status: 'offline', relayUrl: o.url, reason: 'Not connected yet' };
  }

  get url(): string {
    return this.o.url;
  }

  get state(): ConnectionState {
    return this.current;
  }

  /** Authenticated and usable for send/fetch/ack. */
  get online(): boolean {
    return this.authed && this.socket?.connected === true;
  }

  /** The relay fingerprint seen on this connection (after a valid challenge). */
  get relayFingerprint(): string | null {
    return this.lastChallenge?.relay ?? null;
  }

  get identityFingerprint(): string | null {
    return this.o.identity?.fingerprint ?? null;
  }

  /** Starts connecting (and reconnecting until close() or a fatal error). */
  connect(): void {
    if (this.socket || this.stopped) return;
    const rc = this.o.reconnect ?? {};
    const socket: ClientSocket = io(this.o.url, {
      transports: ['websocket'],
      forceNew: true,
      autoConnect: false,
      reconnection: rc.enabled !== false,
      reconnectionDelay: rc.baseMs ?? 500,
      reconnectionDelayMax: rc.maxMs ?? 30_000,
      randomizationFactor: rc.jitter ?? 0.25,
      timeout: this.o.connectTimeoutMs ?? 10_000,
      // Self-signed relay certificates are checked against the pinned fingerprint in onChallenge() instead.
      rejectUnauthorized: false,
    });
    this.socket = socket;
    this.setState({ status: 'connecting', relayUrl: this.o.url });

    socket.on('connect', () => {
      this.manualAttempts = 0;
      // Wait for the challenge; the server sends it right after the connection opens.
    });
    socket.on('challenge', (p: unknown) => void this.onChallenge(p));
    socket.on('deliver', (p: unknown) => {
      // The relay pushes only after a successful auth; its push can overtake our reading of the auth ack.
      const parsed = looseDeliverSchema.safeParse(p);
      if (parsed.success) this.emit('deliver', parsed.data.envelopes);
    });
    socket.on('session-replaced', (p: unknown) => {
      const parsed = sessionReplacedSchema.safeParse(p);
      this.fatal(SESSION_REPLACED_MESSAGE);
      this.emit('session-replaced', { message: parsed.success ? parsed.data.message : SESSION_REPLACED_MESSAGE });
    });
    socket.on('connect_error', (err: Error) => {
      if (this.stopped) return;
      this.authed = false;
      // Refused by the relay at the handshake (say, too many connections from this address): socket.io does not
      // retry those by itself (`active` is false), so we do, with backoff. The message comes from the relay: bounded.
      const refused = !socket.active;
      const reason = refused
        ? `The relay refused the connection: ${String(err.message).slice(0, 200)}`
        : `Cannot reach the relay: ${err.message}`;
      if (this.o.reconnect?.enabled === false) this.fatal(reason, 'OFFLINE');
      else {
        this.setState({ status: 'offline', relayUrl: this.o.url, reason });
        if (refused) this.scheduleManualReconnect();
      }
    });
    socket.io.on('reconnect_attempt', () => {
      if (!this.stopped) this.setState({ status: 'connecting', relayUrl: this.o.url });
    });
    socket.on('disconnect', (reason: string) => {
      this.authed = false;
      if (this.stopped) return;
      const why = this.closingReason;
      this.closingReason = null;
      if (why) return; // we closed it ourselves, with a better reason already shown
      this.setState({ status: 'offline', relayUrl: this.o.url, reason: `Disconnected: ${reason}` });
      // socket.io does not reconnect after a server-side disconnect (e.g. a relay shutdown); we do, with backoff.
      if (reason === 'io server disconnect' && (this.o.reconnect?.enabled ?? true)) this.scheduleManualReconnect();
    });
    socket.connect();
  }

  /** Resolves once authenticated (or, for an anonymous client, once the challenge arrived). */
  waitOnline(timeoutMs = 15_000): Promise<void> {
    const ready = (): boolean => (this.o.identity ? this.online : this.lastChallenge !== null && this.socket?.connected === true);
    if (ready()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (err?: Error): void => {
        clearTimeout(timer);
        off();
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(
        () => done(new TransportError('TIMEOUT', `Relay ${this.o.url} not reachable in time: ${this.describeState()}`)),
        timeoutMs,
      );
      const off = this.on('state', (s) => {
        if (ready()) done();
        else if (this.stopped && s.status === 'offline') done(new TransportError(this.fatalCode, s.reason));
      });
      if (this.stopped) done(new TransportError(this.fatalCode, this.describeState()));
    });
  }

  /** Stops reconnecting and closes the socket. */
  close(): void {
    this.stopped = true;
    this.authed = false;
    if (this.manualTimer) clearTimeout(this.manualTimer);
    this.socket?.disconnect();
    this.socket?.removeAllListeners();
    this.socket = null;
    if (this.current.status !== 'offline') this.setState({ status: 'offline', relayUrl: this.o.url, reason: 'Disconnected' });
  }

  // ---- requests --------------------------------------------------------------------------------------------

  /**
   * Register `username` for `keys` (or rotate to them, with the current identity's rotation signature), proving
   * possession of both private keys (PROTOCOL.md "Registration proof"): register-challenge, then register.
   */
  async register(
    username: string,
    keys: IdentityKeys,
    rotationSig?: Uint8Array,
    invite?: string | null,
  ): Promise<{ fingerprint: string; rotated: boolean }> {
    const relayFp = this.lastChallenge?.relay;
    if (!relayFp) throw new TransportError('OFFLINE', 'No challenge from the relay yet');
    const identity = keys.public;
    const ch = await this.request('register-challenge', { identity }, registerChallengeResultSchema, false);
    let value: Uint8Array;
    try {
      value = await rsaOaepDecrypt(keys.encKey, fromB64u(ch.wrapped));
    } catch {
      throw new TransportError('BAD_RESPONSE', 'The relay sent a registration challenge this identity cannot decrypt');
    }
    // Only a labelled hash of the value goes back, so the relay cannot use us to decrypt anything else.
    let key: Uint8Array;
    try {
      key = await registrationKeyProof(relayFp, keys.fingerprint, value);
    } catch (e) {
      throw new TransportError('BAD_RESPONSE', `Bad registration challenge: ${(e as Error).message}`);
    }
    const sig = await signLabeled(keys, LABELS.register, ...registrationInput(username, identity, relayFp));
    const proof = { sig: toB64u(sig), key: toB64u(key) };
    const payload = {
      username,
      identity,
      proof,
      ...(rotationSig ? { rotation: { sig: toB64u(rotationSig) } } : {}),
      ...(invite ? { invite } : {}),
    };
    const r = await this.request('register', payload, registerResultSchema, false);
    return { fingerprint: r.fingerprint, rotated: r.rotated };
  }

  async lookup(q: LookupRequest): Promise<LookupAnswer> {
    const r = await this.request('lookup', q, lookupResultSchema, false);
    return { username: r.username, identity: r.identity, fingerprint: r.fingerprint, rotation: r.rotation ?? null };
  }

  async send(envelope: Envelope): Promise<{ id: string; duplicate: boolean }> {
    const r = await this.request('send', { envelope }, sendResultSchema, true);
    return { id: r.id, duplicate: r.duplicate };
  }

  async fetch(limit?: number): Promise<{ envelopes: LooseDelivered[]; more: boolean }> {
    const me = this.o.identity?.fingerprint;
    if (!me) throw new TransportError('NO_IDENTITY', 'Fetching needs an identity');
    const payload = limit === undefined ? { recipient: me } : { recipient: me, limit: Math.min(limit, LIMITS.maxBatch) };
    const r = await this.request('fetch', payload, fetchResultSchema, true);
    return { envelopes: r.envelopes, more: r.more };
  }

  async ack(items: Array<{ from: string; id: string }>): Promise<number> {
    if (this.o.testHoldAcks) return new Promise<number>(() => undefined);
    let removed = 0;
    for (let i = 0; i < items.length; i += LIMITS.maxBatch) {
      const r = await this.request('ack', { items: items.slice(i, i + LIMITS.maxBatch) }, ackResultSchema, true);
      removed += r.removed;
    }
    return removed;
  }

  /** A blob event (attachments; electron/core/attachments/transfer.ts), answer checked against `schema`. */
  async blobRequest<S extends z.ZodType>(event: BlobEventName, payload: object, schema: S): Promise<z.infer<S>> {
    return this.request(event, payload, schema, true); // failures ({ok: false}) are caught before the schema
  }

  /** Blob bytes over HTTP to this relay, pinned to the fingerprint this connection verified; null while offline. */
  get blobHttp(): BlobHttp | null {
    const fp = this.relayFingerprint;
    return this.online && fp ? blobHttp(this.o.url, fp) : null;
  }

  // ---- internals -------------------------------------------------------------------------------------------

  private fatalCode: TransportError['code'] = 'OFFLINE';
  private closingReason: string | null = null;

  private async request<S extends z.ZodType>(
    event: keyof ClientToServer,
    payload: unknown,
    schema: S,
    needsAuth: boolean,
  ): Promise<z.infer<S>> {
    const socket = this.socket;
    if (!socket?.connected) throw new TransportError('OFFLINE', `Not connected to the relay (${this.describeState()})`);
    if (needsAuth && !this.authed) throw new TransportError('OFFLINE', 'Not authenticated with the relay yet');
    let res: unknown;
    try {
      // The typed maps make emitWithAck's signature per-event; the payload was built for `event` above.
      const emitter = socket.timeout(this.timeoutMs) as unknown as {
        emitWithAck(ev: string, p: unknown): Promise<unknown>;
      };
      res = await emitter.emitWithAck(event, payload);
    } catch {
      throw new TransportError('TIMEOUT', `The relay did not answer '${event}' within ${this.timeoutMs} ms`);
    }
    const failure = ackFailureSchema.safeParse(res);
    if (failure.success) {
      const e = failure.data.error;
      throw new TransportError(e.code, e.message, e.retryAfterMs);
    }
    const parsed = schema.safeParse(res);
    if (!parsed.success) {
      throw new TransportError('BAD_RESPONSE', `The relay answered '${event}' with an invalid payload: ${parsed.error.issues[0]?.message ?? ''}`);
    }
    return parsed.data;
  }

  private async onChallenge(raw: unknown): Promise<void> {
    const socket = this.socket;
    if (!socket || this.stopped) return;
    const parsed = challengeSchema.safeParse(raw);
    if (!parsed.success) return this.dropConnection('The relay sent an invalid challenge', 'BAD_RESPONSE');
    const ch = parsed.data;

    // TLS: the certificate's key must be the relay identity the challenge names. Whether TLS is in use decides
    // (https:// and wss:// alike, or any socket that turned out encrypted), never the spelling of the address.
    const tls = this.tlsSocket();
    if (usesTls(this.o.url) || tls?.encrypted === true) {
      const certFp = tls ? peerFingerprint(tls) : null;
      if (!certFp) return this.fatal('Cannot read the relay certificate to check its fingerprint', 'RELAY_CHANGED');
      if (certFp !== ch.relay) {
        return this.fatal(
          `The relay's TLS certificate (${certFp.slice(0, 16)}…) does not match the identity it announces (${ch.relay.slice(0, 16)}…)`,
          'RELAY_CHANGED',
        );
      }
    }
    if (this.pinned && this.pinned !== ch.relay) {
      return this.fatal(
        `The relay at ${this.o.url} presents a different identity than the one pinned for this profile ` +
          `(pinned ${this.pinned.slice(0, 16)}…, now ${ch.relay.slice(0, 16)}…). Refusing to connect.`,
        'RELAY_CHANGED',
      );
    }
    if (!this.pinned && this.o.identity) {
      this.pinned = ch.relay;
      try {
        await this.o.onPin?.(ch.relay);
      } catch {
        /* the pin is still enforced for this session */
      }
    }
    this.lastChallenge = ch;

    const keys = this.o.identity;
    if (!keys) {
      this.setState({ status: 'online', relayUrl: this.o.url, relayFingerprint: ch.relay });
      return;
    }
    try {
      if (this.o.registerAs) await this.register(this.o.registerAs, keys, undefined, this.o.registerInvite);
      const clientNonce = new Uint8Array(randomBytes(LIMITS.nonceBytes));
      const sig = await signLabeled(keys, LABELS.auth, ...authInput(ch.relay, fromB64u(ch.nonce), clientNonce, keys.fingerprint));
      const res = await this.request(
        'auth',
        { fingerprint: keys.fingerprint, clientNonce: toB64u(clientNonce), sig: toB64u(sig) },
        authResultSchema,
        false,
      );
      if (this.socket !== socket || this.stopped) return;
      this.authed = true;
      this.setState({ status: 'online', relayUrl: this.o.url, relayFingerprint: ch.relay });
      this.emit('authenticated', { fingerprint: res.fingerprint, username: res.username, queued: res.queued });
    } catch (err) {
      const e = err instanceof TransportError ? err : new TransportError('INTERNAL', String(err));
      if (['AUTH_FAILED', 'USERNAME_TAKEN', 'IDENTITY_TAKEN', 'PROOF_FAILED', 'REGISTRATION_CLOSED', 'INVITE_REQUIRED', 'NOT_FOUND'].includes(e.code)) {
        this.fatal(`The relay refused this identity: ${e.message}`, e.code);
      } else {
        this.dropConnection(`Authentication failed: ${e.message}`, e.code);
      }
    }
  }

  private tlsSocket(): TLSSocket | null {
    const engine = this.socket?.io.engine as unknown as { transport?: { ws?: { _socket?: TLSSocket } } } | undefined;
    return engine?.transport?.ws?._socket ?? null;
  }

  /** Close this connection with a reason; retry later with backoff (or stop, when reconnecting is off). */
  private dropConnection(reason: string, code: TransportError['code']): void {
    if ((this.o.reconnect?.enabled ?? true) === false) return this.fatal(reason, code);
    this.closingReason = reason;
    this.authed = false;
    this.socket?.disconnect();
    this.setState({ status: 'offline', relayUrl: this.o.url, reason });
    this.scheduleManualReconnect();
  }

  /** Stop for good (no reconnect): session replaced, relay changed, identity refused. */
  private fatal(reason: string, code: TransportError['code'] = 'SESSION_REPLACED'): void {
    this.fatalCode = code;
    this.stopped = true;
    this.authed = false;
    if (this.manualTimer) clearTimeout(this.manualTimer);
    this.socket?.disconnect();
    this.setState({ status: 'offline', relayUrl: this.o.url, reason });
  }

  private scheduleManualReconnect(): void {
    if (this.stopped || (this.o.reconnect?.enabled ?? true) === false) return;
    if (this.manualTimer) clearTimeout(this.manualTimer);
    const delay = backoffDelay(this.manualAttempts++, { baseMs: 500, maxMs: 30_000, jitter: 0.5, ...this.o.reconnect });
    this.manualTimer = setTimeout(() => {
      this.manualTimer = null;
      if (this.stopped || !this.socket) return;
      this.setState({ status: 'connecting', relayUrl: this.o.url });
      this.socket.connect();
    }, delay);
    this.manualTimer.unref?.();
  }

  private describeState(): string {
    const s = this.current;
    return s.status === 'offline' ? `offline: ${s.reason}` : s.status;
  }

  private setState(s: ConnectionState): void {
    const prev = this.current;
    this.current = s;
    const same =
      prev.status === s.status &&
      (prev.status !== 'offline' || s.status !== 'offline' || prev.reason === s.reason);
    if (!same) this.emit('state', s);
  }
}

/** Connects anonymously, reads the relay's fingerprint from its challenge (and TLS certificate), disconnects. */
export async function probeRelay(url: string, timeoutMs = 8_000): Promise<{ fingerprint: string }> {
  // Only the form is checked here; whether a plain address off this machine is acceptable is the caller's decision.
  try {
    parseRelayUrl(url, { allowInsecure: true });
  } catch (err) {
    throw new TransportError('BAD_REQUEST', (err as Error).message);
  }
  const c = new RelayClient({ url, identity: null, reconnect: { enabled: false }, connectTimeoutMs: timeoutMs });
  try {
    c.connect();
    await c.waitOnline(timeoutMs);
    const fp = c.relayFingerprint;
    if (!fp) throw new TransportError('BAD_RESPONSE', 'The relay sent no challenge');
    return { fingerprint: fp };
  } finally {
    c.close();
  }
}
