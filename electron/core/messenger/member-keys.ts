/**
 * A group member's key after a key change (PROTOCOL.md §11.9). The group state pins each member's key (`fp`) as it was
 * when they joined; it is signed state and is not rewritten when someone rotates. Each client maps it through its own
 * key decisions instead: once the user accepted a change of that contact's key away from the listed one, the member's
 * key is the contact's pinned key, everywhere a member's key is used (whose envelopes count as the member's, who gets
 * sealed for, who may fetch a group file, the snapshot sent to a new member). Until then it stays the listed key, and
 * what is sent to that member is held (groups.ts sealFor), for them alone.
 */
import type { HistoryStore } from '../store/types.js';

/** The key member `m` (as a group state lists them) counts under for us now. */
export function memberKey(store: Pick<HistoryStore, 'getContact' | 'listKeyChanges'>, m: { u: string; fp: string }): string {
  const c = store.getContact(m.u);
  if (!c || c.fingerprint === m.fp) return m.fp;
  return store.listKeyChanges(m.u).some((k) => k.oldFingerprint === m.fp && k.resolution === 'accepted') ? c.fingerprint : m.fp;
}

/** The same state with every member's key as it counts for us (what we sign and send to a member we add). */
export function withMemberKeys<S extends { members: Array<{ u: string; fp: string }> }>(store: Pick<HistoryStore, 'getContact' | 'listKeyChanges'>, s: S): S {
  return { ...s, members: s.members.map((m) => ({ ...m, fp: memberKey(store, m) })) };
}
