/**
 * Errors the core raises to its callers (service, Electron main, CLI). `code` is stable and crosses the IPC
 * boundary as ApiErrorShape; `message` is for people and never contains secrets.
 */
export type CoreErrorCode =
  | 'INVALID' // bad argument (empty text, bad username, bad URL...)
  | 'NOT_FOUND' // unknown contact / message, or the relay does not know the username
  | 'EXISTS' // already there (identity in a profile, contact)
  | 'BLOCKED' // the contact is blocked
  | 'KEY_REJECTED' // you rejected this contact's new key: sending stays blocked
  | 'NO_KEY_CHANGE' // accept/reject without a pending key change
  | 'KEY_MISMATCH' // accept names a key that is no longer the pending one (it changed again)
  | 'OFFLINE' // needs the relay and it is not reachable
  | 'RELAY' // the relay refused (code in the message)
  | 'RELAY_CHANGED' // the relay's fingerprint differs from the pinned one
  | 'NO_IDENTITY' // the profile has no identity yet (run init / onboarding)
  | 'LOCKED' // the file vault needs its passphrase
  | 'KEYCHAIN_UNAVAILABLE' // no Secret Service / keychain reachable
  | 'WRONG_PASSPHRASE'
  | 'PASSPHRASE_REQUIRED'
  | 'STORAGE' // history database or vault I/O failure
  | 'CRYPTO' // sealing failed
  | 'NOT_ADMIN' // a group change only its admins may make
  | 'NOT_MEMBER' // a group we left or were removed from
  | 'CANCELLED'; // the user stopped a transfer

export class CoreError extends Error {
  constructor(
    readonly code: CoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CoreError';
  }
}

/** Best-effort stable code for any error (CoreError, VaultError, StoreError, TransportError...). */
export function errorCode(err: unknown): string {
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return 'INTERNAL';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
