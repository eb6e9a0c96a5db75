/**
 * The parts a message gains from actions: the quote of the message it replies to (a button that jumps to the
 * original), the reactions under it (count per emoji; who reacted on hover and in the accessible name), and the
 * tombstone of a message deleted for everyone.
 */
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Ban, CornerUpLeft } from 'lucide-react';
import type { MessageView } from '../../../../../electron/contract/api.js';
import type { MessageActionHandlers } from './types.js';

export function Quote({ m, h }: { m: MessageView; h?: MessageActionHandlers }): ReactNode {
  const { t } = useTranslation();
  const q = m.replyTo;
  if (!q) return null;
  const name = q.author === h?.me ? t('actions.you') : q.author;
  return (
    <button
      type="button"
      className="quote"
      data-testid="message-quote"
      onClick={() => h?.onJump(q.id)}
    >
      <span className="quote-author">
        <CornerUpLeft size={12} aria-hidden /> {name}
      </span>
      <span className="quote-text">{q.excerpt}</span>
      <span className="sr-only">{t('actions.showOriginal')}</span>
    </button>
  );
}

export function Reactions({ m, h }: { m: MessageView; h?: MessageActionHandlers }): ReactNode {
  const { t } = useTranslation();
  const entries = Object.entries(m.reactions ?? {}).filter(([, who]) => who.length > 0);
  if (entries.length === 0) return null;
  return (
    <div className="reactions" data-testid="reactions">
      {entries.map(([emoji, who]) => {
        const mine = h !== undefined && who.includes(h.me);
        const names = who.map((u) => (u === h?.me ? t('actions.you') : u)).join(', ');
        return (
          <button
            key={emoji}
            type="button"
            className={`reaction ${mine ? 'mine' : ''}`}
            title={names}
            aria-pressed={mine}
            data-testid="reaction"
            data-emoji={emoji}
            disabled={!h}
            onClick={() => h?.onReact(m, mine ? null : emoji)}
          >
            <span aria-hidden>{emoji}</span> <span className="count">{who.length}</span>
            <span className="sr-only">{t('actions.reactedBy', { emoji, names })}</span>
          </button>
        );
      })}
    </div>
  );
}

export function DeletedBody(): ReactNode {
  const { t } = useTranslation();
  return (
    <div className="bubble deleted" data-testid="message-deleted">
      <Ban size={14} aria-hidden /> {t('actions.deleted')}
    </div>
  );
}
