/**
 * What a native notification for an incoming message says, given the user's preference. Electron-free.
 *  'full'   → title: sender, body: the text (trimmed to one short line)
 *  'sender' → title: sender, body: "New message" (never the text)
 *  'off'    → no notification
 */
import type { MessageView, Settings } from '../contract/api.js';

export interface NotificationContent {
  title: string;
  body: string;
}

export function notificationFor(msg: MessageView, settings: Pick<Settings, 'notifications'>): NotificationContent | null {
  if (settings.notifications === 'off' || msg.direction !== 'in') return null;
  if (settings.notifications === 'sender' || msg.body === null) return { title: msg.contact, body: 'New message' };
  const line = msg.body.replace(/\s+/g, ' ').trim();
  return { title: msg.contact, body: line.length > 120 ? `${line.slice(0, 119)}…` : line };
}
