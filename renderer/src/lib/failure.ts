/**
 * Turns whatever the core reports (an ApiError code, a failed message's reason, a testRelay error, a connection
 * reason) into ONE stable code. The words for each code live in the catalogs under `errors.*`; the raw text never
 * reaches the screen, because it is written for developers and logs ("websocket error", "envelope is 23716 bytes").
 * Pure: no DOM, no i18n; unit-tested in tests/unit/renderer-errors.test.ts.
 */

/** Every code the catalogs explain. Contract (CoreError, IPC) codes, relay protocol codes, transport-local codes, renderer codes. */
export const ERROR_CODES = [
  // Core (electron/core/messenger/errors.ts)
  'INVALID', 'NOT_FOUND', 'EXISTS', 'BLOCKED', 'KEY_REJECTED', 'NO_KEY_CHANGE', 'KEY_MISMATCH', 'OFFLINE', 'RELAY', 'RELAY_CHANGED',
  'NO_IDENTITY', 'LOCKED', 'KEYCHAIN_UNAVAILABLE', 'WRONG_PASSPHRASE', 'PASSPHRASE_REQUIRED', 'STORAGE', 'CRYPTO',
  'NOT_ADMIN', 'NOT_MEMBER',
  // Shell / IPC / bridge
  'BAD_ARGUMENTS', 'UNKNOWN_METHOD', 'BRIDGE_DOWN', 'CANCELLED',
  // Renderer: a group change made while the relay is unreachable is saved and queued (group/MembersPanel.tsx)
  'QUEUED_OFFLINE',
  // Core reason text: a download the relay answers NOT_FOUND (attachments/manager.ts): gone, or not shared with this key
  'BLOB_UNAVAILABLE',
  // Relay protocol (relay/protocol/errors.ts)
  'BAD_REQUEST', 'UNKNOWN_EVENT', 'UNSUPPORTED_VERSION', 'UNAUTHENTICATED', 'AUTH_FAILED', 'USERNAME_TAKEN',
  'IDENTITY_TAKEN', 'PROOF_FAILED', 'REGISTRATION_CLOSED', 'INVITE_REQUIRED', 'FORBIDDEN', 'TOO_LARGE', 'QUOTA_EXCEEDED', 'RATE_LIMITED', 'BAD_SIGNATURE', 'SESSION_REPLACED',
  'BLOB_MISMATCH', 'INTERNAL',
  // Transport (electron/core/transport/errors.ts)
  'TIMEOUT', 'BAD_RESPONSE',
  // Recognised from text: the relay could not be reached, or a plain address off this computer
  'UNREACHABLE', 'INSECURE_RELAY', 'NO_RELAY',
  // Relay address problems found in the form (lib/relay-address.ts)
  'ADDRESS_EMPTY', 'ADDRESS_SYNTAX', 'ADDRESS_SCHEME', 'ADDRESS_PATH', 'ADDRESS_CREDENTIALS',
  // Why a received message could not be opened (electron/core/crypto/errors.ts OPEN_ERROR_REASONS)
  'OPEN_MALFORMED', 'OPEN_UNKNOWN_VERSION', 'OPEN_WRONG_SENDER', 'OPEN_BAD_SIGNATURE', 'OPEN_NOT_RECIPIENT', 'OPEN_TAMPERED',
  'UNKNOWN',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

const KNOWN = new Set<string>(ERROR_CODES);

export function knownCode(code: string): ErrorCode {
  return KNOWN.has(code) ? (code as ErrorCode) : 'UNKNOWN';
}

const OPEN_REASONS: Record<string, ErrorCode> = {
  malformed: 'OPEN_MALFORMED',
  'unknown-version': 'OPEN_UNKNOWN_VERSION',
  'wrong-sender': 'OPEN_WRONG_SENDER',
  'bad-signature': 'OPEN_BAD_SIGNATURE',
  'not-recipient': 'OPEN_NOT_RECIPIENT',
  tampered: 'OPEN_TAMPERED',
};

/**
 * The code behind a free-text reason from the core. Order matters: an explicit code wins over wording.
 * "The relay refused the message (TOO_LARGE): …", "TOO_LARGE: …", "tampered: …", "Cannot reach the relay: …".
 */
export function reasonCode(raw: string | null | undefined): ErrorCode {
  if (!raw) return 'UNKNOWN';
  const inParens = /\(([A-Z][A-Z_]{2,})\)/.exec(raw);
  if (inParens && KNOWN.has(inParens[1]!)) return inParens[1] as ErrorCode;
  const prefix = /^([A-Z][A-Z_]{2,}):/.exec(raw);
  if (prefix && KNOWN.has(prefix[1]!)) return prefix[1] as ErrorCode;
  const open = /^([a-z-]+):/.exec(raw);
  if (open && OPEN_REASONS[open[1]!]) return OPEN_REASONS[open[1]!]!;
  if (OPEN_REASONS[raw]) return OPEN_REASONS[raw]!;
  if (/no TLS/i.test(raw)) return 'INSECURE_RELAY';
  if (/at most \d+ bytes|too (long|large)/i.test(raw)) return 'TOO_LARGE';
  if (/fingerprint|pinned/i.test(raw)) return 'RELAY_CHANGED';
  if (/logged in elsewhere|another (window|device|computer)|session replaced/i.test(raw)) return 'SESSION_REPLACED';
  if (/no relay/i.test(raw)) return 'NO_RELAY';
  if (/relay address|Not a relay address/i.test(raw)) return 'ADDRESS_SYNTAX';
  if (/timed? ?out|timeout/i.test(raw)) return 'TIMEOUT';
  if (/cannot reach|websocket|xhr|poll error|ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET|disconnect|transport close|not connected|network/i.test(raw)) {
    return 'UNREACHABLE';
  }
  return 'UNKNOWN';
}

/** The code of any thrown value: an ApiError-shaped object's code, else the code read from its message. */
export function failureCode(e: unknown): ErrorCode {
  if (e && typeof e === 'object' && typeof (e as { code?: unknown }).code === 'string') {
    const code = (e as { code: string }).code;
    // The core wraps relay refusals as RELAY and address problems as INVALID/BAD_ARGUMENTS; the message says which.
    if (code === 'RELAY' || code === 'INVALID' || code === 'BAD_ARGUMENTS' || code === 'ERROR') {
      const inner = reasonCode(String((e as { message?: unknown }).message ?? ''));
      if (inner !== 'UNKNOWN') return inner;
    }
    if (KNOWN.has(code)) return code as ErrorCode;
  }
  if (e instanceof Error) return reasonCode(e.message);
  return 'UNKNOWN';
}
