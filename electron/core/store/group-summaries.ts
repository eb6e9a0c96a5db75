/**
 * The conversation list's group rows (name, member count, unread count, last message with its sender) and every
 * conversation's last message position, so the service can merge groups into the direct list in activity order.
 * A query module over the store's cached statements (HistoryStore.query); the group tables are migrations/v5.ts.
 */
import type { ConversationId, GroupConversationSummary } from '../../contract/api.js';
import type { GroupState } from '../crypto/group-payload.js';
import { bool, lastMessageFromRow, parse, type Row } from './rows.js';
import type { StoreQuery } from './types.js';

/**
 * Driven by conversations (one row per conversation, scanned for the list anyway); groups by primary key. A blocked
 * group is left out, as a blocked contact's conversation is (Settings → Blocked lists both).
 */
export function listGroupSummaries(st: StoreQuery, filter?: string): { groups: GroupConversationSummary[]; lastSeq: Map<ConversationId, number> } {
  const f = filter?.trim() ? filter.trim().toLowerCase() : null;
  const rows = st(
    `SELECT g.id, g.state, g.active, g.request, g.created_at, v.id AS v_id, v.unread AS v_unread, v.last_seq AS v_last,
            m.id AS m_id, m.body AS m_body, m.sent_at AS m_sent_at, m.direction AS m_direction, m.state AS m_state, m.sender AS m_sender
       FROM conversations v
       JOIN groups g ON g.id = substr(v.id, 3)
       LEFT JOIN messages m ON m.seq = v.last_seq
      WHERE v.kind = 'group' AND g.blocked = 0
      ORDER BY v.last_seq IS NULL DESC, v.last_seq DESC, g.created_at DESC, g.id`,
  ).all() as Row[];
  const groups: GroupConversationSummary[] = [];
  for (const r of rows) {
    const state = parse<GroupState>(r.state);
    // The name lives in the JSON state, so the filter runs here (a few hundred groups at most).
    if (f !== null && !state.name.toLowerCase().includes(f)) continue;
    groups.push({
      id: String(r.v_id) as ConversationId,
      kind: 'group',
      group: { id: String(r.id), name: state.name, memberCount: state.members.length, active: bool(r.active), request: bool(r.request) },
      lastMessage: withSender(lastMessageFromRow(r), r),
      unread: Number(r.v_unread),
      draft: null, // filled in by the service (drafts.ts listDrafts)
    });
  }
  const lastSeq = new Map<ConversationId, number>();
  // Only needed to merge groups into the direct list: a profile without groups does not pay for it at start-up.
  if (groups.length === 0) return { groups, lastSeq };
  for (const r of st('SELECT id, last_seq FROM conversations WHERE last_seq IS NOT NULL').all() as Row[]) {
    lastSeq.set(String(r.id) as ConversationId, Number(r.last_seq));
  }
  return { groups, lastSeq };
}

function withSender(m: ReturnType<typeof lastMessageFromRow>, r: Row): GroupConversationSummary['lastMessage'] {
  return m && { ...m, sender: r.m_sender == null ? null : String(r.m_sender) };
}
