/**
 * File vault: `<profile>/identity.vault`, the identity backup format (PBKDF2-SHA256 + AES-256-GCM) with the
 * history DB key inside the encrypted `extras` (never beside the database). Writes are atomic.
 */
import { readFile } from 'node:fs/promises';
import { existsSync, unlinkSync } from 'node:fs';
import { exportBackup, importBackup } from '../crypto/backup.js';
import { BackupError, WRONG_PASSPHRASE_MESSAGE } from '../crypto/errors.js';
import { writeFileAtomic } from '../profile.js';
import { checkContents, parseContents } from './validate.js';
import { VaultError, type FileVaultOptions, type KeyVault, type VaultContents } from './types.js';

export const MIN_PASSPHRASE = 8;
const EXTRA_DB_KEY = 'parley.dbKey';

export class FileVault implements KeyVault {
  readonly kind = 'file' as const;
  readonly location: string;
  private readonly file: string;
  private readonly passphrase: string;
  private readonly iterations: number | undefined;

  constructor(o: FileVaultOptions) {
    if (typeof o.passphrase !== 'string' || o.passphrase.length === 0) {
      throw new VaultError('PASSPHRASE_REQUIRED', 'the passphrase-protected key file needs its passphrase');
    }
    this.file = o.file;
    this.passphrase = o.passphrase;
    this.iterations = o.iterations;
    this.location = o.file;
  }

  async exists(): Promise<boolean> {
    return existsSync(this.file);
  }

  async load(): Promise<VaultContents> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new VaultError('NOT_FOUND', `no key file at ${this.file}`);
      throw new VaultError('IO', `cannot read the key file ${this.file}: ${(e as Error).message}`, { cause: e });
    }
    let identity: unknown;
    let extras: Record<string, string>;
    try {
      ({ identity, extras } = await importBackup(text, this.passphrase));
    } catch (e) {
      if (e instanceof BackupError && e.code === 'wrong-passphrase') {
        throw new VaultError('WRONG_PASSPHRASE', `${WRONG_PASSPHRASE_MESSAGE} (${this.file})`, { cause: e });
      }
      const detail = e instanceof Error ? e.message : String(e);
      throw new VaultError('CORRUPT', `the key file ${this.file} is damaged or not a Parley key file: ${detail}`, { cause: e });
    }
    return parseContents({ identity, dbKey: extras[EXTRA_DB_KEY] }, `the key file ${this.file}`);
  }

  async save(contents: VaultContents): Promise<void> {
    if (this.passphrase.length < MIN_PASSPHRASE) {
      throw new VaultError('PASSPHRASE_REQUIRED', `the key file passphrase must have at least ${MIN_PASSPHRASE} characters`);
    }
    const c = checkContents(contents);
    const text = await exportBackup(c.identity, this.passphrase, {
      ...(this.iterations === undefined ? {} : { iterations: this.iterations }),
      extras: { [EXTRA_DB_KEY]: c.dbKey },
    });
    try {
      writeFileAtomic(this.file, text, 0o600);
    } catch (e) {
      throw new VaultError('IO', `cannot write the key file ${this.file}: ${(e as Error).message}`, { cause: e });
    }
  }

  async remove(): Promise<void> {
    try {
      unlinkSync(this.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new VaultError('IO', `cannot remove the key file ${this.file}: ${(e as Error).message}`, { cause: e });
      }
    }
  }
}
