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
