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

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const WEEKDAYS_SHORT = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Conversation-list time: today "14:05"; within the last 6 days the weekday "Tue"; older "3 Mar 2026". */
export function listTime(t: number, now: number = Date.now()): string {
  const today = startOfDay(now);
  const day = startOfDay(t);
  if (day === today) return clockTime(t);
  if (day > today - 6 * DAY && day < today) return WEEKDAYS_SHORT[new Date(t).getDay()]!;
  const d = new Date(t);
  return `${d.getDate()} ${MONTHS[d.getMonth()]} ${d.getFullYear()}`;
}

/** Day separator label: "Today", "Yesterday", "Tuesday", or "3 March 2026". */
export function dayLabel(t: number, now: number = Date.now()): string {
  const today = startOfDay(now);
  const day = startOfDay(t);
  if (day === today) return 'Today';
  if (day === startOfDay(today - 1)) return 'Yesterday';
  if (day > today - 6 * DAY && day < today) return WEEKDAYS[new Date(t).getDay()]!;
  const d = new Date(t);
  const month = new Date(2000, d.getMonth(), 1).toLocaleString('en', { month: 'long' });
  return `${d.getDate()} ${month} ${d.getFullYear()}`;
}

/** Initials for an avatar: "alice" → "AL", "bob.smith" → "BS", "x1" → "X1". */
export function initials(username: string): string {
  const parts = username.split(/[._-]+/).filter(Boolean);
  if (parts.length >= 2) return (parts[0]![0]! + parts[1]![0]!).toUpperCase();
  return username.slice(0, 2).toUpperCase();
}

/**
 * Avatar background derived from the identity fingerprint, so a changed key looks different. Hue from the first
 * bytes; saturation and lightness fixed so white initials keep at least 4.5:1 contrast on every hue.
 */
export function avatarColor(fingerprint: string): string {
  const n = Number.parseInt(fingerprint.slice(0, 6), 16);
  const hue = Number.isFinite(n) ? n % 360 : 210;
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

/** Live username feedback while typing; null when valid. */
export function usernameProblem(name: string): string | null {
  if (name.length === 0) return 'Choose a name others will use to find you.';
  if (/[A-Z]/.test(name)) return 'Use lower-case letters only.';
  if (name.length < 3) return 'At least 3 characters.';
  if (name.length > 32) return 'At most 32 characters.';
  if (!/^[a-z0-9]/.test(name)) return 'Start with a letter or a digit.';
  const bad = name.match(/[^a-z0-9_.-]/);
  if (bad) return `“${bad[0]}” is not allowed: use a–z, 0–9, _ . -`;
  return USERNAME_RE.test(name) ? null : 'Use a–z, 0–9, _ . -';
}
