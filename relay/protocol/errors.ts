/** Stable error codes. Clients switch on `code`; `message` is for people and may change. */
export const ERROR_CODES = [
  'BAD_REQUEST', // payload failed its schema
  'UNKNOWN_EVENT', // event name not in the protocol
  'UNSUPPORTED_VERSION', // v field not 1
  'UNAUTHENTICATED', // event needs an authenticated connection
  'AUTH_FAILED', // challenge response did not verify, was replayed, or names another relay
  'USERNAME_TAKEN', // username registered to a different identity, no valid rotation signature
  'IDENTITY_TAKEN', // that identity is already registered under another username
  'NOT_FOUND', // no such username / fingerprint
  'FORBIDDEN', // authenticated, but not allowed (another user's queue or envelope)
  'TOO_LARGE', // envelope over the size limit
  'QUOTA_EXCEEDED', // recipient queue full
  'RATE_LIMITED', // token bucket empty; retry after `retryAfterMs`
  'BAD_SIGNATURE', // envelope or rotation signature does not verify
  'PROOF_FAILED', // registration without a valid proof of both private keys (see register-challenge)
  'REGISTRATION_CLOSED', // the relay takes no new registrations (--registration closed)
  'INVITE_REQUIRED', // new registrations need a valid invite (--registration token): missing, unknown, used or expired
  'BLOB_MISMATCH', // blob-complete: the stored bytes are not the declared size or SHA-256; start the upload again
  'SESSION_REPLACED', // this identity logged in elsewhere; this connection is closed
  'INTERNAL', // relay failure; safe to retry
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface WireError {
  code: ErrorCode;
  message: string;
  retryAfterMs?: number;
}

/** Error thrown by protocol helpers; `code` is one of ERROR_CODES. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }

  toWire(): WireError {
    return this.retryAfterMs === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, retryAfterMs: this.retryAfterMs };
  }
}
