/**
 * Domain-separation labels. Every signature in Parley is over frame(label, ...canonical parts), so bytes
 * signed in one context (say, a relay's auth challenge) can never verify in another (an envelope).
 */
export const LABELS = Object.freeze({
  identity: 'parley/v1/identity',
  header: 'parley/v1/header',
  envelope: 'parley/v1/envelope',
  auth: 'parley/v1/auth',
  rotate: 'parley/v1/rotate',
  /** Registration: the Ed25519 proof (signature) and the RSA proof (hash of the value the relay wrapped). */
  register: 'parley/v1/register',
  registerKey: 'parley/v1/register-key',
  safetyNumber: 'parley/v1/safety-number',
  backup: 'parley/v1/backup',
  relayIdentity: 'parley/v1/relay',
  /** Attachments: additional data of each chunk of the STREAM format (PROTOCOL.md §10). */
  attachmentChunk: 'parley/v1/attachment-chunk',
} as const);

export type Label = (typeof LABELS)[keyof typeof LABELS];
