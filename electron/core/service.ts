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
 *
 * This file only wires: the identity lifecycle is account.ts, opening an unlocked profile unlocked.ts, the relay
 * this app hosts embedded-host.ts, settings settings.ts; messaging lives in messenger/ behind one Messenger.
 */
import { formatFingerprint, usernameSchema } from '../../relay/protocol/index.js';
import { directContactOf } from './messenger/conversation-ref.js';
import { loadIn, markReadIn, sendIn } from './messenger/conversation-ops.js';
import type { Groups } from './messenger/groups.js';
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
  MessagesAround,
  MessagesAroundRequest,
  MessageInfo,
  MessageView,
  ParleyApi,
  ParleyEvents,
  ProfileInfo,
  SearchRequest,
  SearchResults,
  Settings,
} from '../contract/api.js';
import { messagesAround, readDraft, search, storeDraft, withDrafts } from './search-and-drafts.js';
import { Account } from './account.js';
import type { IdentitySecret } from './crypto/index.js';
import { CoreError } from './messenger/errors.js';
import type { Messenger } from './messenger/messenger.js';
import { openProfile, updateProfile, type Profile } from './profile.js';
import { toCoreError } from './relay-errors.js';
import { openUnlocked } from './unlocked.js';
import { StartupTimer, type StartupPhase } from './startup-timings.js';
import type { Active, ParleyServiceOptions } from './service-types.js';
import { TypedEmitter } from './transport/emitter.js';
import { discoverLanRelays } from './transport/discovery.js';
import { RelayClient, probeRelay, SESSION_REPLACED_MESSAGE } from './transport/relay-client.js';
import { EmbeddedRelayHost } from './embedded-host.js';
import { parseRelayUrl } from './transport/relay-url.js';
import { applySettingsPatch, readSettings, writeSettings } from './settings.js';
import { openVault, probeKeychain } from './vault/index.js';
import type { KeyVault, VaultContents, VaultKind } from './vault/types.js';

export type { ParleyServiceOptions } from './service-types.js';

export class ParleyService extends TypedEmitter<ParleyEvents> implements ParleyApi {
  readonly profile: Profile;
  private passphrase: string | undefined;
  private active: Active | null = null;
  /** Phases of the unlock in progress, then of the last one (see startup-timings.ts). */
  private pendingStartup: StartupTimer | null = null;
  private startup = new StartupTimer();
  private transport: RelayClient | null = null;
  private transportOffs: Array<() => void> = [];
  private connection: ConnectionState = { status: 'offline', relayUrl: null, reason: 'No relay configured' };
  private keychainCache: { at: number; status: KeychainStatus } | null = null;
  private readonly embedded: EmbeddedRelayHost;
  private startPromise: Promise<void> | null = null;
  private settings: Settings;
  private closed = false;
  private readonly log: NonNullable<ParleyServiceOptions['log']>;
  private readonly account: Account;

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

  private async doStart(): Promise<void> {
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

  private async deactivate(): Promise<void> {
    this.detachTransport();
    const a = this.active;
    this.active = null;
    if (!a) return;
    await a.files.settled(); // the connection is closed: a running upload stops and keeps its state
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
    // Started when the unlock was asked for (start() with a passphrase or keychain, unlock()); here otherwise.
    const timer = this.pendingStartup ?? new StartupTimer();
    this.pendingStartup = null;
    timer.lap('vault unlock');
    const { keys, store, pool, messenger, files } = await openUnlocked(contents, {
      profile: this.profile,
      options: this.o,
      warmPool: this.o.connect !== false && this.profile.meta.relayUrl !== null,
      log: this.log,
      timer,
      channel: () => this.transport,
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
    messenger.setDisplayName(this.settings.displayName);
    this.active = { contents, keys, store, pool, messenger, files };
    timer.lap('messenger');
    this.startup = timer;
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
      t.on('authenticated', () => a.files.resumeUploads()),
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

  // ---- identity lifecycle (account.ts) ---------------------------------------------------------------------

  createIdentity(req: CreateIdentityRequest): Promise<ProfileInfo> {
    return this.account.createIdentity(req);
  }

  /** TESTING ONLY: onboarding with a given IdentitySecret (see Account.createIdentityFrom). */
  createIdentityFrom(secret: IdentitySecret, req: CreateIdentityRequest): Promise<ProfileInfo> {
    return this.account.createIdentityFrom(secret, req);
  }

  unlock(req: { passphrase: string }): Promise<ProfileInfo> {
    if (!this.active) this.pendingStartup = new StartupTimer();
    return this.account.unlock(req);
  }

  exportIdentity(req: { passphrase: string }): Promise<{ saved: boolean; location: string | null }> {
    return this.account.exportIdentity(req);
  }

  /** Writes the passphrase-protected identity backup (protocol backup format) to `file`. */
  exportIdentityTo(file: string, passphrase: string): Promise<void> {
    return this.account.exportIdentityTo(file, passphrase);
  }

  importIdentity(req: { passphrase: string; relayUrl: string }): Promise<ProfileInfo> {
    return this.account.importIdentity(req);
  }

  importIdentityFrom(file: string, passphrase: string, o: { relayUrl?: string; vault?: VaultKind; vaultPassphrase?: string } = {}): Promise<ProfileInfo> {
    return this.account.importIdentityFrom(file, passphrase, o);
  }

  rotateIdentity(o: { identity?: IdentitySecret } = {}): Promise<ProfileInfo> {
    return this.account.rotateIdentity(o);
  }


  // ---- conversations ----------------------------------------------------------------------------------------

  async listConversations(req: { filter?: string } = {}): Promise<ConversationSummary[]> {
    const a = await this.ready();
    return this.startup.once('list query', () => withDrafts(a.store, a.messenger.listConversations(req?.filter)));
  }

  /** The last unlock's phases (startup-timings.ts), for the start-up benchmark; not part of the renderer's API. */
  startupTimings(): StartupPhase[] {
    return this.startup.entries();
  }

  async loadMessages(req: { conversation: ConversationId; before?: number | null; limit?: number }): Promise<MessagePage> {
    return loadIn(await this.messenger, req?.conversation, req?.before, req?.limit);
  }

  async sendMessage(req: { conversation: ConversationId; text: string; replyTo?: string }): Promise<MessageView> {
    const m = await sendIn(await this.messenger, req?.conversation, req?.text, req?.replyTo === undefined ? {} : { replyTo: req.replyTo });
    this.log(`message ${m.id} ${m.state}`, { level: 'debug' });
    return m;
  }

  /** Files with an optional caption (main process / CLI: paths on this machine). Resolves once queued. */
  async sendFiles(req: { conversation: ConversationId; paths: string[]; caption?: string }): Promise<MessageView> {
    return (await this.ready()).files.sendFiles(directContactOf(req?.conversation), req.paths, req.caption ?? '');
  }

  /** Downloads (if needed), verifies and writes one attachment to `path`. */
  async saveAttachment(req: { messageId: string; index: number; path: string }): Promise<void> {
    await (await this.ready()).files.saveAttachment(req?.messageId, req?.index, req?.path);
  }

  async retryMessage(req: { id: string }): Promise<MessageView> {
    return (await this.messenger).retryMessage(req.id);
  }

  async markRead(req: { conversation: ConversationId }): Promise<void> {
    await markReadIn(await this.messenger, req?.conversation);
  }

  async reactToMessage(req: { id: string; emoji: string | null; conversation?: ConversationId }): Promise<MessageView> {
    return (await this.messenger).react(req.id, req.emoji, req.conversation);
  }

  async editMessage(req: { id: string; text: string; conversation?: ConversationId }): Promise<MessageView> {
    return (await this.messenger).edit(req.id, req.text, req.conversation);
  }

  async messageInfo(req: { id: string; conversation?: ConversationId }): Promise<MessageInfo> {
    return (await this.messenger).messageInfo(req.id, req.conversation);
  }

  async deleteMessage(req: { id: string; everyone?: boolean; conversation?: ConversationId }): Promise<void> {
    const m = await this.messenger;
    if (req.everyone) await m.deleteForEveryone(req.id, req.conversation);
    else m.deleteMessage(req.id, req.conversation);
  }

  async deleteConversation(req: { conversation: ConversationId }): Promise<void> {
    (await this.messenger).deleteConversation(directContactOf(req?.conversation));
  }

  async searchMessages(req: SearchRequest): Promise<SearchResults> {
    return search((await this.ready()).store, req);
  }

  async loadMessagesAround(req: MessagesAroundRequest): Promise<MessagesAround> {
    return messagesAround((await this.ready()).store, req);
  }

  async saveDraft(req: { conversation: ConversationId; text: string }): Promise<void> {
    storeDraft((await this.ready()).store, req);
  }

  async getDraft(req: { conversation: ConversationId }): Promise<{ text: string | null }> {
    return readDraft((await this.ready()).store, req);
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
    this.active?.messenger.setDisplayName(next.displayName);
    this.emitState();
    return { ...next };
  }

  /** The relay address normalized, or a RelayUrlError (code INVALID) naming what is wrong with it. */
  private checkRelayUrl(raw: unknown): string {
    return parseRelayUrl(raw, { allowInsecure: this.o.insecureRelay === true || this.settings.insecureRelay }).url;
  }

}
