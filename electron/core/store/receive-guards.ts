/**
 * The receive path's guard tables (migration 3): quarantined envelopes and per-contact failure windows. Functions
 * over the store's cached statements, so sqlite-store.ts only delegates to them.
 */
import type BetterSqlite3 from 'better-sqlite3-multiple-ciphers';
import { json, parse, type Row } from './rows.js';
import type { FailureWindow, QuarantinedEnvelope } from './types.js';

/** Quarantined envelopes kept: enough to diagnose, bounded against a relay that sends nothing else. */
export const QUARANTINE_KEEP = 1000;
/** Raw envelopes larger than this are kept without their bytes (the reason and header stay). */
export const QUARANTINE_MAX_ENVELOPE_CHARS = 16 * 1024;

type Statement = (sql: string) => BetterSqlite3.Statement;

export function quarantineEnvelope(st: Statement, q: Omit<QuarantinedEnvelope, 'seq'>): void {
  st('INSERT INTO quarantine (at, contact, sender_fp, envelope_id, reason, envelope) VALUES (?, ?, ?, ?, ?, ?)').run(
    q.at,
    q.contact,
    q.senderFingerprint,
    q.envelopeId,
    q.reason,
    keptEnvelope(q.envelope),
  );
  st('DELETE FROM quarantine WHERE seq <= (SELECT max(seq) FROM quarantine) - ?').run(QUARANTINE_KEEP);
}

function keptEnvelope(envelope: unknown): string | null {
  if (envelope === null || envelope === undefined) return null;
  const text = json(envelope);
  return typeof text === 'string' && text.length <= QUARANTINE_MAX_ENVELOPE_CHARS ? text : null;
}

export function listQuarantined(st: Statement, limit: number): QuarantinedEnvelope[] {
  return (st('SELECT * FROM quarantine ORDER BY seq DESC LIMIT ?').all(limit) as Row[]).map((r) => ({
    seq: Number(r.seq),
    at: Number(r.at),
    contact: r.contact == null ? null : String(r.contact),
    senderFingerprint: String(r.sender_fp),
    envelopeId: String(r.envelope_id),
    reason: String(r.reason),
    envelope: r.envelope == null ? null : parse<unknown>(r.envelope),
  }));
}

export function countQuarantined(st: Statement): number {
  return Number((st('SELECT count(*) AS n FROM quarantine').get() as Row).n);
}

export function getFailureWindow(st: Statement, contact: string, windowStart: number): FailureWindow | null {
  const r = st('SELECT * FROM failure_windows WHERE contact = ? AND window_start = ?').get(contact, windowStart) as Row | undefined;
  if (!r) return null;
  return { shown: Number(r.shown), collapsed: Number(r.collapsed), summaryId: r.summary_id == null ? null : String(r.summary_id) };
}

export function setFailureWindow(st: Statement, contact: string, windowStart: number, w: FailureWindow): void {
  st(
    `INSERT INTO failure_windows (contact, window_start, shown, collapsed, summary_id) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (contact, window_start) DO UPDATE SET shown = excluded.shown, collapsed = excluded.collapsed,
       summary_id = excluded.summary_id`,
  ).run(contact, windowStart, w.shown, w.collapsed, w.summaryId);
  // Older windows only matter while they are the current one.
  st('DELETE FROM failure_windows WHERE contact = ? AND window_start < ?').run(contact, windowStart);
}
