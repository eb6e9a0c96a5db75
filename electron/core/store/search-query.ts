/**
 * Turning what the user typed into safe FTS5 queries, and highlighting a body for a result. Pure functions.
 *
 * A query is split into terms; nothing the user typed reaches MATCH except as a double-quoted FTS5 string made only
 * of letters, digits, marks, CJK and emoji (quotes escaped anyway), so operators (AND OR NOT NEAR * ^ : - ( ) ")
 * are plain text. Two kinds of term:
 *  - word: letters/digits of scripts written with spaces. Matches a word of the message that starts with it, case
 *    and Latin diacritics folded (the unicode61 index, `"term"*`).
 *  - substring: Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar and emoji. Matches anywhere in the text (the
 *    trigram index for 3+ characters, then an exact check; shorter ones by scanning).
 * All terms must match (AND).
 */

export type TermKind = 'word' | 'substring';
export interface Term {
  kind: TermKind;
  text: string;
}

export const MAX_QUERY_CHARS = 256;
export const MAX_TERMS = 16;

// Script_Extensions, not Script: the long-vowel mark ー and the iteration marks are "Common" but belong to these.
const NO_SPACE_SCRIPT =
  /[\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}\p{scx=Thai}\p{scx=Lao}\p{scx=Khmer}\p{scx=Myanmar}]/u;
const WORD_CHAR = /[\p{L}\p{N}\p{M}]/u;
// Emoji pictographs plus the joiners, variation selectors and skin tones that build emoji sequences.
const EMOJI_CHAR = /[\p{Extended_Pictographic}\p{Emoji_Modifier}\u200d\ufe0f\u20e3]/u;

function classOf(ch: string): TermKind | null {
  if (NO_SPACE_SCRIPT.test(ch)) return 'substring';
  if (EMOJI_CHAR.test(ch)) return 'substring';
  if (WORD_CHAR.test(ch)) return 'word';
  return null;
}

/** The terms of a query (deduplicated, at most MAX_TERMS); [] when it has nothing searchable. */
export function parseQuery(query: string): Term[] {
  const terms: Term[] = [];
  const seen = new Set<string>();
  let run = '';
  let kind: TermKind | null = null;
  const flush = () => {
    // A run of joiners/selectors alone is not something to look for.
    const text = kind === 'substring' ? run : run.toLowerCase();
    if (kind && text && !/^[\u200d\ufe0f\u20e3\p{Emoji_Modifier}]+$/u.test(text) && !seen.has(`${kind}:${text}`)) {
      seen.add(`${kind}:${text}`);
      terms.push({ kind, text });
    }
    run = '';
    kind = null;
  };
  for (const ch of query.normalize('NFC').slice(0, MAX_QUERY_CHARS)) {
    const k = classOf(ch);
    if (k !== kind) flush();
    if (k) {
      kind = k;
      run += ch;
    }
  }
  flush();
  return terms.slice(0, MAX_TERMS);
}

/** An FTS5 string literal: double quotes around, inner quotes doubled. */
export function ftsString(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

/**
 * MATCH expression for the word index: every token of every word term as a prefix, ANDed; null when a term has no
 * token at all (nothing can match it). `tokenize` is the index's own tokenizer (fts-tokens.ts): the index is
 * detail=none (migration v17), which refuses phrases, so a word the tokenizer splits (a separating mark inside it)
 * is matched as its pieces, each anywhere in the message, instead of as a phrase.
 */
export function wordMatch(terms: readonly Term[], tokenize: (text: string) => string[]): string | null {
  const tokens = new Set<string>();
  for (const t of terms) {
    const pieces = tokenize(t.text);
    if (!pieces.length) return null;
    for (const p of pieces) tokens.add(p);
  }
  return [...tokens].map((x) => `${ftsString(x)}*`).join(' AND ');
}

/** Code points of a string (an emoji is one, not two UTF-16 units). */
const codePoints = (s: string): string[] => Array.from(s);

/** Substring terms long enough for the trigram index (3+ code points). */
export const trigramUsable = (t: Term): boolean => codePoints(t.text).length >= 3;

/**
 * MATCH expression for the trigram index: all trigrams of every long substring term (detail=none has no phrases,
 * so adjacency is checked afterwards with instr()).
 */
export function trigramMatch(terms: readonly Term[]): string {
  const grams = new Set<string>();
  for (const t of terms) {
    const cps = codePoints(t.text);
    for (let i = 0; i + 3 <= cps.length; i++) grams.add(cps.slice(i, i + 3).join(''));
  }
  return [...grams].map(ftsString).join(' AND ');
}

// ---- highlighting ------------------------------------------------------------------------------------------------

/** Lower case, Latin diacritics removed: what the word index compares. */
export function foldWord(s: string): string {
  // ASCII has nothing to decompose: skip normalize(), the costly part of highlighting a page of results.
  if (ASCII.test(s)) return s.toLowerCase();
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}
const ASCII = /^[\x00-\x7f]*$/;

export interface Range {
  start: number;
  end: number;
}

/** Where the terms occur in a body (UTF-16 offsets, sorted, non-overlapping). */
export function matchRanges(body: string, terms: readonly Term[]): Range[] {
  const ranges: Range[] = [];
  const words = terms.filter((t) => t.kind === 'word').map((t) => foldWord(t.text));
  if (words.length) {
    for (const m of body.matchAll(/[\p{L}\p{N}\p{M}]+/gu)) {
      const token = foldWord(m[0]);
      if (words.some((w) => token.startsWith(w))) ranges.push({ start: m.index, end: m.index + m[0].length });
    }
  }
  for (const t of terms) {
    if (t.kind !== 'substring') continue;
    for (let i = body.indexOf(t.text); i >= 0; i = body.indexOf(t.text, i + t.text.length)) {
      ranges.push({ start: i, end: i + t.text.length });
    }
  }
  ranges.sort((a, b) => a.start - b.start || b.end - a.end);
  const merged: Range[] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else merged.push({ ...r });
  }
  return merged;
}

export const SNIPPET_CHARS = 160;

/** Does index i split a surrogate pair? (never cut an emoji in half) */
const splitsPair = (s: string, i: number) => i > 0 && i < s.length && /[\udc00-\udfff]/.test(s[i]!) && /[\ud800-\udbff]/.test(s[i - 1]!);

/** A window of about SNIPPET_CHARS around the first match, with the ranges that fall inside it. */
export function makeSnippet(
  body: string,
  terms: readonly Term[],
): { text: string; ranges: Range[]; cutStart: boolean; cutEnd: boolean } {
  const all = matchRanges(body, terms);
  if (body.length <= SNIPPET_CHARS) return { text: body, ranges: all, cutStart: false, cutEnd: false };
  const first = all[0]?.start ?? 0;
  let start = Math.max(0, Math.min(first - Math.floor(SNIPPET_CHARS / 4), body.length - SNIPPET_CHARS));
  if (splitsPair(body, start)) start += 1;
  let end = Math.min(body.length, start + SNIPPET_CHARS);
  if (splitsPair(body, end)) end -= 1;
  const ranges = all
    .filter((r) => r.end > start && r.start < end)
    .map((r) => ({ start: Math.max(r.start, start) - start, end: Math.min(r.end, end) - start }));
  return { text: body.slice(start, end), ranges, cutStart: start > 0, cutEnd: end < body.length };
}
