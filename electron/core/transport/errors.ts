import type { ErrorCode } from '../../../relay/protocol/index.js';

/** Client-side failures that never come from the relay. */
export type TransportLocalCode =
  | 'OFFLINE' // not connected / not authenticated when the request was made
  | 'TIMEOUT' // the relay did not acknowledge in time
  | 'BAD_RESPONSE' // the relay answered with a payload that failed its schema
  | 'RELAY_CHANGED' // the relay's fingerprint is not the one pinned for this profile
  | 'NO_IDENTITY'; // an authenticated request without an identity

export type TransportErrorCode = ErrorCode | TransportLocalCode;

/** Every transport failure: a stable code (relay codes pass through) and a human message. */
export class TransportError extends Error {
  constructor(
    readonly code: TransportErrorCode,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'TransportError';
  }

  /** Whether retrying the same request later can succeed. */
  get retryable(): boolean {
    return ['OFFLINE', 'TIMEOUT', 'INTERNAL', 'RATE_LIMITED', 'QUOTA_EXCEEDED', 'UNAUTHENTICATED'].includes(this.code);
  }
}
