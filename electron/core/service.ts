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
 * This file is the API facade: each method delegates. The lifecycle, the unlocked state, the relay connection and
 * AppState are service-core.ts (the base class); the identity lifecycle account.ts, opening an unlocked profile
 * unlocked.ts, the relay this app hosts embedded-host.ts, settings settings.ts; messaging lives in messenger/.
 */
import path from 'node:path';
import { usernameSchema } from '../../relay/protocol/index.js';
import type { AttachmentRef, SendAttachmentsRequest, StagedFile } from '../contract/attachments.js';
import { AppFiles } from './attachments/app-files.js';
import type { AttachmentManagerOptions } from './attachments/manager.js';
import { Staging } from './attachments/staging.js';
import { directContactOf } from './messenger/conversation-ref.js';
import { loadIn, markReadIn, sendIn } from './messenger/conversation-ops.js';
import type {
  AttachmentView,
  ContactDetail,
  ContactView,
  ConversationId,
  ConversationSummary,
  CreateIdentityRequest,
  MessagePage,
  MessagesAround,
  MessagesAroundRequest,
  MessageInfo,
  MessageView,
  ParleyApi,
  ProfileInfo,
  SearchRequest,
  SearchResults,
  Settings,
} from '../contract/api.js';
import { messagesAround, readDraft, search, storeDraft, withDrafts } from './search-and-drafts.js';
import { withReads } from './group-reads.js';
import type { TransferProgress } from './attachments/manager.js';
import { GroupApiImpl, withGroups } from './group-api.js';
import { listBlocked, unblock } from './blocking-api.js';
import type { BlockedList } from '../contract/blocking.js';
import type { GroupDeliveries, GroupView } from '../contract/api.js';
import type { IdentitySecret } from './crypto/index.js';
import { CoreError } from './messenger/errors.js';
import { StartupTimer, type StartupPhase } from './startup-timings.js';
import { applySettingsPatch, writeSettings } from './settings.js';
import type { VaultKind } from './vault/types.js';

import { ServiceCore } from './service-core.js';

export type { ParleyServiceOptions } from './service-types.js';

export class ParleyService extends ServiceCore implements ParleyApi {
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
    return this.startup.once('list query', () => withDrafts(a.store, withGroups(a.store, a.messenger.listConversations(req?.filter), req?.filter)));
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

  /** Files with an optional caption (main process / CLI: paths on this machine), direct or group. Resolves once queued. */
  async sendFiles(req: { conversation: ConversationId; paths: string[]; caption?: string }): Promise<MessageView> {
    return (await this.ready()).files.sendFiles(req?.conversation, req?.paths, req?.caption ?? '');
  }

  /** Upload and download progress of attachments (the CLI's --progress); returns the unsubscribe function. */
  async onAttachmentProgress(fn: (p: TransferProgress) => void): Promise<() => void> {
    return (await this.ready()).files.onProgress(fn);
  }

  // ---- attachments in the app (attachments/app-files.ts) --------------------------------------------------------

  private readonly appFiles = new AppFiles({
    ready: () => this.ready(),
    staging: new Staging(path.join(this.profile.dir, 'staging')),
    hooks: this.o.attachments ?? {},
  });

  protected override attachmentHooks(): Pick<AttachmentManagerOptions, 'progress' | 'released'> {
    return {
      progress: (p) => this.emit('attachment-progress', { messageId: p.message.id, conversation: p.message.conversation, index: p.index, direction: p.direction, done: p.done, total: p.total }),
      released: (source) => void this.appFiles.released(source),
    };
  }

  stageAttachment(req: { name: string; size: number }): Promise<StagedFile> {
    return this.appFiles.stageAttachment(req);
  }

  stageAttachmentChunk(req: { token: string; offset: number; data: string }): Promise<{ received: number }> {
    return this.appFiles.stageAttachmentChunk(req);
  }

  discardStaged(req: { token: string }): Promise<void> {
    return this.appFiles.discardStaged(req);
  }

  chooseAttachments(): Promise<{ files: StagedFile[] | null }> {
    return this.appFiles.chooseAttachments();
  }

  sendAttachments(req: SendAttachmentsRequest): Promise<MessageView> {
    return this.appFiles.sendAttachments(req);
  }

  downloadAttachment(req: AttachmentRef): Promise<AttachmentView> {
    return this.appFiles.downloadAttachment(req);
  }

  cancelAttachment(req: AttachmentRef): Promise<void> {
    return this.appFiles.cancelAttachment(req);
  }

  readAttachment(req: AttachmentRef): Promise<{ type: string; data: string }> {
    return this.appFiles.readAttachment(req);
  }

  /** Downloads (if needed), verifies and writes one attachment: to `path` (CLI), else where the shell's dialog says. */
  saveAttachment(req: AttachmentRef & { path?: string }): Promise<{ saved: boolean; location: string | null }> {
    return this.appFiles.saveAttachment(req);
  }

  openAttachment(req: AttachmentRef & { confirmed?: boolean }): Promise<{ opened: boolean; warning?: 'executable' }> {
    return this.appFiles.openAttachment(req);
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
    // Each message as loadMessages shows it (files, reply quote, reactions, read state): a chat opened at a search
    // result draws the same bubbles as one opened from the list.
    const messenger = await this.messenger;
    const around = messagesAround((await this.ready()).store, req);
    return { ...around, messages: around.messages.map((m) => messenger.view(m)) };
  }

  async saveDraft(req: { conversation: ConversationId; text: string }): Promise<void> {
    storeDraft((await this.ready()).store, req);
  }

  async getDraft(req: { conversation: ConversationId }): Promise<{ text: string | null }> {
    return readDraft((await this.ready()).store, req);
  }

  // ---- groups (group-api.ts) -----------------------------------------------------------------------------------

  private async groupApi(): Promise<GroupApiImpl> {
    return new GroupApiImpl((await this.messenger).groups, () => this.profile.meta.username ?? '');
  }

  async createGroup(req: { name: string; members: string[] }): Promise<GroupView> {
    return (await this.groupApi()).create(req);
  }

  async addGroupMembers(req: { group: string; members: string[] }): Promise<GroupView> {
    return (await this.groupApi()).add(req);
  }

  async removeGroupMembers(req: { group: string; members: string[] }): Promise<GroupView> {
    return (await this.groupApi()).remove(req);
  }

  async setGroupAdmin(req: { group: string; username: string }): Promise<GroupView> {
    return (await this.groupApi()).setAdmin(req);
  }

  async renameGroup(req: { group: string; name: string }): Promise<GroupView> {
    return (await this.groupApi()).rename(req);
  }

  async leaveGroup(req: { group: string }): Promise<GroupView> {
    return (await this.groupApi()).leave(req);
  }

  async groupInfo(req: { group: string }): Promise<GroupView> {
    return (await this.groupApi()).info(req);
  }

  async acceptGroupRequest(req: { group: string }): Promise<GroupView> {
    return (await this.groupApi()).acceptRequest(req);
  }

  async blockGroupRequest(req: { group: string }): Promise<GroupView> {
    return (await this.groupApi()).blockRequest(req);
  }

  async groupDeliveries(req: { id: string }): Promise<GroupDeliveries> {
    const d = (await this.groupApi()).deliveries(req);
    return withReads(await this.messenger, (await this.ready()).store, req.id, d);
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

  // ---- blocking (blocking-api.ts) ---------------------------------------------------------------------------

  async listBlocked(): Promise<BlockedList> {
    return listBlocked((await this.ready()).store);
  }

  async unblock(req: { username: string } | { group: string }): Promise<BlockedList> {
    const a = await this.ready();
    return unblock(a.store, a.messenger, req);
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
    this.active?.messenger.actions.setReadReceipts(next.readReceipts);
    this.emitState();
    return { ...next };
  }
}
