/**
 * The messenger: every behaviour of a conversation, with no Electron. It owns no sockets and no keys of its own:
 * it is given the history store (synchronous SQLite), a CryptoPool (private-key work off the event loop) and a
 * RelayClient, and composes the parts that turn them into the delivery guarantees of the product:
 *
 *  - outbox.ts: seal → message ('sending') + outbox row in ONE transaction → send → 'sent' on the relay's ack;
 *    retries with jittered backoff while offline; the outbox survives restarts.
 *  - ingest.ts: the receive path (store in one transaction, then ack; dedupe by (sender, id); receipts).
 *  - trust.ts: trust on first use, key checks and the key change lifecycle.
 */
import {
  LIMITS,
  envelopeSchema,
  formatSafetyNumber,
  safetyNumber,
  safetyQrPayload,
  utf8,
  validateIdentity,
  type PublicIdentity,
} from '../../../relay/protocol/index.js';
import type { ContactDetail, ContactView, ConversationId, DirectConversationSummary, KeyChangeView, MessageInfo, MessagePage, MessageView } from '../../contract/api.js';
import { directConversation } from '../../contract/api.js';
import { newMessageId } from '../crypto/index.js';
import type { ContactRecord, HistoryStore, MessageRecord } from '../store/types.js';
import { toAttachmentView } from '../store/attachments.js';
import type { AttachmentDescriptor } from '../attachments/descriptor.js';
import { toContactView, toMessageView } from '../store/history.js';
import { TypedEmitter } from '../transport/emitter.js';
import { TransportError } from '../transport/errors.js';
import type { LooseDelivered } from '../transport/schemas.js';
import { CoreError } from './errors.js';
import { GroupFiles } from './group-files.js';
import { Groups } from './groups.js';
import { GroupReceiver } from './groups-receive.js';
import { Ingest } from './ingest.js';
import { MessageActions } from './actions.js';
import { Outbox } from './outbox.js';
import { Trust } from './trust.js';
import type { GroupOutboxHooks, Me, MessengerContext, MessengerEvents, MessengerOptions, ReceiveDiagnostics, SealerOpener, Transport } from './types.js';

export type { Me, MessengerEvents, MessengerOptions, ReceiveDiagnostics, SealerOpener } from './types.js';

export class Messenger extends TypedEmitter<MessengerEvents> {
  private readonly store: HistoryStore;
  private displayName: string | null = null;
  private crypto: SealerOpener;
  private me: Me;
  private transport: Transport | null = null;
  private transportOffs: Array<() => void> = [];
  private keyCheckTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly now: () => number;
  private readonly outbox: Outbox;
  private readonly trust: Trust;
  private readonly ingest: Ingest;
  /** Group chats: create, change, send, info (groups.ts); their receive side is in the ingest (groups-receive.ts). */
  readonly groups: Groups;
  /** Files in groups, the group side of attachments/manager.ts (group-files.ts). */
  readonly groupFiles: GroupFiles;
  /** React, edit, delete for everyone, read receipts (actions.ts). */
  readonly actions: MessageActions;

  constructor(private readonly o: MessengerOptions) {
    super();
    this.store = o.store;
    this.crypto = o.crypto;
    this.me = o.me;
    this.now = o.now ?? Date.now;
    const log = o.log ?? (() => {});
    const ctx: MessengerContext = {
      store: o.store,
      options: o,
      crypto: () => this.crypto,
      me: () => this.me,
      transport: () => this.transport,
      closed: () => this.closed,
      now: () => this.now(),
      log,
      // Messages announced to the UI carry their reply quote, reactions and edit/delete/read state.
      emit: (event, payload) =>
        // A received message carries its files already (no lookup per message on the receive path); an update does not.
        this.emit(event, (event === 'message-received' || event === 'message-updated' ? this.view(payload as MessageView, event === 'message-updated') : payload) as typeof payload),
    };
    // Trust and the receive path need each other only through interfaces: trust re-opens pending envelopes via
    // `reopener`, the receive path resolves senders via `senders`; both are wired here.
    let ingest: Ingest | null = null;
    const groupHooks: GroupOutboxHooks = {
      envelopeDone: (id, outcome, error) => this.groups.envelopeDone(id, outcome, error),
      resealPayload: (id) => this.groupFiles.resealPayload(id) ?? this.groups.resealPayload(id),
    };
    this.outbox = new Outbox(ctx, { checkContactKey: (u) => this.trust.checkContactKey(u) }, groupHooks);
    this.trust = new Trust({
      ctx,
      reopener: { reopenPending: (c) => ingest!.reopenPending(c) },
      outbox: this.outbox,
    });
    this.groups = new Groups({ ctx, outbox: this.outbox, ensureContact: (u, fp) => this.ensureMemberContact(u, fp) });
    this.groupFiles = new GroupFiles(ctx, this.groups);
    ingest = new Ingest({ ctx, senders: this.trust, outbox: this.outbox, groups: new GroupReceiver(ctx) });
    this.ingest = ingest;
    this.actions = new MessageActions({ ctx, outbox: this.outbox, requireContact: (u) => this.requireContact(u), sealForGroup: (u, p) => this.groups.sealFor(u, p) });
  }

  get identity(): Me {
    return this.me;
  }

  /** Swap identity + crypto after a rotation. */
  setIdentity(me: Me, crypto: SealerOpener): void {
    this.me = me;
    this.crypto = crypto;
  }

  /** Attach (or replace) the relay connection. The messenger drains the queue and flushes the outbox on auth. */
  attach(t: Transport | null): void {
    for (const off of this.transportOffs) off();
    this.transportOffs = [];
    this.transport = t;
    if (!t) return;
    this.transportOffs.push(
      t.on('authenticated', () => {
        // The relay pushes the queue itself after authentication ('deliver', flow-controlled by our acks).
        this.ingest.connected();
        void this.flushOutbox();
        void this.checkAllContacts();
      }),
      t.on('deliver', (items) => void this.enqueueBatch(items)),
    );
    if (t.online) void this.flushOutbox();
    const every = this.o.keyCheckIntervalMs ?? 10 * 60_000;
    if (every > 0 && !this.keyCheckTimer) {
      this.keyCheckTimer = setInterval(() => void this.checkAllContacts(), every);
      this.keyCheckTimer.unref();
    }
    this.outbox.schedule();
  }

  /** Waits for queued incoming work, then stops timers. The store and pool are closed by their owner. */
  async close(): Promise<void> {
    this.closed = true;
    this.attach(null);
    this.outbox.stop();
    if (this.keyCheckTimer) clearInterval(this.keyCheckTimer);
    await this.ingest.settled();
    await this.outbox.settled; // a send in flight still records its outcome before the store closes
  }

  /** Resolves when every batch queued so far has been processed (stored and acknowledged). */
  idle(): Promise<void> {
    return this.ingest.idle();
  }

  /** Receive-path counters since start, plus the envelopes kept in quarantine (never message contents). */
  diagnostics(): ReceiveDiagnostics & { quarantineStored: number } {
    return { ...this.ingest.diagnostics(), quarantineStored: this.store.countQuarantined() };
  }

  /** Fetches the relay queue until it is empty (also runs after every authentication). */
  drain(): Promise<void> {
    return this.ingest.drain();
  }

  /** Queues a batch for serial processing (relay order is kept). Resolves with the number of envelopes acked. */
  enqueueBatch(items: LooseDelivered[]): Promise<number> {
    return this.ingest.enqueueBatch(items);
  }

  /** Sends every due outbox item, oldest first, while online. Serialised; safe to call any time. */
  flushOutbox(): Promise<void> {
    return this.outbox.flushOutbox();
  }

  // ---- sending ----------------------------------------------------------------------------------------------

  /** `replyTo`: the id of a message of this conversation the new one quotes (author and a short excerpt). */
  async sendText(contactName: string, text: string, o: { replyTo?: string } = {}): Promise<MessageView> {
    if (typeof text !== 'string' || text.trim().length === 0) throw new CoreError('INVALID', 'A message cannot be empty');
    if (utf8(text).byteLength > LIMITS.maxTextBytes) {
      throw new CoreError('INVALID', `A message can be at most ${LIMITS.maxTextBytes} bytes`);
    }
    const c = await this.sendableContact(contactName);

    const reply = o.replyTo === undefined ? undefined : this.actions.replyRef(o.replyTo, directConversation(c.username));
    const id = newMessageId();
    const ts = this.now();
    const envelope = await this.outbox.seal(c.identity, { v: 1, type: 'text', ts, body: text, ...(reply ? { reply } : {}), ...this.nameField() }, id);
    const rec = this.store.transaction(() => {
      const m = this.store.insertMessage({
        id,
        contact: c.username,
        direction: 'out',
        senderFingerprint: this.me.fingerprint,
        body: text,
        sentAt: ts,
        state: 'sending',
        unread: false,
      });
      if (reply) this.store.actions.setReply(m.seq, reply);
      this.store.enqueueOutbox({ envelopeId: id, contact: c.username, kind: 'message', messageId: id, envelope }); // held or not: decided in this transaction
      return m;
    });
    void this.flushOutbox();
    return this.view(rec);
  }

  // ---- acting on messages (actions.ts) ------------------------------------------------------------------------

  /**
   * A message's view with its files and what the action tables add (reply quote, reactions, edited, deleted, read).
   * Every view the UI gets goes through here, so an update (a reaction, a read receipt) never loses the files.
   * `lookUpFiles` false: `m` is known to carry its files already (if any).
   */
  view(m: MessageView, lookUpFiles = true): MessageView {
    const withFiles = m.attachments || !lookUpFiles ? m : this.withAttachments(m);
    const d = this.store.actions.detailsOf(m);
    const reactions: Record<string, string[]> = {};
    for (const r of d.reactions) (reactions[r.emoji] ??= []).push(r.reactor);
    const readAt = this.actions.readAtOf(m);
    return { ...toMessageView(withFiles), replyTo: d.reply, reactions, edited: d.editedAt !== null, deleted: d.deletedAt !== null, readAt };
  }

  async react(id: string, emoji: string | null, conversation?: ConversationId): Promise<MessageView> {
    return this.view(await this.actions.react(id, emoji, conversation));
  }

  async edit(id: string, text: string, conversation?: ConversationId): Promise<MessageView> {
    return this.view(await this.actions.edit(id, text, conversation));
  }

  async deleteForEveryone(id: string, conversation?: ConversationId): Promise<MessageView> {
    return this.view(await this.actions.deleteForEveryone(id, conversation));
  }

  messageInfo(id: string, conversation?: ConversationId): MessageInfo {
    const m = this.actions.find(id, conversation);
    return { message: this.view(m), versions: this.store.actions.detailsOf(m).versions, receipts: this.actions.receiptsOf(m) };
  }

  /** The display name to put in text payloads ('' or null: none, contacts see the username). */
  setDisplayName(name: string | null): void {
    this.displayName = name ? name : null;
  }

  private nameField(): { name?: string } {
    return this.displayName ? { name: this.displayName } : {};
  }

  /** The contact, checked that we may send to it now (not blocked, key not rejected; a request is accepted). */
  async sendableContact(contactName: string): Promise<ContactRecord> {
    let c = this.requireContact(contactName);
    if (c.blocked) throw new CoreError('BLOCKED', `${c.username} is blocked; unblock them to send`);
    if (c.rejectedFingerprint && !c.pendingFingerprint) {
      throw new CoreError('KEY_REJECTED', `You rejected ${c.username}'s new key; sending to them stays blocked`);
    }
    if (c.request) c = this.store.updateContact(c.username, { request: false });
    await this.trust.maybeCheckKey(c.username);
    return this.requireContact(c.username);
  }

  /**
   * A message with files, before its files are uploaded (attachments/manager.ts): the row exists in 'sending' so
   * the upload state can be kept with it; `queueFiles` seals and queues it once every blob is complete.
   */
  insertFilesMessage(contact: ContactRecord, caption: string, addFiles: (seq: number) => void): MessageRecord {
    const rec = this.store.transaction(() => {
      const m = this.store.insertMessage({
        id: newMessageId(),
        contact: contact.username,
        direction: 'out',
        senderFingerprint: this.me.fingerprint,
        body: caption,
        sentAt: this.now(),
        state: 'sending',
        unread: false,
      });
      addFiles(m.seq);
      return m;
    });
    return rec;
  }

  /** Seals the files payload of a message made by insertFilesMessage and queues it like a text message. */
  async queueFiles(id: string, attachments: AttachmentDescriptor[]): Promise<void> {
    const m = this.store.getMessage(id, { direction: 'out' });
    if (!m || m.state !== 'sending') throw new CoreError('NOT_FOUND', 'No such message waiting for its files');
    const c = this.requireContact(m.contact);
    const envelope = await this.outbox.seal(c.identity, { v: 1, type: 'files', ts: m.sentAt, body: m.body ?? '', attachments }, id);
    this.store.transaction(() => {
      if (this.store.getOutbox(id)) return; // queued already (a resumed upload that raced a restart)
      this.store.enqueueOutbox({ envelopeId: id, contact: c.username, kind: 'message', messageId: id, envelope }); // held or not: decided in this transaction
    });
    void this.flushOutbox();
  }

  /** Fails an outgoing message with a reason the user can read (a file that could not be uploaded). */
  failMessage(id: string, reason: string): void {
    const m = this.store.getMessage(id, { direction: 'out' });
    if (!m) return;
    this.store.setMessageState(id, { contact: m.contact, direction: 'out' }, 'failed', reason);
    this.emit('message-state', { id, conversation: directConversation(m.contact), contact: m.contact, state: 'failed', error: reason });
  }

  /** Re-sends a failed message (same id), or makes a waiting one due now. */
  async retryMessage(id: string): Promise<MessageView> {
    const m = this.store.getMessage(id, { direction: 'out' });
    if (!m) throw new CoreError('NOT_FOUND', 'No such sent message');
    if (m.state === 'sending') {
      const item = this.store.getOutbox(id);
      if (item && !item.held) this.store.recordOutboxAttempt(id, { nextAttemptAt: this.now(), error: item.lastError });
      void this.flushOutbox();
      return toMessageView(m);
    }
    if (m.state !== 'failed') return toMessageView(m);
    const c = this.requireContact(m.contact);
    if (c.blocked) throw new CoreError('BLOCKED', `${c.username} is blocked; unblock them to send`);
    if (m.body === null) throw new CoreError('INVALID', 'This message has no text to re-send');
    if (this.store.attachments.list(m.seq).length > 0) throw new CoreError('INVALID', 'A message with files is re-sent by sending the files again');
    const envelope = await this.outbox.seal(c.identity, { v: 1, type: 'text', ts: m.sentAt, body: m.body, ...this.nameField() }, m.id);
    const rec = this.store.transaction(() => {
      this.store.removeOutbox(id);
      this.store.enqueueOutbox({ envelopeId: id, contact: c.username, kind: 'message', messageId: id, envelope });
      return this.store.setMessageState(id, { contact: c.username, direction: 'out' }, 'sending', null)!;
    });
    this.emit('message-state', { id, conversation: directConversation(c.username), contact: c.username, state: 'sending', error: null });
    void this.flushOutbox();
    return toMessageView(rec);
  }

  // ---- trust ------------------------------------------------------------------------------------------------

  checkContactKey(username: string): Promise<ContactView> {
    return this.trust.checkContactKey(username);
  }

  checkAllContacts(): Promise<void> {
    return this.trust.checkAllContacts();
  }

  /** `fingerprint`: the pending key the user reviewed (a typed KEY_MISMATCH error if it is no longer that one). */
  acceptKeyChange(username: string, fingerprint: string): Promise<ContactView> {
    return this.trust.acceptKeyChange(username, fingerprint);
  }

  rejectKeyChange(username: string): Promise<ContactView> {
    return this.trust.rejectKeyChange(username);
  }

  // ---- contacts and history ---------------------------------------------------------------------------------

  requireContact(username: string): ContactRecord {
    const c = this.store.getContact(username);
    if (!c) throw new CoreError('NOT_FOUND', `No contact named ${username}`);
    return c;
  }

  /** Looks the username up on the relay and pins its identity (trust on first use). Idempotent. */
  async addContact(username: string): Promise<ContactView> {
    if (username === this.me.username) throw new CoreError('INVALID', 'You cannot add yourself');
    const existing = this.store.getContact(username);
    if (existing) {
      const c = existing.request ? this.store.updateContact(username, { request: false }) : existing;
      if (this.transport?.online) await this.checkContactKey(username).catch(() => undefined);
      return toContactView(this.store.getContact(username) ?? c);
    }
    const t = this.transport;
    if (!t?.online) throw new CoreError('OFFLINE', 'Adding a contact needs the relay, which is not reachable');
    let ans;
    try {
      ans = await t.lookup({ username });
    } catch (err) {
      if (err instanceof TransportError && err.code === 'NOT_FOUND') throw new CoreError('NOT_FOUND', `The relay knows no user named ${username}`);
      if (err instanceof TransportError && err.code === 'BAD_REQUEST') throw new CoreError('INVALID', `Not a valid username: ${username}`);
      throw new CoreError('RELAY', `Lookup failed: ${(err as Error).message}`, { cause: err });
    }
    let checked: { identity: PublicIdentity; fingerprint: string };
    try {
      checked = await validateIdentity(ans.identity);
    } catch (err) {
      throw new CoreError('RELAY', `The relay served an invalid identity for ${username}: ${(err as Error).message}`);
    }
    if (checked.fingerprint === this.me.fingerprint) throw new CoreError('INVALID', 'That is your own identity');
    this.trust.markChecked(username);
    const c = this.store.addContact({ username: ans.username, identity: checked.identity, fingerprint: checked.fingerprint });
    this.emit('contacts-changed', { username: c.username });
    return toContactView(c);
  }

  /**
   * A group member we have no contact for: looked up on the relay and pinned only if the relay serves the key the
   * group state lists (a message request: we did not choose them). Throws otherwise; that member is then skipped.
   */
  private async ensureMemberContact(username: string, fp: string): Promise<ContactRecord> {
    const t = this.transport;
    if (!t?.online) throw new CoreError('OFFLINE', `Sending to ${username} needs the relay to look their key up`);
    const ans = await t.lookup({ username });
    const checked = await validateIdentity(ans.identity);
    if (checked.fingerprint !== fp) throw new CoreError('KEY_MISMATCH', `The relay serves another key for ${username} than the group lists`);
    const known = this.store.getContact(username);
    if (known) return known;
    const c = this.store.addContact({ username, identity: checked.identity, fingerprint: fp, request: true });
    this.emit('contacts-changed', { username });
    return c;
  }

  listContacts(): ContactView[] {
    return this.store.listContacts().map(toContactView);
  }

  async contactDetail(username: string): Promise<ContactDetail> {
    const c = this.requireContact(username);
    const sn = await safetyNumber(this.me.identity, c.identity);
    const changes: KeyChangeView[] = this.store.listKeyChanges(username).map((k) => ({
      at: k.at,
      oldFingerprint: k.oldFingerprint,
      newFingerprint: k.newFingerprint,
      signedByOld: k.signedByOld,
      resolution: k.resolution,
    }));
    return {
      ...toContactView(c),
      safetyNumber: sn,
      safetyNumberGroups: formatSafetyNumber(sn).split(' '),
      qrPayload: await safetyQrPayload(this.me.identity, c.identity),
      keyChanges: changes,
      pendingSafetyNumber: c.pendingIdentity ? await safetyNumber(this.me.identity, c.pendingIdentity) : null,
      heldMessages: this.store.countPendingEnvelopes(username),
    };
  }

  setVerified(username: string, verified: boolean): ContactView {
    const c = this.requireContact(username);
    if (verified && c.pendingFingerprint) {
      throw new CoreError('INVALID', `${username}'s key changed; accept or reject the new key before verifying`);
    }
    const r = this.store.updateContact(username, { verified });
    this.emit('contacts-changed', { username });
    return toContactView(r);
  }

  acceptRequest(username: string): ContactView {
    this.requireContact(username);
    const r = this.store.updateContact(username, { request: false });
    this.emit('contacts-changed', { username });
    return toContactView(r);
  }

  setBlocked(username: string, blocked: boolean): ContactView {
    const c = this.requireContact(username);
    const r = this.store.updateContact(username, blocked ? { blocked, request: false } : c.blocked ? { blocked, request: true } : {});
    this.emit('contacts-changed', { username });
    return toContactView(r);
  }

  listConversations(filter?: string): DirectConversationSummary[] {
    return this.store.listConversations(filter ? { filter } : {}).filter((s) => !s.contact.blocked);
  }

  loadMessages(contact: string, before?: number | null, limit?: number): MessagePage {
    this.requireContact(contact);
    const page = this.store.loadPage(contact, { before: before ?? null, limit: limit ?? 50 });
    return { ...page, messages: page.messages.map((m) => this.view(m)) };
  }

  /** A message's view with its attachments (if it has any). */
  withAttachments(m: MessageView): MessageView {
    const files = this.store.attachments.list(m.seq);
    return toMessageView(files.length > 0 ? { ...m, attachments: files.map(toAttachmentView) } : m);
  }

  /** Marks the conversation read; sends a read receipt for what was unread when read receipts are on. */
  async markRead(contact: string): Promise<void> {
    this.requireContact(contact);
    await this.actions.markRead(directConversation(contact));
  }

  /** Deletes a message for me only (nothing is sent). `conversation` narrows an ambiguous id. */
  deleteMessage(id: string, conversation?: ConversationId): void {
    const m = conversation ? this.actions.find(id, conversation) : null;
    if (this.store.deleteMessage(id, m ? { contact: m.contact } : {}) === 0) throw new CoreError('NOT_FOUND', 'No such message');
  }

  deleteConversation(contact: string): void {
    this.requireContact(contact);
    this.store.transaction(() => {
      this.store.deleteConversation(contact);
      this.store.actions.clearPending(directConversation(contact));
    });
    this.emit('contacts-changed', { username: contact });
  }

  /** The parsed envelope schema, for callers that validate before handing envelopes in. */
  static readonly envelopeSchema = envelopeSchema;
}
