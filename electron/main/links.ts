/**
 * Which links may leave the app for the system browser. Navigation inside the window is always blocked; a link
 * the user clicks opens externally only when it is https: to an allow-listed host. Electron-free.
 */
export const EXTERNAL_LINK_HOSTS = Object.freeze(['github.com', 'www.electronjs.org', 'electronjs.org']);

export function isAllowedExternalLink(url: string, hosts: readonly string[] = EXTERNAL_LINK_HOSTS): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  return u.protocol === 'https:' && !u.username && !u.password && hosts.includes(u.hostname.toLowerCase());
}

/** Schemes a link in a message may open with, after the user confirmed the full address in the app. */
const MESSAGE_LINK_SCHEMES = Object.freeze(['http:', 'https:', 'mailto:']);

/**
 * A link from a message that the system browser (or mail client) may open: http, https or mailto only, no user
 * name or password in it, a host for http(s). The renderer asks the user first; this is the main process checking
 * again, so a compromised renderer still cannot hand anything else (file:, javascript:, custom handlers) to the OS.
 */
export function isMessageLink(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (!MESSAGE_LINK_SCHEMES.includes(u.protocol)) return false;
  if (u.protocol === 'mailto:') return u.pathname.length > 0;
  return !u.username && !u.password && u.hostname.length > 0;
}
