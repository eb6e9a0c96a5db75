/**
 * Files in groups: the group side of attachments/manager.ts. A files message to a group is stored in 'sending'
 * before its uploads (so the upload state is kept with it, as for a direct message); each file's blob names every
 * other member as a recipient on the relay; once every blob is complete the files payload (with `g` and `m`, like a
 * group text) goes out through the group fan-out (Groups.sealFor: envelopes of at most 32 members, held ones alone).
 *
 * The relay lets a blob name at most LIMITS.maxRecipients (32) recipients, and one blob serves every envelope of
 * the message, so files go to groups of at most 33 members for now (a typed INVALID error above that).
 */
import { LIMITS } from '../../../relay/protocol/index.js';
import type { AttachmentDescriptor } from '../attachments/descriptor.js';
import { newMessageId, type Payload } from '../crypto/index.js';
import type { MessageRecord } from '../store/types.js';
import { CoreError } from './errors.js';
import { heldOf, type Groups } from './groups.js';
import { memberKey } from './member-keys.js';
import type { MessengerContext } from './types.js';

export class GroupFiles {
  constructor(
    private readonly ctx: MessengerContext,
    private readonly groups: Groups,
  ) {}

  /** The fingerprints (as the group lists them) of every other current member: who may download the files. */
  recipients(groupId: string): string[] {
    const rec = this.groups.require(groupId);
    if (!rec.active) throw new CoreError('INVALID', `You are no longer a member of #${groupId}`);
    const me = this.ctx.me().username;
    const others = rec.state.members.filter((m) => m.u !== me);
    if (others.length === 0) throw new CoreError('INVALID', `Nobody else is in #${groupId} to send files to`);
    if (others.length > LIMITS.maxRecipients) {
      throw new CoreError('INVALID', `Files go to groups of at most ${LIMITS.maxRecipients + 1} members (a file names at most ${LIMITS.maxRecipients} recipients on the relay)`);
    }
    // A member's key as it counts for us (member-keys.ts); one whose key change is pending: the new key, as for a
    // direct contact (the relay no longer knows the old one; the file's key travels in the held message).
    return others.map((m) => this.ctx.store.getContact(m.u)?.pendingFingerprint ?? memberKey(this.ctx.store, m));
  }

  /** Our files message ('sending', body = caption) and, in the same transaction, its attachment rows (`addFiles`). */
  insert(groupId: string, caption: string, addFiles: (seq: number) => void): MessageRecord {
    this.recipients(groupId); // refuse now what the upload would refuse later
    const store = this.ctx.store;
    const me = this.ctx.me();
    return store.transaction(() => {
      if (this.groups.require(groupId).request) store.groups.updateGroup(groupId, { request: false });
      const m = store.groups.insertMessage({
        id: newMessageId(),
        group: groupId,
        direction: 'out',
        sender: null,
        senderFingerprint: me.fingerprint,
        body: caption,
        sentAt: this.ctx.now(),
        state: 'sending',
      });
      addFiles(m.seq);
      return m;
    });
  }

  /** Seals the files payload for every current member but us and queues the envelopes (once every blob is complete). */
  async queue(groupId: string, messageId: string, attachments: AttachmentDescriptor[]): Promise<void> {
    const store = this.ctx.store;
    const m = store.groups.getMessage(groupId, messageId, 'out');
    if (!m || m.state !== 'sending') throw new CoreError('NOT_FOUND', 'No such group message waiting for its files');
    if (store.groups.listDeliveries(messageId).length > 0) return; // queued already (a resumed upload that raced a restart)
    const rec = this.groups.require(groupId);
    if (!rec.active) throw new CoreError('INVALID', `You are no longer a member of #${groupId}`);
    const me = this.ctx.me().username;
    const members = rec.state.members.map((x) => x.u).filter((u) => u !== me);
    const payload: Payload = { v: 1, type: 'files', ts: m.sentAt, body: m.body ?? '', attachments, g: groupId, m: messageId };
    const envelopes = await this.groups.sealFor(members, payload);
    const done = store.transaction(() => {
      if (store.groups.listDeliveries(messageId).length > 0) return null;
      for (const u of members) store.groups.setDelivery(messageId, groupId, u, 'sending');
      for (const e of envelopes) {
        store.enqueueOutbox({ envelopeId: e.envelopeId, contact: e.members[0]!, kind: 'message', messageId, envelope: e.envelope, ...heldOf(e) });
        store.groups.addEnvelope(e.envelopeId, groupId, messageId, e.members);
      }
      // Nobody to send to (every other member blocked): nothing will ever settle it otherwise.
      return envelopes.length === 0 ? store.groups.setMessageState(groupId, messageId, 'sent') : null;
    });
    if (done) this.ctx.emit('message-state', { id: done.id, conversation: done.conversation, contact: '', state: done.state, error: null });
    void this.groups.flush();
  }

  /** Fails our group files message with a reason the user can read (a file that could not be uploaded). */
  fail(groupId: string, messageId: string, reason: string): void {
    const m = this.ctx.store.groups.setMessageState(groupId, messageId, 'failed', reason);
    if (m) this.ctx.emit('message-state', { id: m.id, conversation: m.conversation, contact: '', state: 'failed', error: reason });
  }

  /** The files payload of one of our fan-out envelopes, to seal again (a member's key change); null if not files. */
  resealPayload(envelopeId: string): Payload | null {
    const store = this.ctx.store;
    const e = store.groups.getEnvelope(envelopeId);
    const m = e ? store.groups.getMessage(e.group, e.messageId, 'out') : null;
    if (!e || !m) return null;
    const files = store.attachments.list(m.seq);
    if (files.length === 0 || files.some((f) => f.descriptor === null)) return null;
    return { v: 1, type: 'files', ts: m.sentAt, body: m.body ?? '', attachments: files.map((f) => f.descriptor!), g: e.group, m: e.messageId };
  }
}
