/**
 * The receive side of groups, called by envelope-writer.ts inside the chunk's transaction (synchronous): signed
 * changes and state snapshots, group text messages, and receipts for our group messages. Anything not allowed is
 * refused with a reason recorded as a group event (and logged without contents), never applied.
 */
import type { Payload } from '../crypto/index.js';
import { toAttachmentView } from '../store/attachments.js';
import { afterIncomingText } from './actions-apply.js';
import { applyChange, changeHash, describeChange, isMember, resolve, stateSigningInput, changeSigningInput, verifySig, type GroupState, type SignedChange } from './group-rules.js';
import type { GroupSink, IncomingRef, WriteOutcome } from './envelope-writer.js';
import { memberKey } from './member-keys.js';
import type { MessengerContext } from './types.js';

export type GroupPayload = Extract<Payload, { type: 'group-change' | 'group-state' }> | Extract<Payload, { type: 'text' | 'files' }>;

export const isGroupPayload = (p: Payload): p is GroupPayload =>
  p.type === 'group-change' || p.type === 'group-state' || ((p.type === 'text' || p.type === 'files') && p.g !== undefined);

/** Re-resolves a group from its base and every change kept, records system lines for what got applied. */
export function recompute(ctx: MessengerContext, group: string, now: number): GroupState {
  const g = ctx.store.groups;
  const rec = g.getGroup(group)!;
  const { state, applied } = resolve(rec.base, g.listChanges<SignedChange>(group));
  if (state.head !== rec.state.head) {
    const was = rec.state.version;
    for (const c of applied) if (c.change.version > was) g.addEvent(group, now, 'change', describeChange(c.change));
    const me = ctx.me().username;
    g.updateGroup(group, { state, active: isMember(state, me) });
    ctx.emit('group-changed', { group });
  }
  return state;
}

export class GroupReceiver implements GroupSink {
  constructor(private readonly ctx: MessengerContext) {}

  /** A receipt from `from` naming `id`: true when `id` is one of our group messages they were sent. */
  receipt(from: string, id: string): boolean {
    const g = this.ctx.store.groups;
    const ds = g.listDeliveries(id);
    const mine = ds.find((d) => d.member === from);
    if (!mine) return ds.length > 0;
    if (mine.state === 'delivered') return true;
    g.setDelivery(id, mine.group, from, 'delivered');
    // The per-member times shown by the message's info (actions.ts).
    const ours = g.getMessage(mine.group, id, 'out');
    if (ours) this.ctx.store.actions.recordReceipt(ours.seq, from, 'delivered', this.ctx.now());
    const all = ds.every((d) => d.member === from || d.state === 'delivered');
    const m = all ? g.setMessageState(mine.group, id, 'delivered') : null;
    this.ctx.emit('group-delivery', { group: mine.group, id });
    if (m) this.ctx.emit('message-state', { id, conversation: m.conversation, contact: '', state: 'delivered', error: null });
    return true;
  }

  private refuse(group: string | null, from: string, what: string, reason: string, now: number): void {
    if (group && this.ctx.store.groups.getGroup(group)) this.ctx.store.groups.addEvent(group, now, 'refused', `${what} from ${from} refused: ${reason}`);
    this.ctx.log(`group ${what} from ${from} refused: ${reason}`);
  }

  /** Inside the chunk's transaction: true when the payload was a group one (handled or refused). */
  receive(ref: IncomingRef, p: Payload, now: number, out: WriteOutcome): boolean {
    if (!isGroupPayload(p)) return false;
    this.handle(ref, p, now, out);
    return true;
  }

  private handle(ref: IncomingRef, p: GroupPayload, now: number, out: WriteOutcome): void {
    const from = ref.contact.username;
    const gid = p.type === 'group-state' ? p.state.g : p.type === 'group-change' ? p.change.g : p.g!;
    if (this.ctx.store.groups.getGroup(gid)?.blocked) {
      // A blocked request stays refused: logged (without contents), never shown or applied.
      this.ctx.log(`group ${p.type} from ${from} dropped: the group request was blocked`);
      return;
    }
    if (p.type === 'group-state') return this.snapshot(ref, p, now);
    if (p.type === 'group-change') return this.change(ref, p, now);
    const g = p.g!;
    const rec = this.ctx.store.groups.getGroup(g);
    if (!rec) return this.refuse(null, from, 'a message', `unknown group ${g}`, now);
    const member = rec.state.members.find((m) => m.u === from);
    if (!member || memberKey(this.ctx.store, member) !== ref.ack.from) return this.refuse(g, from, 'a message', 'not a member of this group', now);
    if (!rec.active) return this.refuse(g, from, 'a message', 'we are no longer a member', now);
    const id = p.m ?? ref.ack.id;
    if (this.ctx.store.groups.getMessage(g, id, 'in', from)) return; // another envelope of the same message
    const m = this.ctx.store.groups.insertMessage({ id, group: g, direction: 'in', sender: from, senderFingerprint: ref.ack.from, body: p.body, sentAt: p.ts, receivedAt: now, state: 'delivered' });
    if (p.type === 'files') {
      // Its descriptors in the same savepoint, as for a direct files message (a message never exists without its files).
      this.ctx.store.attachments.insertReceived(m.seq, p.attachments);
      m.attachments = this.ctx.store.attachments.list(m.seq).map(toAttachmentView);
    }
    // Its reply quote, and the reactions, edits or deletes that arrived before it (actions-apply.ts).
    out.received.push(p.type === 'text' ? afterIncomingText({ store: this.ctx.store, me: this.ctx.me().username, log: (msg) => this.ctx.log(msg) }, m, p) : m);
  }

  private snapshot(ref: IncomingRef, p: Extract<Payload, { type: 'group-state' }>, now: number): void {
    const from = ref.contact.username;
    const s = p.state;
    const sender = s.members.find((m) => m.u === from);
    if (!sender || sender.role !== 'admin' || memberKey(this.ctx.store, sender) !== ref.ack.from) return this.refuse(s.g, from, 'a group state', 'the sender is not an admin of it', now);
    if (!verifySig(ref.contact.identity, p.sig, stateSigningInput(s))) return this.refuse(s.g, from, 'a group state', 'bad signature', now);
    const me = this.ctx.me();
    const mine = s.members.find((m) => m.u === me.username);
    if (!mine || mine.fp !== me.fingerprint) return this.refuse(s.g, from, 'a group state', 'it does not list us', now);
    const groups = this.ctx.store.groups;
    const rec = groups.getGroup(s.g);
    if (!rec) {
      groups.createGroup({ id: s.g, base: s, request: ref.contact.request, addedBy: from, at: now });
      groups.addEvent(s.g, now, 'change', `${from} added you to “${s.name}”`);
      recompute(this.ctx, s.g, now);
      this.ctx.emit('group-changed', { group: s.g });
      return;
    }
    // Known group: a snapshot only moves us forward (we were re-added, or missed changes), never back.
    if (s.version <= rec.state.version && rec.active) return;
    groups.updateGroup(s.g, { base: s, state: s, active: true });
    if (!rec.active) groups.addEvent(s.g, now, 'change', `${from} added you back`);
    recompute(this.ctx, s.g, now);
    this.ctx.emit('group-changed', { group: s.g });
  }

  private change(ref: IncomingRef, p: Extract<Payload, { type: 'group-change' }>, now: number): void {
    const from = ref.contact.username;
    const c = p.change;
    const groups = this.ctx.store.groups;
    const rec = groups.getGroup(c.g);
    if (!rec) return this.refuse(null, from, 'a group change', `unknown group ${c.g}`, now);
    // v1: a change travels from its author only, so the envelope's (verified) sender is the author.
    if (c.author !== from) return this.refuse(c.g, from, 'a group change', `signed for ${c.author}, sent by ${from}`, now);
    if (!verifySig(ref.contact.identity, p.sig, changeSigningInput(c))) return this.refuse(c.g, from, 'a group change', 'bad signature', now);
    const hash = changeHash(c);
    if (c.prev === rec.state.head) {
      // On the current state: check it now, so a forbidden change is refused visibly (it is never kept).
      const author = rec.state.members.find((m) => m.u === from);
      if (author && memberKey(this.ctx.store, author) !== ref.ack.from) return this.refuse(c.g, from, 'a group change', 'signed by a key the group does not list', now);
      const why = refusalOf(rec.state, c, hash);
      if (why) return this.refuse(c.g, from, `a group change (${c.op})`, why, now);
    }
    if (groups.addChange(c.g, hash, c.prev, { change: c, sig: p.sig, hash })) recompute(this.ctx, c.g, now);
  }
}

function refusalOf(s: GroupState, c: Extract<Payload, { type: 'group-change' }>['change'], hash: string): string | null {
  const r = applyChange(s, c, hash);
  return 'refused' in r ? r.refused : null;
}
