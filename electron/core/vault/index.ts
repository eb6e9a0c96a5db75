/** Key vaults (see types.ts): the OS keychain or a passphrase-protected file, one per profile. */
import { randomBytes } from 'node:crypto';
import type { Profile } from '../profile.js';
import { FileVault } from './file.js';
import { KeychainVault } from './keychain.js';
import { VaultError, type KeyVault, type VaultKind } from './types.js';

export * from './types.js';
export { KeychainVault, probeKeychain, keychainUnavailableError, keychainBackend, KEYCHAIN_SERVICE } from './keychain.js';
export { FileVault, MIN_PASSPHRASE } from './file.js';
export { DB_KEY_RE } from './validate.js';

/** A fresh history DB key: 32 random bytes as 64 lowercase hex characters. */
export function newDbKey(): string {
  return randomBytes(32).toString('hex');
}

/**
 * The vault of a profile: 'keychain' → KeychainVault(account = profile.id); 'file' → FileVault at
 * profile.paths.vaultFile (passphrase required, else VaultError 'PASSPHRASE_REQUIRED').
 */
export function openVault(
  profile: Profile,
  o: { kind: VaultKind; passphrase?: string; iterations?: number; service?: string },
): KeyVault {
  if (o.kind === 'keychain') return new KeychainVault(profile.id, o.service ? { service: o.service } : {});
  if (o.kind === 'file') {
    if (!o.passphrase) throw new VaultError('PASSPHRASE_REQUIRED', 'the passphrase-protected key file needs its passphrase');
    return new FileVault({
      file: profile.paths.vaultFile,
      passphrase: o.passphrase,
      ...(o.iterations === undefined ? {} : { iterations: o.iterations }),
    });
  }
  throw new VaultError('IO', `unknown vault kind ${JSON.stringify(o.kind)}`);
}
