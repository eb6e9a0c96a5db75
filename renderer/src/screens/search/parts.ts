/** Pure helpers of the search panel (no React), so unit tests can load them. */
import type { SearchSnippet } from '../../../../electron/contract/api.js';

/** Which search a key event asks for (Ctrl/⌘+F: the open conversation, with Shift: all), or null. */
export function searchShortcut(e: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'shiftKey' | 'altKey'>): 'conversation' | 'all' | null {
  if (!(e.ctrlKey || e.metaKey) || e.altKey || e.key.toLowerCase() !== 'f') return null;
  return e.shiftKey ? 'all' : 'conversation';
}

/**
 * A snippet cut into plain and marked pieces, in order, covering the text exactly once. Ranges come from the core
 * sorted and non-overlapping; they are clamped anyway, so a bad one can neither throw nor repeat or drop text.
 */
export function snippetParts(snippet: SearchSnippet): Array<{ text: string; mark: boolean; at: number }> {
  const { text, ranges } = snippet;
  const parts: Array<{ text: string; mark: boolean; at: number }> = [];
  let at = 0;
  for (const r of ranges) {
    const start = Math.max(at, Math.min(r.start, text.length));
    const end = Math.max(start, Math.min(r.end, text.length));
    if (start > at) parts.push({ text: text.slice(at, start), mark: false, at });
    if (end > start) parts.push({ text: text.slice(start, end), mark: true, at: start });
    at = end;
  }
  if (at < text.length) parts.push({ text: text.slice(at), mark: false, at });
  return parts;
}
