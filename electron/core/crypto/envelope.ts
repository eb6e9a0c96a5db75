/**
 * seal() and open(): the envelope of protocol v1 (see relay/protocol/PROTOCOL.md, "Seal" and "Open").
 */
import {
  canonicalHeader,
  envelopeSchema,
  envelopeSignedParts,
  fingerprint,
  fromB64u,
  importWrappingKey,
  LABELS,
  LIMITS,
  messageIdSchema,
  PROTOCOL_VERSION,
  publicIdentitySchema,
  toB64u,
  verifyEnvelopeSignature,
  type Envelope,
  type PublicIdentity,
} from '../../../relay/protocol/index.js';
import { OpenError } from './errors.js';
import { signLabeled, type IdentityKeys } from './identity.js';
import { decodePayload, encodePayload, isBucket, newMessageId, type Payload } from './payload.js';
import { aesGcmDecrypt, aesGcmEncrypt, importAesKey, randomBytes, rsaOaepDecrypt, rsaOaepEncrypt, type CryptoKey } from './primitives.js';

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
    const aesKey = await importAesKey(rawKey);
    const header = { v: PROTOCOL_VERSION, id, from, to };
    const ct = await aesGcmEncrypt(aesKey, iv, plaintext, canonicalHeader(header));
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

/**
 * Verify, unwrap and decrypt an envelope. Checks, in order, each failing with an OpenError:
 * schema ('malformed') → version ('unknown-version') → env.from is the pinned sender ('wrong-sender') →
 * signature ('bad-signature') → I am a recipient or the sender, with a wrapped key ('not-recipient') →
 * unwrap and AES-GCM with the header as AAD ('tampered') → payload ('malformed').
 */
export async function open(o: OpenOptions): Promise<{ envelope: Envelope; payload: Payload }> {
  const raw = o.envelope;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new OpenError('malformed', 'envelope is not an object');
  const v = (raw as { v?: unknown }).v;
  if (typeof v === 'number' && v !== PROTOCOL_VERSION) throw new OpenError('unknown-version', `envelope version ${v} is not supported`);
  const parsed = envelopeSchema.safeParse(raw);
  if (!parsed.success) throw new OpenError('malformed', `malformed envelope: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const env = parsed.data;
  const sealedLen = fromB64u(env.ct).byteLength - LIMITS.tagBytes;
  if (!isBucket(sealedLen)) throw new OpenError('malformed', 'malformed envelope: ciphertext is not a padded bucket');

  const sender = publicIdentitySchema.safeParse(o.sender);
  if (!sender.success || env.from !== (await fingerprint(sender.data))) {
    throw new OpenError('wrong-sender', 'envelope is not from the expected sender');
  }
  if (!(await verifyEnvelopeSignature(env, sender.data))) throw new OpenError('bad-signature', 'envelope signature does not verify');

  const me = o.me.fingerprint;
  const mine = env.keys.find((k) => k.to === me);
  if (!mine || (!env.to.includes(me) && env.from !== me)) throw new OpenError('not-recipient', 'envelope is not addressed to this identity');

  let rawKey: Uint8Array;
  try {
    rawKey = await rsaOaepDecrypt(o.me.encKey, fromB64u(mine.k));
  } catch {
    throw new OpenError('tampered', TAMPERED);
  }
  let plaintext: Uint8Array;
  try {
    const aesKey = await importAesKey(rawKey);
    plaintext = await aesGcmDecrypt(aesKey, fromB64u(env.iv), fromB64u(env.ct), canonicalHeader(env));
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
