/**
 * The service's engine room, under ParleyService (service.ts, the API facade): the profile and its lifecycle
 * (start, unlock hand-off, close), the unlocked state (store, crypto pool, messenger, attachments), the relay
 * connection and its state, the hosted relay, and AppState. ParleyService adds the API methods, each a delegation
 * to account.ts, the messenger or the store.
 */
import { formatFingerprint } from '../../relay/protocol/index.js';
import type { Groups } from './messenger/groups.js';
import type {
  AppState,
  ConnectionState,
  DiscoveredRelay,
  EmbeddedRelayStatus,
  RelayInvite,
  KeychainStatus,
  ParleyEvents,
  ProfileInfo,
  Settings,
} from '../contract/api.js';
import { Account } from './account.js';
import type { AttachmentManagerOptions } from './attachments/manager.js';
import { CoreError } from './messenger/errors.js';
import type { Messenger } from './messenger/messenger.js';
import { openProfile, updateProfile, type Profile } from './profile.js';
import { toCoreError } from './relay-errors.js';
import { openUnlocked } from './unlocked.js';
import { StartupTimer } from './startup-timings.js';
import type { Active, ParleyServiceOptions } from './service-types.js';
import { TypedEmitter } from './transport/emitter.js';
import { discoverLanRelays } from './transport/discovery.js';
import { RelayClient, probeRelay, SESSION_REPLACED_MESSAGE } from './transport/relay-client.js';
import { EmbeddedRelayHost } from './embedded-host.js';
import { parseRelayUrl } from './transport/relay-url.js';
import { readSettings } from './settings.js';
import { openVault, probeKeychain } from './vault/index.js';
import type { KeyVault, VaultContents, VaultKind } from './vault/types.js';


export abstract class ServiceCore extends TypedEmitter<ParleyEvents> {
  readonly profile: Profile;
  protected passphrase: string | undefined;
  protected active: Active | null = null;
  /** Phases of the unlock in progress, then of the last one (see startup-timings.ts). */
  protected pendingStartup: StartupTimer | null = null;
  protected startup = new StartupTimer();
  protected transport: RelayClient | null = null;
  protected transportOffs: Array<() => void> = [];
  protected connection: ConnectionState = { status: 'offline', relayUrl: null, reason: 'No relay configured' };
  protected keychainCache: { at: number; status: KeychainStatus } | null = null;
  protected readonly embedded: EmbeddedRelayHost;
  protected startPromise: Promise<void> | null = null;
  protected settings: Settings;
  protected closed = false;
  protected readonly log: NonNullable<ParleyServiceOptions['log']>;
  protected readonly account: Account;

  constructor(protected readonly o: ParleyServiceOptions) {
    super();
    this.profile = openProfile(o.profileDir);
    this.passphrase = o.passphrase;
    this.log = o.log ?? (() => {});
    this.settings = readSettings(this.profile.dir);
    const override = o.relayUrl ? this.checkRelayUrl(o.relayUrl) : null;
    if (override && override !== this.profile.meta.relayUrl && this.profile.meta.vault) {
      updateProfile(this.profile, { relayUrl: override, relayFingerprint: null });
    }
    this.embedded = new EmbeddedRelayHost(this.profile.dir, this.log);
    this.account = new Account({
      profile: this.profile,
      options: o,
      passphrase: () => this.passphrase,
      setPassphrase: (p) => {
        this.passphrase = p;
      },
      emitProgress: (p) => this.emit('onboarding-progress', p),
      log: this.log,
      vaultFor: (kind, passphrase) => this.vaultFor(kind, passphrase),
      checkRelayUrl: (raw) => this.checkRelayUrl(raw),
      keychainStatus: () => this.keychainStatus(),
      ready: () => this.ready(),
      isActive: () => this.active !== null,
      activate: (contents) => {
        this.startPromise = this.activate(contents);
        return this.startPromise;
      },
      deactivate: () => this.deactivate(),
      detachTransport: () => this.detachTransport(),
      connectRelay: (url) => this.connectRelay(url),
      profileInfo: () => this.profileInfo(),
    });
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

  protected async doStart(): Promise<void> {
    await this.embedded.resume();
    const kind = this.profile.meta.vault;
    this.log(`profile opened (${kind ? `${kind} vault` : 'no identity yet'})`);
    if (!kind) return; // onboarding
    if (kind === 'file' && !this.passphrase) return; // locked
    this.pendingStartup = new StartupTimer();
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
    await this.embedded.close();
    this.removeAllListeners();
  }

  protected async deactivate(): Promise<void> {
    this.detachTransport();
    const a = this.active;
    this.active = null;
    if (!a) return;
    a.seenPrune.stop();
    await a.files.settled(); // the connection is closed: a running upload stops and keeps its state
    await a.messenger.close();
    await a.pool.close().catch(() => undefined);
    a.store.close();
  }

  protected vaultFor(kind: VaultKind, passphrase?: string): KeyVault {
    return openVault(this.profile, {
      kind,
      ...(passphrase !== undefined ? { passphrase } : {}),
      ...(this.o.kdfIterations !== undefined ? { iterations: this.o.kdfIterations } : {}),
    });
  }

  /** What the app hooks into attachment transfers (ParleyService: progress events, staged copies). */
  protected attachmentHooks(): Pick<AttachmentManagerOptions, 'progress' | 'released'> {
    return {};
  }

  protected async activate(contents: VaultContents): Promise<void> {
    // Started when the unlock was asked for (start() with a passphrase or keychain, unlock()); here otherwise.
    const timer = this.pendingStartup ?? new StartupTimer();
    this.pendingStartup = null;
    timer.lap('vault unlock');
    const { keys, store, pool, messenger, files, seenPrune } = await openUnlocked(contents, {
      profile: this.profile,
      options: this.o,
      warmPool: this.o.connect !== false && this.profile.meta.relayUrl !== null,
      log: this.log,
      timer,
      channel: () => this.transport,
      files: this.attachmentHooks(),
    });
    const meta = this.profile.meta;
    messenger.on('message-received', (m) => {
      this.log(`message ${m.id} received (${m.state})`, { scope: 'messenger', level: 'debug' });
      this.emit('message-received', m);
    });
    messenger.on('message-state', (m) => this.emit('message-state', m));
    messenger.on('message-updated', (m) => this.emit('message-updated', m));
    messenger.on('contact-key-changed', (m) => this.emit('contact-key-changed', m));
    messenger.on('contacts-changed', (m) => this.emit('contacts-changed', m));
    messenger.on('group-changed', (e) => this.emit('group-changed', { group: e.group, conversation: `g:${e.group}` }));
    messenger.on('group-delivery', (e) => this.emit('group-delivery', { group: e.group, conversation: `g:${e.group}`, id: e.id }));
    messenger.setDisplayName(this.settings.displayName);
    messenger.actions.setReadReceipts(this.settings.readReceipts);
    this.active = { contents, keys, store, pool, messenger, files, seenPrune };
    timer.lap('messenger');
    this.startup = timer;
    this.log('identity unlocked, history opened');
    if (this.o.connect !== false && meta.relayUrl) this.connectRelay(meta.relayUrl);
    this.emitState();
  }

  protected connectRelay(saved: string): void {
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
      t.on('authenticated', () => a.files.resumeUploads()),
    );
    a.pool.warm();
    a.messenger.attach(t);
    t.connect();
    this.connection = t.state;
  }

  protected detachTransport(): void {
    for (const off of this.transportOffs) off();
    this.transportOffs = [];
    this.active?.messenger.attach(null);
    this.transport?.close();
    this.transport = null;
  }

  protected async ready(): Promise<Active> {
    await this.start();
    if (this.active) return this.active;
    if (this.profile.meta.vault) {
      throw new CoreError('LOCKED', 'The identity file is locked: unlock it with its passphrase');
    }
    throw new CoreError('NO_IDENTITY', 'This profile has no identity yet: create one first (onboarding or `init`)');
  }

  protected get messenger(): Promise<Messenger> {
    return this.ready().then((a) => a.messenger);
  }

  /** Group chats (create, change, info): the CLI and RPC call them directly (messenger/groups.ts). */
  async groups(): Promise<Groups> {
    return (await this.messenger).groups;
  }

  /** Resolves when authenticated with the relay. */
  async waitOnline(timeoutMs = 15_000): Promise<void> {
    await this.ready();
    if (!this.transport) throw new CoreError('OFFLINE', 'No relay configured for this profile');
    try {
      await this.transport.waitOnline(timeoutMs);
    } catch (err) {
      throw toCoreError(err);
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
      embeddedRelay: this.embedded.status(),
      settings: { ...this.settings },
    };
  }

  protected profileInfo(): ProfileInfo | null {
    const m = this.profile.meta;
    if (!m.username || !m.fingerprint || !m.vault) return null;
    return { username: m.username, fingerprint: m.fingerprint, vault: m.vault, relayUrl: m.relayUrl };
  }

  protected async keychainStatus(): Promise<KeychainStatus> {
    const now = Date.now();
    if (!this.keychainCache || now - this.keychainCache.at > 10_000) {
      this.keychainCache = { at: now, status: await probeKeychain() };
    }
    return this.keychainCache.status;
  }

  protected emitState(): void {
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
    const st = await this.embedded.start(req);
    this.emitState();
    return st;
  }

  async stopEmbeddedRelay(): Promise<EmbeddedRelayStatus> {
    const st = await this.embedded.stop();
    this.emitState();
    return st;
  }

  async createRelayInvite(): Promise<RelayInvite> {
    return this.embedded.createInvite();
  }

  /** The relay address normalized, or a RelayUrlError (code INVALID) naming what is wrong with it. */
  protected checkRelayUrl(raw: unknown): string {
    return parseRelayUrl(raw, { allowInsecure: this.o.insecureRelay === true || this.settings.insecureRelay }).url;
  }
}
