/**
 * Contacts and their key changes (pinned identities, pending and rejected keys, the key-change log): functions over
 * the store's cached statements, so sqlite-store.ts only delegates to them (same pattern as outbox-queries.ts).
 * Callers wrap them in the store's guard and, where several statements must agree, in a transaction.
 */
import type { PublicIdentity } from '../../../relay/protocol/index.js';
import { contactFromRow, json, keyChangeFromRow, type Row } from './rows.js';
import { StoreError, type ContactRecord, type KeyChangeRecord, type NewContact, type StoreQuery } from './types.js';

export type ContactPatch = Partial<Pick<ContactRecord, 'verified' | 'blocked' | 'request' | 'displayName'>>;

export interface NewKeyChange {
  newIdentity: PublicIdentity;
  newFingerprint: string;
  signedByOld: boolean;
  at?: number;
}

export function getContact(st: StoreQuery, username: string): ContactRecord | null {
  const r = st('SELECT * FROM contacts WHERE username = ?').get(username) as Row | undefined;
  return r ? contactFromRow(r) : null;
}

/** The contact, or NOT_FOUND naming the operation that needed it. */
export function mustContact(st: StoreQuery, username: string, what: string): ContactRecord {
  const c = getContact(st, username);
  if (!c) throw new StoreError('NOT_FOUND', `${what}: unknown contact "${username}"`);
  return c;
}

/** By the pinned fingerprint first, then by a pending one (an envelope signed by a new key still to be reviewed). */
export function getContactByFingerprint(st: StoreQuery, fp: string): ContactRecord | null {
  const r = (st('SELECT * FROM contacts WHERE fingerprint = ? LIMIT 1').get(fp) ??
    st('SELECT * FROM contacts WHERE pending_fingerprint = ? LIMIT 1').get(fp)) as Row | undefined;
  return r ? contactFromRow(r) : null;
}

export function listContacts(st: StoreQuery): ContactRecord[] {
  return (st('SELECT * FROM contacts ORDER BY username').all() as Row[]).map(contactFromRow);
}

export function addContact(st: StoreQuery, c: NewContact): ContactRecord {
  st(`INSERT INTO contacts (username, identity, fingerprint, request, added_at) VALUES (?, ?, ?, ?, ?)`).run(
    c.username,
    json(c.identity),
    c.fingerprint,
    c.request ? 1 : 0,
    c.addedAt ?? Date.now(),
  );
  return mustContact(st, c.username, 'addContact');
}

/** Run in a transaction: reads the contact, then writes the merged fields. */
export function updateContact(st: StoreQuery, username: string, patch: ContactPatch): ContactRecord {
  const c = mustContact(st, username, 'updateContact');
  st('UPDATE contacts SET verified = ?, blocked = ?, request = ?, display_name = ? WHERE username = ?').run(
    (patch.verified ?? c.verified) ? 1 : 0,
    (patch.blocked ?? c.blocked) ? 1 : 0,
    (patch.request ?? c.request) ? 1 : 0,
    patch.displayName !== undefined ? patch.displayName : c.displayName,
    username,
  );
  return mustContact(st, username, 'updateContact');
}

/** Run in a transaction: sets the pending identity, clears `verified`, holds the contact's outbox, logs the change. */
export function recordKeyChange(st: StoreQuery, username: string, change: NewKeyChange): KeyChangeRecord {
  const c = mustContact(st, username, 'recordKeyChange');
  if (change.newFingerprint === c.fingerprint) {
    throw new StoreError('INVALID', `recordKeyChange: "${username}" already has that identity`);
  }
  const at = change.at ?? Date.now();
  // A newer change supersedes one still pending: that one is recorded as rejected.
  st(`UPDATE key_changes SET resolution = 'rejected' WHERE username = ? AND resolution = 'pending'`).run(username);
  st(`UPDATE contacts SET pending_identity = ?, pending_fingerprint = ?, verified = 0 WHERE username = ?`).run(
    json(change.newIdentity),
    change.newFingerprint,
    username,
  );
  st('UPDATE outbox SET held = 1 WHERE contact = ?').run(username);
  const info = st(
    `INSERT INTO key_changes (username, at, old_fingerprint, new_fingerprint, new_identity, signed_by_old, resolution)
     VALUES (?, ?, ?, ?, ?, ?, 'pending')`,
  ).run(username, at, c.fingerprint, change.newFingerprint, json(change.newIdentity), change.signedByOld ? 1 : 0);
  return keyChangeFromRow(st('SELECT * FROM key_changes WHERE id = ?').get(info.lastInsertRowid) as Row);
}

/**
 * Run in a transaction: accepting pins the pending identity and releases the held outbox; rejecting remembers the
 * rejected fingerprint (it stays rejected) and keeps the old identity.
 */
export function resolveKeyChange(st: StoreQuery, username: string, resolution: 'accepted' | 'rejected'): ContactRecord {
  const c = mustContact(st, username, 'resolveKeyChange');
  if (!c.pendingIdentity || !c.pendingFingerprint) {
    throw new StoreError('NOT_FOUND', `resolveKeyChange: no key change pending for "${username}"`);
  }
  st(`UPDATE key_changes SET resolution = ? WHERE username = ? AND resolution = 'pending'`).run(resolution, username);
  if (resolution === 'accepted') {
    st(
      `UPDATE contacts SET identity = pending_identity, fingerprint = pending_fingerprint, pending_identity = NULL,
         pending_fingerprint = NULL, rejected_fingerprint = NULL, verified = 0 WHERE username = ?`,
    ).run(username);
    st('UPDATE outbox SET held = 0 WHERE contact = ?').run(username);
  } else {
    st(
      `UPDATE contacts SET rejected_fingerprint = pending_fingerprint, pending_identity = NULL,
         pending_fingerprint = NULL WHERE username = ?`,
    ).run(username);
  }
  return mustContact(st, username, 'resolveKeyChange');
}

export function listKeyChanges(st: StoreQuery, username: string): KeyChangeRecord[] {
  return (st('SELECT * FROM key_changes WHERE username = ? ORDER BY id').all(username) as Row[]).map(keyChangeFromRow);
}
