/** Typed errors of the crypto core. Callers switch on `reason` / `code`; messages are for people. */

export const OPEN_ERROR_REASONS = ['malformed', 'unknown-version', 'wrong-sender', 'bad-signature', 'not-recipient', 'tampered'] as const;
export type OpenErrorReason = (typeof OPEN_ERROR_REASONS)[number];

/** open() failed; `reason` names the first check that failed. No plaintext is ever returned alongside. */
export class OpenError extends Error {
  constructor(
    readonly reason: OpenErrorReason,
    message: string = reason,
  ) {
    super(message);
    this.name = 'OpenError';
  }
}

export const BACKUP_ERROR_CODES = ['malformed', 'unsupported-version', 'bad-kdf-params', 'wrong-passphrase'] as const;
export type BackupErrorCode = (typeof BACKUP_ERROR_CODES)[number];

/** importBackup() failed. A tag failure is always `wrong-passphrase` with WRONG_PASSPHRASE_MESSAGE. */
export class BackupError extends Error {
  constructor(
    readonly code: BackupErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'BackupError';
  }
}

export const WRONG_PASSPHRASE_MESSAGE = 'wrong passphrase or damaged file';

/** loadIdentity() failed: the secret is not well formed, or its private keys do not match its public identity. */
export class IdentityError extends Error {
  constructor(
    readonly code: 'malformed' | 'mismatch',
    message: string,
  ) {
    super(message);
    this.name = 'IdentityError';
  }
}

/** encodePayload()/decodePayload() failed: bad shape, or too large for the biggest bucket. */
export class PayloadError extends Error {
  constructor(
    readonly code: 'malformed' | 'too-large',
    message: string,
  ) {
    super(message);
    this.name = 'PayloadError';
  }
}

/** The one message of every RSA-OAEP unwrap failure (padding, label, length, key): which check failed is not said. */
export const UNWRAP_FAILED_MESSAGE = 'RSA-OAEP unwrap failed';

/**
 * rsaOaepUnwrap() failed. Always the same name and message, whatever went wrong: distinguishable unwrap errors
 * are a padding oracle (Manger's attack on OAEP).
 */
export class UnwrapError extends Error {
  constructor() {
    super(UNWRAP_FAILED_MESSAGE);
    this.name = 'UnwrapError';
  }
}
