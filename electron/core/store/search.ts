/**
 * Full-text search over the history (migration v6: messages_fts + messages_trigram, kept by triggers) and opening a
 * conversation at a message. Functions over the store's cached statements (HistoryStore.query), so sqlite-store.ts
 * stays out of it. Query planning and highlighting: search-query.ts.
 */
import type { ConversationId, Direction } from '../../contract/api.js';
import type { MessagesAround, MessagesAroundRequest, SearchHit, SearchRequest } from '../../contract/api.js';
import { MESSAGE_COLS, messageFromRow, toMessageView, type Row } from './rows.js';
import { ftsString, makeSnippet, parseQuery, trigramMatch, trigramUsable, wordMatch, MAX_QUERY_CHARS } from './search-query.js';
import { StoreError, type StoreQuery } from './types.js';
import { wordTokens } from './fts-tokens.js';

export const DEFAULT_SEARCH_LIMIT = 50;
export const MAX_SEARCH_LIMIT = 200;
export const DEFAULT_CONTEXT = 25;
export const MAX_CONTEXT = 200;
/**
 * A short piece that starts more distinct trigrams than this is common: scanning newest first finds a page of
 * results sooner than merging that many trigram lists.
 */
export const MAX_SHORT_TRIGRAMS = 256;
/** Above every character in SQLite's BINARY (UTF-8 byte) order: the end of a term range. */
const TOP = '\u{10FFFF}';

/**
 * Every message that can contain a 1–2 character piece (migration v14), as SQL over bound parameters, or null when
 * the piece is too common to be worth it. An occurrence is either followed by enough characters to start a
 * trigram (the trigram vocabulary lists those trigrams, found by term range) or within the last two characters.
 */
function shortCandidates(st: StoreQuery, piece: string): { sql: string; params: unknown[] } | null {
  const grams = (
    st(`SELECT term FROM messages_trigram_vocab WHERE term >= ? AND term <= ? LIMIT ${MAX_SHORT_TRIGRAMS + 1}`).all(piece, piece + TOP) as Row[]
  ).map((r) => String(r.term));
  if (grams.length > MAX_SHORT_TRIGRAMS) return null;
  const parts: string[] = [];
  const params: unknown[] = [];
  if (grams.length) {
    parts.push('SELECT rowid AS seq FROM messages_trigram WHERE messages_trigram MATCH ?');
    params.push(grams.map(ftsString).join(' OR '));
  }
  if (Array.from(piece).length === 2) {
    parts.push('SELECT seq FROM messages WHERE substr(body, -2) = ?');
    params.push(piece);
  } else {
    // One character: second to last (or the whole body), or last.
    parts.push('SELECT seq FROM messages WHERE substr(body, -2) >= ? AND substr(body, -2) <= ?', 'SELECT seq FROM messages WHERE substr(body, -1) = ?');
    params.push(piece, piece + TOP, piece);
  }
  return { sql: parts.join(' UNION '), params };
}

function checkLimit(what: string, v: number | undefined, dflt: number, max: number): number {
  const n = v ?? dflt;
  if (!Number.isInteger(n) || n < 1 || n > max) throw new StoreError('INVALID', `${what} must be an integer in 1..${max}`);
  return n;
}

/**
 * The messages matching every term of the query, newest first. The SQL has one shape per kind of query (which
 * index drives), and every user-supplied value is a bound parameter.
 */
export function searchMessages(st: StoreQuery, req: SearchRequest): SearchHit[] {
  if (typeof req.query !== 'string' || req.query.length > MAX_QUERY_CHARS) {
    throw new StoreError('INVALID', `search: the query must be a string of at most ${MAX_QUERY_CHARS} characters`);
  }
  const limit = checkLimit('search: limit', req.limit, DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT);
  const terms = parseQuery(req.query);
  if (terms.length === 0) return [];
  const words = terms.filter((t) => t.kind === 'word');
  const substrings = terms.filter((t) => t.kind === 'substring');
  const indexed = substrings.filter(trigramUsable);

  const params: unknown[] = [];
  const where: string[] = [];
  let from: string;
  let order: string;
  let candidates = false;
  if (words.length) {
    // The word index drives, newest first: FTS5 walks each prefix's own index (v17: prefixes of 1–12 characters)
    // from the newest rowid backwards and stops at the limit, instead of merging every match first.
    const match = wordMatch(words, wordTokens);
    if (match === null) return [];
    from = 'messages_fts f JOIN messages m ON m.seq = f.rowid';
    order = 'f.rowid DESC';
    where.push('messages_fts MATCH ?');
    params.push(match);
    if (indexed.length) {
      where.push('m.seq IN (SELECT rowid FROM messages_trigram WHERE messages_trigram MATCH ?)');
      params.push(trigramMatch(indexed));
    }
  } else if (indexed.length) {
    from = 'messages_trigram g JOIN messages m ON m.seq = g.rowid';
    order = 'g.rowid DESC';
    where.push('messages_trigram MATCH ?');
    params.push(trigramMatch(indexed));
  } else {
    // Only 1–2 character CJK/emoji terms, too short for trigrams: the candidates of the first one (v14's indexes),
    // checked with instr below; a common piece scans instead (newest first, stops at the limit).
    // As `m.seq IN (...)`: SQLite walks that list newest first (no sort of every candidate) and stops at the limit.
    const c = shortCandidates(st, substrings[0]!.text);
    from = 'messages m';
    order = 'm.seq DESC';
    if (c) {
      candidates = true;
      where.push(`m.seq IN (${c.sql})`);
      params.push(...c.params);
    } else {
      where.push('m.body IS NOT NULL');
    }
  }
  // The exact substring: trigrams say "contains these three-letter pieces", instr says "in this order, adjacent".
  for (const t of substrings) {
    where.push('instr(m.body, ?) > 0');
    params.push(t.text);
  }
  if (req.conversation !== undefined) {
    // Unary + keeps SQLite from driving the query by the conversation index and running one FTS query per message
    // (measured: minutes on 100 000 messages); the index scan stays first, the conversation a filter.
    where.push(from.startsWith('messages m') && !candidates ? 'm.conversation = ?' : '+m.conversation = ?');
    params.push(req.conversation);
  }
  const sql = `SELECT m.seq, m.id, m.conversation, m.sender, m.direction, m.sent_at, m.body FROM ${from}
                WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT ?`;
  const rows = st(sql).all(...params, limit) as Row[];
  return rows.map((r) => ({
    conversation: String(r.conversation) as ConversationId,
    id: String(r.id),
    seq: Number(r.seq),
    sender: r.sender == null ? null : String(r.sender),
    direction: r.direction as Direction,
    sentAt: Number(r.sent_at),
    snippet: makeSnippet(String(r.body), terms),
  }));
}

/** The message (by seq or id) with up to `context` neighbours on each side; NOT_FOUND when it is not there. */
export function loadMessagesAround(st: StoreQuery, req: MessagesAroundRequest): MessagesAround {
  const context = checkLimit('loadMessagesAround: context', req.context, DEFAULT_CONTEXT, MAX_CONTEXT);
  if ((req.seq === undefined) === (req.id === undefined)) {
    throw new StoreError('INVALID', 'loadMessagesAround: give the message seq or its id (one of the two)');
  }
  if (req.seq !== undefined && (!Number.isSafeInteger(req.seq) || req.seq < 0)) {
    throw new StoreError('INVALID', 'loadMessagesAround: seq must be a non-negative integer');
  }
  const anchor = (
    req.seq !== undefined
      ? st('SELECT seq FROM messages WHERE conversation = ? AND seq = ?').get(req.conversation, req.seq)
      : st('SELECT seq FROM messages WHERE conversation = ? AND id = ? ORDER BY seq DESC LIMIT 1').get(req.conversation, req.id)
  ) as Row | undefined;
  if (!anchor) throw new StoreError('NOT_FOUND', 'loadMessagesAround: no such message in this conversation');
  const anchorSeq = Number(anchor.seq);
  const older = st(
    `SELECT ${MESSAGE_COLS} FROM messages WHERE conversation = ? AND seq < ? ORDER BY seq DESC LIMIT ?`,
  ).all(req.conversation, anchorSeq, context + 1) as Row[];
  const newer = st(
    `SELECT ${MESSAGE_COLS} FROM messages WHERE conversation = ? AND seq >= ? ORDER BY seq ASC LIMIT ?`,
  ).all(req.conversation, anchorSeq, context + 2) as Row[];
  const moreOlder = older.length > context;
  const hasNewer = newer.length > context + 1;
  const rows = [...(moreOlder ? older.slice(0, context) : older).reverse(), ...(hasNewer ? newer.slice(0, context + 1) : newer)];
  // Our own group messages have no single contact: '' as the group's page loads them (store/groups.ts), not "null".
  const messages = rows.map((r) => toMessageView({ ...messageFromRow(r), contact: r.contact == null ? '' : String(r.contact) }));
  const total = st('SELECT total FROM conversations WHERE id = ?').get(req.conversation) as Row | undefined;
  // Counted on the (conversation, seq) index: what the app needs to place this window in the whole timeline.
  const firstSeq = rows.length ? Number(rows[0]!.seq) : anchorSeq;
  const before = st('SELECT count(*) AS n FROM messages WHERE conversation = ? AND seq < ?').get(req.conversation, firstSeq) as Row;
  return {
    messages,
    anchorSeq,
    position: Number(before.n),
    nextCursor: moreOlder && messages.length ? messages[0]!.seq : null,
    hasNewer,
    total: total ? Number(total.total) : 0,
  };
}
