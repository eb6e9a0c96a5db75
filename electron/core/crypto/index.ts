/** Parley's crypto core (Electron-free): identities, seal/open, payloads, identity backup, worker pool. */
export type { IdentitySecret } from './types.js';
export { generateIdentity, loadIdentity, signLabeled, identitySecretSchema, type IdentityKeys } from './identity.js';
export { encodePayload, decodePayload, newMessageId, bucketFor, isBucket, payloadSchema, MAX_RECEIPT_IDS, type Payload } from './payload.js';
export { seal, open, type SealOptions, type OpenOptions } from './envelope.js';
export { exportBackup, importBackup, type BackupFile } from './backup.js';
export { CryptoPool, type CryptoPoolOptions } from './pool.js';
export {
  OpenError,
  BackupError,
  IdentityError,
  PayloadError,
  UnwrapError,
  UNWRAP_FAILED_MESSAGE,
  WRONG_PASSPHRASE_MESSAGE,
  OPEN_ERROR_REASONS,
  BACKUP_ERROR_CODES,
  type OpenErrorReason,
  type BackupErrorCode,
} from './errors.js';
