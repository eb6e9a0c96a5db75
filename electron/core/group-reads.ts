/**
 * "Read by 2 of 5" under one of our group messages: which members read it, from their read receipts. Kept beside
 * group-api.ts (delivery per member) because reads live in the message actions' tables (messenger/actions.ts). While
 * our own read receipts are off, receiptsOf() hides everyone's read times, so nothing is counted as read.
 */
import type { GroupDeliveries } from '../contract/api.js';
import type { Messenger } from './messenger/messenger.js';
import type { HistoryStore } from './store/types.js';

export function withReads(messenger: Messenger, store: HistoryStore, id: string, d: GroupDeliveries): GroupDeliveries {
  const group = store.groups.listDeliveries(id)[0]?.group;
  const m = group === undefined ? null : store.groups.getMessage(group, id, 'out');
  if (!m) return { ...d, read: 0, members: d.members.map((x) => ({ ...x, read: false })) };
  const readers = new Set(messenger.actions.receiptsOf(m).filter((r) => r.readAt !== null).map((r) => r.member));
  const members = d.members.map((x) => ({ ...x, read: readers.has(x.username) }));
  return { ...d, read: members.filter((x) => x.read).length, members };
}
