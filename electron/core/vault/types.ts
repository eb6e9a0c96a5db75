/**
 * Key vault types: where a profile's secrets live. A vault holds exactly one VaultContents per profile:
 * the identity's private keys and the random key of the encrypted history database.
 *
 * Two kinds:
 *  - 'keychain': the OS keychain through keytar; service "Parley", account = profile id; one entry holding
 *    JSON.stringify(VaultContents).
 *  - 'file': `<profileDir>/identity.vault`, the identity backup format (crypto/backup exportBackup) protected by a
 *    passphrase; the dbKey travels inside the backup's `extras`, never beside the database.
 * There is never a plaintext fallback: when the keychain is unreachable, the caller gets VaultError
 * 'KEYCHAIN_UNAVAILABLE' and must ask the user to choose the passphrase file.
 */
import type { IdentitySecret } from '../crypto/types.js';
import type { KeychainStatus } from '../../contract/api.js';

export type { KeychainStatus };

export type VaultKind = 'keychain' | 'file';

/** The secrets of one profile. */
export interface VaultContents {
  identity: IdentitySecret;
  /** Key of the history DB: 64 lowercase hex characters (32 random bytes). See `newDbKey()`. */
  dbKey: string;
}

export type VaultErrorCode =
  /** No Secret Service / keychain reachable (e.g. no D-Bus session), or it is locked. */
  | 'KEYCHAIN_UNAVAILABLE'
  /** File vault: wrong passphrase or damaged file. */
  | 'WRONG_PASSPHRASE'
  /** File vault: a passphrase is required but none was given, or it is too short (< 8 characters) for a new file. */
  | 'PASSPHRASE_REQUIRED'
  /** Nothing stored for this profile yet. */
  | 'NOT_FOUND'
  /** Stored data is not a valid VaultContents (malformed JSON, wrong shape, unsupported version). */
  | 'CORRUPT'
  /** Any other I/O failure (disk, permissions, keychain refused the write). */
  | 'IO';

/** Every vault failure is a VaultError with a stable `code`; `message` is for people and never contains secrets. */
export class VaultError extends Error {
  constructor(
    readonly code: VaultErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'VaultError';
  }
}

/** A profile's secret store. All methods are async and reject only with VaultError. */
export interface KeyVault {
  readonly kind: VaultKind;
  /** Human description of where the secrets live, e.g. 'OS keychain (Parley / <id>)' or the file path. */
  readonly location: string;
  /** Whether contents are stored for this profile (does not need the passphrase). */
  exists(): Promise<boolean>;
  /** Reads and validates the contents. NOT_FOUND, WRONG_PASSPHRASE, KEYCHAIN_UNAVAILABLE, CORRUPT, IO. */
  load(): Promise<VaultContents>;
  /** Stores (creates or replaces) the contents; the file vault writes atomically (tmp + fsync + rename). */
  save(contents: VaultContents): Promise<void>;
  /** Removes the stored contents; no error when there is nothing. */
  remove(): Promise<void>;
}

/** Options for a FileVault. */
export interface FileVaultOptions {
  /** The vault file, normally `profile.paths.vaultFile`. */
  file: string;
  /** The passphrase (≥ 8 characters to create; any to open). */
  passphrase: string;
  /** PBKDF2 iterations for new files (tests may lower it; default: the backup module's default). */
  iterations?: number;
}

/*
 * Runtime API (electron/core/vault/index.ts):
 *   class KeychainVault implements KeyVault { constructor(account: string /* profile id *\/, o?: { service?: string }) }
 *   class FileVault implements KeyVault     { constructor(o: FileVaultOptions) }
 *   probeKeychain(service = 'Parley'): Promise<KeychainStatus>  // never throws; writes+reads+deletes a probe entry;
 *                                                               // {available:false, reason} = the KEYCHAIN_UNAVAILABLE message
 *   keychainUnavailableError(reason: string): VaultError        // the documented 'KEYCHAIN_UNAVAILABLE' error
 *   newDbKey(): string                                           // 32 random bytes, 64 lowercase hex
 *   openVault(profile: Profile, o: { kind: VaultKind; passphrase?: string; iterations?: number; service?: string }): KeyVault
 *   KEYCHAIN_SERVICE = 'Parley', MIN_PASSPHRASE = 8
 */
