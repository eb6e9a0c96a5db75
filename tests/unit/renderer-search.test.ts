/**
 * The renderer's search helpers: the shortcut keys, placing a loadMessagesAround window in the timeline, and the
 * snippet cut into plain and marked pieces (rendered as text nodes and <mark>s, never HTML).
 */
import { describe, expect, it } from 'vitest';
import type { MessagesAround, MessageView } from '../../electron/contract/api.js';
import { messageAt } from '../../renderer/src/lib/history.js';
import { fromAround } from '../../renderer/src/screens/search/jump.js';
import { searchShortcut, snippetParts } from '../../renderer/src/screens/search/parts.js';

const key = (k: string, mods: { ctrl?: boolean; meta?: boolean; shift?: boolean; alt?: boolean } = {}) => ({
  key: k,
  ctrlKey: !!mods.ctrl,
  metaKey: !!mods.meta,
  shiftKey: !!mods.shift,
  altKey: !!mods.alt,
});

describe('search shortcuts', () => {
  it('Ctrl/⌘+F is the open conversation, with Shift every conversation; anything else is not a shortcut', () => {
    expect(searchShortcut(key('f', { ctrl: true }))).toBe('conversation');
    expect(searchShortcut(key('f', { meta: true }))).toBe('conversation');
    expect(searchShortcut(key('F', { ctrl: true, shift: true }))).toBe('all');
    expect(searchShortcut(key('f'))).toBeNull();
    expect(searchShortcut(key('g', { ctrl: true }))).toBeNull();
    expect(searchShortcut(key('f', { ctrl: true, alt: true }))).toBeNull();
  });
});

describe('fromAround', () => {
  const msg = (seq: number): MessageView => ({ id: `m${seq}`, seq }) as MessageView;
  it('puts the window at its position in the conversation and points at the anchor', () => {
    const a: MessagesAround = { messages: [10, 11, 12, 13].map(msg), anchorSeq: 12, position: 500, nextCursor: 10, hasNewer: true, total: 900 };
    const { history, anchorIndex } = fromAround(a);
    expect(anchorIndex).toBe(502);
    expect(messageAt(history, anchorIndex)?.id).toBe('m12');
    expect(messageAt(history, 499)).toBeUndefined(); // older rows load by cursor as usual
    expect(history.cursor).toBe(10);
    expect(history.base + history.size).toBe(504);
  });
});

describe('snippetParts', () => {
  const parts = (text: string, ranges: Array<{ start: number; end: number }>) =>
    snippetParts({ text, ranges, cutStart: false, cutEnd: false }).map((p) => (p.mark ? `[${p.text}]` : p.text)).join('|');
  it('cuts the text into plain and marked pieces (markup in a message stays text)', () => {
    expect(parts('Meet at the Café <b>now</b>', [{ start: 12, end: 16 }])).toBe('Meet at the |[Café]| <b>now</b>');
    expect(parts('我们去東京タワー', [{ start: 3, end: 5 }])).toBe('我们去|[東京]|タワー');
    expect(parts('no match', [])).toBe('no match');
  });
  it('a range past the end or overlapping the previous one cannot repeat or lose text', () => {
    expect(parts('abcdef', [{ start: 1, end: 3 }, { start: 2, end: 99 }])).toBe('a|[bc]|[def]');
  });
});
