/**
 * The groups part of the history store (schema v5, migrations/v5.ts): group state, received changes, system lines,
 * per-member delivery and fan-out envelopes, and the messages of group conversations (`g:<id>`). Synchronous like
 * the rest of the store; callers group writes with the store's transaction().
 */
import type BetterSqlite3 from 'better-sqlite3-multiple-ciphers';
import { groupConversation, type ConversationId, type MessagePage, type MessageState, type MessageView } from '../../contract/api.js';
import type { GroupState } from '../crypto/group-payload.js';
import { DEFAULT_PAGE, MAX_PAGE, MESSAGE_COLS, bool, messageFromRow, parse, toMessageView, type Row } from './rows.js';
import { StoreError, type MessageRecord } from './types.js';

export type DeliveryState = 'sending' | 'sent' | 'delivered' | 'failed';

export interface GroupRecord {
  id: string;
  base: GroupState;
  state: GroupState;
  /** We are a member (false after we left or were removed). */
  active: boolean;
  /** Added by someone who is not a contact: a message request. */
  request: boolean;
  /** Who added us (the sender of the first snapshot we took), null for a group we created. */
  addedBy: string | null;
  /** We blocked the request: the group is refused for good (its later messages, changes and snapshots too). */
  blocked: boolean;
  createdAt: number;
}

export interface GroupEvent {
  seq: number;
  at: number;
  kind: 'change' | 'refused';
  text: string;
}

export interface NewGroupMessage {
  id: string;
  group: string;
  direction: 'in' | 'out';
  /** Incoming: the author's username (also the contact). */
  sender: string | null;
  senderFingerprint: string | null;
  body: string | null;
  sentAt: number;
  receivedAt?: number | null;
  state: MessageState;
  error?: string | null;
}

type Guard = <T>(what: string, fn: () => T) => T;

/** Group messages have no single contact: our own carry '' (the API's `contact` is the peer of direct ones). */
function groupMessage(r: Row): MessageRecord {
  const m = messageFromRow(r);
  return { ...m, contact: r.contact == null ? '' : String(r.contact) };
}

function groupFromRow(r: Row): GroupRecord {
  return {
    id: String(r.id),
    base: parse<GroupState>(r.base),
    state: parse<GroupState>(r.state),
    active: bool(r.active),
    request: bool(r.request),
    addedBy: r.added_by == null ? null : String(r.added_by),
    blocked: bool(r.blocked),
    createdAt: Number(r.created_at),
  };
}

export class GroupStore {
  private readonly stmts = new Map<string, BetterSqlite3.Statement>();

  constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly guard: Guard,
  ) {}

  private st(sql: string): BetterSqlite3.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  getGroup(id: string): GroupRecord | null {
    return this.guard('getGroup', () => {
      const r = this.st('SELECT * FROM groups WHERE id = ?').get(id) as Row | undefined;
      return r ? groupFromRow(r) : null;
    });
  }

  listGroups(): GroupRecord[] {
    return this.guard('listGroups', () => (this.st('SELECT * FROM groups ORDER BY created_at, id').all() as Row[]).map(groupFromRow));
  }

  /** A new group and its conversation. Throws EXISTS when the id is known. */
  createGroup(g: { id: string; base: GroupState; request: boolean; addedBy?: string | null; at: number }): GroupRecord {
    return this.guard(`createGroup(${g.id})`, () => {
      const json = JSON.stringify(g.base);
      this.st('INSERT INTO groups (id, base, state, active, request, added_by, created_at) VALUES (?, ?, ?, 1, ?, ?, ?)').run(
        g.id,
        json,
        json,
        g.request ? 1 : 0,
        g.addedBy ?? null,
        g.at,
      );
      this.st(`INSERT OR IGNORE INTO conversations (id, kind) VALUES (?, 'group')`).run(groupConversation(g.id));
      return this.getGroup(g.id)!;
    });
  }

  updateGroup(id: string, patch: { base?: GroupState; state?: GroupState; active?: boolean; request?: boolean; blocked?: boolean }): void {
    this.guard(`updateGroup(${id})`, () => {
      const r = this.st(
        `UPDATE groups SET base = coalesce(@base, base), state = coalesce(@state, state), active = coalesce(@active, active),
           request = coalesce(@request, request), blocked = coalesce(@blocked, blocked) WHERE id = @id`,
      ).run({
        blocked: patch.blocked === undefined ? null : patch.blocked ? 1 : 0,
        id,
        base: patch.base ? JSON.stringify(patch.base) : null,
        state: patch.state ? JSON.stringify(patch.state) : null,
        active: patch.active === undefined ? null : patch.active ? 1 : 0,
        request: patch.request === undefined ? null : patch.request ? 1 : 0,
      });
      if (r.changes === 0) throw new StoreError('NOT_FOUND', `no group ${id}`);
    });
  }

  /** Keeps a received change (JSON of {change, sig}). Returns false if it was already known. */
  addChange(group: string, hash: string, prev: string, body: unknown): boolean {
    return this.guard('addChange', () => this.st('INSERT OR IGNORE INTO group_changes (group_id, hash, prev, body) VALUES (?, ?, ?, ?)').run(group, hash, prev, JSON.stringify(body)).changes === 1);
  }

  listChanges<T>(group: string): T[] {
    return this.guard('listChanges', () => (this.st('SELECT body FROM group_changes WHERE group_id = ?').all(group) as Row[]).map((r) => parse<T>(r.body)));
  }

  addEvent(group: string, at: number, kind: GroupEvent['kind'], text: string): void {
    this.guard('addEvent', () => this.st('INSERT INTO group_events (group_id, at, kind, text) VALUES (?, ?, ?, ?)').run(group, at, kind, text));
  }

  /** The newest `limit` events, oldest first. */
  listEvents(group: string, limit = 200): GroupEvent[] {
    return this.guard('listEvents', () =>
      (this.st('SELECT seq, at, kind, text FROM group_events WHERE group_id = ? ORDER BY seq DESC LIMIT ?').all(group, limit) as Row[])
        .reverse()
        .map((r) => ({ seq: Number(r.seq), at: Number(r.at), kind: r.kind as GroupEvent['kind'], text: String(r.text) })),
    );
  }

  // ---- messages ---------------------------------------------------------------------------------------------------

  insertMessage(m: NewGroupMessage): MessageRecord {
    return this.guard(`insertGroupMessage(${m.group}/${m.id})`, () => {
      const r = this.st(
        `INSERT INTO messages (id, conversation, contact, sender, direction, sender_fp, body, sent_at, received_at, state, error, unread)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${MESSAGE_COLS}`,
      ).get(
        m.id,
        groupConversation(m.group),
        m.direction === 'in' ? m.sender : null,
        m.direction === 'in' ? m.sender : null,
        m.direction,
        m.senderFingerprint,
        m.body,
        m.sentAt,
        m.receivedAt ?? null,
        m.state,
        m.error ?? null,
        m.direction === 'in' ? 1 : 0,
      ) as Row;
      return groupMessage(r);
    });
  }

  getMessage(group: string, id: string, direction: 'in' | 'out', sender: string | null = null): MessageRecord | null {
    return this.guard('getGroupMessage', () => {
      const r = this.st(
        `SELECT ${MESSAGE_COLS} FROM messages WHERE conversation = ? AND id = ? AND direction = ? AND coalesce(sender, '') = ?`,
      ).get(groupConversation(group), id, direction, sender ?? '') as Row | undefined;
      return r ? groupMessage(r) : null;
    });
  }

  setMessageState(group: string, id: string, state: MessageState, error: string | null = null): MessageRecord | null {
    return this.guard('setGroupMessageState', () => {
      const r = this.st(
        `UPDATE messages SET state = ?, error = ? WHERE conversation = ? AND id = ? AND direction = 'out' RETURNING ${MESSAGE_COLS}`,
      ).get(state, error, groupConversation(group), id) as Row | undefined;
      return r ? groupMessage(r) : null;
    });
  }

  loadPage(group: string, o: { before?: number | null; limit?: number } = {}): MessagePage {
    const limit = o.limit ?? DEFAULT_PAGE;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw new StoreError('INVALID', `loadPage: limit must be an integer in 1..${MAX_PAGE}`);
    const before = o.before ?? Number.MAX_SAFE_INTEGER;
    const id: ConversationId = groupConversation(group);
    return this.guard('loadGroupPage', () => {
      const rows = this.st(`SELECT ${MESSAGE_COLS} FROM messages WHERE conversation = ? AND seq < ? ORDER BY seq DESC LIMIT ?`).all(id, before, limit + 1) as Row[];
      const more = rows.length > limit;
      const page: MessageView[] = (more ? rows.slice(0, limit) : rows).reverse().map((r) => toMessageView(groupMessage(r)));
      const total = this.st('SELECT total FROM conversations WHERE id = ?').get(id) as Row | undefined;
      return { messages: page, nextCursor: more && page.length > 0 ? page[0]!.seq : null, total: total ? Number(total.total) : 0 };
    });
  }

  markRead(group: string): number {
    return this.guard('markGroupRead', () => this.st('UPDATE messages SET unread = 0 WHERE conversation = ? AND unread = 1').run(groupConversation(group)).changes);
  }

  counts(group: string): { total: number; unread: number } {
    return this.guard('groupCounts', () => {
      const r = this.st('SELECT total, unread FROM conversations WHERE id = ?').get(groupConversation(group)) as Row | undefined;
      return { total: r ? Number(r.total) : 0, unread: r ? Number(r.unread) : 0 };
    });
  }

  // ---- delivery and fan-out ---------------------------------------------------------------------------------------

  setDelivery(messageId: string, group: string, member: string, state: DeliveryState): void {
    this.guard('setDelivery', () =>
      this.st(
        `INSERT INTO group_deliveries (message_id, group_id, member, state) VALUES (?, ?, ?, ?)
           ON CONFLICT (message_id, member) DO UPDATE SET state = excluded.state WHERE group_deliveries.state <> 'delivered'`,
      ).run(messageId, group, member, state),
    );
  }

  listDeliveries(messageId: string): Array<{ member: string; state: DeliveryState; group: string }> {
    return this.guard('listDeliveries', () =>
      (this.st('SELECT member, state, group_id FROM group_deliveries WHERE message_id = ? ORDER BY member').all(messageId) as Row[]).map((r) => ({
        member: String(r.member),
        state: r.state as DeliveryState,
        group: String(r.group_id),
      })),
    );
  }

  addEnvelope(envelopeId: string, group: string, messageId: string, members: string[]): void {
    this.guard('addGroupEnvelope', () => this.st('INSERT INTO group_envelopes (envelope_id, group_id, message_id, members) VALUES (?, ?, ?, ?)').run(envelopeId, group, messageId, JSON.stringify(members)));
  }

  getEnvelope(envelopeId: string): { group: string; messageId: string; members: string[] } | null {
    return this.guard('getGroupEnvelope', () => {
      const r = this.st('SELECT * FROM group_envelopes WHERE envelope_id = ?').get(envelopeId) as Row | undefined;
      return r ? { group: String(r.group_id), messageId: String(r.message_id), members: parse<string[]>(r.members) } : null;
    });
  }

  removeEnvelope(envelopeId: string): void {
    this.guard('removeGroupEnvelope', () => this.st('DELETE FROM group_envelopes WHERE envelope_id = ?').run(envelopeId));
  }
}
