/**
 * The history store's implementation on one open better-sqlite3 connection (see types.ts for the contract;
 * history.ts opens the file, applies the key and migrates, then hands the connection to this class).
 */
import type BetterSqlite3 from 'better-sqlite3-multiple-ciphers';
import type { Envelope } from '../../../relay/protocol/index.js';
import {
  DEFAULT_PAGE,
  MAX_PAGE,
  MESSAGE_COLS,
  STATES,
  contactViewFromRow,
  json,
  lastMessageFromRow,
  messageFromRow,
  parse,
  toMessageView,
  toStoreError,
  type Row,
} from './rows.js';
import {
  StoreError,
  type ContactRecord,
  type ConversationId,
  type DirectConversationSummary,
  type Direction,
  type HistoryStore,
  type KeyChangeRecord,
  type MessagePage,
  type MessageRecord,
  type MessageState,
  type NewContact,
  type NewMessage,
  type NewOutboxItem,
  type OutboxItem,
  type FailureWindow,
  type PendingEnvelope,
  type QuarantinedEnvelope,
} from './types.js';
import { GroupStore } from './groups.js';
import * as guards from './receive-guards.js';
import * as outbox from './outbox-queries.js';
import * as contacts from './contacts-queries.js';
import { ActionStore } from './actions.js';
import { AttachmentStore } from './attachments.js';
import { directConversation } from '../../contract/api.js';

type Db = BetterSqlite3.Database;

export class SqliteHistoryStore implements HistoryStore {
  readonly schemaVersion: number;
  readonly groups: GroupStore;
  private readonly stmts = new Map<string, BetterSqlite3.Statement>();
  private closed = false;

  constructor(
    private readonly db: Db,
    readonly path: string,
    schemaVersion: number,
  ) {
    this.schemaVersion = schemaVersion;
    this.groups = new GroupStore(db, (what, fn) => this.guard(what, fn));
  }

  /** The statement cache as a function, for the query modules (receive-guards.ts, outbox-queries.ts). */
  private readonly q = (sql: string): BetterSqlite3.Statement => this.st(sql);

  readonly actions = new ActionStore(this.q, (what, fn) => this.guard(what, fn));
  /** The attachments of messages (attachments.ts). */
  readonly attachments = new AttachmentStore(this.q);

  /** Cached prepared statement. */
  private st(sql: string): BetterSqlite3.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  private guard<T>(what: string, fn: () => T): T {
    if (this.closed) throw new StoreError('INVALID', `${what}: the history store is closed`);
    try {
      return fn();
    } catch (e) {
      throw toStoreError(e, what);
    }
  }

  get inTransaction(): boolean {
    return !this.closed && this.db.inTransaction;
  }

  transaction<T>(fn: () => T): T {
    return this.guard('transaction', () => this.db.transaction(fn).immediate());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stmts.clear();
    try {
      if (!this.db.readonly) this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // best effort; SQLite checkpoints on close anyway
    }
    this.db.close();
  }

  // ---- contacts and key changes (contacts-queries.ts) -------------------------------------------------------------

  getContact(username: string): ContactRecord | null {
    return this.guard('getContact', () => contacts.getContact(this.q, username));
  }

  getContactByFingerprint(fp: string): ContactRecord | null {
    return this.guard('getContactByFingerprint', () => contacts.getContactByFingerprint(this.q, fp));
  }

  listContacts(): ContactRecord[] {
    return this.guard('listContacts', () => contacts.listContacts(this.q));
  }

  addContact(c: NewContact): ContactRecord {
    if (!c.username || typeof c.username !== 'string') throw new StoreError('INVALID', 'addContact: username required');
    return this.guard(`addContact("${c.username}")`, () => contacts.addContact(this.q, c));
  }

  updateContact(username: string, patch: contacts.ContactPatch): ContactRecord {
    return this.guard('updateContact', () => this.transaction(() => contacts.updateContact(this.q, username, patch)));
  }

  recordKeyChange(username: string, change: contacts.NewKeyChange): KeyChangeRecord {
    return this.guard('recordKeyChange', () => this.transaction(() => contacts.recordKeyChange(this.q, username, change)));
  }

  resolveKeyChange(username: string, resolution: 'accepted' | 'rejected', _at?: number): ContactRecord {
    return this.guard('resolveKeyChange', () =>
      this.transaction(() => contacts.resolveKeyChange(this.q, username, resolution)),
    );
  }

  listKeyChanges(username: string): KeyChangeRecord[] {
    return this.guard('listKeyChanges', () => contacts.listKeyChanges(this.q, username));
  }

  deleteContact(username: string): void {
    this.guard('deleteContact', () =>
      this.transaction(() => {
        this.deleteConversation(username);
        this.st('DELETE FROM contacts WHERE username = ?').run(username);
      }),
    );
  }

  // ---- messages ---------------------------------------------------------------------------------------------------

  insertMessage(m: NewMessage): MessageRecord {
    if (!STATES.includes(m.state)) throw new StoreError('INVALID', `insertMessage: bad state ${String(m.state)}`);
    if (m.direction !== 'in' && m.direction !== 'out') throw new StoreError('INVALID', 'insertMessage: bad direction');
    return this.guard(`insertMessage(${m.contact}/${m.id})`, () => {
      const unread = m.unread ?? m.direction === 'in';
      const r = this.st(
        `INSERT INTO messages (id, conversation, contact, sender, direction, sender_fp, body, sent_at, received_at, state,
                               error, unread)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${MESSAGE_COLS}`,
      ).get(
        m.id,
        directConversation(m.contact),
        m.contact,
        m.direction === 'in' ? m.contact : null,
        m.direction,
        m.senderFingerprint,
        m.body,
        m.sentAt,
        m.receivedAt ?? null,
        m.state,
        m.error ?? null,
        unread ? 1 : 0,
      ) as Row;
      return messageFromRow(r);
    });
  }

  getMessage(id: string, where: { contact?: string; direction?: Direction } = {}): MessageRecord | null {
    return this.guard('getMessage', () => {
      const r = this.st(
        `SELECT ${MESSAGE_COLS} FROM messages WHERE id = @id AND (@contact IS NULL OR contact = @contact)
           AND (@direction IS NULL OR direction = @direction) ORDER BY seq DESC LIMIT 1`,
      ).get({ id, contact: where.contact ?? null, direction: where.direction ?? null }) as Row | undefined;
      return r ? messageFromRow(r) : null;
    });
  }

  getMessageBySeq(seq: number): MessageRecord | null {
    return this.guard('getMessageBySeq', () => {
      const r = this.st(`SELECT ${MESSAGE_COLS} FROM messages WHERE seq = ?`).get(seq) as Row | undefined;
      return r ? messageFromRow(r) : null;
    });
  }

  setMessageState(
    id: string,
    where: { contact: string; direction: Direction },
    state: MessageState,
    error: string | null = null,
  ): MessageRecord | null {
    if (!STATES.includes(state)) throw new StoreError('INVALID', `setMessageState: bad state ${String(state)}`);
    return this.guard('setMessageState', () => {
      const r = this.st(
        `UPDATE messages SET state = ?, error = ? WHERE contact = ? AND direction = ? AND id = ? RETURNING ${MESSAGE_COLS}`,
      ).get(state, error, where.contact, where.direction, id) as Row | undefined;
      return r ? messageFromRow(r) : null;
    });
  }

  deleteMessage(id: string, where: { contact?: string } = {}): number {
    return this.guard('deleteMessage', () =>
      this.transaction(() => {
        this.st(`DELETE FROM outbox WHERE kind = 'message' AND message_id = @id AND (@contact IS NULL OR contact = @contact)`).run({
          id,
          contact: where.contact ?? null,
        });
        return this.st('DELETE FROM messages WHERE id = @id AND (@contact IS NULL OR contact = @contact)').run({ id, contact: where.contact ?? null })
          .changes;
      }),
    );
  }

  deleteConversation(contact: string): void {
    this.guard('deleteConversation', () =>
      this.transaction(() => {
        this.st('DELETE FROM outbox WHERE contact = ?').run(contact);
        this.st('DELETE FROM pending_envelopes WHERE contact = ?').run(contact);
        this.st('DELETE FROM messages WHERE contact = ?').run(contact);
        this.st('UPDATE conversations SET total = 0, unread = 0, last_seq = NULL WHERE id = ?').run(directConversation(contact));
      }),
    );
  }

  loadPage(contact: string, o: { before?: number | null; limit?: number } = {}): MessagePage {
    const limit = o.limit ?? DEFAULT_PAGE;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
      throw new StoreError('INVALID', `loadPage: limit must be an integer in 1..${MAX_PAGE}`);
    }
    const before = o.before ?? null;
    if (before !== null && (!Number.isSafeInteger(before) || before < 0)) {
      throw new StoreError('INVALID', 'loadPage: before must be a message seq (non-negative integer) or null');
    }
    const id = directConversation(contact);
    return this.guard('loadPage', () => {
      const rows = (
        before === null
          ? this.st(`SELECT ${MESSAGE_COLS} FROM messages WHERE conversation = ? ORDER BY seq DESC LIMIT ?`).all(id, limit + 1)
          : this.st(`SELECT ${MESSAGE_COLS} FROM messages WHERE conversation = ? AND seq < ? ORDER BY seq DESC LIMIT ?`).all(
              id,
              before,
              limit + 1,
            )
      ) as Row[];
      const more = rows.length > limit;
      const page = (more ? rows.slice(0, limit) : rows).reverse().map((r) => toMessageView(messageFromRow(r)));
      const totalRow = this.st('SELECT total FROM conversations WHERE id = ?').get(id) as Row | undefined;
      return {
        messages: page,
        nextCursor: more && page.length > 0 ? page[0]!.seq : null,
        total: totalRow ? Number(totalRow.total) : 0,
      };
    });
  }

  markRead(contact: string): number {
    return this.guard('markRead', () =>
      this.st('UPDATE messages SET unread = 0 WHERE conversation = ? AND unread = 1').run(directConversation(contact)).changes,
    );
  }

  listConversations(o: { filter?: string } = {}): DirectConversationSummary[] {
    const filter = o.filter?.trim() ? o.filter.trim().toLowerCase() : null;
    return this.guard('listConversations', () => {
      const rows = this.st(
        // Only the columns the list shows: not c.* (each contact's stored identity, about 1 KB of JSON to decrypt
        // and parse per row, 2 000 rows at start-up, although the list shows none of it).
        `SELECT c.username, c.fingerprint, c.verified, c.blocked, c.request, c.pending_fingerprint, c.display_name,
                v.id AS v_id, v.total AS v_total, v.unread AS v_unread,
                m.id AS m_id, m.body AS m_body, m.sent_at AS m_sent_at, m.direction AS m_direction, m.state AS m_state
           FROM contacts c
           JOIN conversations v ON v.contact = c.username
           LEFT JOIN messages m ON m.seq = v.last_seq
          WHERE @f IS NULL OR instr(lower(c.username), @f) > 0
          ORDER BY v.last_seq IS NULL, v.last_seq DESC, c.added_at DESC, c.username`,
      ).all({ f: filter }) as Row[];
      return rows.map((r) => ({
        id: String(r.v_id) as ConversationId,
        kind: 'direct' as const,
        contact: contactViewFromRow(r),
        lastMessage: lastMessageFromRow(r),
        unread: Number(r.v_unread),
        draft: null, // filled in by the service (drafts.ts listDrafts)
      }));
    });
  }

  countMessages(contact?: string): number {
    return this.guard('countMessages', () => {
      if (contact === undefined) return Number((this.st('SELECT coalesce(sum(total), 0) AS n FROM conversations').get() as Row).n);
      const r = this.st('SELECT total FROM conversations WHERE id = ?').get(directConversation(contact)) as Row | undefined;
      return r ? Number(r.total) : 0;
    });
  }

  // ---- dedupe -----------------------------------------------------------------------------------------------------

  markSeen(senderFingerprint: string, id: string, at: number = Date.now()): boolean {
    return this.guard('markSeen', () =>
      this.st('INSERT OR IGNORE INTO seen (sender_fp, id, at) VALUES (?, ?, ?)').run(senderFingerprint, id, at).changes === 1,
    );
  }

  hasSeen(senderFingerprint: string, id: string): boolean {
    return this.guard('hasSeen', () => !!this.st('SELECT 1 FROM seen WHERE sender_fp = ? AND id = ?').get(senderFingerprint, id));
  }

  pruneSeen(before: number, limit?: number): number {
    return this.guard('pruneSeen', () =>
      limit === undefined
        ? this.st('DELETE FROM seen WHERE at < ?').run(before).changes
        : // The oldest `limit` marks, found through seen_at (v9): a batch costs its size, not the table's.
          this.st('DELETE FROM seen WHERE (sender_fp, id) IN (SELECT sender_fp, id FROM seen WHERE at < ? ORDER BY at LIMIT ?)').run(before, limit).changes,
    );
  }

  // ---- outbox and held envelopes (outbox-queries.ts) ---------------------------------------------------------------

  enqueueOutbox(item: NewOutboxItem): OutboxItem {
    return this.guard(`enqueueOutbox(${item.envelopeId})`, () =>
      this.transaction(() => {
        const c = contacts.mustContact(this.q, item.contact, 'enqueueOutbox');
        return outbox.enqueueOutbox(this.q, item, c.pendingFingerprint !== null);
      }),
    );
  }

  getOutbox(envelopeId: string): OutboxItem | null {
    return this.guard('getOutbox', () => outbox.getOutbox(this.q, envelopeId));
  }

  dueOutbox(now: number, limit = 100): OutboxItem[] {
    return this.guard('dueOutbox', () => outbox.dueOutbox(this.q, now, limit));
  }

  nextOutboxDue(): number | null {
    return this.guard('nextOutboxDue', () => outbox.nextOutboxDue(this.q));
  }

  listOutbox(contact?: string): OutboxItem[] {
    return this.guard('listOutbox', () => outbox.listOutbox(this.q, contact));
  }

  recordOutboxAttempt(envelopeId: string, o: { nextAttemptAt: number; error: string | null }): void {
    this.guard('recordOutboxAttempt', () => outbox.recordOutboxAttempt(this.q, envelopeId, o));
  }

  removeOutbox(envelopeId: string): boolean {
    return this.guard('removeOutbox', () => outbox.removeOutbox(this.q, envelopeId));
  }

  setOutboxHeld(contact: string, held: boolean): number {
    return this.guard('setOutboxHeld', () => outbox.setOutboxHeld(this.q, contact, held));
  }

  replaceOutboxEnvelope(envelopeId: string, envelope: Envelope): void {
    this.guard('replaceOutboxEnvelope', () => outbox.replaceOutboxEnvelope(this.q, envelopeId, envelope));
  }

  addPendingEnvelope(p: Omit<PendingEnvelope, 'seq'>): boolean {
    return this.guard('addPendingEnvelope', () => outbox.addPendingEnvelope(this.q, p));
  }

  countPendingEnvelopes(contact: string): number {
    return this.guard('countPendingEnvelopes', () => outbox.countPendingEnvelopes(this.q, contact));
  }

  listPendingEnvelopes(contact: string): PendingEnvelope[] {
    return this.guard('listPendingEnvelopes', () => outbox.listPendingEnvelopes(this.q, contact));
  }

  removePendingEnvelope(seq: number): void {
    this.guard('removePendingEnvelope', () => outbox.removePendingEnvelope(this.q, seq));
  }

  // ---- receive-path guards ----------------------------------------------------------------------------------------

  quarantineEnvelope(q: Omit<QuarantinedEnvelope, 'seq'>): void {
    this.guard('quarantineEnvelope', () => guards.quarantineEnvelope(this.q, q));
  }

  listQuarantined(limit = 100): QuarantinedEnvelope[] {
    return this.guard('listQuarantined', () => guards.listQuarantined(this.q, limit));
  }

  countQuarantined(): number {
    return this.guard('countQuarantined', () => guards.countQuarantined(this.q));
  }

  getFailureWindow(contact: string, windowStart: number): FailureWindow | null {
    return this.guard('getFailureWindow', () => guards.getFailureWindow(this.q, contact, windowStart));
  }

  setFailureWindow(contact: string, windowStart: number, w: FailureWindow): void {
    this.guard('setFailureWindow', () => guards.setFailureWindow(this.q, contact, windowStart, w));
  }

  query<T>(what: string, fn: (st: (sql: string) => BetterSqlite3.Statement) => T): T {
    return this.guard(what, () => fn(this.q));
  }

  // ---- settings ---------------------------------------------------------------------------------------------------

  getSetting<T = unknown>(key: string): T | undefined {
    return this.guard('getSetting', () => {
      const r = this.st('SELECT value FROM settings WHERE key = ?').get(key) as Row | undefined;
      return r ? parse<T>(r.value) : undefined;
    });
  }

  setSetting(key: string, value: unknown): void {
    if (value === undefined) throw new StoreError('INVALID', 'setSetting: value must be JSON (not undefined)');
    this.guard('setSetting', () => {
      this.st('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(
        key,
        json(value),
      );
    });
  }

  deleteSetting(key: string): void {
    this.guard('deleteSetting', () => {
      this.st('DELETE FROM settings WHERE key = ?').run(key);
    });
  }
}
