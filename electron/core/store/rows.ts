/**
 * Row mapping of the history store: SQLite rows ↔ records, records → the UI's views, SqliteError → StoreError.
 * No state; shared by the store implementation (sqlite-store.ts) and its opener (history.ts).
 */
import type { Envelope, PublicIdentity } from '../../../relay/protocol/index.js';
import {
  StoreError,
  type ContactRecord,
  type ContactView,
  type ConversationId,
  type Direction,
  type KeyChangeRecord,
  type MessageRecord,
  type MessageState,
  type MessageView,
  type OutboxItem,
  type PendingEnvelope,
} from './types.js';

export type Row = Record<string, unknown>;

export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 500;
export const STATES: readonly MessageState[] = ['sending', 'sent', 'delivered', 'failed', 'undecryptable'];

export function isSqliteError(e: unknown): e is Error & { code: string } {
  return e instanceof Error && e.name === 'SqliteError' && typeof (e as { code?: unknown }).code === 'string';
}

/** Maps a SqliteError to a StoreError; other errors pass through unchanged. */
export function toStoreError(e: unknown, what: string): unknown {
  if (!isSqliteError(e)) return e;
  const c = e.code;
  if (c === 'SQLITE_CONSTRAINT_UNIQUE' || c === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return new StoreError('EXISTS', `${what}: already exists`, { cause: e });
  }
  if (c === 'SQLITE_CONSTRAINT_FOREIGNKEY') return new StoreError('NOT_FOUND', `${what}: unknown contact`, { cause: e });
  if (c.startsWith('SQLITE_CONSTRAINT')) return new StoreError('INVALID', `${what}: ${e.message}`, { cause: e });
  if (c === 'SQLITE_NOTADB') {
    return new StoreError('WRONG_KEY', `${what}: the history database key does not match (or the file is damaged)`, { cause: e });
  }
  return new StoreError('IO', `${what}: ${e.message}`, { cause: e });
}

export const json = (v: unknown) => JSON.stringify(v);
export const parse = <T>(s: unknown): T => JSON.parse(String(s)) as T;
export const bool = (v: unknown) => v === 1 || v === 1n || v === true;

export function contactFromRow(r: Row): ContactRecord {
  return {
    username: String(r.username),
    identity: parse<PublicIdentity>(r.identity),
    fingerprint: String(r.fingerprint),
    verified: bool(r.verified),
    blocked: bool(r.blocked),
    request: bool(r.request),
    addedAt: Number(r.added_at),
    pendingIdentity: r.pending_identity == null ? null : parse<PublicIdentity>(r.pending_identity),
    pendingFingerprint: r.pending_fingerprint == null ? null : String(r.pending_fingerprint),
    rejectedFingerprint: r.rejected_fingerprint == null ? null : String(r.rejected_fingerprint),
    displayName: r.display_name == null ? null : String(r.display_name),
  };
}

export function messageFromRow(r: Row): MessageRecord {
  return {
    id: String(r.id),
    conversation: String(r.conversation) as ConversationId,
    contact: String(r.contact),
    sender: r.sender == null ? null : String(r.sender),
    direction: r.direction as Direction,
    body: r.body == null ? null : String(r.body),
    sentAt: Number(r.sent_at),
    receivedAt: r.received_at == null ? null : Number(r.received_at),
    state: r.state as MessageState,
    error: r.error == null ? null : String(r.error),
    seq: Number(r.seq),
    senderFingerprint: r.sender_fp == null ? null : String(r.sender_fp),
    unread: bool(r.unread),
  };
}

/**
 * A conversation list row's last message, from the `m_`-prefixed columns of a LEFT JOIN on messages (null when the
 * conversation has none yet). Direct and group rows share it; a group row adds the sender.
 */
export function lastMessageFromRow(r: Row): Pick<MessageView, 'id' | 'body' | 'sentAt' | 'direction' | 'state'> | null {
  if (r.m_id == null) return null;
  return {
    id: String(r.m_id),
    body: r.m_body == null ? null : String(r.m_body),
    sentAt: Number(r.m_sent_at),
    direction: r.m_direction as Direction,
    state: r.m_state as MessageState,
  };
}

export function keyChangeFromRow(r: Row): KeyChangeRecord {
  return {
    id: Number(r.id),
    username: String(r.username),
    at: Number(r.at),
    oldFingerprint: String(r.old_fingerprint),
    newFingerprint: String(r.new_fingerprint),
    newIdentity: parse<PublicIdentity>(r.new_identity),
    signedByOld: bool(r.signed_by_old),
    resolution: r.resolution as KeyChangeRecord['resolution'],
  };
}

export function outboxFromRow(r: Row): OutboxItem {
  return {
    envelopeId: String(r.envelope_id),
    contact: String(r.contact),
    kind: r.kind as OutboxItem['kind'],
    messageId: r.message_id == null ? null : String(r.message_id),
    envelope: parse<Envelope>(r.envelope),
    attempts: Number(r.attempts),
    nextAttemptAt: Number(r.next_attempt_at),
    held: bool(r.held),
    lastError: r.last_error == null ? null : String(r.last_error),
    createdAt: Number(r.created_at),
  };
}

export function pendingFromRow(r: Row): PendingEnvelope {
  return {
    seq: Number(r.seq),
    contact: String(r.contact),
    senderFingerprint: String(r.sender_fp),
    envelopeId: String(r.envelope_id),
    envelope: parse<unknown>(r.envelope),
    receivedAt: Number(r.received_at),
  };
}

export function toContactView(c: ContactRecord): ContactView {
  return {
    username: c.username,
    fingerprint: c.fingerprint,
    verified: c.verified,
    blocked: c.blocked,
    request: c.request,
    keyChangePending: c.pendingFingerprint !== null,
    displayName: c.displayName,
  };
}

/** A ContactView straight from the listed columns (no identity parsed): the conversation list's rows. */
export function contactViewFromRow(r: Row): ContactView {
  return {
    username: String(r.username),
    fingerprint: String(r.fingerprint),
    verified: bool(r.verified),
    blocked: bool(r.blocked),
    request: bool(r.request),
    keyChangePending: r.pending_fingerprint != null,
    displayName: r.display_name == null ? null : String(r.display_name),
  };
}

/** The UI's view of a message: exactly the MessageView fields (a MessageRecord has more, which must not leak). */
export function toMessageView(m: MessageView): MessageView {
  return {
    id: m.id,
    conversation: m.conversation,
    contact: m.contact,
    sender: m.sender,
    direction: m.direction,
    body: m.body,
    sentAt: m.sentAt,
    receivedAt: m.receivedAt,
    state: m.state,
    error: m.error,
    seq: m.seq,
    ...(m.attachments ? { attachments: m.attachments } : {}),
  };
}

export const MESSAGE_COLS = 'seq, id, conversation, contact, sender, direction, sender_fp, body, sent_at, received_at, state, error, unread';
