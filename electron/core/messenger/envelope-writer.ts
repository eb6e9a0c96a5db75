/**
 * Writes one incoming envelope inside the chunk's transaction, so that storing one envelope can never fail the
 * others: each envelope is stored in its own savepoint; if that throws for any reason (a reused id hitting the
 * unique index, a constraint, a bug), only the savepoint rolls back and the envelope is quarantined instead: kept
 * with its reason, marked seen (a redelivery is dropped), shown as a failed row in its conversation when it can be
 * attributed, and acknowledged with the rest after the commit. Only a failure of the quarantine itself (the database
 * is unusable, e.g. a disk error) fails the chunk, which is then not acknowledged and is fetched again.
 *
 * Failure rows are bounded: at most FAILURE_ROWS_PER_HOUR per contact and hour; the rest are folded into one
 * counted row, so a hostile relay cannot fill a conversation with undecryptable rows.
 */
import { newMessageId, type Payload } from '../crypto/index.js';
import type { ContactRecord, MessageRecord } from '../store/types.js';
import { afterIncomingText, applyIncoming, applyRead, conversationOf, isActionPayload, type ApplyContext } from './actions-apply.js';
import { toAttachmentView } from '../store/attachments.js';
import type { AckItem, MessengerContext, OpenResult } from './types.js';

/** Failure rows (undecryptable or not stored) shown per contact per hour before they are counted in one row. */
export const FAILURE_ROWS_PER_HOUR = 5;
const HOUR_MS = 3_600_000;

/** What a chunk's writes produced, announced after its commit. */
export interface WriteOutcome {
  received: MessageRecord[];
  /** Our sent messages that a receipt marked delivered. */
  states: Array<{ id: string; contact: string }>;
  /** Messages an action changed (edited, deleted, reacted to). */
  updated: MessageRecord[];
  quarantined: number;
  collapsed: number;
  /** Contacts whose display name changed (payload `name`). */
  renamed: string[];
}

export const emptyOutcome = (): WriteOutcome => ({ received: [], states: [], updated: [], quarantined: 0, collapsed: 0, renamed: [] });

/** The envelope being written: who it is attributed to, its header and the raw envelope (kept if quarantined). */
export interface IncomingRef {
  contact: ContactRecord;
  ack: AckItem;
  raw: unknown;
  receivedAt: number;
}

/** Groups on the receive path (groups-receive.ts); the writer hands it what concerns a group. */
export interface GroupSink {
  receive(ref: IncomingRef, p: Payload, now: number, out: WriteOutcome): boolean;
  receipt(from: string, id: string): boolean;
}

export class EnvelopeWriter {
  constructor(
    private readonly ctx: MessengerContext,
    private readonly groups: GroupSink | null = null,
  ) {}

  /**
   * Inside the chunk's transaction: runs `write` in a savepoint; if it throws, quarantines the envelope. Merges
   * what `write` produced into `out` only when its savepoint was kept.
   */
  guarded(ref: IncomingRef, now: number, out: WriteOutcome, write: (own: WriteOutcome) => void): void {
    const { store } = this.ctx;
    const own = emptyOutcome();
    try {
      store.transaction(() => write(own));
    } catch (err) {
      // SQLite rolled the whole transaction back (I/O error, disk full): nothing of the chunk can be kept.
      if (!store.inTransaction) throw err;
      this.quarantine(ref, `not-stored: ${err instanceof Error ? err.message : String(err)}`, now, out);
      return;
    }
    merge(out, own);
  }

  /** The old storeOpened: a text message or a failure becomes a row; a receipt updates our sent messages. */
  writeOpened(ref: IncomingRef, r: OpenResult, now: number, out: WriteOutcome): void {
    const { store } = this.ctx;
    const { contact, ack } = ref;
    if ('error' in r) {
      this.writeFailure(ref, r.error, now, out);
      return;
    }
    const p: Payload = r.payload;
    if (this.groups?.receive(ref, p, now, out)) return;
    if (p.type === 'group-change' || p.type === 'group-state') return;
    if (p.type !== 'text' && p.type !== 'files' && p.type !== 'receipt') {
      this.writeAction(ref, p, now, out);
      return;
    }
    // A message with files keeps its caption as the body; its attachments are kept by the attachment store.
    if (p.type === 'text' || p.type === 'files') {
      // The name the sender chose travels inside the encrypted payload; the latest one wins.
      if (p.type === 'text' && p.name !== undefined && p.name !== store.getContact(contact.username)?.displayName) {
        store.updateContact(contact.username, { displayName: p.name });
        out.renamed.push(contact.username);
      }
      const m = store.insertMessage({
          id: ack.id,
          contact: contact.username,
          direction: 'in',
          senderFingerprint: ack.from,
          body: p.body,
          sentAt: p.ts,
          receivedAt: now,
          state: 'delivered',
      });
      if (p.type === 'files') {
        // Its descriptors go to the attachments table in the same savepoint (a message never exists without its files).
        store.attachments.insertReceived(m.seq, p.attachments);
        m.attachments = store.attachments.list(m.seq).map(toAttachmentView);
      }
      out.received.push(p.type === 'text' ? afterIncomingText(this.applyContext(), m, p) : m);
      return;
    }
    for (const id of p.ids) {
      const m = store.getMessage(id, { contact: contact.username, direction: 'out' });
      if (m) store.actions.recordReceipt(m.seq, contact.username, 'delivered', now);
      if (!m && this.groups?.receipt(contact.username, id)) continue;
      if (!m || (m.state !== 'sending' && m.state !== 'sent')) continue;
      store.setMessageState(id, { contact: contact.username, direction: 'out' }, 'delivered', null);
      store.removeOutbox(id);
      out.states.push({ id, contact: contact.username });
    }
  }

  private applyContext(): ApplyContext {
    return { store: this.ctx.store, me: this.ctx.me().username, log: (msg) => this.ctx.log(msg) };
  }

  /** Reactions, edits, deletes and read receipts (actions-apply.ts): they change earlier messages, add no row. */
  private writeAction(ref: IncomingRef, p: Extract<Payload, { type: 'reaction' | 'edit' | 'delete' | 'read' }>, now: number, out: WriteOutcome): void {
    const sender = ref.contact.username;
    const conversation = conversationOf(this.applyContext(), sender, p.g, ref.ack.from);
    if (!conversation) {
      this.ctx.log(`refused a ${p.type} from ${sender}: not a member of that group`);
      return;
    }
    if (p.type === 'read') {
      const { read, moved } = applyRead(this.applyContext(), conversation, sender, p, now);
      for (const m of moved) out.states.push({ id: m.id, contact: m.contact });
      out.updated.push(...read);
      return;
    }
    if (!isActionPayload(p)) return;
    const done = applyIncoming(this.applyContext(), { conversation, actor: sender, envelopeId: ref.ack.id, payload: p, receivedAt: now });
    if (done.message) out.updated.push(done.message);
  }

  /**
   * A row that says an envelope from `contact` could not be opened (or stored), within the hourly budget; past
   * it, one row per contact and hour counts the rest.
   */
  writeFailure(ref: IncomingRef, error: string, now: number, out: WriteOutcome): void {
    const { store } = this.ctx;
    const { contact, ack } = ref;
    const windowStart = Math.floor(now / HOUR_MS) * HOUR_MS;
    const w = store.getFailureWindow(contact.username, windowStart) ?? { shown: 0, collapsed: 0, summaryId: null };
    if (w.shown < FAILURE_ROWS_PER_HOUR) {
      // The envelope's own id when free (a reused id is exactly what may have failed): a redelivery is deduped
      // by the seen mark either way.
      const taken = store.getMessage(ack.id, { contact: contact.username, direction: 'in' }) !== null;
      out.received.push(
        store.insertMessage({
          id: taken ? newMessageId() : ack.id,
          contact: contact.username,
          direction: 'in',
          senderFingerprint: ack.from,
          body: null,
          sentAt: ref.receivedAt,
          receivedAt: now,
          state: 'undecryptable',
          error,
        }),
      );
      store.setFailureWindow(contact.username, windowStart, { ...w, shown: w.shown + 1 });
      return;
    }
    const collapsed = w.collapsed + 1;
    const text = `${collapsed} more envelope${collapsed === 1 ? '' : 's'} from ${contact.username} could not be opened or stored in this hour (last: ${error.split(':')[0]})`;
    let summaryId = w.summaryId;
    const updated = summaryId ? store.setMessageState(summaryId, { contact: contact.username, direction: 'in' }, 'undecryptable', text) : null;
    if (!updated) {
      // First collapsed envelope of this window (or the user deleted the summary row): a new counted row.
      summaryId = newMessageId();
      out.received.push(
        store.insertMessage({
          id: summaryId,
          contact: contact.username,
          direction: 'in',
          senderFingerprint: null,
          body: null,
          sentAt: now,
          receivedAt: now,
          state: 'undecryptable',
          error: text,
        }),
      );
    }
    store.setFailureWindow(contact.username, windowStart, { shown: w.shown, collapsed, summaryId });
    out.collapsed++;
  }

  /** Keeps a failed envelope with its reason (own savepoint); throws only when the database itself fails. */
  private quarantine(ref: IncomingRef, reason: string, now: number, out: WriteOutcome): void {
    const { store } = this.ctx;
    const own = emptyOutcome();
    store.transaction(() => {
      store.markSeen(ref.ack.from, ref.ack.id, now);
      const attributed = store.getContact(ref.contact.username) !== null;
      store.quarantineEnvelope({
        at: now,
        contact: attributed ? ref.contact.username : null,
        senderFingerprint: ref.ack.from,
        envelopeId: ref.ack.id,
        reason,
        envelope: ref.raw,
      });
      if (attributed) this.writeFailure(ref, reason, now, own);
    });
    merge(out, own);
    out.quarantined++;
    this.ctx.log(`quarantined an envelope from ${ref.contact.username}: ${reason}`);
  }
}

function merge(into: WriteOutcome, from: WriteOutcome): void {
  into.received.push(...from.received);
  into.states.push(...from.states);
  into.updated.push(...from.updated);
  into.quarantined += from.quarantined;
  into.collapsed += from.collapsed;
  into.renamed.push(...from.renamed);
}
