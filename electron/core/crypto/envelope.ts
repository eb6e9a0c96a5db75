/**
 * seal() and open(): the envelope of protocol v1 (see relay/protocol/PROTOCOL.md, "Seal" and "Open").
 */
import {
  canonicalHeader,
  envelopeSchema,
  envelopeSignedParts,
  fingerprint,
  frame,
  fromB64u,
  importWrappingKey,
  LABELS,
  LIMITS,
  messageIdSchema,
  PROTOCOL_VERSION,
  publicIdentitySchema,
  signingInput,
  toB64u,
  type Envelope,
  type PublicIdentity,
} from '../../../relay/protocol/index.js';
import { OpenError } from './errors.js';
import { signLabeled, type IdentityKeys } from './identity.js';
import { decodePayload, encodePayload, isBucket, newMessageId, type Payload } from './payload.js';
import {
  aesGcmDecryptSync,
  aesGcmEncryptSync,
  ed25519VerifyWithKey,
  importAesKeySync,
  importEd25519PublicKey,
  randomBytes,
  rsaOaepEncrypt,
  rsaOaepUnwrap,
  type CryptoKey,
  type Ed25519PublicKey,
} from './primitives.js';

/** One message for every unwrap/decrypt failure: which step failed is not revealed. */
const TAMPERED = 'envelope does not decrypt (tampered or damaged)';

/** Imported RSA public keys by their SPKI text, so a busy conversation does not re-import on every message. */
const wrapKeyCache = new Map<string, Promise<CryptoKey>>();
const WRAP_CACHE_MAX = 256;

function wrappingKey(id: PublicIdentity): Promise<CryptoKey> {
  let k = wrapKeyCache.get(id.enc);
  if (!k) {
    k = importWrappingKey(id);
    k.catch(() => wrapKeyCache.delete(id.enc));
    if (wrapKeyCache.size >= WRAP_CACHE_MAX) wrapKeyCache.delete(wrapKeyCache.keys().next().value as string);
    wrapKeyCache.set(id.enc, k);
  }
  return k;
}

export interface SealOptions {
  sender: IdentityKeys;
  recipients: PublicIdentity[];
  payload: Payload;
  id?: string;
}

/**
 * Encrypt and sign a payload for `recipients` (and the sender's own copy).
 * Throws TypeError for bad recipients or id, PayloadError for a bad payload.
 */
export async function seal(o: SealOptions): Promise<Envelope> {
  const id = o.id ?? newMessageId();
  if (!messageIdSchema.safeParse(id).success) throw new TypeError('seal: id must be 16 bytes of base64url');
  if (!Array.isArray(o.recipients) || o.recipients.length === 0) throw new TypeError('seal: at least one recipient');
  const byFp = new Map<string, PublicIdentity>();
  for (const r of o.recipients) {
    const parsed = publicIdentitySchema.safeParse(r);
    if (!parsed.success) throw new TypeError('seal: malformed recipient identity');
    byFp.set(await fingerprint(parsed.data), parsed.data);
  }
  if (byFp.size > LIMITS.maxRecipients) throw new TypeError(`seal: more than ${LIMITS.maxRecipients} recipients`);
  const to = [...byFp.keys()].sort();
  const from = o.sender.fingerprint;
  const wrapFor = new Map(byFp);
  wrapFor.set(from, o.sender.public);

  const plaintext = encodePayload(o.payload);
  const rawKey = randomBytes(LIMITS.aesKeyBytes);
  const iv = randomBytes(LIMITS.ivBytes);
  try {
    const aesKey = importAesKeySync(rawKey);
    const header = { v: PROTOCOL_VERSION, id, from, to };
    const ct = aesGcmEncryptSync(aesKey, iv, plaintext, canonicalHeader(header));
    const keys = await Promise.all(
      [...wrapFor.keys()].sort().map(async (fp) => ({ to: fp, k: toB64u(await rsaOaepEncrypt(await wrappingKey(wrapFor.get(fp)!), rawKey)) })),
    );
    const unsigned = { v: PROTOCOL_VERSION, id, from, to, iv: toB64u(iv), ct: toB64u(ct), keys };
    const sig = await signLabeled(o.sender, LABELS.envelope, ...envelopeSignedParts(unsigned));
    return { ...unsigned, sig: toB64u(sig) };
  } finally {
    rawKey.fill(0);
    plaintext.fill(0);
  }
}

export interface OpenOptions {
  /** The envelope as received (untrusted). */
  envelope: unknown;
  /** Whoever opens it. */
  me: IdentityKeys;
  /** The pinned identity of the claimed sender (from the contact list, or `me.public` for an own sent copy). */
  sender: PublicIdentity;
}

/** A validated sender identity, its fingerprint and its imported Ed25519 key (null when the key does not import). */
interface SenderEntry {
  fingerprint: string;
  verifyKey: Ed25519PublicKey | null;
}

/**
 * Senders already validated (schema) and imported, by their exact `enc` and `sig` text: an LRU, per thread (each
 * pool worker has its own). A hit skips the schema parse, the fingerprint hash and the key import; the entry is a
 * pure function of those two strings, so it cannot be stale. Failures are not cached.
 */
const senderCache = new Map<string, Promise<SenderEntry | null>>();
export const SENDER_CACHE_MAX = 256;

/**
 * The sender cache's keys (`enc.sig`: public identity strings only), least recently used first. For the tests of its
 * bound, order and what it refuses to keep (crypto-envelope-cache.test.ts): the results of open() are the same with
 * or without the cache, so only this shows it works.
 */
export function senderCacheKeys(): string[] {
  return [...senderCache.keys()];
}

/** Exactly { v: 1, enc: string, sig: string } with no other own keys (what the strict schema accepts structurally). */
function senderShape(s: unknown): s is PublicIdentity {
  if (typeof s !== 'object' || s === null || Array.isArray(s)) return false;
  const o = s as Record<string, unknown>;
  return (
    Object.keys(o).length === 3 &&
    Object.hasOwn(o, 'v') &&
    Object.hasOwn(o, 'enc') &&
    Object.hasOwn(o, 'sig') &&
    o.v === PROTOCOL_VERSION &&
    typeof o.enc === 'string' &&
    typeof o.sig === 'string'
  );
}

/** Full validation of the pinned sender: schema, fingerprint, Ed25519 key import. Null when it is not an identity. */
async function loadSender(s: unknown): Promise<SenderEntry | null> {
  const parsed = publicIdentitySchema.safeParse(s);
  if (!parsed.success) return null;
  let verifyKey: Ed25519PublicKey | null;
  try {
    verifyKey = importEd25519PublicKey(fromB64u(parsed.data.sig));
  } catch {
    verifyKey = null; // a key OpenSSL rejects verifies nothing: 'bad-signature', as before
  }
  return { fingerprint: await fingerprint(parsed.data), verifyKey };
}

/** The pinned sender, validated once per distinct identity (concurrent first uses share one validation). */
function senderEntry(s: unknown): Promise<SenderEntry | null> {
  if (!senderShape(s)) return loadSender(s); // the schema refuses it; nothing to cache
  const { enc, sig } = s; // read once: the key and the validated identity are the same strings
  const cacheKey = `${enc}.${sig}`;
  const hit = senderCache.get(cacheKey);
  if (hit) {
    senderCache.delete(cacheKey); // refresh its LRU position
    senderCache.set(cacheKey, hit);
    return hit;
  }
  const entry = loadSender({ v: PROTOCOL_VERSION, enc, sig });
  if (senderCache.size >= SENDER_CACHE_MAX) senderCache.delete(senderCache.keys().next().value as string);
  senderCache.set(cacheKey, entry);
  void entry.then(
    (e) => {
      if (e === null && senderCache.get(cacheKey) === entry) senderCache.delete(cacheKey);
    },
    () => {
      if (senderCache.get(cacheKey) === entry) senderCache.delete(cacheKey);
    },
  );
  return entry;
}

/**
 * Verify, unwrap and decrypt an envelope. Checks, in order, each failing with an OpenError:
 * schema ('malformed') → version ('unknown-version') → env.from is the pinned sender ('wrong-sender') →
 * signature ('bad-signature') → I am a recipient or the sender, with a wrapped key ('not-recipient') →
 * unwrap and AES-GCM with the header as AAD ('tampered') → payload ('malformed').
 *
 * The envelope is validated once (zod schema); each base64url field is then decoded once and the same bytes feed
 * the signed message, the unwrap and the decryption.
 */
export async function open(o: OpenOptions): Promise<{ envelope: Envelope; payload: Payload }> {
  const raw = o.envelope;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new OpenError('malformed', 'envelope is not an object');
  const v = (raw as { v?: unknown }).v;
  if (typeof v === 'number' && v !== PROTOCOL_VERSION) throw new OpenError('unknown-version', `envelope version ${v} is not supported`);
  const parsed = envelopeSchema.safeParse(raw);
  if (!parsed.success) throw new OpenError('malformed', `malformed envelope: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const env = parsed.data;
  // The schema checked every field is canonical base64url of the right length: decode each once, here.
  const ct = fromB64u(env.ct);
  const sealedLen = ct.byteLength - LIMITS.tagBytes;
  if (!isBucket(sealedLen)) throw new OpenError('malformed', 'malformed envelope: ciphertext is not a padded bucket');

  const sender = await senderEntry(o.sender);
  if (!sender || env.from !== sender.fingerprint) {
    throw new OpenError('wrong-sender', 'envelope is not from the expected sender');
  }
  const header = canonicalHeader(env);
  const iv = fromB64u(env.iv);
  const wrapped = env.keys.map((k) => fromB64u(k.k));
  // signingInput(LABELS.envelope, ...envelopeSignedParts(env)), from the bytes decoded above.
  const keysFrame = frame(...env.keys.flatMap((k, i) => [k.to, wrapped[i]!]));
  const signed = signingInput(LABELS.envelope, header, iv, ct, keysFrame);
  if (!sender.verifyKey || !ed25519VerifyWithKey(sender.verifyKey, fromB64u(env.sig), signed)) {
    throw new OpenError('bad-signature', 'envelope signature does not verify');
  }

  const me = o.me.fingerprint;
  const mineAt = env.keys.findIndex((k) => k.to === me);
  if (mineAt < 0 || (!env.to.includes(me) && env.from !== me)) throw new OpenError('not-recipient', 'envelope is not addressed to this identity');

  let rawKey: Uint8Array;
  try {
    rawKey = rsaOaepUnwrap(o.me.unwrapKey, wrapped[mineAt]!);
  } catch {
    throw new OpenError('tampered', TAMPERED);
  }
  let plaintext: Uint8Array;
  try {
    plaintext = aesGcmDecryptSync(importAesKeySync(rawKey), iv, ct, header);
  } catch {
    throw new OpenError('tampered', TAMPERED);
  } finally {
    rawKey.fill(0);
  }
  try {
    return { envelope: env, payload: decodePayload(plaintext) };
  } catch (e) {
    throw new OpenError('malformed', (e as Error).message);
  } finally {
    plaintext.fill(0);
  }
}
