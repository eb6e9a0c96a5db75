/**
 * The dock/taskbar badge wiring (electron/main/badge.ts) against a real core: a real relay on 127.0.0.1, Alice and
 * Bob as real ParleyServices on encrypted SQLite files. Only the `electron` module is a stand-in (the Electron
 * binary cannot run here): app.setBadgeCount, nativeImage and a window's setOverlayIcon record what they are told.
 */
import { afterAll, beforeEach, describe, expect, test, vi } from 'vitest';
import type { BrowserWindow } from 'electron';
import { installUnreadBadge } from '../../electron/main/badge.js';
import { aliceAndBob, cleanupAll, startTestRelay, waitUntil } from '../helpers/core.js';

const badgeCounts: number[] = [];
const overlays: Array<{ image: unknown; description: string }> = [];
const DOT_IMAGE = { kind: 'overlay dot' };

vi.mock('electron', () => ({
  app: { setBadgeCount: (n: number) => (badgeCounts.push(n), true) },
  nativeImage: { createFromBitmap: () => DOT_IMAGE },
}));

/** Stands in for the BrowserWindow (part of the Electron binary). */
const fakeWindow = {
  isDestroyed: () => false,
  setOverlayIcon: (image: unknown, description: string) => overlays.push({ image, description }),
} as unknown as BrowserWindow;

afterAll(cleanupAll);

beforeEach(() => {
  badgeCounts.length = 0;
  overlays.length = 0;
});

describe('unread badge', () => {
  test('macOS/Linux: the dock badge follows the core’s unread total, and clears after reading', async () => {
    const relay = await startTestRelay();
    const { alice, bob } = await aliceAndBob(relay.url);
    const badge = installUnreadBadge(alice, () => fakeWindow, 'linux');

    await bob.sendMessage({ conversation: 'd:alice', text: 'one' });
    await bob.sendMessage({ conversation: 'd:alice', text: 'two' });
    await waitUntil(() => badgeCounts.at(-1) === 2, 20_000, 'badge shows 2');

    // Reading in the window sends no core event; the window's retitle triggers the refresh.
    await alice.markRead({ conversation: 'd:bob' });
    await badge.refresh();
    expect(badgeCounts.at(-1)).toBe(0);
    expect(overlays).toEqual([]);
  });

  test('Windows: an overlay icon with the count in its description, removed at zero', async () => {
    const relay = await startTestRelay();
    const { alice, bob } = await aliceAndBob(relay.url);
    const badge = installUnreadBadge(alice, () => fakeWindow, 'win32');

    await bob.sendMessage({ conversation: 'd:alice', text: 'hello from bob' });
    await waitUntil(() => overlays.at(-1)?.description === '1 unread', 20_000, 'overlay for 1 unread');
    expect(overlays.at(-1)!.image).toBe(DOT_IMAGE);

    await alice.markRead({ conversation: 'd:bob' });
    await badge.refresh();
    expect(overlays.at(-1)).toEqual({ image: null, description: '' });
    expect(badgeCounts).toEqual([]);
  });
});
