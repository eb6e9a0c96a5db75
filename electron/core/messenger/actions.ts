/**
 * Acting on messages from this side: react, edit, delete for everyone, and read receipts (actions-apply.ts applies
 * the other side's). Each action is sealed to the peer, applied locally and queued in the outbox in ONE transaction
 * (kind 'receipt': an envelope that carries no message row of its own), so it is sent after the message it names
 * (the outbox keeps per-contact order) and survives restarts.
 *
 * In a group an action carries `g` and goes to every current member but us (the group fan-out of groups.ts); a read
 * receipt goes only to the author of the messages it names, so members do not learn what others read.
 */
import { LIMITS, utf8, type Envelope } from '../../../relay/protocol/index.js';
import { parseConversationId, type ConversationId, type MessageInfo } from '../../contract/api.js';
import { newMessageId, type Payload } from '../crypto/index.js';
import { MAX_READ_IDS, excerptOf, isSingleEmoji, type ReplyRef } from '../crypto/payload-actions.js';
import type { ContactRecord, MessageRecord } from '../store/types.js';
import { EDIT_WINDOW_MS, authorOf } from './actions-apply.js';
import { CoreError } from './errors.js';
import { heldOf, type Sealed } from './groups.js';
import type { MessengerContext, OutboxKick } from './types.js';

/** Setting key: send and show read receipts (default on). */
export const READ_RECEIPTS_SETTING = 'readReceipts';

export interface ActionDeps {
  ctx: MessengerContext;
  outbox: OutboxKick & { seal(to: ContactRecord['identity'], payload: Payload, id: string): Promise<Envelope> };
  requireContact(username: string): ContactRecord;
  /** Seals a payload for these group members (groups.ts fan-out: batches of 32, held members apart). */
  sealForGroup(usernames: string[], payload: Payload): Promise<Sealed[]>;
}

type Receipt = MessageInfo['receipts'][number];
type MessageRef = Pick<MessageRecord, 'seq' | 'id' | 'direction' | 'conversation'>;

export class MessageActions {
  private readonly ctx: MessengerContext;

  constructor(private readonly d: ActionDeps) {
    this.ctx = d.ctx;
  }

  readReceiptsEnabled(): boolean {
    return this.ctx.store.getSetting<boolean>(READ_RECEIPTS_SETTING) !== false;
  }

  setReadReceipts(on: boolean): void {
    this.ctx.store.setSetting(READ_RECEIPTS_SETTING, on);
  }

  /**
   * The message an id names. Ids are unique per author only: `conversation` narrows the search, and an id that
   * still names several messages is refused rather than guessed.
   */
  find(id: string, conversation?: ConversationId): MessageRecord {
    const all = this.ctx.store.actions.findById(id).filter((m) => !conversation || m.conversation === conversation);
    if (all.length === 0) throw new CoreError('NOT_FOUND', 'No such message');
    if (all.length > 1) throw new CoreError('INVALID', 'That id names several messages; name the conversation too');
    return all[0]!;
  }

  /** The quote a reply carries: the original's id, author and a short excerpt of its text. */
  replyRef(id: string, conversation: ConversationId): ReplyRef {
    const m = this.find(id, conversation);
    if (m.body === null) throw new CoreError('INVALID', 'That message has no text to reply to');
    return { id: m.id, author: authorOf(m, this.ctx.me().username), excerpt: excerptOf(m.body) };
  }

  /** Sets (or with null removes) our reaction to a message. */
  async react(id: string, emoji: string | null, conversation?: ConversationId): Promise<MessageRecord> {
    if (emoji !== null && !isSingleEmoji(emoji)) throw new CoreError('INVALID', 'A reaction is one emoji');
    const m = this.usable(this.find(id, conversation));
    const me = this.ctx.me().username;
    return this.send(m, { v: 1, type: 'reaction', ts: this.ctx.now(), target: m.id, author: authorOf(m, me), emoji }, (env, ts) =>
      this.ctx.store.actions.setReaction(m.seq, me, emoji, ts, env),
    );
  }

  /** Replaces the text of one of our messages (within 24 hours); earlier versions are kept for info. */
  async edit(id: string, text: string, conversation?: ConversationId): Promise<MessageRecord> {
    if (typeof text !== 'string' || text.trim().length === 0) throw new CoreError('INVALID', 'A message cannot be empty');
    if (utf8(text).byteLength > LIMITS.maxTextBytes) throw new CoreError('INVALID', `A message can be at most ${LIMITS.maxTextBytes} bytes`);
    const m = this.own(this.usable(this.find(id, conversation)), 'edit');
    return this.send(m, { v: 1, type: 'edit', ts: this.ctx.now(), target: m.id, body: text }, (env, ts) => {
      this.ctx.store.actions.addVersion(m, ts, env, text);
    });
  }

  /** Deletes one of our messages for everyone (within 24 hours): receivers keep only "This message was deleted". */
  async deleteForEveryone(id: string, conversation?: ConversationId): Promise<MessageRecord> {
    const m = this.own(this.usable(this.find(id, conversation)), 'delete for everyone');
    return this.send(m, { v: 1, type: 'delete', ts: this.ctx.now(), target: m.id }, (_env, ts) => this.ctx.store.actions.markDeleted(m.seq, ts));
  }

  /**
   * Marks a conversation read and, when read receipts are on, tells each author which of their messages were read
   * (sealed 'read' payloads of at most MAX_READ_IDS ids; in a group with `g`, to the author only). Returns how many
   * ids the receipts named.
   */
  async markRead(conversation: ConversationId): Promise<number> {
    const { store } = this.ctx;
    const parsed = parseConversationId(conversation);
    if (!parsed) throw new CoreError('INVALID', 'Not a conversation id');
    const g = parsed.kind === 'group' ? parsed.groupId : undefined;
    if (g !== undefined && !store.groups.getGroup(g)) throw new CoreError('NOT_FOUND', `Unknown group #${g}`);
    const direct = parsed.kind === 'direct' ? this.d.requireContact(parsed.username) : null;
    const bySender = new Map<string, string[]>();
    for (const u of store.actions.unreadIncoming(conversation)) {
      const author = direct ? direct.username : u.sender;
      bySender.set(author, [...(bySender.get(author) ?? []), u.id]);
    }
    const sealed: Array<{ id: string; contact: string; envelope: Envelope }> = [];
    let named = 0;
    if (this.readReceiptsEnabled() && (g === undefined || store.groups.getGroup(g)!.active)) {
      for (const [sender, ids] of bySender) {
        const contact = direct ?? store.getContact(sender);
        if (!contact || contact.blocked || contact.pendingFingerprint) continue;
        for (let i = 0; i < ids.length; i += MAX_READ_IDS) {
          const envId = newMessageId();
          const payload: Payload = { v: 1, type: 'read', ts: this.ctx.now(), ...(g ? { g } : {}), ids: ids.slice(i, i + MAX_READ_IDS) };
          sealed.push({ id: envId, contact: contact.username, envelope: await this.d.outbox.seal(contact.identity, payload, envId) });
          named += payload.ids.length;
        }
      }
    }
    store.transaction(() => {
      if (direct) store.markRead(direct.username);
      else store.groups.markRead(g!);
      for (const s of sealed) store.enqueueOutbox({ envelopeId: s.id, contact: s.contact, kind: 'receipt', messageId: null, envelope: s.envelope });
    });
    if (sealed.length > 0) void this.d.outbox.flushOutbox();
    return named;
  }

  /**
   * Per member, when one of our messages was delivered and read (read times hidden when read receipts are off). In a
   * group every member it was sent to is listed, those who have not received it yet with nulls.
   */
  receiptsOf(m: MessageRef): Receipt[] {
    const { store } = this.ctx;
    const showRead = this.readReceiptsEnabled();
    const known = store.actions.detailsOf(m).receipts.map((r) => ({ ...r, readAt: showRead ? r.readAt : null }));
    if (m.direction !== 'out' || !m.conversation.startsWith('g:')) return known;
    const all = new Map<string, Receipt>(store.groups.listDeliveries(m.id).map((d) => [d.member, { member: d.member, deliveredAt: null, readAt: null }]));
    for (const r of known) all.set(r.member, r);
    return [...all.values()].sort((a, b) => (a.member < b.member ? -1 : a.member > b.member ? 1 : 0));
  }

  /** When our message counts as read: by the peer; in a group, once every member read it (the last read time). */
  readAtOf(m: MessageRef): number | null {
    if (m.direction !== 'out' || !this.readReceiptsEnabled()) return null;
    const rs = this.receiptsOf(m);
    if (m.conversation.startsWith('g:')) return rs.length > 0 && rs.every((r) => r.readAt !== null) ? Math.max(...rs.map((r) => r.readAt!)) : null;
    return rs.reduce<number | null>((a, r) => (r.readAt !== null && (a === null || r.readAt < a) ? r.readAt : a), null);
  }

  private directContact(conversation: ConversationId): ContactRecord {
    const parsed = parseConversationId(conversation);
    if (!parsed) throw new CoreError('INVALID', 'Not a conversation id');
    if (parsed.kind !== 'direct') throw new CoreError('INVALID', 'Group conversations are not supported yet');
    return this.d.requireContact(parsed.username);
  }

  private usable(m: MessageRecord): MessageRecord {
    if (m.state === 'undecryptable' || m.state === 'failed' || m.body === null) {
      throw new CoreError('INVALID', 'That message cannot be acted on (it has no text, failed, or was deleted)');
    }
    return m;
  }

  private own(m: MessageRecord, what: string): MessageRecord {
    if (m.direction !== 'out') throw new CoreError('INVALID', `You can only ${what} your own messages`);
    if (this.ctx.now() - m.sentAt > EDIT_WINDOW_MS) throw new CoreError('INVALID', `You can only ${what} a message within 24 hours of sending it`);
    return m;
  }

  /** Seals `payload` to the peer (or the group's members), then applies it locally and queues it in one transaction. */
  private async send(m: MessageRecord, payload: Payload, applyLocally: (envelopeId: string, ts: number) => void): Promise<MessageRecord> {
    const parsed = parseConversationId(m.conversation);
    if (parsed?.kind === 'group') return this.sendToGroup(m, parsed.groupId, payload, applyLocally);
    const c = this.directContact(m.conversation);
    if (c.blocked) throw new CoreError('BLOCKED', `${c.username} is blocked; unblock them to send`);
    if (c.rejectedFingerprint && !c.pendingFingerprint) throw new CoreError('KEY_REJECTED', `You rejected ${c.username}'s new key; sending to them stays blocked`);
    const envId = newMessageId();
    const envelope = await this.d.outbox.seal(c.identity, payload, envId);
    const { store } = this.ctx;
    const rec = store.transaction(() => {
      applyLocally(envId, payload.ts);
      store.enqueueOutbox({ envelopeId: envId, contact: c.username, kind: 'receipt', messageId: null, envelope }); // held: decided now
      return store.getMessageBySeq(m.seq)!;
    });
    void this.d.outbox.flushOutbox();
    return rec;
  }

  /** The group side of send(): `g` added, sealed for every current member but us. */
  private async sendToGroup(m: MessageRecord, g: string, payload: Payload, applyLocally: (envelopeId: string, ts: number) => void): Promise<MessageRecord> {
    const { store } = this.ctx;
    const rec = store.groups.getGroup(g);
    if (!rec) throw new CoreError('NOT_FOUND', `Unknown group #${g}`);
    if (!rec.active) throw new CoreError('INVALID', `You are no longer a member of #${g}`);
    const me = this.ctx.me().username;
    const members = rec.state.members.map((x) => x.u).filter((u) => u !== me);
    const sealed = await this.d.sealForGroup(members, { ...payload, g } as Payload);
    const localId = sealed[0]?.envelopeId ?? newMessageId();
    const out = store.transaction(() => {
      applyLocally(localId, payload.ts);
      for (const e of sealed) {
        store.enqueueOutbox({ envelopeId: e.envelopeId, contact: e.members[0]!, kind: 'receipt', messageId: null, envelope: e.envelope, ...heldOf(e) });
      }
      return store.getMessageBySeq(m.seq)!;
    });
    if (sealed.length > 0) void this.d.outbox.flushOutbox();
    return out;
  }
}
