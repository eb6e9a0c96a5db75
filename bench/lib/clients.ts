/**
 * Benchmark clients for the relay benchmarks: real sockets on 127.0.0.1, in this process.
 * - 'parley': socket.io-client speaking protocol v1 (register, challenge–response auth, send with ack, deliver → ack).
 * - 'sio':    socket.io-client against the bare forwarder (hello, send with ack, deliver).
 * - 'ws':     raw `ws` against the minimal forwarding relay (recipient prefix, no acks).
 * Identities: distinct Ed25519 signing keys sharing one RSA-4096 public key (a fixture), so a thousand distinct,
 * valid identities cost milliseconds instead of RSA generation (fingerprints cover both keys, so they differ).
 */
import { constants, createPrivateKey, generateKeyPairSync, privateDecrypt, randomBytes, sign, type KeyObject } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import {
  authInput, envelopeSignedParts, fingerprint, frame, fromB64u, LABELS, registrationInput, registrationKeyProof, toB64u,
  type Envelope, type PublicIdentity,
} from '../../relay/protocol/index.js';
import { unsignedEnvelope } from './envelopes.js';
import type { ServerMode } from './server.js';

export interface BenchIdentity {
  username: string;
  identity: PublicIdentity;
  fp: string;
  key: KeyObject;
  /** RSA private key, for the registration proof (shared by the bench identities made by benchIdentities). */
  rsaKey: KeyObject;
}

/** An RSA key pair from a fixture: public SPKI (base64url) and private PKCS#8 (base64url). */
export interface RsaFixture {
  public: { enc: string };
  secret: { encPrivate: string };
}

export function rsaPrivateKey(fx: RsaFixture): KeyObject {
  return createPrivateKey({ key: Buffer.from(fromB64u(fx.secret.encPrivate)), format: 'der', type: 'pkcs8' });
}

export async function benchIdentities(n: number, rsa: RsaFixture, prefix: string): Promise<BenchIdentity[]> {
  const out: BenchIdentity[] = [];
  const rsaSpki = rsa.public.enc;
  const rsaKey = rsaPrivateKey(rsa);
  for (let i = 0; i < n; i++) {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
    const identity: PublicIdentity = { v: 1, enc: rsaSpki, sig: toB64u(new Uint8Array(raw)) };
    out.push({ username: `${prefix}${i}`, identity, fp: await fingerprint(identity), key: privateKey, rsaKey });
  }
  return out;
}

/** A signed envelope from `from` to `to` (256-byte bucket: ~1.8 KB of JSON, mostly the two RSA-4096 wrapped keys). */
export function makeEnvelope(from: BenchIdentity, to: string): Envelope {
  const e = unsignedEnvelope(from.fp, to);
  const sig = sign(null, Buffer.from(frame(LABELS.envelope, ...envelopeSignedParts(e))), from.key);
  return { ...e, sig: toB64u(new Uint8Array(sig)) };
}

export interface Hooks {
  onDeliver(env: { id: string; from: string }): void;
}

/** Called when the relay acknowledges a send (raw ws has no acknowledgements: called at once with ok). */
export type SendDone = (ok: boolean, code?: string) => void;

export interface LoadClient {
  id: BenchIdentity;
  send(env: Envelope, done: SendDone): void;
  close(): void;
}

function sioConnect(url: string): Socket {
  return io(url, { transports: ['websocket'], forceNew: true, reconnection: false, timeout: 30_000 });
}

function waitConnect(s: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve());
    s.once('connect_error', (e) => reject(e));
  });
}

/** register-challenge, then register with the proof of both keys (PROTOCOL.md "Registration proof"). */
async function registerWithProof(s: Socket, relayFp: string, id: BenchIdentity): Promise<void> {
  type Reply = { ok: boolean; wrapped?: string; error?: { code: string } };
  const ch = (await s.timeout(60_000).emitWithAck('register-challenge', { identity: id.identity })) as Reply;
  if (!ch.ok || !ch.wrapped) throw new Error(`register-challenge ${id.username}: ${ch.error?.code ?? '?'}`);
  const value = privateDecrypt({ key: id.rsaKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, Buffer.from(fromB64u(ch.wrapped)));
  const key = await registrationKeyProof(relayFp, id.fp, new Uint8Array(value));
  const sig = sign(null, Buffer.from(frame(LABELS.register, ...registrationInput(id.username, id.identity, relayFp))), id.key);
  const proof = { sig: toB64u(new Uint8Array(sig)), key: toB64u(key) };
  const r = (await s.timeout(60_000).emitWithAck('register', { username: id.username, identity: id.identity, proof })) as Reply;
  if (!r.ok) throw new Error(`register ${id.username}: ${r.error?.code ?? '?'}`);
}

async function parleyClient(url: string, relayFp: string, id: BenchIdentity, hooks: Hooks, register: boolean): Promise<LoadClient> {
  const s = sioConnect(url);
  let challenge: { nonce: string } | null = null;
  const gotChallenge = new Promise<void>((r) => s.on('challenge', (c: { nonce: string }) => ((challenge = c), r())));
  await waitConnect(s);
  await gotChallenge;
  if (register) await registerWithProof(s, relayFp, id);
  const clientNonce = randomBytes(32);
  const input = frame(LABELS.auth, ...authInput(relayFp, fromB64u(challenge!.nonce), clientNonce, id.fp));
  const sig = sign(null, Buffer.from(input), id.key);
  const auth = (await s.timeout(60_000).emitWithAck('auth', { fingerprint: id.fp, clientNonce: toB64u(clientNonce), sig: toB64u(new Uint8Array(sig)) })) as { ok: boolean; error?: { code: string } };
  if (!auth.ok) throw new Error(`auth ${id.username}: ${auth.error?.code ?? '?'}`);
  s.on('deliver', (p: { envelopes: Array<{ envelope: Envelope }> }) => {
    s.emit('ack', { items: p.envelopes.map((d) => ({ from: d.envelope.from, id: d.envelope.id })) }, () => undefined);
    for (const d of p.envelopes) hooks.onDeliver(d.envelope);
  });
  return {
    id,
    send(env, done) {
      s.emit('send', { envelope: env }, (r: { ok: boolean; error?: { code: string } }) => done(r.ok, r.error?.code));
    },
    close: () => void s.disconnect(),
  };
}

async function sioClient(url: string, id: BenchIdentity, hooks: Hooks): Promise<LoadClient> {
  const s = sioConnect(url);
  await waitConnect(s);
  await s.timeout(60_000).emitWithAck('hello', { fingerprint: id.fp, identity: id.identity });
  s.on('deliver', (p: { envelopes: Array<{ envelope: Envelope }> }) => {
    for (const d of p.envelopes) hooks.onDeliver(d.envelope);
  });
  return {
    id,
    send(env, done) {
      s.emit('send', { envelope: env }, (r: { ok: boolean; error?: { code: string } }) => done(r.ok, r.error?.code));
    },
    close: () => void s.disconnect(),
  };
}

async function wsClient(url: string, id: BenchIdentity, hooks: Hooks): Promise<LoadClient> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(id.fp);
  ws.on('message', (data: Buffer) => {
    const env = JSON.parse(data.toString('utf8', 64)) as Envelope;
    hooks.onDeliver(env);
  });
  return {
    id,
    send(env, done) {
      ws.send(env.to[0]! + JSON.stringify(env));
      done(true);
    },
    close: () => ws.close(),
  };
}

/** Register every identity with a Parley relay over one connection (registration is allowed before auth). */
export async function registerAll(url: string, relayFp: string, ids: BenchIdentity[]): Promise<void> {
  const s = sioConnect(url);
  try {
    await waitConnect(s);
    let next = 0;
    // The relay keeps a few outstanding register-challenges per connection (one per identity): 8 lanes fit.
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < ids.length) await registerWithProof(s, relayFp, ids[next++]!);
      }),
    );
  } finally {
    s.disconnect();
  }
}

/** Connect (and for Parley register + authenticate) every identity, `parallel` at a time. */
export async function connectAll(
  mode: ServerMode,
  url: string,
  relayFp: string | null,
  ids: BenchIdentity[],
  hooks: Hooks,
  parallel = 50,
  /** Parley: register each identity first (idempotent); false when they are registered already. */
  register = true,
): Promise<LoadClient[]> {
  const out: LoadClient[] = new Array(ids.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < ids.length) {
      const i = next++;
      const id = ids[i]!;
      out[i] =
        mode === 'ws' ? await wsClient(url, id, hooks)
        : mode === 'parley' || mode === 'parley-mem' ? await parleyClient(url, relayFp!, id, hooks, register)
        : await sioClient(url, id, hooks);
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  return out;
}
