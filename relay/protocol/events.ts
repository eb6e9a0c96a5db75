/**
 * socket.io event names and payload schemas of protocol v1. Every client→server event carries one payload
 * object and an acknowledgement callback; the ack is always an `Ack<T>`. Types are not validation: the
 * relay parses every payload with these schemas, and the client parses every server payload.
 */
import { z } from 'zod';
import { LIMITS, PROTOCOL_VERSION, USERNAME_RE } from './limits.js';
import { isB64u } from './encoding.js';
import { fingerprintSchema, publicIdentitySchema, type PublicIdentity } from './identity.js';
import { envelopeSchema, messageIdSchema, type Envelope } from './envelope.js';
import type { WireError } from './errors.js';
import { BLOB_EVENTS, BLOB_SCHEMAS, type BlobClientToServer } from './blobs.js';

export const usernameSchema = z.string().regex(USERNAME_RE, 'username: 3–32 of a-z 0-9 _ . -, starting with a letter or digit');
const b64uBytes = (len: number) => z.string().max(Math.ceil((len * 4) / 3)).refine((s) => isB64u(s, len), `base64url of ${len} bytes`);

/** Client → server event names. */
export const CLIENT_EVENTS = ['register-challenge', 'register', 'lookup', 'auth', 'send', 'fetch', 'ack', ...BLOB_EVENTS] as const;
export type ClientEventName = (typeof CLIENT_EVENTS)[number];
/** Server → client event names. */
export const SERVER_EVENTS = ['challenge', 'deliver', 'session-replaced'] as const;
export type ServerEventName = (typeof SERVER_EVENTS)[number];

/** Events allowed before authentication. */
export const PUBLIC_EVENTS: ReadonlySet<ClientEventName> = new Set(['register-challenge', 'register', 'lookup', 'auth']);

/** Step 1 of a registration: the relay answers with a random value wrapped to the identity's RSA key. */
export const registerChallengeSchema = z.object({ identity: publicIdentitySchema }).strict();

export const registerSchema = z
  .object({
    username: usernameSchema,
    identity: publicIdentitySchema,
    /**
     * Proof of both private keys (registration.ts): `sig` = Ed25519 over registrationInput(username, identity, relayFp)
     * under LABELS.register; `key` = registrationKeyProof(relayFp, fingerprint, value of this connection's last
     * register-challenge for this identity).
     */
    proof: z.object({ sig: b64uBytes(LIMITS.signatureBytes), key: b64uBytes(32) }).strict(),
    /** A single-use invite code (16 bytes base64url) for a relay in token mode; ignored when not needed. */
    invite: b64uBytes(16).optional(),
    /** Present only for key rotation: the current identity's signature over rotationInput(username, currentFp, identity). */
    rotation: z.object({ sig: b64uBytes(LIMITS.signatureBytes) }).strict().optional(),
  })
  .strict();

export const lookupSchema = z.union([
  z.object({ username: usernameSchema }).strict(),
  z.object({ fingerprint: fingerprintSchema }).strict(),
]);

export const authSchema = z
  .object({
    fingerprint: fingerprintSchema,
    clientNonce: b64uBytes(LIMITS.nonceBytes),
    sig: b64uBytes(LIMITS.signatureBytes),
  })
  .strict();

export const sendSchema = z.object({ envelope: envelopeSchema }).strict();

export const fetchSchema = z
  .object({
    /** Whose queue to read; must be the authenticated identity (FORBIDDEN otherwise). */
    recipient: fingerprintSchema,
    limit: z.number().int().min(1).max(LIMITS.maxBatch).optional(),
  })
  .strict();

export const ackItemSchema = z.object({ from: fingerprintSchema, id: messageIdSchema }).strict();
export const ackSchema = z.object({ items: z.array(ackItemSchema).min(1).max(LIMITS.maxBatch) }).strict();

export const challengeSchema = z
  .object({ v: z.literal(PROTOCOL_VERSION), relay: fingerprintSchema, nonce: b64uBytes(LIMITS.nonceBytes) })
  .strict();

export const deliveredSchema = z.object({ envelope: envelopeSchema, receivedAt: z.number().int().nonnegative() }).strict();
export const deliverSchema = z.object({ envelopes: z.array(deliveredSchema).min(1).max(LIMITS.maxBatch) }).strict();
export const sessionReplacedSchema = z.object({ message: z.string().max(500) }).strict();

export type RegisterChallengeRequest = z.infer<typeof registerChallengeSchema>;
export type RegisterRequest = z.infer<typeof registerSchema>;
export type LookupRequest = z.infer<typeof lookupSchema>;
export type AuthRequest = z.infer<typeof authSchema>;
export type SendRequest = z.infer<typeof sendSchema>;
export type FetchRequest = z.infer<typeof fetchSchema>;
export type AckRequest = z.infer<typeof ackSchema>;
export type Challenge = z.infer<typeof challengeSchema>;
export type Delivered = { envelope: Envelope; receivedAt: number };
export type DeliverPayload = { envelopes: Delivered[] };

/** Every acknowledgement: success with data, or a stable error. */
export type Ack<T extends object = object> = ({ ok: true } & T) | { ok: false; error: WireError };

export interface RegisterChallengeResult { wrapped: string }
export interface RegisterResult { fingerprint: string; rotated: boolean }
export interface LookupResult {
  username: string;
  identity: PublicIdentity;
  fingerprint: string;
  /**
   * When this identity replaced another under the same username: the old fingerprint and the old identity's Ed25519
   * signature over rotationInput(username, from, identity) under LABELS.rotate, as the relay verified it. Clients verify
   * it themselves against the identity they had pinned; null when the identity was registered fresh.
   */
  rotation: { from: string; sig: string } | null;
}
export interface AuthResult { fingerprint: string; username: string | null; queued: number }
export interface SendResult { id: string; duplicate: boolean }
export interface FetchResult { envelopes: Delivered[]; more: boolean }
export interface AckResult { removed: number }

/** socket.io typed maps (server side: `Server<ClientToServer, ServerToClient>`, client: reversed). */
export interface ClientToServer extends BlobClientToServer {
  'register-challenge': (p: RegisterChallengeRequest, ack: (r: Ack<RegisterChallengeResult>) => void) => void;
  register: (p: RegisterRequest, ack: (r: Ack<RegisterResult>) => void) => void;
  lookup: (p: LookupRequest, ack: (r: Ack<LookupResult>) => void) => void;
  auth: (p: AuthRequest, ack: (r: Ack<AuthResult>) => void) => void;
  send: (p: SendRequest, ack: (r: Ack<SendResult>) => void) => void;
  fetch: (p: FetchRequest, ack: (r: Ack<FetchResult>) => void) => void;
  ack: (p: AckRequest, ack: (r: Ack<AckResult>) => void) => void;
}

export interface ServerToClient {
  challenge: (p: Challenge) => void;
  /** Queued or live envelopes for the authenticated identity, oldest first. The client acks each by (from, id). */
  deliver: (p: DeliverPayload) => void;
  'session-replaced': (p: { message: string }) => void;
}

export const CLIENT_SCHEMAS = {
  'register-challenge': registerChallengeSchema,
  register: registerSchema,
  lookup: lookupSchema,
  auth: authSchema,
  send: sendSchema,
  fetch: fetchSchema,
  ack: ackSchema,
  ...BLOB_SCHEMAS,
} as const satisfies Record<ClientEventName, z.ZodType>;
