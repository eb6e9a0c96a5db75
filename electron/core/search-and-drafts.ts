/**
 * The service's search, "open at message" and drafts calls: argument checks (the CLI and tests call the service
 * without the IPC schemas) and the store's query modules. Kept out of service.ts, which only wires.
 */
import type {
  ConversationId,
  ConversationSummary,
  MessagesAround,
  MessagesAroundRequest,
  SearchRequest,
  SearchResults,
} from '../contract/api.js';
import { parseConversationId } from '../contract/api.js';
import { CoreError } from './messenger/errors.js';
import { getDraft, listDrafts, saveDraft } from './store/drafts.js';
import { loadMessagesAround, searchMessages } from './store/search.js';
import type { HistoryStore } from './store/types.js';

function conversationOf(v: unknown): ConversationId {
  if (typeof v !== 'string' || !parseConversationId(v)) {
    throw new CoreError('INVALID', 'Invalid conversation: expected d:<username> or g:<32 hex characters>');
  }
  return v as ConversationId;
}

export function search(store: HistoryStore, req: SearchRequest): SearchResults {
  if (typeof req?.query !== 'string') throw new CoreError('INVALID', 'search: the query must be text');
  const conversation = req.conversation === undefined ? undefined : conversationOf(req.conversation);
  const hits = store.query('searchMessages', (st) =>
    searchMessages(st, { query: req.query, limit: req.limit, ...(conversation ? { conversation } : {}) }),
  );
  return { hits };
}

export function messagesAround(store: HistoryStore, req: MessagesAroundRequest): MessagesAround {
  const conversation = conversationOf(req?.conversation);
  return store.query('loadMessagesAround', (st) => loadMessagesAround(st, { ...req, conversation }));
}

export function storeDraft(store: HistoryStore, req: { conversation: ConversationId; text: string }): void {
  const conversation = conversationOf(req?.conversation);
  if (typeof req.text !== 'string') throw new CoreError('INVALID', 'saveDraft: the draft must be text');
  store.query('saveDraft', (st) => saveDraft(st, conversation, req.text));
}

export function readDraft(store: HistoryStore, req: { conversation: ConversationId }): { text: string | null } {
  const conversation = conversationOf(req?.conversation);
  return { text: store.query('getDraft', (st) => getDraft(st, conversation))?.body ?? null };
}

/** The conversation list with each conversation's draft. */
export function withDrafts(store: HistoryStore, list: ConversationSummary[]): ConversationSummary[] {
  const drafts = store.query('listDrafts', listDrafts);
  return list.map((c) => ({ ...c, draft: drafts.get(c.id) ?? null }));
}
