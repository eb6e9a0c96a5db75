/**
 * A search result's text with its matches highlighted. The core gives plain text and ranges (UTF-16 offsets), never
 * markup: the text is rendered as React text nodes and <mark> elements, so nothing in a message can become HTML.
 */
import type { ReactNode } from 'react';
import type { SearchSnippet } from '../../../../electron/contract/api.js';

export function Snippet({ snippet }: { snippet: SearchSnippet }): ReactNode {
  const { text, ranges, cutStart, cutEnd } = snippet;
  const parts: ReactNode[] = [];
  let at = 0;
  for (const r of ranges) {
    // Ranges come from the core sorted and non-overlapping; clamp anyway so a bad one cannot throw or repeat text.
    const start = Math.max(at, Math.min(r.start, text.length));
    const end = Math.max(start, Math.min(r.end, text.length));
    if (start > at) parts.push(text.slice(at, start));
    if (end > start) parts.push(<mark key={start}>{text.slice(start, end)}</mark>);
    at = end;
  }
  if (at < text.length) parts.push(text.slice(at));
  return (
    <span className="snippet">
      {cutStart && '…'}
      {parts}
      {cutEnd && '…'}
    </span>
  );
}
