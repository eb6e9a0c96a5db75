/**
 * The message-action tables (migration 7): reply quotes, edit history, deletes for everyone, reactions, per-member
 * receipts and actions waiting for a message not seen yet. Queries only: who may do what is decided by the caller
 * (electron/core/messenger/actions-apply.ts). Every method is synchronous and throws StoreError.
 */
import type BetterSqlite3 from 'better-sqlite3-multiple-ciphers';
import { MESSAGE_COLS, messageFromRow, type Row } from './rows.js';
import type {
  ActionQueries,
  ConversationId,
  Direction,
  MessageActions,
  MessageRecord,
  PendingAction,
  ReplyRecord,
} from './types.js';

type Statement = (sql: string) => BetterSqlite3.Statement;
type Guard = <T>(what: string, fn: () => T) => T;

/** Actions kept per (conversation, actor) for messages not seen yet; older ones are dropped first. */
export const PENDING_ACTIONS_PER_ACTOR = 256;

export class ActionStore implements ActionQueries {
  constructor(
    private readonly st: Statement,
    private readonly guard: Guard,
  ) {}

  /** The message of `conversation` with this id by this author (sender null = our own). */
  findMessage(conversation: ConversationId, direction: Direction, sender: string | null, id: string): MessageRecord | null {
    return this.guard('findMessage', () => {
      const r = this.st(
        `SELECT ${MESSAGE_COLS} FROM messages
          WHERE conversation = @conversation AND direction = @direction AND coalesce(sender, '') = @sender AND id = @id`,
      ).get({ conversation, direction, sender: sender ?? '', id }) as Row | undefined;
      return r ? messageFromRow(r) : null;
    });
  }

  /** Every message with this id (ids are unique per author only), newest first. */
  findById(id: string): MessageRecord[] {
    return this.guard('findById', () =>
      (this.st(`SELECT ${MESSAGE_COLS} FROM messages WHERE id = ? ORDER BY seq DESC`).all(id) as Row[]).map(messageFromRow),
    );
  }

  setReply(seq: number, reply: ReplyRecord): void {
    this.guard('setReply', () =>
      this.st('UPDATE messages SET reply_id = ?, reply_author = ?, reply_excerpt = ? WHERE seq = ?').run(reply.id, reply.author, reply.excerpt, seq),
    );
  }

  /**
   * Adds a version of a text message (the original is recorded first, as version ('', sentAt)) and shows the newest
   * by (ts, envelope id). Idempotent. Returns the body now shown.
   */
  addVersion(m: Pick<MessageRecord, 'seq' | 'sentAt' | 'body'>, ts: number, envelopeId: string, body: string): string {
    return this.guard('addVersion', () => {
      const ins = this.st('INSERT OR IGNORE INTO message_versions (message_seq, ts, envelope_id, body) VALUES (?, ?, ?, ?)');
      const has = this.st('SELECT 1 FROM message_versions WHERE message_seq = ? LIMIT 1').get(m.seq);
      if (!has && m.body !== null) ins.run(m.seq, m.sentAt, '', m.body);
      ins.run(m.seq, ts, envelopeId, body);
      const newest = this.st(
        `SELECT ts, envelope_id, body FROM message_versions WHERE message_seq = ? ORDER BY ts DESC, envelope_id DESC LIMIT 1`,
      ).get(m.seq) as Row;
      const editedAt = newest.envelope_id === '' ? null : Number(newest.ts);
      this.st('UPDATE messages SET body = ?, edited_at = ? WHERE seq = ?').run(String(newest.body), editedAt, m.seq);
      return String(newest.body);
    });
  }

  /** A delete for everyone: the row stays as a tombstone without its text, versions or reactions. */
  markDeleted(seq: number, ts: number): void {
    this.guard('markDeleted', () => {
      this.st('UPDATE messages SET body = NULL, deleted_at = ?, reply_id = NULL, reply_author = NULL, reply_excerpt = NULL WHERE seq = ?').run(ts, seq);
      this.st('DELETE FROM message_versions WHERE message_seq = ?').run(seq);
      this.st('DELETE FROM reactions WHERE message_seq = ?').run(seq);
    });
  }

  /** Sets `reactor`'s reaction (null removes it) unless a newer one by (ts, envelope id) is already recorded. */
  setReaction(seq: number, reactor: string, emoji: string | null, ts: number, envelopeId: string): boolean {
    return this.guard('setReaction', () => {
      const r = this.st(
        `INSERT INTO reactions (message_seq, reactor, emoji, ts, envelope_id) VALUES (@seq, @reactor, @emoji, @ts, @env)
           ON CONFLICT (message_seq, reactor) DO UPDATE SET emoji = excluded.emoji, ts = excluded.ts, envelope_id = excluded.envelope_id
           WHERE (excluded.ts, excluded.envelope_id) > (reactions.ts, reactions.envelope_id)`,
      ).run({ seq, reactor, emoji, ts, env: envelopeId });
      return r.changes > 0;
    });
  }

  /** Records when `member` received or read one of our messages (the first time only). */
  recordReceipt(seq: number, member: string, kind: 'delivered' | 'read', at: number): void {
    this.guard('recordReceipt', () => {
      this.st('INSERT OR IGNORE INTO receipts (message_seq, member) VALUES (?, ?)').run(seq, member);
      // Reading implies receiving: a read receipt that overtakes the delivery receipt sets both.
      if (kind === 'read') this.st('UPDATE receipts SET read_at = coalesce(read_at, @at) WHERE message_seq = @seq AND member = @member').run({ seq, member, at });
      this.st('UPDATE receipts SET delivered_at = coalesce(delivered_at, @at) WHERE message_seq = @seq AND member = @member').run({ seq, member, at });
    });
  }

  /** Ids of the incoming messages of a conversation still unread (what a read receipt names), oldest first. */
  unreadIncoming(conversation: ConversationId): Array<{ id: string; sender: string }> {
    return this.guard('unreadIncoming', () =>
      (
        this.st(
          `SELECT id, sender FROM messages WHERE conversation = ? AND unread = 1 AND direction = 'in' AND state = 'delivered' ORDER BY seq`,
        ).all(conversation) as Row[]
      ).map((r) => ({ id: String(r.id), sender: String(r.sender) })),
    );
  }

  /** What the action tables hold for one message. */
  detailsOf(m: Pick<MessageRecord, 'seq'>): MessageActions {
    return this.guard('detailsOf', () => {
      const row = this.st('SELECT reply_id, reply_author, reply_excerpt, edited_at, deleted_at FROM messages WHERE seq = ?').get(m.seq) as Row | undefined;
      const versions = (this.st('SELECT ts, body FROM message_versions WHERE message_seq = ? ORDER BY ts, envelope_id').all(m.seq) as Row[]).map(
        (r) => ({ ts: Number(r.ts), body: String(r.body) }),
      );
      const reactions = (
        this.st('SELECT reactor, emoji, ts FROM reactions WHERE message_seq = ? AND emoji IS NOT NULL ORDER BY ts, reactor').all(m.seq) as Row[]
      ).map((r) => ({ reactor: String(r.reactor), emoji: String(r.emoji), ts: Number(r.ts) }));
      const receipts = (this.st('SELECT member, delivered_at, read_at FROM receipts WHERE message_seq = ? ORDER BY member').all(m.seq) as Row[]).map(
        (r) => ({
          member: String(r.member),
          deliveredAt: r.delivered_at == null ? null : Number(r.delivered_at),
          readAt: r.read_at == null ? null : Number(r.read_at),
        }),
      );
      return {
        reply:
          row && row.reply_id != null
            ? { id: String(row.reply_id), author: String(row.reply_author), excerpt: String(row.reply_excerpt) }
            : null,
        editedAt: row?.edited_at == null ? null : Number(row.edited_at),
        deletedAt: row?.deleted_at == null ? null : Number(row.deleted_at),
        versions,
        reactions,
        receipts,
      };
    });
  }

  /** Keeps an action for a message not seen yet; past PENDING_ACTIONS_PER_ACTOR the actor's oldest go. */
  addPending(p: Omit<PendingAction, 'seq'>): void {
    this.guard('addPending', () => {
      this.st(
        `INSERT INTO pending_actions (conversation, actor, target_id, target_author, envelope_id, payload, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ).run(p.conversation, p.actor, p.targetId, p.targetAuthor, p.envelopeId, JSON.stringify(p.payload), p.receivedAt);
      this.st(
        `DELETE FROM pending_actions WHERE conversation = @c AND actor = @a AND seq <= coalesce(
           (SELECT seq FROM pending_actions WHERE conversation = @c AND actor = @a ORDER BY seq DESC LIMIT 1 OFFSET @keep), -1)`,
      ).run({ c: p.conversation, a: p.actor, keep: PENDING_ACTIONS_PER_ACTOR });
    });
  }

  /** Removes and returns the actions waiting for this message, oldest first. */
  takePending(conversation: ConversationId, targetId: string, targetAuthor: string): PendingAction[] {
    return this.guard('takePending', () => {
      const rows = this.st(
        `DELETE FROM pending_actions WHERE conversation = ? AND target_id = ? AND target_author = ? RETURNING *`,
      ).all(conversation, targetId, targetAuthor) as Row[];
      return rows
        .map((r) => ({
          seq: Number(r.seq),
          conversation: String(r.conversation) as ConversationId,
          actor: String(r.actor),
          targetId: String(r.target_id),
          targetAuthor: String(r.target_author),
          envelopeId: String(r.envelope_id),
          payload: JSON.parse(String(r.payload)) as unknown,
          receivedAt: Number(r.received_at),
        }))
        .sort((a, b) => a.seq - b.seq);
    });
  }

  countPending(conversation?: ConversationId): number {
    return this.guard('countPending', () =>
      Number(
        (
          (conversation
            ? this.st('SELECT count(*) AS n FROM pending_actions WHERE conversation = ?').get(conversation)
            : this.st('SELECT count(*) AS n FROM pending_actions').get()) as Row
        ).n,
      ),
    );
  }

  /** Forgets the waiting actions of a conversation (when the user deletes it). */
  clearPending(conversation: ConversationId): void {
    this.guard('clearPending', () => this.st('DELETE FROM pending_actions WHERE conversation = ?').run(conversation));
  }
}
