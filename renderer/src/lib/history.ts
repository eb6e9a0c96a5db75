/**
 * The loaded part of one conversation, kept as the pages it arrived in (no React, no DOM).
 *
 * Rows are addressed by their conversation position (0 = oldest message). Older pages are prepended as a new
 * chunk: nothing already loaded is copied or scanned, so loading page 500 of a 100 000-message history costs the
 * same as loading page 1. Lookups by position are O(1) for sequential access (the virtualizer walks every row
 * when it recomputes offsets) and O(log pages) otherwise. Every update returns a new History (React state); the
 * only mutable field is a lookup hint, which never changes a result.
 */
import type { MessageView } from '../../../electron/contract/api.js';

/** New messages are appended to the newest chunk until it holds this many, then a new chunk starts. */
const CHUNK = 256;

export interface History {
  /** Conversation position of the first loaded message; positions 0..base-1 are not loaded yet. */
  readonly base: number;
  /** Number of loaded messages (positions base..base+size-1). */
  readonly size: number;
  /** Loaded messages in chunks, oldest first; chunk k starts at conversation position starts[k]. */
  readonly chunks: readonly (readonly MessageView[])[];
  readonly starts: readonly number[];
  /** Cursor for the next older page; null at the start of history. */
  readonly cursor: number | null;
  /** Index of the chunk of the last lookup (a cache; not part of the value). */
  hint: number;
}

/** The first page loaded (newest messages, oldest first) of a conversation with `total` messages. */
export function fromPage(page: { messages: readonly MessageView[]; nextCursor: number | null; total: number }): History {
  const base = Math.max(0, page.total - page.messages.length);
  return page.messages.length
    ? { base, size: page.messages.length, chunks: [page.messages.slice()], starts: [base], cursor: page.nextCursor, hint: 0 }
    : { base, size: 0, chunks: [], starts: [], cursor: page.nextCursor, hint: 0 };
}

function chunkOf(h: History, pos: number): number {
  const { starts, chunks } = h;
  let k = h.hint;
  if (k < starts.length && pos >= starts[k]! && pos < starts[k]! + chunks[k]!.length) return k;
  k++;
  if (k < starts.length && pos >= starts[k]! && pos < starts[k]! + chunks[k]!.length) return (h.hint = k);
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= pos) lo = mid;
    else hi = mid - 1;
  }
  return (h.hint = lo);
}

/** The message at conversation position `pos`, or undefined when it is not loaded. */
export function messageAt(h: History, pos: number): MessageView | undefined {
  if (pos < h.base || pos >= h.base + h.size) return undefined;
  const k = chunkOf(h, pos);
  return h.chunks[k]![pos - h.starts[k]!];
}

export function newest(h: History): MessageView | undefined {
  const c = h.chunks.at(-1);
  return c?.[c.length - 1];
}

/**
 * Prepend an older page. Keyset pages never overlap; messages not older than the oldest loaded one (by seq) are
 * dropped all the same, so a misbehaving core cannot duplicate rows. O(page + pages).
 */
export function prependPage(h: History, page: { messages: readonly MessageView[]; nextCursor: number | null }): History {
  const oldest = h.chunks[0]?.[0];
  const older = oldest ? page.messages.filter((m) => m.seq < oldest.seq) : page.messages.slice();
  if (older.length === 0) return { ...h, cursor: page.nextCursor };
  const base = Math.max(0, h.base - older.length);
  return { base, size: h.size + older.length, chunks: [older, ...h.chunks], starts: [base, ...h.starts], cursor: page.nextCursor, hint: 0 };
}

/** Whether a message with this id (and seq) is loaded. Scans back from the newest only while seq allows a match. */
function hasNewer(h: History, m: MessageView): boolean {
  for (let k = h.chunks.length - 1; k >= 0; k--) {
    const c = h.chunks[k]!;
    for (let i = c.length - 1; i >= 0; i--) {
      const x = c[i]!;
      if (x.id === m.id) return true;
      if (x.seq < m.seq) return false;
    }
  }
  return false;
}

/** Append a new message (received or sent) unless it is loaded already. O(chunk). */
export function append(h: History, m: MessageView): History {
  if (hasNewer(h, m)) return h;
  const last = h.chunks.length - 1;
  if (last < 0 || h.chunks[last]!.length >= CHUNK) {
    return { ...h, size: h.size + 1, chunks: [...h.chunks, [m]], starts: [...h.starts, h.base + h.size], hint: h.chunks.length };
  }
  const chunks = h.chunks.slice();
  chunks[last] = [...h.chunks[last]!, m];
  return { ...h, size: h.size + 1, chunks };
}

/**
 * Replace the message with this id (newest first: state changes concern recent messages). Same History if absent.
 * `match` narrows it further (in a group, ids are per sender: the id and the sender name one message).
 */
export function update(h: History, id: string, fn: (m: MessageView) => MessageView, match?: (m: MessageView) => boolean): History {
  for (let k = h.chunks.length - 1; k >= 0; k--) {
    const c = h.chunks[k]!;
    for (let i = c.length - 1; i >= 0; i--) {
      if (c[i]!.id !== id || (match && !match(c[i]!))) continue;
      const chunk = c.slice();
      chunk[i] = fn(c[i]!);
      const chunks = h.chunks.slice();
      chunks[k] = chunk;
      return { ...h, chunks };
    }
  }
  return h;
}

/** Ids of the newest `n` messages matching `pred`, looking back over at most `within` loaded messages. */
export function newestMatching(h: History, n: number, pred: (m: MessageView) => boolean, within = 500): MessageView[] {
  const out: MessageView[] = [];
  let seen = 0;
  for (let k = h.chunks.length - 1; k >= 0 && out.length < n && seen < within; k--) {
    const c = h.chunks[k]!;
    for (let i = c.length - 1; i >= 0 && out.length < n && seen < within; i--, seen++) if (pred(c[i]!)) out.push(c[i]!);
  }
  return out;
}
