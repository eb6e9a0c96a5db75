/**
 * Trust on first use: who signed an incoming envelope (resolveSender), key checks against the relay, and the key
 * change lifecycle. A different identity served for a contact clears `verified`, holds the outbox, keeps the new
 * key's envelopes pending (stored, then acked), records the change and raises 'contact-key-changed'; the user then
 * accepts (pending envelopes re-open, the held outbox is released and re-sealed as it leaves) or rejects it.
 */
import {
  LABELS,
  fromB64u,
  rotationInput,
  validateIdentity,
  verifyLabeled,
  type PublicIdentity,
} from '../../../relay/protocol/index.js';
import type { ContactView, KeyChangeView } from '../../contract/api.js';
import { toContactView } from '../store/history.js';
import type { ContactRecord } from '../store/types.js';
import { TransportError } from '../transport/errors.js';
import { CoreError } from './errors.js';
import {
  RetryLater,
  type KeyChecker,
  type MessengerContext,
  type OutboxKick,
  type PendingReopener,
  type ResolvedSender,
  type SenderResolver,
} from './types.js';

export interface TrustDeps {
  ctx: MessengerContext;
  /** Re-opens pending envelopes after an accept (the receive path). */
  reopener: PendingReopener;
  outbox: OutboxKick;
}

/** Lookups per second of a key-check pass over all contacts (a tenth of the relay's default per-connection budget). */
const DEFAULT_KEY_CHECKS_PER_SECOND = 20;

export class Trust implements SenderResolver, KeyChecker {
  private readonly lastKeyCheck = new Map<string, number>();
  private checkingAll: Promise<void> | null = null;

  constructor(private readonly d: TrustDeps) {}

  private get ctx(): MessengerContext {
    return this.d.ctx;
  }

  requireContact(username: string): ContactRecord {
    const c = this.ctx.store.getContact(username);
    if (!c) throw new CoreError('NOT_FOUND', `No contact named ${username}`);
    return c;
  }

  /** Records that `username`'s key was just checked (e.g. when it was added). */
  markChecked(username: string): void {
    this.lastKeyCheck.set(username, this.ctx.now());
  }

  /**
   * Who sent this? A known contact (pinned or pending key), or a first contact fetched from the relay by fingerprint
   * (pinned as a message request after checking the identity hashes to `from`), or a known username with a new key.
   */
  async resolveSender(fp: string): Promise<ResolvedSender | null> {
    const { store } = this.ctx;
    const known = store.getContactByFingerprint(fp);
    if (known) return { contact: known, role: known.fingerprint === fp ? 'current' : 'pending' };
    // A key the user rejected stays rejected until they act: no new pending change, no new hold of the outbox.
    const rejected = store.listContacts().find((c) => c.rejectedFingerprint === fp);
    if (rejected) return { contact: rejected, role: 'rejected' };
    // A key we replaced (accepted key change) stays replaced, whatever the relay says about it now: shown as
    // undecryptable for that contact, never a new key change back to it.
    const stale = this.contactByOldFingerprint(fp);
    if (stale) return { contact: stale, role: 'stale' };
    const t = this.ctx.transport();
    if (!t?.online) throw new RetryLater('offline while resolving a sender');
    let ans;
    try {
      ans = await t.lookup({ fingerprint: fp });
    } catch (err) {
      if (err instanceof TransportError && err.code === 'NOT_FOUND') {
        this.ctx.log('dropped an envelope from a sender the relay does not know');
        return null;
      }
      throw new RetryLater(`sender lookup failed: ${(err as Error).message}`);
    }
    let checked: { identity: PublicIdentity; fingerprint: string };
    try {
      checked = await validateIdentity(ans.identity);
    } catch {
      this.ctx.log('dropped an envelope: the relay served an invalid identity for its sender');
      return null;
    }
    if (checked.fingerprint !== fp) {
      this.ctx.log('dropped an envelope: the identity the relay served does not hash to the sender fingerprint');
      return null;
    }
    if (ans.username === this.ctx.me().username) return null;
    const existing = store.getContact(ans.username);
    // Added with this very key while we waited for the relay (a send to a group member who is not a contact yet
    // adds them too): a current sender, not a key change. Taken for one, the envelope would be held forever.
    if (existing && existing.fingerprint === fp) return { contact: existing, role: 'current' };
    if (!existing) {
      const c = store.addContact({ username: ans.username, identity: checked.identity, fingerprint: fp, request: true });
      this.ctx.emit('contacts-changed', { username: c.username });
      return { contact: c, role: 'current' };
    }
    const c = await this.recordKeyChange(existing, checked.identity, fp, ans.rotation);
    return { contact: c, role: 'pending' };
  }

  private contactByOldFingerprint(fp: string): ContactRecord | null {
    for (const c of this.ctx.store.listContacts()) {
      if (this.ctx.store.listKeyChanges(c.username).some((k) => k.oldFingerprint === fp)) return c;
    }
    return null;
  }

  async maybeCheckKey(username: string): Promise<void> {
    const min = this.ctx.options.keyCheckOnSendMs ?? 30_000;
    const last = this.lastKeyCheck.get(username) ?? -Infinity;
    if (this.ctx.now() - last < min) return;
    try {
      await this.checkContactKey(username);
    } catch (err) {
      this.ctx.log(`key check of ${username} skipped: ${(err as Error).message}`);
    }
  }

  /** Looks the contact up on the relay; a different identity than the pinned one becomes a pending key change. */
  async checkContactKey(username: string): Promise<ContactView> {
    const t = this.ctx.transport();
    const c = this.requireContact(username);
    if (!t?.online) throw new CoreError('OFFLINE', 'The relay is not reachable');
    const ans = await t.lookup({ username });
    this.markChecked(username);
    let checked: { identity: PublicIdentity; fingerprint: string };
    try {
      checked = await validateIdentity(ans.identity);
    } catch (err) {
      throw new CoreError('RELAY', `The relay served an invalid identity for ${username}: ${(err as Error).message}`);
    }
    const fp = checked.fingerprint;
    if (fp === c.fingerprint || fp === c.pendingFingerprint || fp === c.rejectedFingerprint) return toContactView(c);
    return toContactView(await this.recordKeyChange(c, checked.identity, fp, ans.rotation));
  }

  /**
   * Checks every contact's key on the relay, paced at keyChecksPerSecond lookups (default 20/s). The relay gives each
   * connection a budget of events (connPerSec, 200/s by default) shared with sends and acks, and counts requests over
   * it as abuse: unpaced, a few hundred contacts checked back to back got the connection dropped, and the reconnect
   * started the same burst again. One pass at a time; a contact checked within keyCheckOnSendMs is skipped.
   */
  checkAllContacts(): Promise<void> {
    this.checkingAll ??= this.checkAllPaced().finally(() => {
      this.checkingAll = null;
    });
    return this.checkingAll;
  }

  private async checkAllPaced(): Promise<void> {
    const gapMs = 1000 / Math.max(1, this.ctx.options.keyChecksPerSecond ?? DEFAULT_KEY_CHECKS_PER_SECOND);
    const fresh = this.ctx.options.keyCheckOnSendMs ?? 30_000;
    for (const c of this.ctx.store.listContacts()) {
      if (!this.ctx.transport()?.online || this.ctx.closed()) return;
      const last = this.lastKeyCheck.get(c.username) ?? -Infinity;
      if (fresh > 0 && this.ctx.now() - last < fresh) continue;
      const started = Date.now();
      try {
        await this.checkContactKey(c.username);
      } catch (err) {
        this.ctx.log(`key check of ${c.username} failed: ${(err as Error).message}`);
      }
      const wait = gapMs - (Date.now() - started);
      if (wait > 0) await new Promise<void>((resolve) => setTimeout(resolve, wait).unref());
    }
  }

  private async recordKeyChange(
    c: ContactRecord,
    identity: PublicIdentity,
    fp: string,
    rotation: { from: string; sig: string } | null,
  ): Promise<ContactRecord> {
    let signedByOld = false;
    if (rotation && rotation.from === c.fingerprint) {
      try {
        signedByOld = await verifyLabeled(c.identity, fromB64u(rotation.sig), LABELS.rotate, ...rotationInput(c.username, c.fingerprint, identity));
      } catch {
        signedByOld = false;
      }
    }
    const { store } = this.ctx;
    const current = store.getContact(c.username);
    if (current && (current.pendingFingerprint === fp || current.fingerprint === fp)) return current; // a concurrent check won
    const rec = store.recordKeyChange(c.username, { newIdentity: identity, newFingerprint: fp, signedByOld, at: this.ctx.now() });
    const change: KeyChangeView = {
      at: rec.at,
      oldFingerprint: rec.oldFingerprint,
      newFingerprint: rec.newFingerprint,
      signedByOld: rec.signedByOld,
      resolution: rec.resolution,
    };
    this.ctx.emit('contact-key-changed', { username: c.username, change });
    this.ctx.emit('contacts-changed', { username: c.username });
    return this.requireContact(c.username);
  }

  /**
   * Accept the pending key: pin it, release the held outbox and re-open pending envelopes with it. `fingerprint` is
   * the key the user reviewed; if the pending key is another one by now (it changed again), nothing is accepted.
   * Nothing is sealed here: the outbox seals every envelope addressed to the replaced key again, from our own copy,
   * just before it sends it (held-reseal.ts), so work written during the accept is treated like work written before.
   */
  async acceptKeyChange(username: string, fingerprint: string): Promise<ContactView> {
    const { store } = this.ctx;
    const c = store.transaction(() => {
      const now = this.requireContact(username);
      if (!now.pendingFingerprint || !now.pendingIdentity) throw new CoreError('NO_KEY_CHANGE', `${username} has no pending key change`);
      if (now.pendingFingerprint !== fingerprint) {
        throw new CoreError('KEY_MISMATCH', `${username}'s pending key is not the one you reviewed; review the new key first`);
      }
      return store.resolveKeyChange(username, 'accepted', this.ctx.now());
    });
    await this.d.reopener.reopenPending(c);
    this.ctx.emit('contacts-changed', { username });
    void this.d.outbox.flushOutbox();
    return toContactView(this.requireContact(username));
  }

  async rejectKeyChange(username: string): Promise<ContactView> {
    const before = this.requireContact(username);
    if (!before.pendingFingerprint) throw new CoreError('NO_KEY_CHANGE', `${username} has no pending key change`);
    const c = this.ctx.store.resolveKeyChange(username, 'rejected', this.ctx.now());
    this.ctx.emit('contacts-changed', { username });
    return toContactView(c);
  }
}
