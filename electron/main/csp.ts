/**
 * The renderer's Content-Security-Policy, sent as a response header (session.webRequest in Electron, the HTTP
 * header in the dev/test bridge) and repeated in renderer/index.html's meta tag so it also holds for file:// loads.
 * Electron-free.
 *
 * style-src: React sets `style` attributes (the virtualized message list positions rows with transforms, and the
 * resizable column sets its width); those are attributes, not <style> elements or scripts, and CSP treats them as
 * inline style. 'unsafe-inline' is therefore allowed for styles only; scripts stay 'self' without eval, so style
 * injection cannot execute code.
 */
export function contentSecurityPolicy(o: { connectSrc?: string[] } = {}): string {
  const connect = ["'self'", ...(o.connectSrc ?? [])].join(' ');
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src ${connect}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-src 'none'",
    "frame-ancestors 'none'",
    "worker-src 'none'",
  ].join('; ');
}
