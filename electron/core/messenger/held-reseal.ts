/**
 * Held work after a key change (PROTOCOL.md §5.6): the outbox never sends an envelope to a key the user has replaced.
 *
 * Whatever waits in the outbox (a message, files, an edit, a delete, a reaction, a receipt, a group message or
 * change) was sealed for the keys pinned when it was written. When one of its recipients' keys has been replaced
 * since (the user accepted a key change), the envelope is sealed again just before it is sent: the payload is read
 * back from our own copy (every envelope wraps its key for the sender too, §5.5), so files, reply quotes, edits and
 * reactions travel exactly as written, with the same envelope id, for the recipients' current keys. Checking at send
 * time, not at accept time, is what makes the accept race-free: an item written while the accept was in progress,
 * or sealed for the old key just before the accept committed, is still checked before it leaves, in outbox order.
 */
import type { Envelope, PublicIdentity } from '../../../relay/protocol/index.js';
import type { Payload } from '../crypto/index.js';
import type { ContactRecord, OutboxItem } from '../store/types.js';
import { BlobReshare } from './blob-reshare.js';
import type { GroupOutboxHooks, MessengerContext } from './types.js';

export class HeldReseal {
  private readonly blobs: BlobReshare;

  constructor(
    private readonly ctx: MessengerContext,
    /** Group messages rebuilt from their rows, when our own copy cannot be opened (see payloadOf). */
    private readonly groups: GroupOutboxHooks | null,
  ) {
    this.blobs = new BlobReshare(ctx);
  }

  /** True when some recipient of the item's envelope is a key we no longer pin for that contact. */
  isStale(item: OutboxItem): boolean {
    const me = this.ctx.me().fingerprint;
    return item.envelope.to.some((fp) => fp !== me && this.ctx.store.getContactByFingerprint(fp)?.fingerprint !== fp && this.replacedBy(fp, item.contact) !== null);
  }

  /**
   * The item's envelope sealed again for its recipients' current keys (same id, same payload), stored in its outbox
   * row; null when it cannot be (its payload cannot be recovered), or when the item left the outbox meanwhile.
   * A `files` payload's blobs are first named again on the relay for the current keys (blob-reshare.ts), so the
   * new key may download them; a lost connection meanwhile throws (the outbox tries the item again).
   */
  async reseal(item: OutboxItem): Promise<Envelope | null> {
    const recipients: PublicIdentity[] = [];
    for (const fp of item.envelope.to) {
      if (fp === this.ctx.me().fingerprint) continue;
      const current = this.ctx.store.getContactByFingerprint(fp);
      const c = current?.fingerprint === fp ? current : this.replacedBy(fp, item.contact);
      if (c && !c.blocked) recipients.push(c.identity);
    }
    const payload = await this.payloadOf(item);
    if (!payload || recipients.length === 0) return null;
    await this.blobs.reshare(item, payload, (fp) => this.currentKey(fp, item.contact));
    const envelope = await this.ctx.crypto().seal({ recipients, payload, id: item.envelope.id });
    const kept = this.ctx.store.transaction(() => {
      if (!this.ctx.store.getOutbox(item.envelopeId)) return false; // delivered or removed while we sealed
      this.ctx.store.replaceOutboxEnvelope(item.envelopeId, envelope);
      return true;
    });
    return kept ? envelope : null;
  }

  /**
   * The key to name now on the relay for `fp`: the current key of the contact whose key the user replaced; for a
   * pinned key whose change is pending, the pending one (as an upload names it: the relay no longer knows the old
   * one); else `fp` itself.
   */
  private currentKey(fp: string, hint: string): string {
    if (fp === this.ctx.me().fingerprint) return fp;
    const pinned = this.ctx.store.getContactByFingerprint(fp);
    if (pinned?.fingerprint === fp) return pinned.pendingFingerprint ?? fp;
    return this.replacedBy(fp, hint)?.fingerprint ?? fp;
  }

  /**
   * The contact whose key `fp` was until the user accepted a change away from it (their current key is then
   * another one). `hint`: the outbox row's contact, the usual answer; other contacts only when it is not.
   */
  private replacedBy(fp: string, hint: string): ContactRecord | null {
    const { store } = this.ctx;
    const was = (u: string) => store.listKeyChanges(u).some((k) => k.oldFingerprint === fp && k.resolution === 'accepted');
    const first = store.getContact(hint);
    if (first && first.fingerprint !== fp && was(hint)) return first;
    return store.listContacts().find((c) => c.username !== hint && c.fingerprint !== fp && was(c.username)) ?? null;
  }

  /**
   * The payload as written: from our own copy of the envelope; if that does not open (we rotated our own key since
   * it was sealed), rebuilt from the message rows (text, files with their descriptors, group messages). Actions and
   * receipts have no row to rebuild them from: null (the caller drops them, logged without contents).
   */
  private async payloadOf(item: OutboxItem): Promise<Payload | null> {
    try {
      return (await this.ctx.crypto().open(item.envelope, this.ctx.me().identity)).payload;
    } catch (err) {
      this.ctx.log(`a held envelope could not be re-read from our own copy: ${(err as Error).message}`);
    }
    if (item.kind !== 'message' || !item.messageId) return null;
    const group = this.groups?.resealPayload(item.envelopeId);
    if (group) return group;
    const { store } = this.ctx;
    const m = store.getMessage(item.messageId, { contact: item.contact, direction: 'out' });
    if (!m || m.body === null) return null;
    const files = store.attachments.list(m.seq);
    if (files.length > 0) {
      if (files.some((f) => f.descriptor === null)) return null;
      return { v: 1, type: 'files', ts: m.sentAt, body: m.body, attachments: files.map((f) => f.descriptor!) };
    }
    const reply = store.actions.detailsOf(m).reply;
    return { v: 1, type: 'text', ts: m.sentAt, body: m.body, ...(reply ? { reply } : {}) };
  }
}
