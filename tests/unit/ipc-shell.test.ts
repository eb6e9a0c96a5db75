import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MessageView } from '../../electron/contract/api.js';
import { contentSecurityPolicy } from '../../electron/main/csp.js';
import { isAllowedExternalLink } from '../../electron/main/links.js';
import { notificationFor } from '../../electron/main/notify.js';
import { DEFAULT_BOUNDS, loadBounds, saveBounds } from '../../electron/main/window-state.js';

const msg: MessageView = {
  id: 'AAAAAAAAAAAAAAAAAAAAAA', conversation: 'd:bob', contact: 'bob', sender: 'bob', direction: 'in', body: 'the launch code is 1234', sentAt: 1, receivedAt: 2,
  state: 'delivered', error: null, seq: 1,
};

describe('notifications', () => {
  it('never include the text when the user chose sender only', () => {
    const n = notificationFor(msg, { notifications: 'sender' });
    expect(n).toEqual({ title: 'bob', body: 'New message' });
  });
  it('include the text in full mode and nothing when off', () => {
    expect(notificationFor(msg, { notifications: 'full' })?.body).toBe('the launch code is 1234');
    expect(notificationFor(msg, { notifications: 'off' })).toBeNull();
    expect(notificationFor({ ...msg, direction: 'out' }, { notifications: 'full' })).toBeNull();
  });
});

describe('external links', () => {
  it('allows https to allow-listed hosts only', () => {
    expect(isAllowedExternalLink('https://github.com/parley')).toBe(true);
    expect(isAllowedExternalLink('http://github.com/parley')).toBe(false);
    expect(isAllowedExternalLink('https://evil.example/')).toBe(false);
    expect(isAllowedExternalLink('file:///etc/passwd')).toBe(false);
    expect(isAllowedExternalLink('https://user@github.com/')).toBe(false);
    expect(isAllowedExternalLink('nonsense')).toBe(false);
  });
});

describe('CSP', () => {
  it('forbids eval, inline and remote scripts', () => {
    const csp = contentSecurityPolicy();
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    // blob: for attachment images shown from memory, and for nothing else (no data:, no remote images).
    expect(csp).toContain("img-src 'self' blob:;");
    expect(csp).not.toMatch(/data:|https?:/);
    expect(csp).not.toContain('unsafe-inline');
  });
  it('relaxes only for the dev server', () => {
    const dev = contentSecurityPolicy({ devServer: 'http://localhost:5173' });
    expect(dev).toContain("script-src 'self' 'unsafe-inline'");
    expect(dev).toContain('ws://localhost:5173');
    expect(contentSecurityPolicy({ devServer: null })).toBe(contentSecurityPolicy());
  });
  it('is the same policy as the meta tag in renderer/index.html', () => {
    const html = readFileSync(join(__dirname, '../../renderer/index.html'), 'utf8');
    const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1];
    const directives = (p: string) => new Set(p.split(';').map((d) => d.trim()).filter((d) => d && !d.startsWith('frame-ancestors')));
    // frame-ancestors is ignored in a meta tag, so it lives in the header only.
    expect(directives(meta!)).toEqual(directives(contentSecurityPolicy()));
  });
});

describe('window bounds', () => {
  const displays = [{ x: 0, y: 0, width: 1920, height: 1080 }];
  it('round-trips and falls back to defaults on junk', () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-bounds-'));
    const f = join(dir, 'sub', 'window-state.json');
    expect(loadBounds(f, displays)).toEqual(DEFAULT_BOUNDS);
    saveBounds(f, { x: 10, y: 20, width: 900, height: 700, maximized: false });
    expect(loadBounds(f, displays)).toEqual({ x: 10, y: 20, width: 900, height: 700, maximized: false });
    writeFileSync(f, '{not json');
    expect(loadBounds(f, displays)).toEqual(DEFAULT_BOUNDS);
    writeFileSync(f, JSON.stringify({ width: 10, height: 10, maximized: false }));
    expect(loadBounds(f, displays)).toEqual(DEFAULT_BOUNDS);
  });
  it('drops an off-screen position but keeps the size', () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-bounds-'));
    const f = join(dir, 'w.json');
    saveBounds(f, { x: 5000, y: 5000, width: 900, height: 700, maximized: true });
    expect(loadBounds(f, displays)).toEqual({ width: 900, height: 700, maximized: true });
  });
});
