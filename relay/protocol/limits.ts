/** Protocol v1 limits. The relay may be configured lower, never higher, than the hard caps. */
export const PROTOCOL_VERSION = 1 as const;

export const LIMITS = Object.freeze({
  /** Usernames: 3–32 chars of a-z, 0-9, '_', '.', '-', starting with a letter or digit. */
  usernameMin: 3,
  usernameMax: 32,
  /** Message ids: 16 random bytes, base64url (22 chars). */
  idBytes: 16,
  /** A text body, UTF-8 bytes. */
  maxTextBytes: 64 * 1024,
  /** Plaintext buckets: the padded payload is the smallest power of two ≥ 256 that fits. */
  minBucket: 256,
  maxBucket: 128 * 1024,
  /** Recipients per envelope (the sender's own wrapped key is extra). */
  maxRecipients: 32,
  /** Serialized envelope size (JSON, UTF-8 bytes) accepted by a relay by default. */
  maxEnvelopeBytes: 256 * 1024,
  /** Envelopes per delivery batch and ids per ack. */
  maxBatch: 256,
  /** AES-256-GCM. */
  aesKeyBytes: 32,
  ivBytes: 12,
  tagBytes: 16,
  /** RSA-OAEP-4096 ciphertext size. */
  wrappedKeyBytes: 512,
  rsaModulusBits: 4096,
  /** Ed25519. */
  signingKeyBytes: 32,
  signatureBytes: 64,
  nonceBytes: 32,
  /** SPKI DER of an RSA-4096 public key is 550 bytes; allow some slack for encoders, never a different size class. */
  maxSpkiBytes: 600,
  /** Identity backup PBKDF2 iteration bounds (inclusive). */
  pbkdf2MinIterations: 600_000,
  pbkdf2MaxIterations: 10_000_000,
  pbkdf2DefaultIterations: 600_000,
});

export const USERNAME_RE = /^[a-z0-9][a-z0-9_.-]{2,31}$/;
