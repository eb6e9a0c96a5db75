/**
 * Identities and sessions: the connection challenge, `register` (fresh or rotation), `lookup`, and `auth`, which
 * binds one connection per identity (a newer login replaces the older connection).
 */
import { constants, createPublicKey, publicEncrypt, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  LABELS,
  PROTOCOL_VERSION,
  ProtocolError,
  authInput,
  REGISTRATION_SECRET_BYTES,
  fromB64u,
  registrationInput,
  registrationKeyProof,
  rotationInput,
  toB64u,
  validateIdentity,
  verifyLabeled,
  type AuthRequest,
  type LookupRequest,
  type PublicIdentity,
  type RegisterChallengeRequest,
  type RegisterRequest,
} from '../protocol/index.js';
import { MAX_REGISTER_CHALLENGES, type AnySocket, type ConnState, type Handler, type RelayContext } from './context.js';
import { pump } from './delivery.js';
import { remoteAddress } from './address.js';
import { redeemInvite } from './invites.js';
import { TokenBucket } from './limits.js';

/** A fresh single-use nonce for the next `auth` on this connection. */
export function issueChallenge(ctx: RelayContext, socket: AnySocket, st: ConnState): void {
  st.nonce = new Uint8Array(randomBytes(32));
  socket.emit('challenge', { v: PROTOCOL_VERSION, relay: ctx.relayFp, nonce: toB64u(st.nonce) });
}

async function checkedIdentity(input: PublicIdentity): Promise<{ identity: PublicIdentity; fingerprint: string }> {
  try {
    return await validateIdentity(input);
  } catch (e) {
    throw new ProtocolError('BAD_REQUEST', (e as Error).message);
  }
}

/**
 * Admission of a new account: refused when registration is closed; rate-limited per remote address; in token mode
 * an invite is used up (last, so a refused attempt does not burn it).
 */
function admitNewRegistration(ctx: RelayContext, socket: AnySocket, invite: string | undefined): void {
  const { limits } = ctx;
  if (ctx.registration === 'closed') throw new ProtocolError('REGISTRATION_CLOSED', 'this relay takes no new registrations');
  if (ctx.registration === 'token' && !invite) {
    throw new ProtocolError('INVITE_REQUIRED', 'this relay registers new users with an invite code from its operator');
  }
  const addr = remoteAddress(socket);
  let bucket = ctx.registrationBuckets.get(addr);
  if (!bucket) ctx.registrationBuckets.set(addr, (bucket = new TokenBucket(limits.registrationBurst, limits.registrationPerHour / 3600)));
  const wait = bucket.take();
  if (wait > 0) throw new ProtocolError('RATE_LIMITED', 'too many new registrations from this address', wait);
  if (ctx.registration === 'token' && !redeemInvite(ctx.dataDir, invite!)) {
    throw new ProtocolError('INVITE_REQUIRED', 'invite code unknown, already used or expired');
  }
}

export function sessionHandlers(ctx: RelayContext): {
  'register-challenge': Handler<RegisterChallengeRequest>;
  register: Handler<RegisterRequest>;
  lookup: Handler<LookupRequest>;
  auth: Handler<AuthRequest>;
} {
  const { store, log, sessions, counters, relayFp } = ctx;
  return {
    'register-challenge': async (_socket, st, p) => {
      const checked = await checkedIdentity(p.identity);
      const value = new Uint8Array(randomBytes(REGISTRATION_SECRET_BYTES));
      const rsaKey = createPublicKey({ key: Buffer.from(fromB64u(checked.identity.enc)), format: 'der', type: 'spki' });
      const wrapped = publicEncrypt({ key: rsaKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, value);
      // Only the expected answer is kept, per identity; a new challenge for the same identity replaces the old one.
      const expected = await registrationKeyProof(relayFp, checked.fingerprint, value);
      st.registrations.delete(checked.fingerprint);
      if (st.registrations.size >= MAX_REGISTER_CHALLENGES) st.registrations.delete(st.registrations.keys().next().value!);
      st.registrations.set(checked.fingerprint, expected);
      return { wrapped: toB64u(new Uint8Array(wrapped)) };
    },

    register: async (socket, st, p) => {
      const checked = await checkedIdentity(p.identity);
      const expected = st.registrations.get(checked.fingerprint);
      st.registrations.delete(checked.fingerprint); // single use, success or not
      if (!expected) throw new ProtocolError('PROOF_FAILED', 'no register-challenge for this identity on this connection');
      if (!timingSafeEqual(fromB64u(p.proof.key), expected)) {
        throw new ProtocolError('PROOF_FAILED', 'RSA proof does not match the register-challenge');
      }
      const sigOk = await verifyLabeled(
        checked.identity,
        fromB64u(p.proof.sig),
        LABELS.register,
        ...registrationInput(p.username, checked.identity, relayFp),
      );
      if (!sigOk) throw new ProtocolError('PROOF_FAILED', 'Ed25519 proof does not verify with the identity');
      const now = Date.now();
      const current = await store.identityByUsername(p.username);
      let replaces: string | undefined;
      if (current && current.fingerprint !== checked.fingerprint) {
        if (!p.rotation) throw new ProtocolError('USERNAME_TAKEN', 'username registered to a different identity');
        const ok = await verifyLabeled(
          current.identity,
          fromB64u(p.rotation.sig),
          LABELS.rotate,
          ...rotationInput(p.username, current.fingerprint, checked.identity),
        );
        if (!ok) throw new ProtocolError('BAD_SIGNATURE', 'rotation signature does not verify with the current identity');
        replaces = current.fingerprint;
      }
      const existing = await ctx.identityByFingerprint(checked.fingerprint);
      if (existing && existing.username !== p.username) {
        throw new ProtocolError('IDENTITY_TAKEN', 'that identity is already registered under another username');
      }
      // A new account (neither a re-registration nor a rotation of a registered username) passes the admission rules.
      if (!current && !existing) admitNewRegistration(ctx, socket, p.invite);
      const r = await store.register({
        username: p.username,
        identity: checked.identity,
        fingerprint: checked.fingerprint,
        replaces,
        rotationSig: replaces ? p.rotation?.sig : undefined,
        now,
      });
      if (r.rotated && r.previous) {
        ctx.identities.delete(r.previous);
        ctx.verifyKeys.delete(r.previous);
        ctx.bus.rotated(r.previous);
        const old = sessions.get(r.previous);
        if (old) {
          old.emit('session-replaced', { message: 'identity rotated; this key is no longer registered' });
          old.disconnect(true);
        }
      }
      log.info({ username: p.username, fp: checked.fingerprint, rotated: r.rotated }, 'registered');
      return { fingerprint: checked.fingerprint, rotated: r.rotated };
    },

    lookup: async (_socket, _st, p) => {
      const found = 'username' in p ? await store.identityByUsername(p.username) : await ctx.identityByFingerprint(p.fingerprint);
      if (!found) throw new ProtocolError('NOT_FOUND', 'no such identity');
      return { username: found.username, identity: found.identity, fingerprint: found.fingerprint, rotation: found.rotation };
    },

    auth: async (socket, st, p) => {
      const nonce = st.nonce;
      st.nonce = null; // single use, success or not
      try {
        if (st.fp) throw new ProtocolError('AUTH_FAILED', 'already authenticated');
        if (!nonce) throw new ProtocolError('AUTH_FAILED', 'no outstanding challenge');
        const who = await ctx.identityByFingerprint(p.fingerprint);
        if (!who) throw new ProtocolError('AUTH_FAILED', 'unknown identity; register first');
        const ok = await verifyLabeled(
          who.identity,
          fromB64u(p.sig),
          LABELS.auth,
          ...authInput(relayFp, nonce, fromB64u(p.clientNonce), p.fingerprint),
        );
        if (!ok) throw new ProtocolError('AUTH_FAILED', 'challenge response does not verify');
        if (!socket.connected) throw new ProtocolError('AUTH_FAILED', 'connection closed');
        const previous = sessions.get(p.fingerprint);
        if (previous && previous !== socket) {
          counters.sessionsReplaced++;
          log.info({ sid: previous.id, fp: p.fingerprint, by: socket.id }, 'session replaced by a newer login');
          previous.emit('session-replaced', { message: 'this identity connected from elsewhere' });
          previous.disconnect(true);
        }
        st.fp = p.fingerprint;
        st.username = who.username;
        st.authedAt = Date.now();
        sessions.set(p.fingerprint, socket);
        ctx.bus.claimed(p.fingerprint, st.authedAt);
        const u = await ctx.usage(p.fingerprint);
        log.info({ sid: socket.id, fp: p.fingerprint, queued: u.count }, 'authenticated');
        setImmediate(() => void pump(ctx, socket, st));
        return { fingerprint: p.fingerprint, username: who.username, queued: u.count };
      } catch (e) {
        if (socket.connected && !st.fp) issueChallenge(ctx, socket, st); // a fresh nonce for the next attempt
        throw e;
      }
    },
  };
}
