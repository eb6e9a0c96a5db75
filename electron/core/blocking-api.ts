/**
 * The blocking methods of ParleyApi (contract/blocking.ts): the list of blocked users and groups, and lifting a
 * block. Arguments are checked here with typed errors (the CLI calls the service without the IPC schemas).
 *
 * What unblocking means (README "Blocking"): the user or group becomes a message request again, so their next
 * messages wait for an accept. Nothing sent while the block held is replayed: the receive path acknowledged those
 * envelopes to the relay and dropped them (ingest.ts, groups-receive.ts), so neither the relay nor we keep them.
 */
import { usernameSchema } from '../../relay/protocol/index.js';
import type { BlockedList } from '../contract/blocking.js';
import { groupIdOf } from './group-api.js';
import { CoreError } from './messenger/errors.js';
import type { Messenger } from './messenger/messenger.js';
import type { HistoryStore } from './store/types.js';

export function listBlocked(store: HistoryStore): BlockedList {
  const users = store
    .listContacts()
    .filter((c) => c.blocked)
    .map((c) => ({ username: c.username, displayName: c.displayName }))
    .sort((a, b) => (a.username < b.username ? -1 : 1));
  const groups = store.groups
    .listGroups()
    .filter((g) => g.blocked)
    .map((g) => ({ id: g.id, name: g.state.name, addedBy: g.addedBy }))
    .sort((a, b) => a.name.localeCompare(b.name) || (a.id < b.id ? -1 : 1));
  return { users, groups };
}

/** Exactly one of `username` or `group`; INVALID when it is not blocked, NOT_FOUND when unknown. */
export function unblock(store: HistoryStore, messenger: Messenger, req: unknown): BlockedList {
  const r = (req ?? {}) as { username?: unknown; group?: unknown };
  const hasUser = r.username !== undefined;
  if (hasUser === (r.group !== undefined)) throw new CoreError('INVALID', 'Unblock needs exactly one of a username or a group id');
  if (hasUser) {
    const u = usernameSchema.safeParse(r.username);
    if (!u.success) throw new CoreError('INVALID', `Invalid username: ${String(r.username).slice(0, 40)}`);
    if (!messenger.requireContact(u.data).blocked) throw new CoreError('INVALID', `${u.data} is not blocked`);
    messenger.setBlocked(u.data, false);
  } else {
    messenger.groups.unblock(groupIdOf(r.group));
  }
  return listBlocked(store);
}
