/**
 * The outbox (sealed envelopes waiting for the relay's acknowledgement) and the envelopes held during a key change:
 * functions over the store's cached statements, so sqlite-store.ts only delegates to them (same pattern as
 * receive-guards.ts). Callers wrap them in the store's guard and transactions.
 */
import type BetterSqlite3 from 'better-sqlite3-multiple-ciphers';
import type { Envelope } from '../../../relay/protocol/index.js';
import { json, outboxFromRow, pendingFromRow, type Row } from './rows.js';
import { StoreError, type NewOutboxItem, type OutboxItem, type PendingEnvelope } from './types.js';

type Statement = (sql: string) => BetterSqlite3.Statement;

/** `held` defaults to whether the contact has a key change pending (the caller looks the contact up). */
export function enqueueOutbox(st: Statement, item: NewOutboxItem, contactHasPendingKey: boolean): OutboxItem {
  const now = Date.now();
  const held = item.held ?? contactHasPendingKey;
  const r = st(
    `INSERT INTO outbox (envelope_id, contact, kind, message_id, envelope, next_attempt_at, held, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
  ).get(item.envelopeId, item.contact, item.kind, item.messageId ?? null, json(item.envelope), item.nextAttemptAt ?? now, held ? 1 : 0, now) as Row;
  return outboxFromRow(r);
}

export function getOutbox(st: Statement, envelopeId: string): OutboxItem | null {
  const r = st('SELECT * FROM outbox WHERE envelope_id = ?').get(envelopeId) as Row | undefined;
  return r ? outboxFromRow(r) : null;
}

export function dueOutbox(st: Statement, now: number, limit: number): OutboxItem[] {
  // An item waits while an earlier one to the same contact waits for its retry: nothing overtakes it.
  return (
    st(
      `SELECT * FROM outbox o WHERE held = 0 AND next_attempt_at <= @now
         AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.contact = o.contact AND p.held = 0 AND p.ord < o.ord
                           AND p.next_attempt_at > @now)
       ORDER BY ord LIMIT @limit`,
    ).all({ now, limit }) as Row[]
  ).map(outboxFromRow);
}

export function nextOutboxDue(st: Statement): number | null {
  const r = st('SELECT min(next_attempt_at) AS t FROM outbox WHERE held = 0').get() as Row;
  return r.t == null ? null : Number(r.t);
}

export function listOutbox(st: Statement, contact?: string): OutboxItem[] {
  return (st('SELECT * FROM outbox WHERE @c IS NULL OR contact = @c ORDER BY ord').all({ c: contact ?? null }) as Row[]).map(outboxFromRow);
}

export function recordOutboxAttempt(st: Statement, envelopeId: string, o: { nextAttemptAt: number; error: string | null }): void {
  st('UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE envelope_id = ?').run(o.nextAttemptAt, o.error, envelopeId);
}

export function removeOutbox(st: Statement, envelopeId: string): boolean {
  return st('DELETE FROM outbox WHERE envelope_id = ?').run(envelopeId).changes > 0;
}

export function setOutboxHeld(st: Statement, contact: string, held: boolean): number {
  return st('UPDATE outbox SET held = ? WHERE contact = ? AND held <> ?').run(held ? 1 : 0, contact, held ? 1 : 0).changes;
}

export function replaceOutboxEnvelope(st: Statement, envelopeId: string, envelope: Envelope): void {
  const n = st('UPDATE outbox SET envelope = ?, attempts = 0, next_attempt_at = ?, last_error = NULL WHERE envelope_id = ?').run(
    json(envelope),
    Date.now(),
    envelopeId,
  ).changes;
  if (n === 0) throw new StoreError('NOT_FOUND', `replaceOutboxEnvelope: no outbox item ${envelopeId}`);
}

export function addPendingEnvelope(st: Statement, p: Omit<PendingEnvelope, 'seq'>): boolean {
  return (
    st(
      `INSERT OR IGNORE INTO pending_envelopes (contact, sender_fp, envelope_id, envelope, received_at) VALUES (?, ?, ?, ?, ?)`,
    ).run(p.contact, p.senderFingerprint, p.envelopeId, json(p.envelope), p.receivedAt).changes === 1
  );
}

export function countPendingEnvelopes(st: Statement, contact: string): number {
  return Number((st('SELECT count(*) AS n FROM pending_envelopes WHERE contact = ?').get(contact) as Row).n);
}

export function listPendingEnvelopes(st: Statement, contact: string): PendingEnvelope[] {
  return (st('SELECT * FROM pending_envelopes WHERE contact = ? ORDER BY seq').all(contact) as Row[]).map(pendingFromRow);
}

export function removePendingEnvelope(st: Statement, seq: number): void {
  st('DELETE FROM pending_envelopes WHERE seq = ?').run(seq);
}
