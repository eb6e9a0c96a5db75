/**
 * History store types: the per-profile encrypted SQLite database (better-sqlite3-multiple-ciphers, SQLCipher
 * scheme, raw 32-byte key from the vault). The API is SYNCHRONOUS (better-sqlite3): call it from the main thread,
 * group writes with `transaction()`.
 *
 * Conversations are keyed by ConversationId (`d:<username>` for the direct conversation every contact has). Messages carry a global, monotonic `seq`
 * (INTEGER PRIMARY KEY AUTOINCREMENT, never reused) used as the keyset-pagination cursor.
 */
import type BetterSqlite3 from 'better-sqlite3-multiple-ciphers';
import type { PublicIdentity, Envelope } from '../../../relay/protocol/index.js';
import type { AttachmentStore } from './attachments.js';
import type {
  ContactView,
  ConversationId,
  ConversationSummary,
  DirectConversationSummary,
  Direction,
  KeyChangeView,
  MessagePage,
  MessageState,
  MessageView,
} from '../../contract/api.js';

import type { GroupStore } from './groups.js';

export type { ContactView, ConversationId, ConversationSummary, DirectConversationSummary, Direction, KeyChangeView, MessagePage, MessageState, MessageView };

/** The store's cached prepared statement for a SQL text: what the per-domain query modules run on. */
export type StoreQuery = (sql: string) => BetterSqlite3.Statement;

export type StoreErrorCode =
  /** The key does not open this database (wrong or missing key). The file is left untouched. */
  | 'WRONG_KEY'
  /** The file exists but is a plaintext SQLite database (refused: history must be encrypted). */
  | 'NOT_ENCRYPTED'
  /** The database schema is newer than this build understands. */
  | 'SCHEMA_TOO_NEW'
  /** A referenced row does not exist (e.g. unknown contact). */
  | 'NOT_FOUND'
  /** Unique constraint: the row already exists (e.g. addContact of a known username). */
  | 'EXISTS'
  /** Bad argument (invalid key format, bad state, limit out of range...). */
  | 'INVALID'
  /** Anything else from SQLite (disk full, I/O error, corruption). */
  | 'IO';

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }
}

export interface OpenStoreOptions {
  /** Database file path, normally `profile.paths.db`. Created (encrypted) when missing. */
  path: string;
  /** The vault's dbKey: 64 hex characters (raw 256-bit key). */
  key: string;
  /** Open read-only (no migrations). Default false. */
  readonly?: boolean;
  /** Start-up diagnostics: how long opening (with the key check) and the migrations check took. */
  timings?: (phase: 'database open' | 'migrations check', ms: number) => void;
}

/** A contact as stored. `toContactView()` turns it into the UI's ContactView. */
export interface ContactRecord {
  username: string;
  /** The pinned (trusted-on-first-use or accepted) public identity. */
  identity: PublicIdentity;
  fingerprint: string;
  verified: boolean;
  blocked: boolean;
  /** Message request: first contact from someone we did not add. */
  request: boolean;
  addedAt: number;
  /** A new identity served by the relay, waiting for accept/reject (sending held). */
  pendingIdentity: PublicIdentity | null;
  pendingFingerprint: string | null;
  /** Set when the user rejected a key change to this fingerprint (sending stays blocked); cleared on accept. */
  rejectedFingerprint: string | null;
  /** The display name the contact put in their latest message (payload `name`), or null. */
  displayName: string | null;
}

export interface NewContact {
  username: string;
  identity: PublicIdentity;
  fingerprint: string;
  /** Default false. */
  request?: boolean;
  /** Default Date.now(). */
  addedAt?: number;
}

export interface KeyChangeRecord extends KeyChangeView {
  id: number;
  username: string;
  /** The new identity (kept so it can be shown / re-accepted). */
  newIdentity: PublicIdentity;
}

/** A message as stored: the MessageView plus the fields the core needs. */
export interface MessageRecord extends MessageView {
  /** Fingerprint of the signing sender (incoming: the peer; outgoing: us). null if unknown (undecryptable). */
  senderFingerprint: string | null;
  unread: boolean;
}

export interface NewMessage {
  /** Envelope / message id (16 bytes b64url). Unique per (contact, direction). */
  id: string;
  contact: string;
  direction: Direction;
  senderFingerprint: string | null;
  body: string | null;
  sentAt: number;
  receivedAt?: number | null;
  state: MessageState;
  error?: string | null;
  /** Default: true for incoming, false for outgoing. */
  unread?: boolean;
}

export type OutboxKind = 'message' | 'receipt';

/** A sealed envelope waiting for the relay's acknowledgement. Survives restarts. */
export interface OutboxItem {
  /** Envelope id (for kind 'message' equal to the message id). */
  envelopeId: string;
  contact: string;
  kind: OutboxKind;
  /** The message this envelope carries (kind 'message'), else null. */
  messageId: string | null;
  envelope: Envelope;
  attempts: number;
  /** ms epoch; due when <= now. */
  nextAttemptAt: number;
  /** Held while the contact's key change is pending: never due. */
  held: boolean;
  lastError: string | null;
  createdAt: number;
}

export interface NewOutboxItem {
  envelopeId: string;
  contact: string;
  kind: OutboxKind;
  messageId?: string | null;
  envelope: Envelope;
  /** Default Date.now() (due immediately). */
  nextAttemptAt?: number;
  /** Default: true when the contact has a pending key change, else false. */
  held?: boolean;
}

/** An envelope signed by a contact's pending new key, kept (and acknowledged to the relay) until accept/reject. */
export interface PendingEnvelope {
  seq: number;
  contact: string;
  senderFingerprint: string;
  envelopeId: string;
  /** The raw envelope as received (validated by the caller). */
  envelope: unknown;
  receivedAt: number;
}

/** An incoming envelope whose storing failed: kept (bounded, newest first) with the reason, never retried. */
export interface QuarantinedEnvelope {
  seq: number;
  at: number;
  /** The contact it was attributed to, or null. */
  contact: string | null;
  senderFingerprint: string;
  envelopeId: string;
  reason: string;
  /** The raw envelope as received, or null. */
  envelope: unknown;
}

/** How many failure rows a contact got in one window, and the row that counts the rest. */
export interface FailureWindow {
  shown: number;
  collapsed: number;
  /** Id of the incoming message row that shows the collapsed count, once there is one. */
  summaryId: string | null;
}

/**
 * The history store. Every method is synchronous and throws StoreError (never a raw SqliteError).
 * Runtime: `openHistoryStore(o: OpenStoreOptions): HistoryStore` from electron/core/store/index.ts,
 * plus helpers `toContactView(c: ContactRecord): ContactView` and `toMessageView(m: MessageRecord): MessageView`.
 */
export interface HistoryStore {
  readonly path: string;
  /** Groups: state, changes, system lines, group messages, per-member delivery (groups.ts, schema v5). */
  readonly groups: GroupStore;
  /** PRAGMA user_version after migrations. */
  readonly schemaVersion: number;
  /** The attachments of messages (store/attachments.ts). */
  readonly attachments: AttachmentStore;

  /** Runs fn in one IMMEDIATE transaction (nested calls become savepoints). Rolls back if fn throws. */
  transaction<T>(fn: () => T): T;
  /** True while a transaction is open on the connection (false after SQLite rolled one back on an I/O error). */
  readonly inTransaction: boolean;
  /** Checkpoints the WAL and closes. Idempotent. */
  close(): void;

  // ---- contacts -------------------------------------------------------------------------------------------------
  getContact(username: string): ContactRecord | null;
  /** Contact whose pinned OR pending fingerprint is `fp`. */
  getContactByFingerprint(fp: string): ContactRecord | null;
  listContacts(): ContactRecord[];
  /** Throws 'EXISTS' if the username is known. */
  addContact(c: NewContact): ContactRecord;
  /** Throws 'NOT_FOUND' for an unknown username. */
  updateContact(username: string, patch: Partial<Pick<ContactRecord, 'verified' | 'blocked' | 'request' | 'displayName'>>): ContactRecord;
  /**
   * Records a key change: sets the pending identity, clears `verified`, holds the contact's outbox and appends a
   * key-change record with resolution 'pending' (replacing an earlier still-pending one). Returns that record.
   */
  recordKeyChange(
    username: string,
    change: { newIdentity: PublicIdentity; newFingerprint: string; signedByOld: boolean; at?: number },
  ): KeyChangeRecord;
  /**
   * Resolves the pending key change (throws 'NOT_FOUND' if none is pending) and marks its record resolved.
   * 'accepted': the pending identity becomes the pinned one, `rejectedFingerprint` is cleared and the outbox is
   *   released (held = 0); the caller re-seals those items (replaceOutboxEnvelope) and re-opens the pending
   *   envelopes (listPendingEnvelopes / removePendingEnvelope).
   * 'rejected': the pinned identity stays, the pending one is dropped, `rejectedFingerprint` records it, the outbox
   *   stays held and pending envelopes stay (still blocked).
   */
  resolveKeyChange(username: string, resolution: 'accepted' | 'rejected', at?: number): ContactRecord;
  listKeyChanges(username: string): KeyChangeRecord[];
  /** Deletes the contact and everything of it (messages, outbox, pending envelopes, key changes). */
  deleteContact(username: string): void;

  // ---- messages -------------------------------------------------------------------------------------------------
  /** Inserts a message; throws 'EXISTS' for a duplicate (contact, direction, id), 'NOT_FOUND' for an unknown contact. */
  insertMessage(m: NewMessage): MessageRecord;
  /** Finds a message by id (optionally within one contact/direction); newest first if ambiguous. */
  getMessage(id: string, where?: { contact?: string; direction?: Direction }): MessageRecord | null;
  getMessageBySeq(seq: number): MessageRecord | null;
  /** Sets state (+ error, cleared when omitted). Returns the updated record or null if no such message. */
  setMessageState(
    id: string,
    where: { contact: string; direction: Direction },
    state: MessageState,
    error?: string | null,
  ): MessageRecord | null;
  /** Deletes a message (and its outbox item). Returns the number of rows removed. */
  deleteMessage(id: string, where?: { contact?: string }): number;
  /** Deletes all messages, outbox items and pending envelopes of a conversation; keeps the contact. */
  deleteConversation(contact: string): void;
  /**
   * Keyset pagination: the `limit` (default 50, 1..500) latest messages with seq < before (or the latest when
   * before is null/undefined), returned oldest first. nextCursor = seq of the oldest returned message when older
   * ones exist, else null. total = messages in the conversation (maintained counter, O(1)).
   */
  loadPage(contact: string, o?: { before?: number | null; limit?: number }): MessagePage;
  /** Marks every message of the conversation read; returns how many changed. */
  markRead(contact: string): number;
  /**
   * One summary per contact (blocked included, the caller filters), most recent activity first; `filter` matches
   * a username substring (case-insensitive). Uses the conversations counters: O(contacts), not O(messages).
   */
  /** Direct conversations only (groups: group-summaries.ts). */
  listConversations(o?: { filter?: string }): DirectConversationSummary[];
  /** Number of messages (of one contact, or all). */
  countMessages(contact?: string): number;

  // ---- dedupe ---------------------------------------------------------------------------------------------------
  /** Marks (senderFp, id) seen. Returns true if it was new, false if already seen (→ duplicate, drop). */
  markSeen(senderFingerprint: string, id: string, at?: number): boolean;
  hasSeen(senderFingerprint: string, id: string): boolean;
  /**
   * Forgets dedupe marks older than `before` (ms epoch); only safe past the relay's retention. With `limit`, only the
   * oldest `limit` of them (a batch: seen-prune.ts deletes in batches off the start-up path). Returns how many.
   */
  pruneSeen(before: number, limit?: number): number;

  // ---- outbox ---------------------------------------------------------------------------------------------------
  enqueueOutbox(item: NewOutboxItem): OutboxItem;
  getOutbox(envelopeId: string): OutboxItem | null;
  /**
   * Items due (not held, nextAttemptAt <= now), oldest first; an item is not due while an earlier item to the same
   * contact waits for its retry (so a contact receives our messages in the order we wrote them).
   */
  dueOutbox(now: number, limit?: number): OutboxItem[];
  /** The earliest nextAttemptAt among non-held items, or null when nothing waits. */
  nextOutboxDue(): number | null;
  /** All items (of one contact), oldest first, held included. */
  listOutbox(contact?: string): OutboxItem[];
  /** After a failed send: attempts += 1, nextAttemptAt and lastError set. */
  recordOutboxAttempt(envelopeId: string, o: { nextAttemptAt: number; error: string | null }): void;
  /** After the relay's acknowledgement. Returns whether an item was removed. */
  removeOutbox(envelopeId: string): boolean;
  /** Holds / releases all items of a contact. Returns the number changed. */
  setOutboxHeld(contact: string, held: boolean): number;
  /** Re-sealed envelope (after a key change accept); resets attempts and makes it due now. */
  replaceOutboxEnvelope(envelopeId: string, envelope: Envelope): void;

  // ---- pending envelopes (key change) -------------------------------------------------------------------------
  /** Returns false if (senderFingerprint, envelopeId) is already pending. */
  addPendingEnvelope(p: Omit<PendingEnvelope, 'seq'>): boolean;
  listPendingEnvelopes(contact: string): PendingEnvelope[];
  countPendingEnvelopes(contact: string): number;
  removePendingEnvelope(seq: number): void;

  // ---- receive-path guards --------------------------------------------------------------------------------------
  /** Keeps an envelope whose storing failed; only the newest `QUARANTINE_KEEP` stay. */
  quarantineEnvelope(q: Omit<QuarantinedEnvelope, 'seq'>): void;
  /** Newest first. */
  listQuarantined(limit?: number): QuarantinedEnvelope[];
  countQuarantined(): number;
  getFailureWindow(contact: string, windowStart: number): FailureWindow | null;
  setFailureWindow(contact: string, windowStart: number, w: FailureWindow): void;

  // ---- per-domain query modules (search.ts, drafts.ts) ---------------------------------------------------------
  /**
   * Runs a query module's function on this connection's cached statements, with the store's error mapping
   * (StoreError, never a raw SqliteError) and the closed check. `what` names the operation in errors.
   */
  query<T>(what: string, fn: (st: StoreQuery) => T): T;

  // ---- message actions (migration 7) ----------------------------------------------------------------------------
  readonly actions: ActionQueries;

  // ---- settings -------------------------------------------------------------------------------------------------
  /** JSON value or undefined. */
  getSetting<T = unknown>(key: string): T | undefined;
  setSetting(key: string, value: unknown): void;
  deleteSetting(key: string): void;
}

export interface ReplyRecord {
  id: string;
  author: string;
  excerpt: string;
}

export interface MessageVersion {
  ts: number;
  body: string;
}

export interface ReactionRecord {
  reactor: string;
  emoji: string;
  ts: number;
}

export interface ReceiptRecord {
  member: string;
  deliveredAt: number | null;
  readAt: number | null;
}

/** What the action tables add to a message row. */
export interface MessageActions {
  reply: ReplyRecord | null;
  editedAt: number | null;
  deletedAt: number | null;
  /** Oldest first, the original included; empty when never edited. */
  versions: MessageVersion[];
  /** Current reactions (removed ones left out), oldest first. */
  reactions: ReactionRecord[];
  receipts: ReceiptRecord[];
}

export interface PendingAction {
  seq: number;
  conversation: ConversationId;
  actor: string;
  targetId: string;
  targetAuthor: string;
  envelopeId: string;
  /** The action payload as decoded (validated again when applied). */
  payload: unknown;
  receivedAt: number;
}

/** The message-action tables (migration 7; electron/core/store/actions.ts). */
export interface ActionQueries {
  findMessage(conversation: ConversationId, direction: Direction, sender: string | null, id: string): MessageRecord | null;
  findById(id: string): MessageRecord[];
  setReply(seq: number, reply: ReplyRecord): void;
  addVersion(m: Pick<MessageRecord, 'seq' | 'sentAt' | 'body'>, ts: number, envelopeId: string, body: string): string;
  markDeleted(seq: number, ts: number): void;
  setReaction(seq: number, reactor: string, emoji: string | null, ts: number, envelopeId: string): boolean;
  recordReceipt(seq: number, member: string, kind: 'delivered' | 'read', at: number): void;
  unreadIncoming(conversation: ConversationId): Array<{ id: string; sender: string }>;
  detailsOf(m: Pick<MessageRecord, 'seq'>): MessageActions;
  addPending(p: Omit<PendingAction, 'seq'>): void;
  takePending(conversation: ConversationId, targetId: string, targetAuthor: string): PendingAction[];
  countPending(conversation?: ConversationId): number;
  clearPending(conversation: ConversationId): void;
}
