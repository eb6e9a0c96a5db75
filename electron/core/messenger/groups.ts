/**
 * Groups, the sending side (PROTOCOL.md "Groups"): create, change (add, remove, admin, leave, rename, settings),
 * send a text to every member, and what the API shows (info, list, history, delivery per member).
 *
 * Fan-out: one message is sealed into envelopes of at most LIMITS.maxRecipients (32) members; every envelope carries
 * the same group message id in its payload (`m`) while each envelope has its own envelope id (the relay dedupes by
 * (sender, envelope id)). A member with a pending key change gets an envelope of their own, held like a direct
 * message until the user decides; the others are not held back. Someone removed is no longer a recipient.
 */
import { LIMITS, toB64u, utf8, type Envelope, type PublicIdentity } from '../../../relay/protocol/index.js';
import { groupConversation, type ConversationId, type MessagePage, type MessageView } from '../../contract/api.js';
import { newMessageId, type Payload } from '../crypto/index.js';
import { LABEL_CHANGE, LABEL_STATE, MAX_GROUP_MEMBERS, canonicalJson, groupIdSchema, type GroupChange, type GroupState } from '../crypto/group-payload.js';
import type { ReplyRef } from '../crypto/payload-actions.js';
import { randomBytes } from '../crypto/primitives.js';
import type { ContactRecord } from '../store/types.js';
import type { GroupRecord } from '../store/groups.js';
import { toMessageView } from '../store/history.js';
import { CoreError } from './errors.js';
import { applyChange, changeHash, genesisHead, isMember } from './group-rules.js';
import { recompute } from './groups-receive.js';
import { memberKey, withMemberKeys } from './member-keys.js';
import type { GroupOutboxHooks, MessengerContext, OutboxKick } from './types.js';

type ChangeBody = GroupChange extends infer C ? (C extends GroupChange ? Omit<C, 'g' | 'prev' | 'version' | 'author' | 'ts'> : never) : never;

export interface GroupInfo {
  id: string;
  conversation: ConversationId;
  name: string;
  version: number;
  adminOnlyRename: boolean;
  active: boolean;
  request: boolean;
  /** We blocked this group's request: refused for good. */
  blocked: boolean;
  members: Array<{ username: string; role: 'admin' | 'member'; fingerprint: string }>;
  /** Members whose key change waits for our decision: what we send them is held back (for them only) until then. */
  held: string[];
  events: Array<{ at: number; kind: 'change' | 'refused'; text: string }>;
  unread: number;
  total: number;
}

export interface GroupDeps {
  ctx: MessengerContext;
  outbox: OutboxKick;
  /** The member's contact, looked up on the relay (trust on first use) when unknown; its key must match `fp`. */
  ensureContact(username: string, fp: string): Promise<ContactRecord>;
}

export function parseGroupRef(ref: string): string {
  const id = ref.startsWith('#') ? ref.slice(1) : ref.startsWith('g:') ? ref.slice(2) : ref;
  if (!groupIdSchema.safeParse(id).success) throw new CoreError('INVALID', `Not a group id: ${ref} (expected #<32 hex characters>)`);
  return id;
}

export class Groups implements GroupOutboxHooks {
  constructor(private readonly d: GroupDeps) {}

  /** The outbox sent (or gave up on) one fan-out envelope: its members' delivery moves on. */
  envelopeDone(envelopeId: string, outcome: 'sent' | 'failed', error: string | null): void {
    const g = this.ctx.store.groups;
    const e = g.getEnvelope(envelopeId);
    if (!e) return;
    const m = this.ctx.store.transaction(() => {
      for (const u of e.members) g.setDelivery(e.messageId, e.group, u, outcome);
      g.removeEnvelope(envelopeId);
      const cur = g.getMessage(e.group, e.messageId, 'out');
      if (!cur || cur.state !== 'sending') return null;
      // 'sent' once any envelope left; 'failed' only when every member failed (the details list who).
      if (outcome === 'sent') return g.setMessageState(e.group, e.messageId, 'sent');
      const all = g.listDeliveries(e.messageId);
      return all.every((d) => d.state === 'failed') ? g.setMessageState(e.group, e.messageId, 'failed', error) : null;
    });
    this.ctx.emit('group-delivery', { group: e.group, id: e.messageId });
    if (m) this.ctx.emit('message-state', { id: m.id, conversation: m.conversation, contact: '', state: m.state, error: m.error });
  }

  resealPayload(envelopeId: string): Payload | null {
    const e = this.ctx.store.groups.getEnvelope(envelopeId);
    const m = e ? this.ctx.store.groups.getMessage(e.group, e.messageId, 'out') : null;
    if (!e || !m || m.body === null) return null;
    const reply = this.ctx.store.actions.detailsOf(m).reply;
    return { v: 1, type: 'text', ts: m.sentAt, body: m.body, ...(reply ? { reply } : {}), g: e.group, m: e.messageId };
  }

  /**
   * Delivery of one of our group messages per member: "delivered to 3 of 5" and the details. A member still
   * 'sending' while their key change waits for the user is 'held' (their envelope leaves only after an accept).
   */
  deliveries(messageId: string): { delivered: number; total: number; members: Array<{ username: string; state: string }> } {
    const ds = this.ctx.store.groups.listDeliveries(messageId);
    const members = ds.map((d) => ({ username: d.member, state: d.state === 'sending' && this.isHeld(d.member) ? 'held' : d.state }));
    return { delivered: ds.filter((d) => d.state === 'delivered').length, total: ds.length, members };
  }

  /** A member whose key change is pending: what we send them waits in the outbox. */
  private isHeld(username: string): boolean {
    return username !== this.ctx.me().username && (this.ctx.store.getContact(username)?.pendingFingerprint ?? null) !== null;
  }

  private get ctx(): MessengerContext {
    return this.d.ctx;
  }

  require(id: string): GroupRecord {
    const g = this.ctx.store.groups.getGroup(id);
    if (!g) throw new CoreError('NOT_FOUND', `Unknown group #${id}`);
    return g;
  }

  private async sign(label: string, value: unknown): Promise<string> {
    try {
      return toB64u(await this.ctx.crypto().sign(label, utf8(canonicalJson(value))));
    } catch (err) {
      throw new CoreError('CRYPTO', `Could not sign: ${(err as Error).message}`, { cause: err });
    }
  }

  async create(name: string, usernames: string[]): Promise<GroupInfo> {
    const me = this.ctx.me();
    const others = [...new Set(usernames)].filter((u) => u !== me.username);
    if (others.length + 1 > MAX_GROUP_MEMBERS) throw new CoreError('INVALID', `A group has at most ${MAX_GROUP_MEMBERS} members`);
    const contacts = others.map((u) => this.requireUsableContact(u));
    const id = Buffer.from(randomBytes(16)).toString('hex');
    const members = [{ u: me.username, fp: me.fingerprint, role: 'admin' as const }, ...contacts.map((c) => ({ u: c.username, fp: c.fingerprint, role: 'member' as const }))].sort(
      (a, b) => (a.u < b.u ? -1 : 1),
    );
    const state: GroupState = { g: id, name, version: 1, head: genesisHead(id, name, me.username), adminOnlyRename: false, members };
    const parsed = groupIdSchema.safeParse(id);
    if (!parsed.success || name.trim().length === 0 || name.length > 64) throw new CoreError('INVALID', 'A group name is 1 to 64 characters');
    const sig = await this.sign(LABEL_STATE, state);
    const now = this.ctx.now();
    const payload: Payload = { v: 1, type: 'group-state', ts: now, state, sig };
    const envelopes = await this.sealFor(contacts.map((c) => c.username), payload);
    this.ctx.store.transaction(() => {
      this.ctx.store.groups.createGroup({ id, base: state, request: false, at: now });
      this.ctx.store.groups.addEvent(id, now, 'change', `${me.username} created “${name}”`);
      this.enqueue(envelopes, null);
    });
    void this.d.outbox.flushOutbox();
    return this.info(id);
  }

  add(id: string, usernames: string[]): Promise<GroupInfo> {
    const cs = usernames.map((u) => this.requireUsableContact(u));
    return this.change(id, { op: 'add', members: cs.map((c) => ({ u: c.username, fp: c.fingerprint })) });
  }

  remove(id: string, usernames: string[]): Promise<GroupInfo> {
    return this.change(id, { op: 'remove', users: usernames });
  }

  makeAdmin(id: string, usernames: string[]): Promise<GroupInfo> {
    return this.change(id, { op: 'admin', users: usernames });
  }

  leave(id: string): Promise<GroupInfo> {
    return this.change(id, { op: 'leave' });
  }

  rename(id: string, name: string): Promise<GroupInfo> {
    return this.change(id, { op: 'rename', name });
  }

  setAdminOnlyRename(id: string, adminOnlyRename: boolean): Promise<GroupInfo> {
    return this.change(id, { op: 'settings', adminOnlyRename });
  }

  /**
   * Makes, signs and applies one change on the current state, then sends it to everyone who was or is a member
   * (the removed learn they were removed; nothing after it reaches them). New members get a signed snapshot instead.
   */
  private async change(id: string, body: ChangeBody): Promise<GroupInfo> {
    const rec = this.require(id);
    const me = this.ctx.me();
    if (!rec.active) throw new CoreError('INVALID', `You are no longer a member of #${id}`);
    const s = rec.state;
    const change = { ...body, g: id, prev: s.head, version: s.version + 1, author: me.username, ts: this.ctx.now() } as GroupChange;
    const hash = changeHash(change);
    const next = applyChange(s, change, hash);
    if ('refused' in next) throw new CoreError('INVALID', `Not allowed: ${next.refused}`);
    const sig = await this.sign(LABEL_CHANGE, change);
    const before = new Set(s.members.map((m) => m.u));
    const added = next.members.filter((m) => !before.has(m.u)).map((m) => m.u);
    const toOld = s.members.map((m) => m.u).filter((u) => u !== me.username);
    const now = this.ctx.now();
    const changeEnvs = await this.sealFor(toOld, { v: 1, type: 'group-change', ts: now, change, sig });
    let snapshotEnvs: Sealed[] = [];
    if (added.length > 0) {
      // The new members pin every member's key as it counts for us (a rotated key we accepted, not the listed one).
      const snapshot = withMemberKeys(this.ctx.store, next);
      const snapSig = await this.sign(LABEL_STATE, snapshot);
      snapshotEnvs = await this.sealFor(added, { v: 1, type: 'group-state', ts: now, state: snapshot, sig: snapSig });
    }
    this.ctx.store.transaction(() => {
      const g = this.ctx.store.groups;
      if (g.getGroup(id)!.state.head !== s.head) throw new CoreError('INVALID', 'The group changed meanwhile; try again');
      g.addChange(id, hash, change.prev, { change, sig, hash });
      recompute(this.ctx, id, now);
      this.enqueue([...changeEnvs, ...snapshotEnvs], null);
    });
    void this.d.outbox.flushOutbox();
    return this.info(id);
  }

  /**
   * Sends a text to every current member but us. Returns our message (delivery per member in `deliveries`).
   * `reply`: the quote of an earlier message of the group (actions.ts replyRef).
   */
  async sendText(id: string, text: string, reply?: ReplyRef): Promise<MessageView> {
    if (typeof text !== 'string' || text.trim().length === 0) throw new CoreError('INVALID', 'A message cannot be empty');
    if (utf8(text).byteLength > LIMITS.maxTextBytes) throw new CoreError('INVALID', `A message can be at most ${LIMITS.maxTextBytes} bytes`);
    const rec = this.require(id);
    if (!rec.active) throw new CoreError('INVALID', `You are no longer a member of #${id}`);
    if (rec.request) this.ctx.store.groups.updateGroup(id, { request: false });
    const me = this.ctx.me();
    const members = rec.state.members.map((m) => m.u).filter((u) => u !== me.username);
    const messageId = newMessageId();
    const ts = this.ctx.now();
    const envelopes = await this.sealFor(members, { v: 1, type: 'text', ts, body: text, ...(reply ? { reply } : {}), g: id, m: messageId });
    const rec2 = this.ctx.store.transaction(() => {
      const g = this.ctx.store.groups;
      const m = g.insertMessage({ id: messageId, group: id, direction: 'out', sender: null, senderFingerprint: me.fingerprint, body: text, sentAt: ts, state: members.length ? 'sending' : 'sent' });
      if (reply) this.ctx.store.actions.setReply(m.seq, reply);
      for (const u of members) g.setDelivery(messageId, id, u, 'sending');
      this.enqueue(envelopes, { group: id, messageId });
      return m;
    });
    void this.d.outbox.flushOutbox();
    return toMessageView(rec2);
  }

  /**
   * Seals `payload` for `usernames`: members with a pending key change one envelope each (held), the rest in
   * envelopes of at most 32 recipients. Blocked contacts and those whose key we rejected get nothing.
   */
  async sealFor(usernames: string[], payload: Payload): Promise<Sealed[]> {
    const state = payload.type === 'group-state' ? payload.state : this.ctx.store.groups.getGroup(groupOf(payload))?.state;
    const contacts: ContactRecord[] = [];
    for (const u of usernames) {
      const fp = state?.members.find((m) => m.u === u)?.fp;
      const c = this.ctx.store.getContact(u) ?? (fp ? await this.d.ensureContact(u, fp) : null);
      if (!c || c.blocked || (c.rejectedFingerprint && !c.pendingFingerprint)) continue;
      contacts.push(c);
    }
    const held = contacts.filter((c) => c.pendingFingerprint);
    const free = contacts.filter((c) => !c.pendingFingerprint);
    const batches: ContactRecord[][] = held.map((c) => [c]);
    for (let i = 0; i < free.length; i += LIMITS.maxRecipients) batches.push(free.slice(i, i + LIMITS.maxRecipients));
    return Promise.all(
      batches.map(async (b) => {
        const envelopeId = newMessageId();
        const recipients: PublicIdentity[] = b.map((c) => c.identity);
        try {
          const envelope = await this.ctx.crypto().seal({ recipients, payload, id: envelopeId });
          return { envelopeId, envelope, members: b.map((c) => c.username), held: b.some((c) => c.pendingFingerprint !== null) };
        } catch (err) {
          throw new CoreError('CRYPTO', `Could not seal the message: ${(err as Error).message}`, { cause: err });
        }
      }),
    );
  }

  /** Inside a transaction: one outbox row per envelope (its first member names the row), plus its member list. */
  private enqueue(envelopes: Sealed[], message: { group: string; messageId: string } | null): void {
    const { store } = this.ctx;
    for (const e of envelopes) {
      store.enqueueOutbox({ envelopeId: e.envelopeId, contact: e.members[0]!, kind: 'message', messageId: message?.messageId ?? null, envelope: e.envelope, ...heldOf(e) });
      if (message) store.groups.addEnvelope(e.envelopeId, message.group, message.messageId, e.members);
    }
  }

  /** Resolves once the outbox has sent what is due (the CLI waits for it before exiting). */
  flush(): Promise<void> {
    return this.d.outbox.flushOutbox();
  }

  info(id: string): GroupInfo {
    const r = this.require(id);
    const counts = this.ctx.store.groups.counts(id);
    return {
      id,
      conversation: groupConversation(id),
      name: r.state.name,
      version: r.state.version,
      adminOnlyRename: r.state.adminOnlyRename,
      active: r.active,
      request: r.request,
      blocked: r.blocked,
      members: r.state.members.map((m) => ({ username: m.u, role: m.role, fingerprint: memberKey(this.ctx.store, m) })),
      held: r.state.members.filter((m) => this.isHeld(m.u)).map((m) => m.u),
      events: this.ctx.store.groups.listEvents(id).map(({ at, kind, text }) => ({ at, kind, text })),
      ...counts,
    };
  }

  loadPage(id: string, before?: number | null, limit?: number): MessagePage {
    this.require(id);
    return this.ctx.store.groups.loadPage(id, { before: before ?? null, limit: limit ?? 50 });
  }

  markRead(id: string): void {
    this.require(id);
    this.ctx.store.groups.markRead(id);
  }

  /** Accepts a group we were added to by someone who is not a contact (a message request). */
  acceptRequest(id: string): GroupInfo {
    const r = this.require(id);
    if (r.blocked) throw new CoreError('BLOCKED', `You blocked the request of #${id}`);
    this.ctx.store.groups.updateGroup(id, { request: false });
    return this.info(id);
  }

  /**
   * Blocks a group request: the group is refused for good (we leave it locally; its later messages, changes and
   * snapshots are dropped) and whoever added us is blocked like a direct request. Nothing is sent: the sender learns
   * nothing from a block.
   */
  blockRequest(id: string): GroupInfo {
    const r = this.require(id);
    if (!r.request && !r.blocked) throw new CoreError('INVALID', `#${id} is not a request; leave the group instead`);
    const adder = r.addedBy ? this.ctx.store.getContact(r.addedBy) : null;
    this.ctx.store.transaction(() => {
      this.ctx.store.groups.updateGroup(id, { blocked: true, active: false, request: false });
      if (adder && !adder.blocked) this.ctx.store.updateContact(adder.username, { blocked: true, request: false });
    });
    if (adder) this.ctx.emit('contacts-changed', { username: adder.username });
    this.ctx.emit('group-changed', { group: id });
    return this.info(id);
  }

  /**
   * Lifts a block: the group comes back as a request (accept it, or block it again). What reached us while it was
   * blocked was acknowledged and dropped, never kept, so nothing is replayed: the membership is the one we had at the
   * block until an admin's state snapshot (sent whenever someone is added) moves it forward. Whoever added us stays
   * blocked until unblocked on their own (their messages, in the group too, are dropped until then).
   */
  unblock(id: string): GroupInfo {
    const r = this.require(id);
    if (!r.blocked) throw new CoreError('INVALID', `#${id} is not blocked`);
    this.ctx.store.groups.updateGroup(id, { blocked: false, request: true, active: isMember(r.state, this.ctx.me().username) });
    this.ctx.emit('group-changed', { group: id });
    return this.info(id);
  }

  list(): GroupInfo[] {
    return this.ctx.store.groups.listGroups().map((g) => this.info(g.id));
  }

  private requireUsableContact(username: string): ContactRecord {
    const c = this.ctx.store.getContact(username);
    if (!c) throw new CoreError('NOT_FOUND', `No contact named ${username}; add them first`);
    if (c.blocked) throw new CoreError('BLOCKED', `${username} is blocked`);
    return c;
  }
}

export interface Sealed {
  envelopeId: string;
  envelope: Envelope;
  members: string[];
  held: boolean;
}

/**
 * Whether an envelope is held, for its outbox row: a one-member envelope (a held member's, or a group of two) is held
 * when that member's key change is pending at the moment the row is written (the store decides, inside the writing
 * transaction: a key change recorded or accepted while we sealed counts); a batch of free members is never held.
 */
export function heldOf(e: Sealed): { held?: boolean } {
  return e.members.length === 1 ? {} : { held: e.held };
}

function groupOf(p: Payload): string {
  if (p.type === 'group-change') return p.change.g;
  if ((p.type === 'text' || p.type === 'files') && p.g) return p.g;
  return '';
}
