/**
 * ParleyService: the one object the Electron main process, the browser bridge (Playwright e2e) and the CLI use.
 * It implements ParleyApi on top of the Electron-free core: a profile folder, its key vault (keychain or
 * passphrase file), the encrypted history store, the crypto worker pool, the relay connection and the messenger.
 *
 * Lifecycle: `new ParleyService(o)` → `await start()` (or any API call, which starts it) → `await close()`.
 * Phases (AppState.phase): 'onboarding' (no identity yet) → 'ready'; a file vault without a passphrase is 'locked'
 * until `unlock()`.
 *
 * Beyond ParleyApi (for the CLI, tests and the Electron shell):
 *   on(event, fn)                                   typed ParleyEvents subscription; returns unsubscribe
 *   exportIdentityTo(file, passphrase)              backup file at a path (the shell picks it with a dialog)
 *   importIdentityFrom(file, passphrase, o)         restore from a path; takes the identity over on this device
 *   rotateIdentity()                                new identity signed by the old one, registered, stored
 *   createIdentityFrom(secret, req)                 TESTING ONLY: onboarding with a given IdentitySecret (no keygen)
 *   whoami()                                        username, fingerprint (raw and formatted)
 *   waitOnline(ms), drain(), idle()                 for headless use and tests
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  LABELS,
  formatFingerprint,
  rotationInput,
  usernameSchema,
  validateIdentity,
} from '../../relay/protocol/index.js';
import { directContactOf } from './messenger/conversation-ref.js';
import type {
  AppState,
  ConnectionState,
  ContactDetail,
  ContactView,
  ConversationId,
  ConversationSummary,
  CreateIdentityRequest,
  DiscoveredRelay,
  EmbeddedRelayStatus,
  RelayInvite,
  KeychainStatus,
  MessagePage,
  MessageView,
  ParleyApi,
  ParleyEvents,
  ProfileInfo,
  Settings,
} from '../contract/api.js';
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
import { Messenger, type MessengerOptions } from './messenger/messenger.js';
import { ensurePrivateFile, makeTreePrivate, openProfile, updateProfile, writeFileAtomic, type Profile } from './profile.js';
import { LazyPool } from './lazy-pool.js';
import { openHistoryStore } from './store/index.js';
import type { HistoryStore } from './store/types.js';
import type { BackoffOptions } from './transport/backoff.js';
import { TypedEmitter } from './transport/emitter.js';
import { TransportError } from './transport/errors.js';
import { discoverLanRelays } from './transport/discovery.js';
import { RelayClient, probeRelay, SESSION_REPLACED_MESSAGE } from './transport/relay-client.js';
import { EmbeddedRelay } from './transport/embedded.js';
import { parseRelayUrl } from './transport/relay-url.js';
import { applySettingsPatch, readSettings, writeSettings } from './settings.js';
import { newDbKey, openVault, probeKeychain } from './vault/index.js';
import type { KeyVault, VaultContents, VaultKind } from './vault/types.js';

export interface ParleyServiceOptions {
  /** The profile folder (created when missing). */
  profileDir: string;
  /** Vault kind for a new identity when the request does not say (default 'keychain'). Existing profiles keep theirs. */
  vault?: VaultKind;
  /** File vault passphrase (unlocks at start). */
  passphrase?: string;
  /** Relay to use, overriding the profile's (a different URL resets the relay pin). */
  relayUrl?: string;
  /**
   * The user explicitly chose to allow a relay without TLS on another machine (CLI --insecure-relay). The app's
   * equivalent is the insecureRelay setting; either one allows it.
   */
  insecureRelay?: boolean;
  /** Connect to the relay when ready (default true). The CLI's offline commands pass false. */
  connect?: boolean;
  /** Crypto worker threads (default: one per core). */
  cryptoPoolSize?: number;
  /** PBKDF2 iterations for the file vault and backups (tests may lower it to the protocol minimum). */
  kdfIterations?: number;
  /** Relay reconnect policy. */
  reconnect?: BackoffOptions & { enabled?: boolean };
  /** TEST HOOK (off by default; only the CLI sets it, from PARLEY_TEST_HOLD_ACKS): see RelayClientOptions. */
  testHoldAcks?: boolean;
  /** Messenger tuning (batch size, key check intervals, retry backoff). */
  messenger?: Pick<MessengerOptions, 'fetchLimit' | 'commitChunk' | 'maxOpensInFlight' | 'retry' | 'keyCheckOnSendMs' | 'keyCheckIntervalMs'>;
  /** Shell hook: choose where to save / read an identity backup (Electron: a file dialog). */
  pickBackupFile?: (mode: 'export' | 'import') => Promise<string | null>;
  /**
   * Diagnostics sink. The core passes ids, states and reasons only: never a message body, key, passphrase or token.
   * `scope` names the module (service, relay, messenger), `level` defaults to info.
   */
  log?: (msg: string, o?: { scope?: string; level?: 'debug' | 'info' | 'warn' | 'error' }) => void;
  /** The recent diagnostics with secrets removed, for getDebugLog ("Copy debug log"); none when omitted. */
  debugLog?: () => string;
}

const SEEN_RETENTION_MS = 60 * 24 * 3600 * 1000;

interface Active {
  contents: VaultContents;
  keys: IdentityKeys;
  store: HistoryStore;
  pool: LazyPool;
  messenger: Messenger;
}

export class ParleyService extends TypedEmitter<ParleyEvents> implements ParleyApi {
  readonly profile: Profile;
  private passphrase: string | undefined;
  private active: Active | null = null;
  private transport: RelayClient | null = null;
  private transportOffs: Array<() => void> = [];
  private connection: ConnectionState = { status: 'offline', relayUrl: null, reason: 'No relay configured' };
  private keychainCache: { at: number; status: KeychainStatus } | null = null;
  private embedded: EmbeddedRelay | null = null;
  private startPromise: Promise<void> | null = null;
  private settings: Settings;
  private closed = false;
  private readonly log: NonNullable<ParleyServiceOptions['log']>;

  constructor(private readonly o: ParleyServiceOptions) {
    super();
    this.profile = openProfile(o.profileDir);
    this.passphrase = o.passphrase;
    this.log = o.log ?? (() => {});
    this.settings = readSettings(this.profile.dir);
    const override = o.relayUrl ? this.checkRelayUrl(o.relayUrl) : null;
    if (override && override !== this.profile.meta.relayUrl && this.profile.meta.vault) {
      updateProfile(this.profile, { relayUrl: override, relayFingerprint: null });
    }
  }

  // ---- lifecycle --------------------------------------------------------------------------------------------

  /** Opens the vault (if an identity exists and it can be opened), the store and the relay connection. */
  start(): Promise<void> {
    // A failed start (keychain locked, wrong passphrase, disk error) is retried by the next call.
    this.startPromise ??= this.doStart().catch((err: unknown) => {
      this.startPromise = null;
      throw err;
    });
    return this.startPromise;
  }

  private async doStart(): Promise<void> {
    // A relay this app hosted last time comes back first, at the same address, so the profile can reach it.
    const embedded = new EmbeddedRelay(path.join(this.profile.dir, 'relay'));
    const saved = embedded.saved();
    if (saved?.running && !this.embedded) {
      this.embedded = embedded;
      await embedded
        .start({ lan: saved.lan })
        .catch((err: unknown) => this.log(`embedded relay did not start: ${(err as Error).message}`, { level: 'warn' }));
      makeTreePrivate(this.profile.dir); // the relay's own files (its SQLite, certificate) live in the profile
    }
    const kind = this.profile.meta.vault;
    this.log(`profile opened (${kind ? `${kind} vault` : 'no identity yet'})`);
    if (!kind) return; // onboarding
    if (kind === 'file' && !this.passphrase) return; // locked
    const contents = await this.vaultFor(kind, this.passphrase).load();
    await this.activate(contents);
  }

  get phase(): AppState['phase'] {
    if (this.active) return 'ready';
    return this.profile.meta.vault ? 'locked' : 'onboarding';
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.startPromise?.catch(() => undefined);
    await this.deactivate();
    await this.embedded?.stop({ remember: false }).catch(() => undefined); // quitting is not "stop hosting"
    this.embedded = null;
    this.removeAllListeners();
  }

  private async deactivate(): Promise<void> {
    this.detachTransport();
    const a = this.active;
    this.active = null;
    if (!a) return;
    await a.messenger.close();
    await a.pool.close().catch(() => undefined);
    a.store.close();
  }

  private vaultFor(kind: VaultKind, passphrase?: string): KeyVault {
    return openVault(this.profile, {
      kind,
      ...(passphrase !== undefined ? { passphrase } : {}),
      ...(this.o.kdfIterations !== undefined ? { iterations: this.o.kdfIterations } : {}),
    });
  }

  private async activate(contents: VaultContents): Promise<void> {
    const pool = new LazyPool({ secret: contents.identity, ...(this.o.cryptoPoolSize ? { size: this.o.cryptoPoolSize } : {}) });
    // Going online: start the workers right at unlock, so they boot (and import the keys) while the identity is
    // loaded, the store opened and the relay connected, not when the first envelope arrives.
    if (this.o.connect !== false && this.profile.meta.relayUrl) pool.warm();
    let keys: IdentityKeys;
    let store: HistoryStore;
    try {
      keys = await loadIdentity(contents.identity);
      ensurePrivateFile(this.profile.paths.db);
      store = openHistoryStore({ path: this.profile.paths.db, key: contents.dbKey });
      makeTreePrivate(this.profile.dir); // -wal/-shm (created by SQLite with the db's mode) and anything else

    } catch (err) {
      await pool.close().catch(() => undefined);
      throw err;
    }
    // Dedupe marks only need to outlive the relay's retention (30 days by default): keep 60 days.
    try {
      store.pruneSeen(Date.now() - SEEN_RETENTION_MS);
    } catch (err) {
      this.log(`pruning dedupe marks failed: ${(err as Error).message}`, { level: 'warn' });
    }
    const meta = this.profile.meta;
    const messenger = new Messenger({
      store,
      crypto: pool,
      me: { username: meta.username ?? '', identity: keys.public, fingerprint: keys.fingerprint },
      log: (msg: string) => this.log(msg, { scope: 'messenger' }),
      ...this.o.messenger,
    });
    messenger.on('message-received', (m) => {
      this.log(`message ${m.id} received (${m.state})`, { scope: 'messenger', level: 'debug' });
      this.emit('message-received', m);
    });
    messenger.on('message-state', (m) => this.emit('message-state', m));
    messenger.on('contact-key-changed', (m) => this.emit('contact-key-changed', m));
    messenger.on('contacts-changed', (m) => this.emit('contacts-changed', m));
    this.active = { contents, keys, store, pool, messenger };
    this.log('identity unlocked, history opened');
    if (this.o.connect !== false && meta.relayUrl) this.connectRelay(meta.relayUrl);
    this.emitState();
  }

  private connectRelay(saved: string): void {
    this.detachTransport();
    const a = this.active;
    if (!a || this.closed) return;
    // The saved address passes the same check as a typed one (profile.json may predate a rule, or be edited).
    let url: string;
    try {
      url = this.checkRelayUrl(saved);
    } catch (err) {
      this.connection = { status: 'offline', relayUrl: saved, reason: (err as Error).message };
      this.emit('connection-changed', this.connection);
      this.log(`relay address refused: ${(err as Error).message}`, { scope: 'relay', level: 'warn' });
      return;
    }
    const t = new RelayClient({
      url,
      identity: a.keys,
      pinnedFingerprint: this.profile.meta.relayFingerprint,
      onPin: (fp) => void updateProfile(this.profile, { relayFingerprint: fp }),
      registerAs: this.profile.meta.username,
      ...(this.o.reconnect ? { reconnect: this.o.reconnect } : {}),
      ...(this.o.testHoldAcks ? { testHoldAcks: true } : {}),
    });
    this.transport = t;
    this.transportOffs.push(
      t.on('state', (s) => {
        this.log(`relay ${s.status}${s.status === 'offline' ? `: ${s.reason}` : ''}`, { scope: 'relay', level: s.status === 'offline' ? 'warn' : 'info' });
        this.connection = s;
        this.emit('connection-changed', s);
        this.emitState();
      }),
      t.on('session-replaced', () => this.log(SESSION_REPLACED_MESSAGE, { scope: 'relay', level: 'warn' })),
    );
    a.pool.warm();
    a.messenger.attach(t);
    t.connect();
    this.connection = t.state;
  }

  private detachTransport(): void {
    for (const off of this.transportOffs) off();
    this.transportOffs = [];
    this.active?.messenger.attach(null);
    this.transport?.close();
    this.transport = null;
  }

  private async ready(): Promise<Active> {
    await this.start();
    if (this.active) return this.active;
    if (this.profile.meta.vault) {
      throw new CoreError('LOCKED', 'The identity file is locked: unlock it with its passphrase');
    }
    throw new CoreError('NO_IDENTITY', 'This profile has no identity yet: create one first (onboarding or `init`)');
  }

  private get messenger(): Promise<Messenger> {
    return this.ready().then((a) => a.messenger);
  }

  /** Resolves when authenticated with the relay. */
  async waitOnline(timeoutMs = 15_000): Promise<void> {
    await this.ready();
    if (!this.transport) throw new CoreError('OFFLINE', 'No relay configured for this profile');
    try {
      await this.transport.waitOnline(timeoutMs);
    } catch (err) {
      throw this.relayError(err);
    }
  }

  /** Resolves when queued incoming batches are processed. */
  async idle(): Promise<void> {
    await (await this.messenger).idle();
  }

  /** Fetches the relay queue (normally pushed by the relay) and waits until it is processed. */
  async drain(): Promise<void> {
    const m = await this.messenger;
    await m.drain();
    await m.idle();
  }

  /** Sends due outbox items now. */
  async flushOutbox(): Promise<void> {
    await (await this.messenger).flushOutbox();
  }

  whoami(): { username: string | null; fingerprint: string | null; fingerprintFormatted: string | null; vault: VaultKind | null; relayUrl: string | null } {
    const m = this.profile.meta;
    return {
      username: m.username,
      fingerprint: m.fingerprint,
      fingerprintFormatted: m.fingerprint ? formatFingerprint(m.fingerprint) : null,
      vault: m.vault,
      relayUrl: m.relayUrl,
    };
  }

  // ---- state ------------------------------------------------------------------------------------------------

  async getState(): Promise<AppState> {
    await this.start().catch(() => undefined);
    return {
      phase: this.phase,
      profile: this.profileInfo(),
      keychain: await this.keychainStatus(),
      connection: this.connection,
      embeddedRelay: this.embeddedStatus(),
      settings: { ...this.settings },
    };
  }

  private profileInfo(): ProfileInfo | null {
    const m = this.profile.meta;
    if (!m.username || !m.fingerprint || !m.vault) return null;
    return { username: m.username, fingerprint: m.fingerprint, vault: m.vault, relayUrl: m.relayUrl };
  }

  private async keychainStatus(): Promise<KeychainStatus> {
    const now = Date.now();
    if (!this.keychainCache || now - this.keychainCache.at > 10_000) {
      this.keychainCache = { at: now, status: await probeKeychain() };
    }
    return this.keychainCache.status;
  }

  private emitState(): void {
    if (this.closed) return;
    void this.getState().then(
      (s) => this.emit('state-changed', s),
      () => undefined,
    );
  }

  // ---- relays -----------------------------------------------------------------------------------------------

  async testRelay(req: { url: string }): Promise<{ ok: true; fingerprint: string } | { ok: false; error: string }> {
    try {
      const r = await probeRelay(this.checkRelayUrl(req?.url));
      return { ok: true, fingerprint: r.fingerprint };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  }

  async discoverRelays(): Promise<DiscoveredRelay[]> {
    return discoverLanRelays();
  }

  async setRelay(req: { url: string }): Promise<void> {
    const url = this.checkRelayUrl(req?.url);
    if (url === this.profile.meta.relayUrl) return;
    // A different relay is a different trust decision: pin it afresh.
    updateProfile(this.profile, { relayUrl: url, relayFingerprint: null });
    if (this.active && this.o.connect !== false) this.connectRelay(url);
    this.emitState();
  }

  async startEmbeddedRelay(req: { lan: boolean; inviteOnly?: boolean }): Promise<EmbeddedRelayStatus> {
    this.embedded ??= new EmbeddedRelay(path.join(this.profile.dir, 'relay'));
    await this.embedded.start({ lan: req.lan === true, ...(req.inviteOnly !== undefined ? { inviteOnly: req.inviteOnly === true } : {}) });
    makeTreePrivate(this.profile.dir);
    this.emitState();
    return this.embeddedStatus();
  }

  async stopEmbeddedRelay(): Promise<EmbeddedRelayStatus> {
    await this.embedded?.stop();
    this.emitState();
    return this.embeddedStatus();
  }

  private embeddedStatus(): EmbeddedRelayStatus {
    return this.embedded?.status() ?? { running: false, url: null, fingerprint: null, lan: false, inviteOnly: false };
  }

  /** "Share invite": a single-use code for the relay this app hosts, with the address and fingerprint to share. */
  async createRelayInvite(): Promise<RelayInvite> {
    this.embedded ??= new EmbeddedRelay(path.join(this.profile.dir, 'relay'));
    const invite = this.embedded.createInvite();
    makeTreePrivate(this.profile.dir);
    const st = this.embedded.status();
    return { code: invite.code, expiresAt: invite.expiresAt, relayUrl: st.url, relayFingerprint: st.fingerprint };
  }

  // ---- onboarding -------------------------------------------------------------------------------------------

  async createIdentity(req: CreateIdentityRequest): Promise<ProfileInfo> {
    const checked = this.checkCreate(req);
    this.emit('onboarding-progress', { step: 'generating-keys' });
    const secret = await generateIdentity();
    return this.onboard(secret, checked);
  }

  /**
   * TESTING ONLY: onboarding with a given IdentitySecret instead of generating one (RSA-4096 generation costs
   * seconds; tests use the cached fixture identities). Same checks, storage and registration as createIdentity.
   */
  async createIdentityFrom(secret: IdentitySecret, req: CreateIdentityRequest): Promise<ProfileInfo> {
    const checked = this.checkCreate(req);
    this.emit('onboarding-progress', { step: 'generating-keys', detail: 'using a provided identity' });
    return this.onboard(secret, checked);
  }

  private checkCreate(req: CreateIdentityRequest): { username: string; relayUrl: string; vault: VaultKind; passphrase?: string; invite?: string } {
    if (this.profile.meta.vault) throw new CoreError('EXISTS', `This profile already has an identity (${this.profile.meta.username ?? '?'})`);
    const u = usernameSchema.safeParse(req?.username);
    if (!u.success) throw new CoreError('INVALID', `Invalid username: ${u.error.issues[0]?.message ?? 'bad format'}`);
    const relayUrl = this.checkRelayUrl(req?.relayUrl);
    const vault = req.vault ?? this.o.vault ?? 'keychain';
    if (vault !== 'keychain' && vault !== 'file') throw new CoreError('INVALID', `Unknown vault kind: ${String(vault)}`);
    const passphrase = req.passphrase ?? this.passphrase;
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
    this.emit('onboarding-progress', { step: 'storing-keys' });
    const vault = this.vaultFor(o.vault, o.passphrase);
    const contents: VaultContents = { identity: secret, dbKey: newDbKey() };
    await vault.save(contents);
    this.emit('onboarding-progress', { step: 'registering', detail: o.relayUrl });
    let relayFp: string | null = null;
    try {
      relayFp = await this.registerWith(o.relayUrl, keys, opts.takeOver ? null : o.username, o.invite);
    } catch (err) {
      await vault.remove().catch(() => undefined);
      throw this.relayError(err);
    }
    updateProfile(this.profile, {
      vault: o.vault,
      username: o.username,
      fingerprint: keys.fingerprint,
      relayUrl: o.relayUrl,
      relayFingerprint: relayFp,
    });
    this.passphrase = o.passphrase;
    this.startPromise = this.activate(contents);
    await this.startPromise;
    this.log(`identity ${keys.fingerprint.slice(0, 16)}… stored (${o.vault} vault) and registered`);
    this.emit('onboarding-progress', { step: 'done' });
    return this.profileInfo()!;
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
    if (this.active) return this.profileInfo()!;
    const kind = this.profile.meta.vault;
    if (!kind) throw new CoreError('NO_IDENTITY', 'This profile has no identity yet');
    if (typeof req?.passphrase !== 'string' || req.passphrase.length === 0) {
      throw new CoreError('PASSPHRASE_REQUIRED', 'Enter the passphrase of the identity file');
    }
    const contents = await this.vaultFor(kind, req.passphrase).load();
    this.passphrase = req.passphrase;
    this.startPromise = this.activate(contents);
    await this.startPromise;
    return this.profileInfo()!;
  }

  // ---- backup / import / rotation ---------------------------------------------------------------------------

  async exportIdentity(req: { passphrase: string }): Promise<{ saved: boolean; location: string | null }> {
    await this.ready();
    const file = this.o.pickBackupFile
      ? await this.o.pickBackupFile('export')
      : path.join(this.profile.dir, 'backups', `${this.profile.meta.username ?? 'identity'}-${Date.now()}.parley-backup`);
    if (!file) return { saved: false, location: null };
    await this.exportIdentityTo(file, req?.passphrase);
    return { saved: true, location: file };
  }

  /** Writes the passphrase-protected identity backup (protocol backup format) to `file`. */
  async exportIdentityTo(file: string, passphrase: string): Promise<void> {
    const a = await this.ready();
    if (typeof passphrase !== 'string' || passphrase.length < 8) {
      throw new CoreError('PASSPHRASE_REQUIRED', 'A backup passphrase needs at least 8 characters');
    }
    const text = await exportBackup(a.contents.identity, passphrase, {
      ...(this.o.kdfIterations !== undefined ? { iterations: this.o.kdfIterations } : {}),
      extras: { username: this.profile.meta.username ?? '' },
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
    const file = this.o.pickBackupFile ? await this.o.pickBackupFile('import') : null;
    if (!file) throw new CoreError('INVALID', 'No backup file was chosen');
    const keychain = await this.keychainStatus();
    const vault: VaultKind = this.o.vault ?? (keychain.available ? 'keychain' : 'file');
    return this.importIdentityFrom(file, req?.passphrase, {
      relayUrl: req?.relayUrl,
      vault,
      ...(vault === 'file' ? { vaultPassphrase: this.passphrase ?? req?.passphrase } : {}),
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
    if (this.profile.meta.vault) throw new CoreError('EXISTS', `This profile already has an identity (${this.profile.meta.username ?? '?'})`);
    const relayUrl = this.checkRelayUrl(o.relayUrl ?? this.o.relayUrl ?? '');
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
      if (!(err instanceof TransportError && err.code === 'NOT_FOUND')) throw this.relayError(err);
    } finally {
      probe.close();
    }
    const u = usernameSchema.safeParse(username);
    if (!u.success) throw new CoreError('INVALID', 'The backup names no valid username and the relay does not know this identity');
    const vault = o.vault ?? this.o.vault ?? 'keychain';
    const vp = o.vaultPassphrase ?? this.passphrase ?? (vault === 'file' ? passphrase : undefined);
    return this.onboard(identity, { username: u.data, relayUrl, vault, ...(vp !== undefined ? { passphrase: vp } : {}) });
  }

  /**
   * Makes a new identity, signs it with the current one (parley/v1/rotate over rotationInput), registers it with
   * that rotation signature, stores it in the vault and reconnects with it. Contacts see a key change that the old
   * key signed.
   */
  async rotateIdentity(o: { identity?: IdentitySecret } = {}): Promise<ProfileInfo> {
    const a = await this.ready();
    const username = this.profile.meta.username;
    const saved = this.profile.meta.relayUrl;
    if (!username || !saved) throw new CoreError('NO_IDENTITY', 'This profile is not registered with a relay');
    const url = this.checkRelayUrl(saved);
    const next = o.identity ?? (await generateIdentity());
    const nextChecked = await validateIdentity(next.public);
    const sig = await signLabeled(a.keys, LABELS.rotate, ...rotationInput(username, a.keys.fingerprint, nextChecked.identity));
    const kind = this.profile.meta.vault!;
    const vault = this.vaultFor(kind, this.passphrase);
    const previous = a.contents;
    const contents: VaultContents = { identity: next, dbKey: previous.dbKey };
    await vault.save(contents); // first the vault: a registered key we no longer hold would lock us out
    // The relay closes the old key's session on rotation; drop ours first so that is not shown as a takeover.
    this.detachTransport();
    const c = new RelayClient({ url, identity: null, pinnedFingerprint: this.profile.meta.relayFingerprint, reconnect: { enabled: false } });
    try {
      c.connect();
      await c.waitOnline(15_000);
      await c.register(username, await loadIdentity(next), sig);
    } catch (err) {
      await vault.save(previous).catch(() => undefined);
      if (this.o.connect !== false) this.connectRelay(url);
      throw this.relayError(err);
    } finally {
      c.close();
    }
    await this.deactivate();
    updateProfile(this.profile, { fingerprint: nextChecked.fingerprint });
    this.startPromise = this.activate(contents);
    await this.startPromise;
    return this.profileInfo()!;
  }

  // ---- conversations ----------------------------------------------------------------------------------------

  async listConversations(req: { filter?: string } = {}): Promise<ConversationSummary[]> {
    return (await this.messenger).listConversations(req?.filter);
  }

  async loadMessages(req: { conversation: ConversationId; before?: number | null; limit?: number }): Promise<MessagePage> {
    return (await this.messenger).loadMessages(directContactOf(req?.conversation), req.before, req.limit);
  }

  async sendMessage(req: { conversation: ConversationId; text: string }): Promise<MessageView> {
    const m = await (await this.messenger).sendText(directContactOf(req?.conversation), req.text);
    this.log(`message ${m.id} ${m.state}`, { level: 'debug' });
    return m;
  }

  async retryMessage(req: { id: string }): Promise<MessageView> {
    return (await this.messenger).retryMessage(req.id);
  }

  async markRead(req: { conversation: ConversationId }): Promise<void> {
    (await this.messenger).markRead(directContactOf(req?.conversation));
  }

  async deleteMessage(req: { id: string }): Promise<void> {
    (await this.messenger).deleteMessage(req.id);
  }

  async deleteConversation(req: { conversation: ConversationId }): Promise<void> {
    (await this.messenger).deleteConversation(directContactOf(req?.conversation));
  }

  // ---- contacts ---------------------------------------------------------------------------------------------

  async addContact(req: { username: string }): Promise<ContactView> {
    const u = usernameSchema.safeParse(req?.username);
    if (!u.success) throw new CoreError('INVALID', `Invalid username: ${u.error.issues[0]?.message ?? 'bad format'}`);
    return (await this.messenger).addContact(u.data);
  }

  async listContacts(): Promise<ContactView[]> {
    return (await this.messenger).listContacts();
  }

  async getContact(req: { username: string }): Promise<ContactDetail> {
    return (await this.messenger).contactDetail(req.username);
  }

  /** Asks the relay for the contact's current identity now (a change becomes a pending key change). */
  async checkContactKey(req: { username: string }): Promise<ContactView> {
    return (await this.messenger).checkContactKey(req.username);
  }

  async setVerified(req: { username: string; verified: boolean }): Promise<ContactView> {
    return (await this.messenger).setVerified(req.username, req.verified === true);
  }

  async acceptKeyChange(req: { username: string; fingerprint: string }): Promise<ContactView> {
    return (await this.messenger).acceptKeyChange(req.username, req.fingerprint);
  }

  async rejectKeyChange(req: { username: string }): Promise<ContactView> {
    return (await this.messenger).rejectKeyChange(req.username);
  }

  async acceptRequest(req: { username: string }): Promise<ContactView> {
    return (await this.messenger).acceptRequest(req.username);
  }

  async setBlocked(req: { username: string; blocked: boolean }): Promise<ContactView> {
    return (await this.messenger).setBlocked(req.username, req.blocked === true);
  }

  // ---- settings ---------------------------------------------------------------------------------------------

  async getDebugLog(): Promise<{ text: string }> {
    return { text: this.o.debugLog?.() ?? '' };
  }

  async updateSettings(req: Partial<Settings>): Promise<Settings> {
    const next = applySettingsPatch(this.settings, req);
    writeSettings(this.profile.dir, next);
    this.settings = next;
    this.emitState();
    return { ...next };
  }

  /** The relay address normalized, or a RelayUrlError (code INVALID) naming what is wrong with it. */
  private checkRelayUrl(raw: unknown): string {
    return parseRelayUrl(raw, { allowInsecure: this.o.insecureRelay === true || this.settings.insecureRelay }).url;
  }

  private relayError(err: unknown): Error {
    if (err instanceof CoreError) return err;
    if (err instanceof TransportError) {
      if (err.code === 'RELAY_CHANGED') return new CoreError('RELAY_CHANGED', err.message, { cause: err });
      if (err.code === 'OFFLINE' || err.code === 'TIMEOUT') return new CoreError('OFFLINE', err.message, { cause: err });
      if (err.code === 'SESSION_REPLACED') return new CoreError('OFFLINE', SESSION_REPLACED_MESSAGE, { cause: err });
      return new CoreError('RELAY', `${err.message} (${err.code})`, { cause: err });
    }
    return err instanceof Error ? err : new Error(String(err));
  }
}
