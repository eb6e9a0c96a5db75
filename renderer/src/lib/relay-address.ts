/**
 * Relay address check in the forms, before the address is sent anywhere. It mirrors the core's parseRelayUrl
 * (electron/core/transport/relay-url.ts) so a person sees what is wrong next to the field, in words, instead of the
 * core's refusal. The core still checks again: this is for the person, not for security.
 */
import type { ErrorCode } from './failure.js';

export type AddressCheck = { url: string } | { error: ErrorCode };

function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost') || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** Adds https:// when no scheme is typed; returns the normalized origin or the problem's code. */
export function normalizeRelayUrl(input: string, o: { allowInsecure?: boolean } = {}): AddressCheck {
  const s = input.trim();
  if (!s) return { error: 'ADDRESS_EMPTY' };
  if (s.length > 2048) return { error: 'ADDRESS_SYNTAX' };
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(s) ? s : `https://${s}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    return { error: 'ADDRESS_SYNTAX' };
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(u.protocol)) return { error: 'ADDRESS_SCHEME' };
  if (!u.hostname) return { error: 'ADDRESS_SYNTAX' };
  if (u.username || u.password) return { error: 'ADDRESS_CREDENTIALS' };
  const rest = withScheme.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '');
  if (rest !== '' && rest !== '/') return { error: 'ADDRESS_PATH' };
  const tls = u.protocol === 'https:' || u.protocol === 'wss:';
  if (!tls && !isLoopback(u.hostname) && o.allowInsecure !== true) return { error: 'INSECURE_RELAY' };
  u.protocol = tls ? 'https:' : 'http:';
  return { url: u.origin };
}
