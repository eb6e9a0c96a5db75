/** What a message bubble can ask the chat to do (useMessageActions implements it). */
import type { MessageView } from '../../../../../electron/contract/api.js';

export interface MessageActionHandlers {
  /** Our username (our reactions, "You" in quotes). */
  me: string;
  onReply(m: MessageView): void;
  onReact(m: MessageView, emoji: string | null): void;
  onEdit(m: MessageView): void;
  onDelete(m: MessageView): void;
  onInfo(m: MessageView): void;
  onCopy(m: MessageView): void;
  /** Shows the message with this id (a quote's original). */
  onJump(id: string): void;
}

/** Edits and deletes for everyone: only within this time of sending (the core checks it too). */
export const EDIT_WINDOW_MS = 24 * 60 * 60 * 1000;

/** The quick reactions offered in the toolbar and the menu. */
export const QUICK_REACTIONS = ['👍', '❤️', '😂', '😮', '😢', '🙏'] as const;

/** Our own text message, still within the 24-hour window. */
export function canChange(m: MessageView, now: number): boolean {
  return m.direction === 'out' && m.body !== null && !m.deleted && m.state !== 'failed' && now - m.sentAt <= EDIT_WINDOW_MS;
}
