/**
 * The sealed envelope: what a relay stores and forwards. Everything in it is public to the relay except the
 * AES-GCM ciphertext; the header (version, id, sender, recipients) is bound into the ciphertext as AAD and,
 * with the IV, ciphertext and wrapped keys, covered by the sender's Ed25519 signature.
 */
import { z } from 'zod';
import { LABELS } from './labels.js';
import { LIMITS, PROTOCOL_VERSION } from './limits.js';
import { frame, fromB64u, isB64u } from './encoding.js';
import { fingerprintSchema, type PublicIdentity, verifyLabeled } from './identity.js';

const b64u = (len: number | undefined, maxChars: number) =>
  z.string().max(maxChars).refine((s) => isB64u(s, len), len ? `base64url of ${len} bytes` : 'base64url');

export const messageIdSchema = b64u(LIMITS.idBytes, 22);

export const wrappedKeySchema = z
  .object({ to: fingerprintSchema, k: b64u(LIMITS.wrappedKeyBytes, 683) })
  .strict();

const maxCtChars = Math.ceil(((LIMITS.maxBucket + LIMITS.tagBytes) * 4) / 3);

export const envelopeSchema = z
  .object({
    v: z.literal(PROTOCOL_VERSION),
    id: messageIdSchema,
    from: fingerprintSchema,
    to: z.array(fingerprintSchema).min(1).max(LIMITS.maxRecipients),
    iv: b64u(LIMITS.ivBytes, 16),
    ct: b64u(undefined, maxCtChars),
    keys: z.array(wrappedKeySchema).min(1).max(LIMITS.maxRecipients + 1),
    sig: b64u(LIMITS.signatureBytes, 86),
  })
  .strict()
  .superRefine((env, ctx) => {
    const to = new Set(env.to);
    if (to.size !== env.to.length) ctx.addIssue({ code: 'custom', message: 'duplicate recipient' });
    const sorted = [...env.to].sort();
    if (sorted.some((fp, i) => fp !== env.to[i])) ctx.addIssue({ code: 'custom', message: 'recipients not sorted' });
    const keyTo = env.keys.map((k) => k.to);
    if (new Set(keyTo).size !== keyTo.length) ctx.addIssue({ code: 'custom', message: 'duplicate wrapped key' });
    if ([...keyTo].sort().some((fp, i) => fp !== keyTo[i])) ctx.addIssue({ code: 'custom', message: 'wrapped keys not sorted' });
    const allowed = new Set([...env.to, env.from]);
    for (const fp of env.to) if (!keyTo.includes(fp)) ctx.addIssue({ code: 'custom', message: 'recipient without wrapped key' });
    for (const fp of keyTo) if (!allowed.has(fp)) ctx.addIssue({ code: 'custom', message: 'wrapped key for a non-recipient' });
  });

/** Wire form of an envelope. */
export type Envelope = z.infer<typeof envelopeSchema>;

export interface EnvelopeHeader {
  v: number;
  id: string;
  from: string;
  to: string[];
}

/**
 * Canonical header = frame(LABELS.header, "1", id, from, to[0], …, to[n-1]); used verbatim as the AES-GCM AAD.
 * `to` must already be sorted ascending and unique (the schema enforces it).
 */
export function canonicalHeader(h: EnvelopeHeader): Uint8Array {
  return frame(LABELS.header, String(h.v), h.id, h.from, ...h.to);
}

/**
 * Parts the sender signs under LABELS.envelope:
 * canonicalHeader, iv, ct, frame(keys[0].to, keys[0].k, …) — all binary fields decoded from base64url.
 */
export function envelopeSignedParts(env: Omit<Envelope, 'sig'>): Uint8Array[] {
  const keys = frame(...env.keys.flatMap((k) => [k.to, fromB64u(k.k)]));
  return [canonicalHeader(env), fromB64u(env.iv), fromB64u(env.ct), keys];
}

/** Verify an envelope's signature with the sender's identity (whose fingerprint must equal env.from). */
export async function verifyEnvelopeSignature(env: Envelope, sender: PublicIdentity): Promise<boolean> {
  return verifyLabeled(sender, fromB64u(env.sig), LABELS.envelope, ...envelopeSignedParts(env));
}

/** Serialized size of an envelope as the relay measures it (UTF-8 JSON). */
export function envelopeSize(env: unknown): number {
  return Buffer.byteLength(JSON.stringify(env) ?? '', 'utf8');
}
