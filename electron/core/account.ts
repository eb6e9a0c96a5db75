/**
 * The identity lifecycle of a profile: create (onboarding), unlock, export and import a backup, rotate. It stores
 * keys in the vault, registers with the relay and hands the unlocked vault to the service (AccountHost.activate),
 * which owns the store, the crypto pool, the relay connection and the messenger. Split out of service.ts so that
 * file only wires.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { LABELS, rotationInput, usernameSchema, validateIdentity } from '../../relay/protocol/index.js';
import type { CreateIdentityRequest, KeychainStatus, ParleyEvents, ProfileInfo } from '../contract/api.js';
import {
  exportBackup,
  generateIdentity,
  importBackup,
  loadIdentity,
  signLabeled,
  type IdentityKeys,
  type IdentitySecret,
} from './crypto/index.js';
import { CoreError } from './messenger/errors.js';
import { updateProfile, writeFileAtomic, type Profile } from './profile.js';
import { toCoreError } from './relay-errors.js';
import type { Active, ParleyServiceOptions } from './service-types.js';
import { TransportError } from './transport/errors.js';
import { RelayClient } from './transport/relay-client.js';
import { newDbKey } from './vault/index.js';
import type { KeyVault, VaultContents, VaultKind } from './vault/types.js';

/** What the account lifecycle needs from the service that hosts it (closures over the service's private state). */
export interface AccountHost {
  readonly profile: Profile;
  readonly options: ParleyServiceOptions;
  passphrase(): string | undefined;
  setPassphrase(p: string | undefined): void;
  emitProgress(p: ParleyEvents['onboarding-progress']): void;
  log: NonNullable<ParleyServiceOptions['log']>;
  vaultFor(kind: VaultKind, passphrase?: string): KeyVault;
  /** The relay address normalized under the current insecure-relay rule, or a RelayUrlError. */
  checkRelayUrl(raw: unknown): string;
  keychainStatus(): Promise<KeychainStatus>;
  ready(): Promise<Active>;
  isActive(): boolean;
  /** Opens the store, pool and messenger on these vault contents and connects (the service's start path). */
  activate(contents: VaultContents): Promise<void>;
  deactivate(): Promise<void>;
  detachTransport(): void;
  connectRelay(url: string): void;
  profileInfo(): ProfileInfo | null;

}

export class Account {
  constructor(private readonly host: AccountHost) {}

  async createIdentity(req: CreateIdentityRequest): Promise<ProfileInfo> {
    const checked = this.checkCreate(req);
    this.host.emitProgress({ step: 'generating-keys' });
    const secret = await generateIdentity();
    return this.onboard(secret, checked);
  }

  /**
   * TESTING ONLY: onboarding with a given IdentitySecret instead of generating one (RSA-4096 generation costs
   * seconds; tests use the cached fixture identities). Same checks, storage and registration as createIdentity.
   */
  async createIdentityFrom(secret: IdentitySecret, req: CreateIdentityRequest): Promise<ProfileInfo> {
    const checked = this.checkCreate(req);
    this.host.emitProgress({ step: 'generating-keys', detail: 'using a provided identity' });
    return this.onboard(secret, checked);
  }

  private checkCreate(req: CreateIdentityRequest): { username: string; relayUrl: string; vault: VaultKind; passphrase?: string; invite?: string } {
    if (this.host.profile.meta.vault) throw new CoreError('EXISTS', `This profile already has an identity (${this.host.profile.meta.username ?? '?'})`);
    const u = usernameSchema.safeParse(req?.username);
    if (!u.success) throw new CoreError('INVALID', `Invalid username: ${u.error.issues[0]?.message ?? 'bad format'}`);
    const relayUrl = this.host.checkRelayUrl(req?.relayUrl);
    const vault = req.vault ?? this.host.options.vault ?? 'keychain';
    if (vault !== 'keychain' && vault !== 'file') throw new CoreError('INVALID', `Unknown vault kind: ${String(vault)}`);
    const passphrase = req.passphrase ?? this.host.passphrase();
    if (vault === 'file' && (!passphrase || passphrase.length < 8)) {
      throw new CoreError('PASSPHRASE_REQUIRED', 'The identity file needs a passphrase of at least 8 characters');
    }
    const invite = typeof req.invite === 'string' && req.invite.trim() !== '' ? req.invite.trim() : undefined;
    return { username: u.data, relayUrl, vault, ...(passphrase !== undefined ? { passphrase } : {}), ...(invite ? { invite } : {}) };
  }

  /** Stores the identity, registers it (rolling the vault back if the relay refuses) and activates the profile. */
  private async onboard(
    secret: IdentitySecret,
    o: { username: string; relayUrl: string; vault: VaultKind; passphrase?: string; invite?: string },
    opts: { takeOver?: boolean } = {},
  ): Promise<ProfileInfo> {
    const keys = await loadIdentity(secret);
    this.host.emitProgress({ step: 'storing-keys' });
    const vault = this.host.vaultFor(o.vault, o.passphrase);
    const contents: VaultContents = { identity: secret, dbKey: newDbKey() };
    await vault.save(contents);
    this.host.emitProgress({ step: 'registering', detail: o.relayUrl });
    let relayFp: string | null = null;
    try {
      relayFp = await this.registerWith(o.relayUrl, keys, opts.takeOver ? null : o.username, o.invite);
    } catch (err) {
      await vault.remove().catch(() => undefined);
      throw toCoreError(err);
    }
    updateProfile(this.host.profile, {
      vault: o.vault,
      username: o.username,
      fingerprint: keys.fingerprint,
      relayUrl: o.relayUrl,
      relayFingerprint: relayFp,
    });
    this.host.setPassphrase(o.passphrase);
    await this.host.activate(contents);
    this.host.log(`identity ${keys.fingerprint.slice(0, 16)}… stored (${o.vault} vault) and registered`);
    this.host.emitProgress({ step: 'done' });
    return this.host.profileInfo()!;
  }

  /** Registers (when `username` is given) and authenticates once on a short-lived connection; returns the relay fp. */
  private async registerWith(url: string, keys: IdentityKeys, username: string | null, invite?: string): Promise<string> {
    const c = new RelayClient({ url, identity: keys, registerAs: username, registerInvite: invite ?? null, reconnect: { enabled: false } });
    try {
      c.connect();
      await c.waitOnline(20_000);
      return c.relayFingerprint!;
    } finally {
      c.close();
    }
  }

  async unlock(req: { passphrase: string }): Promise<ProfileInfo> {
    if (this.host.isActive()) return this.host.profileInfo()!;
    const kind = this.host.profile.meta.vault;
    if (!kind) throw new CoreError('NO_IDENTITY', 'This profile has no identity yet');
    if (typeof req?.passphrase !== 'string' || req.passphrase.length === 0) {
      throw new CoreError('PASSPHRASE_REQUIRED', 'Enter the passphrase of the identity file');
    }
    const contents = await this.host.vaultFor(kind, req.passphrase).load();
    this.host.setPassphrase(req.passphrase);
    await this.host.activate(contents);
    return this.host.profileInfo()!;
  }

  // ---- backup / import / rotation ---------------------------------------------------------------------------

  async exportIdentity(req: { passphrase: string }): Promise<{ saved: boolean; location: string | null }> {
    await this.host.ready();
    const file = this.host.options.pickBackupFile
      ? await this.host.options.pickBackupFile('export')
      : path.join(this.host.profile.dir, 'backups', `${this.host.profile.meta.username ?? 'identity'}-${Date.now()}.parley-backup`);
    if (!file) return { saved: false, location: null };
    await this.exportIdentityTo(file, req?.passphrase);
    return { saved: true, location: file };
  }

  /** Writes the passphrase-protected identity backup (protocol backup format) to `file`. */
  async exportIdentityTo(file: string, passphrase: string): Promise<void> {
    const a = await this.host.ready();
    if (typeof passphrase !== 'string' || passphrase.length < 8) {
      throw new CoreError('PASSPHRASE_REQUIRED', 'A backup passphrase needs at least 8 characters');
    }
    const text = await exportBackup(a.contents.identity, passphrase, {
      ...(this.host.options.kdfIterations !== undefined ? { iterations: this.host.options.kdfIterations } : {}),
      extras: { username: this.host.profile.meta.username ?? '' },
    });
    try {
      mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
      writeFileAtomic(path.resolve(file), text, 0o600);
    } catch (err) {
      throw new CoreError('STORAGE', `Cannot write ${file}: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * ParleyApi import (the shell picks the file). The request has no vault choice: the keys go to the OS keychain
   * when one is reachable, otherwise into the passphrase-encrypted key file protected by the backup's passphrase
   * (reported as vault 'file' in the returned ProfileInfo; never plaintext).
   */
  async importIdentity(req: { passphrase: string; relayUrl: string }): Promise<ProfileInfo> {
    const file = this.host.options.pickBackupFile ? await this.host.options.pickBackupFile('import') : null;
    if (!file) throw new CoreError('INVALID', 'No backup file was chosen');
    const keychain = await this.host.keychainStatus();
    const vault: VaultKind = this.host.options.vault ?? (keychain.available ? 'keychain' : 'file');
    return this.importIdentityFrom(file, req?.passphrase, {
      relayUrl: req?.relayUrl,
      vault,
      ...(vault === 'file' ? { vaultPassphrase: this.host.passphrase() ?? req?.passphrase } : {}),
    });
  }

  /**
   * Restores an identity backup into this (empty) profile and takes the identity over on this device: the relay
   * tells the previously active device that this identity is now active elsewhere.
   */
  async importIdentityFrom(
    file: string,
    passphrase: string,
    o: { relayUrl?: string; vault?: VaultKind; vaultPassphrase?: string } = {},
  ): Promise<ProfileInfo> {
    if (this.host.profile.meta.vault) throw new CoreError('EXISTS', `This profile already has an identity (${this.host.profile.meta.username ?? '?'})`);
    const relayUrl = this.host.checkRelayUrl(o.relayUrl ?? this.host.options.relayUrl ?? '');
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new CoreError('NOT_FOUND', `Cannot read ${file}: ${(err as Error).message}`);
    }
    const { identity, extras } = await importBackup(text, passphrase);
    const keys = await loadIdentity(identity);
    // The username is the relay's record for this identity (the backup's note is only a hint).
    let username = extras.username ?? '';
    const probe = new RelayClient({ url: relayUrl, identity: null, reconnect: { enabled: false } });
    try {
      probe.connect();
      await probe.waitOnline(15_000);
      username = (await probe.lookup({ fingerprint: keys.fingerprint })).username;
    } catch (err) {
      if (!(err instanceof TransportError && err.code === 'NOT_FOUND')) throw toCoreError(err);
    } finally {
      probe.close();
    }
    const u = usernameSchema.safeParse(username);
    if (!u.success) throw new CoreError('INVALID', 'The backup names no valid username and the relay does not know this identity');
    const vault = o.vault ?? this.host.options.vault ?? 'keychain';
    const vp = o.vaultPassphrase ?? this.host.passphrase() ?? (vault === 'file' ? passphrase : undefined);
    return this.onboard(identity, { username: u.data, relayUrl, vault, ...(vp !== undefined ? { passphrase: vp } : {}) });
  }

  /**
   * Makes a new identity, signs it with the current one (parley/v1/rotate over rotationInput), registers it with
   * that rotation signature, stores it in the vault and reconnects with it. Contacts see a key change that the old
   * key signed.
   */
  async rotateIdentity(o: { identity?: IdentitySecret } = {}): Promise<ProfileInfo> {
    const a = await this.host.ready();
    const username = this.host.profile.meta.username;
    const saved = this.host.profile.meta.relayUrl;
    if (!username || !saved) throw new CoreError('NO_IDENTITY', 'This profile is not registered with a relay');
    const url = this.host.checkRelayUrl(saved);
    const next = o.identity ?? (await generateIdentity());
    const nextChecked = await validateIdentity(next.public);
    const sig = await signLabeled(a.keys, LABELS.rotate, ...rotationInput(username, a.keys.fingerprint, nextChecked.identity));
    const kind = this.host.profile.meta.vault!;
    const vault = this.host.vaultFor(kind, this.host.passphrase());
    const previous = a.contents;
    const contents: VaultContents = { identity: next, dbKey: previous.dbKey };
    await vault.save(contents); // first the vault: a registered key we no longer hold would lock us out
    // The relay closes the old key's session on rotation; drop ours first so that is not shown as a takeover.
    this.host.detachTransport();
    const c = new RelayClient({ url, identity: null, pinnedFingerprint: this.host.profile.meta.relayFingerprint, reconnect: { enabled: false } });
    try {
      c.connect();
      await c.waitOnline(15_000);
      await c.register(username, await loadIdentity(next), sig);
    } catch (err) {
      await vault.save(previous).catch(() => undefined);
      if (this.host.options.connect !== false) this.host.connectRelay(url);
      throw toCoreError(err);
    } finally {
      c.close();
    }
    await this.host.deactivate();
    updateProfile(this.host.profile, { fingerprint: nextChecked.fingerprint });
    await this.host.activate(contents);
    return this.host.profileInfo()!;
  }
}
