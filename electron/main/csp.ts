/**
 * The renderer's Content-Security-Policy, sent as a response header (session.webRequest in Electron, the HTTP
 * header in the dev/test bridge) and repeated in renderer/index.html's meta tag so it also holds for file:// loads.
 * Electron-free.
 *
 * style-src is 'self' only: the stylesheet is a file, and React applies `style` props through the CSSOM
 * (element.style), which CSP does not treat as inline style, so the virtualized list and the resizable column need
 * no 'unsafe-inline'. The e2e journey fails on any CSP violation reported by Chromium.
 */
export function contentSecurityPolicy(o: { connectSrc?: string[]; devServer?: string | null } = {}): string {
  // `npm run dev` only: Vite's dev server injects the React refresh preamble inline and talks HMR over a WebSocket.
  // Packaged builds and the test bridge never pass devServer.
  const dev = o.devServer ? new URL(o.devServer) : null;
  const devConnect = dev ? [`ws://${dev.host}`, dev.origin] : [];
  const connect = ["'self'", ...(o.connectSrc ?? []), ...devConnect].join(' ');
  return [
    "default-src 'self'",
    dev ? "script-src 'self' 'unsafe-inline'" : "script-src 'self'",
    dev ? "style-src 'self' 'unsafe-inline'" : "style-src 'self'",
    // QR codes are inline SVG elements, so no data: images. blob: is for attachments only: images the renderer
    // received as bytes (readAttachment) or read from a local file, shown from memory; media-src stays 'self'.
    "img-src 'self' blob:",
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
