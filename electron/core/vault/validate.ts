import { identitySecretSchema } from '../crypto/identity.js';
import { VaultError, type VaultContents } from './types.js';

export const DB_KEY_RE = /^[0-9a-f]{64}$/;

/** Validates untrusted vault contents (from the keychain or a decrypted file). Throws VaultError 'CORRUPT'. */
export function parseContents(value: unknown, where: string): VaultContents {
  const o = value as { identity?: unknown; dbKey?: unknown } | null;
  if (!o || typeof o !== 'object') throw new VaultError('CORRUPT', `${where} does not hold Parley keys`);
  const id = identitySecretSchema.safeParse(o.identity);
  if (!id.success) throw new VaultError('CORRUPT', `${where}: the stored identity is malformed`);
  if (typeof o.dbKey !== 'string' || !DB_KEY_RE.test(o.dbKey)) {
    throw new VaultError('CORRUPT', `${where}: the stored history database key is malformed`);
  }
  return { identity: id.data, dbKey: o.dbKey };
}

/** Validates contents before saving (programming errors surface as CORRUPT, never half-written). */
export function checkContents(c: VaultContents): VaultContents {
  return parseContents(c, 'vault contents to save');
}
