/**
 * A search result's text with its matches highlighted. The core gives plain text and ranges (UTF-16 offsets), never
 * markup: the text is rendered as React text nodes and <mark> elements, so nothing in a message can become HTML.
 */
import type { ReactNode } from 'react';
import type { SearchSnippet } from '../../../../electron/contract/api.js';
import { snippetParts } from './parts.js';

export function Snippet({ snippet }: { snippet: SearchSnippet }): ReactNode {
  return (
    <span className="snippet">
      {snippet.cutStart && '…'}
      {snippetParts(snippet).map((p) => (p.mark ? <mark key={p.at}>{p.text}</mark> : p.text))}
      {snippet.cutEnd && '…'}
    </span>
  );
}
