/**
 * Drafts (migration v6): the unsent composer text of a conversation, in the encrypted database so it survives chat
 * switches and restarts. Functions over the store's cached statements (HistoryStore.query).
 */
import type { ConversationId } from '../../contract/api.js';
import type { Row } from './rows.js';
import { StoreError, type StoreQuery } from './types.js';

/** Same bound as a message's text: a draft is a message not yet sent. */
export const MAX_DRAFT_CHARS = 64 * 1024;

export interface Draft {
  body: string;
  updatedAt: number;
}

export function getDraft(st: StoreQuery, conversation: ConversationId): Draft | null {
  const r = st('SELECT body, updated_at FROM drafts WHERE conversation = ?').get(conversation) as Row | undefined;
  return r ? { body: String(r.body), updatedAt: Number(r.updated_at) } : null;
}

/** Saves the draft; an empty (or whitespace-only) body clears it. NOT_FOUND for an unknown conversation. */
export function saveDraft(st: StoreQuery, conversation: ConversationId, body: string, at: number = Date.now()): void {
  if (typeof body !== 'string' || body.length > MAX_DRAFT_CHARS) {
    throw new StoreError('INVALID', `saveDraft: a draft is text of at most ${MAX_DRAFT_CHARS} characters`);
  }
  if (body.trim() === '') {
    st('DELETE FROM drafts WHERE conversation = ?').run(conversation);
    return;
  }
  if (!st('SELECT 1 FROM conversations WHERE id = ?').get(conversation)) {
    throw new StoreError('NOT_FOUND', 'saveDraft: unknown conversation');
  }
  st(
    `INSERT INTO drafts (conversation, body, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (conversation) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`,
  ).run(conversation, body, at);
}

/** Every draft, by conversation (for the conversation list: one query, not one per row). */
export function listDrafts(st: StoreQuery): Map<ConversationId, string> {
  const rows = st('SELECT conversation, body FROM drafts').all() as Row[];
  return new Map(rows.map((r) => [String(r.conversation) as ConversationId, String(r.body)]));
}
