/** Pure formatting helpers for the UI (no DOM, no React): unit-tested in tests/unit/renderer-format.test.ts. */

const DAY = 86_400_000;

function startOfDay(t: number): number {
  const d = new Date(t);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

export function sameDay(a: number, b: number): boolean {
  return startOfDay(a) === startOfDay(b);
}

/** Clock time, 24 h: "14:05". */
export function clockTime(t: number): string {
  const d = new Date(t);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** The UI language's date locale: English dates day-first ("3 Mar 2026"), as the rest of the UI is 24 h. */
const LOCALES: Record<string, string> = { en: 'en-GB', de: 'de-DE' };
/**
 * One formatter per language and style, made once: constructing an Intl.DateTimeFormat resolves the locale each
 * time, and the conversation list formats a time for every row it renders.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();
const fmt = (lang: string, o: Intl.DateTimeFormatOptions): Intl.DateTimeFormat => {
  const key = `${lang}|${JSON.stringify(o)}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(LOCALES[lang] ?? lang, o);
    formatters.set(key, f);
  }
  return f;
};

/** Conversation-list time: today "14:05"; within the last 6 days the weekday "Tue"; older "3 Mar 2026". */
export function listTime(t: number, now: number = Date.now(), lang = 'en'): string {
  const today = startOfDay(now);
  const day = startOfDay(t);
  if (day === today) return clockTime(t);
  if (day > today - 6 * DAY && day < today) return fmt(lang, { weekday: 'short' }).format(t);
  return fmt(lang, { day: 'numeric', month: 'short', year: 'numeric' }).format(t);
}

/** Day separator label: "Today", "Yesterday" (words from the catalog), "Tuesday", or "3 March 2026". */
export function dayLabel(t: number, now: number = Date.now(), lang = 'en', words = { today: 'Today', yesterday: 'Yesterday' }): string {
  const today = startOfDay(now);
  const day = startOfDay(t);
  if (day === today) return words.today;
  if (day === startOfDay(today - 1)) return words.yesterday;
  if (day > today - 6 * DAY && day < today) return fmt(lang, { weekday: 'long' }).format(t);
  return fmt(lang, { day: 'numeric', month: 'long', year: 'numeric' }).format(t);
}

/** Initials for an avatar: "alice" → "AL", "bob.smith" → "BS", "x1" → "X1". */
export function initials(username: string): string {
  const parts = username.split(/[._-]+/).filter(Boolean);
  if (parts.length >= 2) return (parts[0]![0]! + parts[1]![0]!).toUpperCase();
  return username.slice(0, 2).toUpperCase();
}

/**
 * Avatar background derived from the username, so the colour stays with the person: a key change is told in words
 * (banner, safety number), never by a colour. Hue from an FNV-1a hash of the name; saturation and lightness fixed
 * so white initials keep at least 4.5:1 contrast on every hue.
 */
export function avatarColor(username: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < username.length; i++) h = Math.imul(h ^ username.charCodeAt(i), 0x01000193) >>> 0;
  const hue = h % 360;
  // Yellow-green hues are lighter at equal HSL lightness; darken them a little more.
  const light = hue >= 40 && hue <= 200 ? 28 : 36;
  return `hsl(${hue} 60% ${light}%)`;
}

/** A fingerprint as groups of 4 hex characters for reading aloud. */
export function fingerprintGroups(fp: string): string[] {
  return fp.match(/.{1,4}/g) ?? [];
}

/** Safety number (60 digits) as 12 groups of 5. */
export function safetyGroups(digits: string): string[] {
  return digits.replace(/\D/g, '').match(/.{1,5}/g) ?? [];
}

/** Mirrors relay/protocol/limits.ts USERNAME_RE (the renderer may not import the relay module). */
export const USERNAME_RE = /^[a-z0-9][a-z0-9_.-]{2,31}$/;

/** A problem as a catalog key under `username.` (and its values); the words live in the catalogs. */
export interface UsernameProblem {
  key: 'empty' | 'lowercase' | 'tooShort' | 'tooLong' | 'start' | 'notAllowed' | 'chars';
  values?: { char: string };
}

/** Live username feedback while typing; null when valid. */
export function usernameProblem(name: string): UsernameProblem | null {
  if (name.length === 0) return { key: 'empty' };
  if (/[A-Z]/.test(name)) return { key: 'lowercase' };
  if (name.length < 3) return { key: 'tooShort' };
  if (name.length > 32) return { key: 'tooLong' };
  if (!/^[a-z0-9]/.test(name)) return { key: 'start' };
  const bad = name.match(/[^a-z0-9_.-]/);
  if (bad) return { key: 'notAllowed', values: { char: bad[0] } };
  return USERNAME_RE.test(name) ? null : { key: 'chars' };
}
