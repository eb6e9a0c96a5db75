/**
 * The one place that decides whether a relay address is acceptable. Every entry point (CLI --relay, the browser
 * bridge, Settings' setRelay, onboarding, identity import, testRelay, the address saved in profile.json and the IPC
 * schemas) calls parseRelayUrl, so a rule added here holds everywhere.
 *
 * Rules: scheme http, https, ws or wss; a host; no user:password, path, query or fragment. A plain (non-TLS)
 * address whose host is not loopback is refused unless the caller says the user explicitly chose an insecure relay:
 * without TLS there is no certificate to pin, so nothing authenticates the relay and anyone on the path can pose as
 * it. The result is normalized to an http(s) origin (ws→http, wss→https): socket.io treats them the same, and one
 * spelling means a saved address compares equal to the same address typed differently.
 */

export type RelayUrlProblem = 'syntax' | 'scheme' | 'host' | 'credentials' | 'path' | 'insecure';

export class RelayUrlError extends Error {
  /** Stable code (crosses IPC like CoreError's): the address is not acceptable. */
  readonly code = 'INVALID';
  constructor(
    readonly problem: RelayUrlProblem,
    message: string,
  ) {
    super(message);
    this.name = 'RelayUrlError';
  }
}

export interface RelayUrl {
  /** Normalized origin, e.g. https://192.168.1.20:7447 */
  url: string;
  /** Whether the connection uses TLS (then the relay certificate is pinned). */
  tls: boolean;
  /** Whether the host is this machine (127.0.0.0/8, ::1, localhost). */
  loopback: boolean;
}

export interface RelayUrlOptions {
  /** The user explicitly chose a relay without TLS on another machine (CLI --insecure-relay, the UI setting). */
  allowInsecure?: boolean;
}

const MAX_LENGTH = 2048;
const SCHEMES: Record<string, 'http:' | 'https:'> = { 'http:': 'http:', 'ws:': 'http:', 'https:': 'https:', 'wss:': 'https:' };

/** True for 127.0.0.0/8, ::1 (also as an IPv4-mapped address) and localhost. `host` is URL.hostname. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** Validates and normalizes a relay address; throws RelayUrlError with a message a person can act on. */
export function parseRelayUrl(raw: unknown, o: RelayUrlOptions = {}): RelayUrl {
  if (typeof raw !== 'string' || raw.trim() === '' || raw.length > MAX_LENGTH) {
    throw new RelayUrlError('syntax', 'A relay address is an http(s):// or ws(s):// URL such as https://192.168.1.20:7447');
  }
  const text = raw.trim();
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new RelayUrlError('syntax', `Not a relay address: "${text.slice(0, 200)}" (expected e.g. https://192.168.1.20:7447)`);
  }
  const scheme = SCHEMES[u.protocol];
  if (!scheme) {
    throw new RelayUrlError('scheme', `A relay address starts with http://, https://, ws:// or wss:// (got ${u.protocol})`);
  }
  if (u.hostname === '') throw new RelayUrlError('host', 'The relay address has no host');
  if (u.username !== '' || u.password !== '') {
    throw new RelayUrlError('credentials', 'A relay address carries no user name or password');
  }
  // "/" is what URL reports for no path at all; anything else would be silently dropped by socket.io.
  if ((u.pathname !== '/' && u.pathname !== '') || u.search !== '' || u.hash !== '' || /[?#]/.test(text)) {
    throw new RelayUrlError('path', 'A relay address is scheme, host and port only (no path, query or #fragment)');
  }
  const tls = scheme === 'https:';
  const loopback = isLoopbackHost(u.hostname);
  if (!tls && !loopback && o.allowInsecure !== true) {
    throw new RelayUrlError(
      'insecure',
      `${u.host} is not this computer and the address has no TLS (https:// or wss://): nothing would prove the relay ` +
        'is the one you mean. Use https://, or explicitly choose an insecure relay (--insecure-relay in the CLI, ' +
        '"Allow relays without encryption" in Settings).',
    );
  }
  u.protocol = scheme;
  return { url: u.origin, tls, loopback };
}

/** Whether a (parsed or raw) relay address uses TLS, whatever the scheme's spelling. False for garbage. */
export function usesTls(url: string): boolean {
  try {
    const p = new URL(url).protocol;
    return p === 'https:' || p === 'wss:';
  } catch {
    return false;
  }
}
