/**
 * Keychain vault: the OS keychain through keytar (libsecret/Secret Service on Linux, Keychain on macOS, Credential
 * Manager on Windows). Service "Parley", account = profile id, one entry = JSON of VaultContents.
 * When no keychain is reachable, every call rejects with VaultError 'KEYCHAIN_UNAVAILABLE'; never a fallback.
 */
import { randomBytes } from 'node:crypto';
import { loadKeytar, type Keytar } from '../native.js';
import { checkContents, parseContents } from './validate.js';
import { VaultError, type KeychainStatus, type KeyVault, type VaultContents } from './types.js';

export const KEYCHAIN_SERVICE = 'Parley';
/** Account prefix used by probeKeychain() for its write/read/delete check (unique per call: parallel probes). */
export const PROBE_ACCOUNT = 'parley-keychain-probe';
const TIMEOUT_MS = 10_000;

export function keychainBackend(platform: NodeJS.Platform = process.platform): string {
  if (platform === 'darwin') return 'macOS Keychain';
  if (platform === 'win32') return 'Windows Credential Manager';
  return 'Secret Service (libsecret)';
}

/** The documented KEYCHAIN_UNAVAILABLE error. */
export function keychainUnavailableError(reason: string, cause?: unknown): VaultError {
  return new VaultError(
    'KEYCHAIN_UNAVAILABLE',
    `OS keychain unavailable: ${reason}. Parley never stores keys in plaintext; ` +
      `use a passphrase-protected key file instead (vault "file", e.g. --vault file).`,
    { cause },
  );
}

/** Turns what keytar / the native loader throws into the reason shown to the user. */
function reasonOf(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  if (/autolaunch D-Bus without X11|DBUS_SESSION_BUS_ADDRESS|Unable to autolaunch/i.test(msg)) {
    return `no D-Bus session (${msg})`;
  }
  if (/org\.freedesktop\.secrets|ServiceUnknown|was not provided by any \.service files/i.test(msg)) {
    return `no Secret Service running on the D-Bus session (${msg})`;
  }
  if (/locked|prompt|dismissed|cancel/i.test(msg)) return `the keychain is locked or refused access (${msg})`;
  if (/collection\/login|No such secret collection|Object does not exist at path/i.test(msg)) {
    return `the keychain has no unlocked default collection (${msg})`;
  }
  return msg;
}

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the keychain did not answer within ${TIMEOUT_MS / 1000} s (${what})`)), TIMEOUT_MS);
    timer.unref();
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

async function keytarCall<T>(what: string, fn: (k: Keytar) => Promise<T>): Promise<T> {
  let k: Keytar;
  try {
    k = loadKeytar();
  } catch (e) {
    throw keychainUnavailableError(`keytar cannot load: ${(e as Error).message}`, e);
  }
  try {
    return await withTimeout(fn(k), what);
  } catch (e) {
    throw keychainUnavailableError(reasonOf(e), e);
  }
}

/**
 * Checks that the keychain is reachable and writable (writes, reads back and deletes a probe entry).
 * Never throws.
 */
export async function probeKeychain(service: string = KEYCHAIN_SERVICE): Promise<KeychainStatus> {
  try {
    await keytarCall('probe', async (k) => {
      const token = randomBytes(12).toString('hex');
      const account = `${PROBE_ACCOUNT}-${process.pid}-${token}`;
      await k.setPassword(service, account, token);
      const back = await k.getPassword(service, account);
      await k.deletePassword(service, account);
      if (back !== token) throw new Error('the keychain did not return what was stored');
    });
    return { available: true, backend: keychainBackend() };
  } catch (e) {
    const reason = e instanceof VaultError ? e.message : String(e);
    return { available: false, reason };
  }
}

export class KeychainVault implements KeyVault {
  readonly kind = 'keychain' as const;
  readonly service: string;
  readonly location: string;

  constructor(
    readonly account: string,
    o: { service?: string } = {},
  ) {
    if (typeof account !== 'string' || !account) throw new VaultError('IO', 'keychain account (profile id) required');
    this.service = o.service ?? KEYCHAIN_SERVICE;
    this.location = `OS keychain (${this.service} / ${account})`;
  }

  async exists(): Promise<boolean> {
    return (await keytarCall('read', (k) => k.getPassword(this.service, this.account))) !== null;
  }

  async load(): Promise<VaultContents> {
    const text = await keytarCall('read', (k) => k.getPassword(this.service, this.account));
    if (text === null) throw new VaultError('NOT_FOUND', `no Parley keys in the ${this.location}`);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new VaultError('CORRUPT', `the ${this.location} entry is not valid Parley key data`);
    }
    return parseContents(value, `the ${this.location} entry`);
  }

  async save(contents: VaultContents): Promise<void> {
    const c = checkContents(contents);
    await keytarCall('write', (k) => k.setPassword(this.service, this.account, JSON.stringify(c)));
    // Read back: a keychain that silently drops writes must not leave us without keys.
    const back = await keytarCall('read', (k) => k.getPassword(this.service, this.account));
    if (back === null) throw keychainUnavailableError('the keychain accepted the keys but does not return them');
  }

  async remove(): Promise<void> {
    await keytarCall('delete', (k) => k.deletePassword(this.service, this.account));
  }
}
