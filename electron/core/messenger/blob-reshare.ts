/**
 * Re-sharing the blobs of a held `files` message before it is sealed again for a recipient's new key (PROTOCOL.md
 * §5.6 and "Blobs"). The blobs were completed on the relay naming the recipients' keys of that time; the relay lets
 * only those download, so a recipient whose key the user has since accepted would get NOT_FOUND. The uploader sends
 * `blob-complete` again for each blob (same blob id, same SHA-256) naming the list it last shared the blob with,
 * every replaced key swapped for its contact's current one; the relay replaces the list. The list is kept with the
 * attachment row (`upload.sharedWith`). A refused re-share is logged and the message still goes out: the recipient
 * then sees a clear download error rather than losing the message.
 */
import { blobCompleteResultSchema } from '../../../relay/protocol/index.js';
import type { Payload } from '../crypto/index.js';
import type { AttachmentRecord } from '../store/attachments.js';
import type { OutboxItem } from '../store/types.js';
import { TransportError } from '../transport/errors.js';
import type { MessengerContext } from './types.js';

export class BlobReshare {
  constructor(private readonly ctx: MessengerContext) {}

  /**
   * For a `files` payload: names every blob again for the recipients' current keys (`current` maps a fingerprint we
   * shared with to the one to name now). Does nothing for other payloads. A refusal is logged and skipped; a lost
   * connection (a retryable TransportError) throws, so the message is not sent before its blobs are re-shared.
   */
  async reshare(item: OutboxItem, payload: Payload, current: (fp: string) => string): Promise<void> {
    if (payload.type !== 'files') return;
    const t = this.ctx.transport();
    const { group, rows } = this.rowsOf(item);
    const me = this.ctx.me().fingerprint;
    for (const d of payload.attachments) {
      const row = rows.find((r) => r.descriptor?.blob === d.blob) ?? null;
      // A direct message's row from before the list was kept: the envelope's recipients (the blob named them when it
      // was completed). A group envelope names only some members: without the list, naming them would cut the rest.
      const before = row?.upload?.sharedWith ?? (group ? null : item.envelope.to.filter((fp) => fp !== me));
      if (!before) {
        this.ctx.log(`blob of group message ${item.envelopeId} not re-shared: who it was shared with is not recorded`);
        continue;
      }
      const now = [...new Set(before.map(current))];
      if (sameSet(before, now)) continue;
      if (!t?.blobRequest) {
        this.ctx.log(`blob of message ${item.envelopeId} not re-shared: no relay connection for blobs`);
        continue;
      }
      try {
        await t.blobRequest('blob-complete', { blob: d.blob, sha256: d.sha256, recipients: now }, blobCompleteResultSchema);
      } catch (err) {
        if (err instanceof TransportError && err.retryable) throw err;
        const code = (err as { code?: unknown }).code;
        this.ctx.log(`re-sharing a blob of message ${item.envelopeId} for a new key was refused (${typeof code === 'string' ? code : 'error'}); sending the message anyway`);
        continue;
      }
      if (row?.upload) this.ctx.store.attachments.update(row.messageSeq, row.index, { upload: { ...row.upload, sharedWith: now } });
    }
  }

  /** Our attachment rows for the item's message: a group fan-out envelope's message, else the direct message. */
  private rowsOf(item: OutboxItem): { group: boolean; rows: AttachmentRecord[] } {
    const { store } = this.ctx;
    const e = store.groups.getEnvelope(item.envelopeId);
    const m = e ? store.groups.getMessage(e.group, e.messageId, 'out') : item.messageId ? store.getMessage(item.messageId, { contact: item.contact, direction: 'out' }) : null;
    return { group: e !== null, rows: m ? store.attachments.list(m.seq) : [] };
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const s = new Set(a);
  return s.size === new Set(b).size && b.every((x) => s.has(x));
}
