/**
 * Opening a conversation at a search result: the window of messages around it (loadMessagesAround) becomes the
 * timeline's loaded part at its real position, so the rows above it load page by page as usual and the rows
 * below it (hasNewer) are reached with "Jump to the latest messages".
 */
import type { MessagesAround } from '../../../../electron/contract/api.js';
import type { History } from '../../lib/history.js';

/** What the chat asks for when it opens at a message; `nonce` tells two jumps to the same message apart. */
export interface JumpTarget {
  id: string;
  /** The hit's seq: names the one message even where two group members' messages share an id. */
  seq?: number;
  nonce: number;
}

export function fromAround(a: MessagesAround): { history: History; anchorIndex: number } {
  const base = a.position;
  const history: History = a.messages.length
    ? { base, size: a.messages.length, chunks: [a.messages.slice()], starts: [base], cursor: a.nextCursor, hint: 0 }
    : { base, size: 0, chunks: [], starts: [], cursor: a.nextCursor, hint: 0 };
  const i = a.messages.findIndex((m) => m.seq === a.anchorSeq);
  return { history, anchorIndex: base + Math.max(0, i) };
}
