/**
 * The unread count on the dock (macOS), the launcher (Linux, Unity-compatible launchers) and the taskbar (Windows,
 * which has no badge count: an overlay icon with the count in its description). The core is the source of truth:
 * the sum of unread messages over its conversation list, recomputed when a message arrives or changes state, when a
 * contact or the app state changes, and when the window's title changes (the renderer retitles "(3) Parley" right
 * after it marks a conversation read, which the core announces no event for; the title text itself is not read).
 */
import { app, nativeImage } from 'electron';
import type { BrowserWindow, NativeImage } from 'electron';
import type { ConversationSummary } from '../contract/api.js';
import type { ParleyCore } from './host.js';

/** The same total the window title shows. */
export function unreadTotal(list: readonly ConversationSummary[]): number {
  return list.reduce((n, c) => n + c.unread, 0);
}

const DOT = 16;
let dot: NativeImage | null = null;

/** A 16×16 red dot for the Windows taskbar overlay, drawn once (BGRA pixels, no image file to ship). */
function overlayDot(): NativeImage {
  if (dot) return dot;
  const px = Buffer.alloc(DOT * DOT * 4);
  const r = DOT / 2;
  for (let y = 0; y < DOT; y++) {
    for (let x = 0; x < DOT; x++) {
      const d = Math.hypot(x + 0.5 - r, y + 0.5 - r);
      const alpha = Math.max(0, Math.min(1, r - d)) * 255;
      px.set([0x1e, 0x26, 0xb3, Math.round(alpha)], (y * DOT + x) * 4);
    }
  }
  dot = nativeImage.createFromBitmap(px, { width: DOT, height: DOT });
  return dot;
}

export interface UnreadBadge {
  /** Recomputes the count from the core and shows it; concurrent calls coalesce into one more pass. */
  refresh(): Promise<void>;
}

export function installUnreadBadge(
  core: Pick<ParleyCore, 'on' | 'listConversations'>,
  getWindow: () => BrowserWindow | null,
  platform: NodeJS.Platform = process.platform,
): UnreadBadge {
  let shown = 0;
  let running: Promise<void> | null = null;
  let again = false;

  const show = (n: number): void => {
    if (n === shown) return;
    if (platform === 'win32') {
      const win = getWindow();
      if (!win || win.isDestroyed()) return; // shown stays as it was: the next refresh tries again
      win.setOverlayIcon(n > 0 ? overlayDot() : null, n > 0 ? `${n} unread` : '');
    } else {
      app.setBadgeCount(n);
    }
    shown = n;
  };

  const pass = async (): Promise<void> => {
    do {
      again = false;
      try {
        show(unreadTotal(await core.listConversations({})));
      } catch {
        // Locked or not onboarded yet: there is no list to count, and the badge keeps what it showed.
      }
    } while (again);
  };

  const refresh = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = pass().finally(() => (running = null));
    return running;
  };

  for (const e of ['message-received', 'message-state', 'contacts-changed', 'state-changed'] as const) core.on(e, () => void refresh());
  return { refresh };
}
