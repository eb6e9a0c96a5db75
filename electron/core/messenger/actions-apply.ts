/**
 * Applying incoming actions (reactions, edits, deletes for everyone, read receipts, reply quotes) inside the
 * receive path's transaction. Who may do what (PROTOCOL.md §6.1):
 *  - an edit or a delete only from the message's author (the target is looked up among the actor's own messages,
 *    so naming someone else's id can never reach their message), within EDIT_WINDOW_MS of it by the author's clock;
 *  - a reaction only from a member of the conversation, on a message by a member (in a group: its current members,
 *    the sender's key being the one the group lists);
 *  - an action for a message not seen yet is kept (bounded) and applied when that message arrives, so the end state
 *    does not depend on delivery order (edits: the newest by sender time wins; a delete wins over everything).
 */
import { directConversation, groupConversation, parseConversationId, type ConversationId } from '../../contract/api.js';
import { payloadSchema, type Payload } from '../crypto/index.js';
import type { ActionPayload, ReadPayload } from '../crypto/payload-actions.js';
import type { HistoryStore, MessageRecord } from '../store/types.js';
import { memberKey } from './member-keys.js';

/** Edits and deletes for everyone: only within this time of the message (sender's clock, both ends check). */
export const EDIT_WINDOW_MS = 24 * 60 * 60 * 1000;

export type ApplyResult = 'applied' | 'pending' | 'refused';

export interface ApplyContext {
  store: HistoryStore;
  /** Our username (the author of our own messages). */
  me: string;
  log(msg: string): void;
}

/** An action as received: the conversation it was resolved to, who signed it and its envelope id. */
export interface IncomingAction {
  conversation: ConversationId;
  actor: string;
  envelopeId: string;
  payload: ActionPayload;
  receivedAt: number;
}

/**
 * The conversation a payload from `sender` addresses: the direct conversation when `g` is absent; with `g`, that
 * group when we know it, are still in it, and the sender is a current member whose key (`senderFp`, the envelope's
 * verified signer) is the one the group lists. Anything else is null (refused).
 */
export function conversationOf(ctx: Pick<ApplyContext, 'store'>, sender: string, g: string | undefined, senderFp?: string): ConversationId | null {
  if (g === undefined) return directConversation(sender);
  const rec = ctx.store.groups.getGroup(g);
  if (!rec || !rec.active) return null;
  const member = rec.state.members.find((m) => m.u === sender);
  if (!member || (senderFp !== undefined && memberKey(ctx.store, member) !== senderFp)) return null;
  return groupConversation(g);
}

/** Members of a conversation: for a direct one, us and the peer; for a group, its current members. */
export function isMember(ctx: Pick<ApplyContext, 'store' | 'me'>, conversation: ConversationId, username: string): boolean {
  if (conversation.startsWith('d:')) return username === ctx.me || conversation === directConversation(username);
  const parsed = parseConversationId(conversation);
  if (parsed?.kind !== 'group') return false;
  const rec = ctx.store.groups.getGroup(parsed.groupId);
  return !!rec && rec.active && rec.state.members.some((m) => m.u === username);
}

export function isActionPayload(p: Payload): p is ActionPayload {
  return p.type === 'reaction' || p.type === 'edit' || p.type === 'delete';
}

/** The username of a message's author. */
export function authorOf(m: MessageRecord, me: string): string {
  return m.direction === 'out' ? me : (m.sender ?? m.contact);
}

function targetAuthor(a: IncomingAction): string {
  return a.payload.type === 'reaction' ? a.payload.author : a.actor;
}

/** Applies an incoming action, or keeps it for a message not seen yet. Returns what happened and the message. */
export function applyIncoming(ctx: ApplyContext, a: IncomingAction): { result: ApplyResult; message: MessageRecord | null } {
  const author = targetAuthor(a);
  if (!isMember(ctx, a.conversation, a.actor) || !isMember(ctx, a.conversation, author)) {
    ctx.log(`refused a ${a.payload.type} from ${a.actor}: not a member of the conversation`);
    return { result: 'refused', message: null };
  }
  const mine = author === ctx.me;
  const m = ctx.store.actions.findMessage(a.conversation, mine ? 'out' : 'in', mine ? null : author, a.payload.target);
  if (!m) {
    ctx.store.actions.addPending({
      conversation: a.conversation,
      actor: a.actor,
      targetId: a.payload.target,
      targetAuthor: author,
      envelopeId: a.envelopeId,
      payload: a.payload,
      receivedAt: a.receivedAt,
    });
    return { result: 'pending', message: null };
  }
  return applyTo(ctx, m, a);
}

/** Applies an action to a message that is here; the caller checked that the target author matches. */
function applyTo(ctx: ApplyContext, m: MessageRecord, a: IncomingAction): { result: ApplyResult; message: MessageRecord | null } {
  const { actions } = ctx.store;
  const refuse = (why: string) => {
    ctx.log(`refused a ${a.payload.type} from ${a.actor}: ${why}`);
    return { result: 'refused' as const, message: null };
  };
  if (m.state === 'undecryptable' || m.state === 'failed') return refuse('the message has no text');
  const { deletedAt } = actions.detailsOf(m);
  if (deletedAt !== null) return refuse('the message was deleted');
  const p = a.payload;
  if (p.type === 'reaction') {
    if (!isMember(ctx, m.conversation, a.actor)) return refuse('not a member');
    actions.setReaction(m.seq, a.actor, p.emoji, p.ts, a.envelopeId);
  } else {
    if (authorOf(m, ctx.me) !== a.actor) return refuse('only the author may change a message');
    if (p.ts < m.sentAt || p.ts - m.sentAt > EDIT_WINDOW_MS) return refuse('outside the 24-hour window');
    if (p.type === 'edit') actions.addVersion(m, p.ts, a.envelopeId, p.body);
    else actions.markDeleted(m.seq, p.ts);
  }
  return { result: 'applied', message: ctx.store.getMessageBySeq(m.seq) };
}

/**
 * After an incoming text is stored: keep its reply quote when it names a member, then apply the actions that were
 * waiting for it. Returns the message as it is now.
 */
export function afterIncomingText(ctx: ApplyContext, m: MessageRecord, p: Extract<Payload, { type: 'text' }>): MessageRecord {
  if (p.reply) {
    if (isMember(ctx, m.conversation, p.reply.author)) ctx.store.actions.setReply(m.seq, p.reply);
    else ctx.log(`dropped a reply quote from ${authorOf(m, ctx.me)}: it names someone outside the conversation`);
  }
  applyWaiting(ctx, m);
  return ctx.store.getMessageBySeq(m.seq) ?? m;
}

/** Applies the actions kept for `m` (oldest first), each validated again. */
export function applyWaiting(ctx: ApplyContext, m: MessageRecord): void {
  for (const w of ctx.store.actions.takePending(m.conversation, m.id, authorOf(m, ctx.me))) {
    const parsed = payloadSchema.safeParse(w.payload);
    if (!parsed.success || !isActionPayload(parsed.data as Payload)) continue;
    applyTo(ctx, m, { conversation: w.conversation, actor: w.actor, envelopeId: w.envelopeId, payload: parsed.data as ActionPayload, receivedAt: w.receivedAt });
  }
}

/**
 * A read receipt from `actor`: records the read time of each of our messages it names in that conversation (and
 * marks them delivered, since a read receipt may overtake the delivery receipt). Returns the messages read and
 * those that moved to 'delivered'. Ids that name nothing of ours are ignored.
 */
export function applyRead(
  ctx: ApplyContext,
  conversation: ConversationId,
  actor: string,
  p: ReadPayload,
  now: number,
): { read: MessageRecord[]; moved: MessageRecord[] } {
  const moved: MessageRecord[] = [];
  const read: MessageRecord[] = [];
  if (!isMember(ctx, conversation, actor) || actor === ctx.me) return { read, moved };
  for (const id of p.ids) {
    const m = ctx.store.actions.findMessage(conversation, 'out', null, id);
    if (!m) continue;
    ctx.store.actions.recordReceipt(m.seq, actor, 'read', now);
    // A group message's state follows its per-member deliveries (groups-receive.ts); only a direct one moves here.
    if (conversation.startsWith('d:') && (m.state === 'sending' || m.state === 'sent')) {
      const r = ctx.store.setMessageState(id, { contact: m.contact, direction: 'out' }, 'delivered', null);
      ctx.store.removeOutbox(id);
      if (r) moved.push(r);
    }
    read.push(ctx.store.getMessageBySeq(m.seq) ?? m);
  }
  return { read, moved };
}
