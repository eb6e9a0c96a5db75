/** Finding links in message text and deciding which may open (linkify.tsx shows them; the main process checks again). */

/** A URL candidate: a scheme we show as a link, up to white space or characters that end one in prose. */
const URL_RE = /\b(?:https?:\/\/|mailto:)[^\s<>"'`]+/gi;
/** Punctuation that usually ends the sentence rather than the address. */
const TRAILING_CHARS = '.,!?;:)]}>';

export type TextPart = { kind: 'text'; text: string } | { kind: 'link'; text: string };

/** Splits text into plain runs and link runs; concatenating every part's text gives back the input. */
export function splitLinks(text: string): TextPart[] {
  const parts: TextPart[] = [];
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    let url = m[0];
    // Drop sentence punctuation at the end, but keep a closing parenthesis that balances one in the address
    // (…/wiki/Foo_(bar)).
    while (url.length > 0 && TRAILING_CHARS.includes(url.at(-1)!)) {
      const count = (c: string) => url.split(c).length - 1;
      if (url.at(-1) === ')' && count('(') >= count(')')) break;
      url = url.slice(0, -1);
    }
    const start = m.index ?? 0;
    if (url.replace(/^(?:https?:\/\/|mailto:)/i, '').length === 0) continue;
    if (start > last) parts.push({ kind: 'text', text: text.slice(last, start) });
    parts.push({ kind: 'link', text: url });
    last = start + url.length;
  }
  if (last < text.length) parts.push({ kind: 'text', text: text.slice(last) });
  return parts;
}

/** The schemes a message link may open with (the main process allows the same set). */
export function isOpenableLink(url: string): boolean {
  try {
    const u = new URL(url);
    if (u.protocol === 'mailto:') return true;
    return (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password && u.hostname !== '';
  } catch {
    return false;
  }
}
