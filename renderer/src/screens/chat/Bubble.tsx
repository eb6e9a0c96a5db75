/** One message bubble with its time and delivery state; failures and unreadable messages in words (errors.*). */
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { TFunction } from 'i18next';
import { Check, CheckCheck, CircleAlert, Clock, Lock, RotateCw } from 'lucide-react';
import type { MessageView } from '../../../../electron/contract/api.js';
import { clockTime } from '../../lib/format.js';
import { describeReason } from '../../runtime/index.js';
import { Avatar } from '../../components/Avatar.js';
import { Linkified } from './actions/linkify.js';
import { MessageToolbar } from './actions/MessageToolbar.js';
import { DeletedBody, Quote, Reactions } from './actions/parts.js';
import type { ChatActions } from './actions/useMessageActions.js';
import { MessageAttachments } from './attachments/MessageAttachments.js';

/** Catalog keys of the delivery states (the tick's accessible name). */
const STATE_LABEL: Record<MessageView['state'], string> = {
  sending: 'message.sending',
  sent: 'message.sent',
  delivered: 'message.delivered',
  failed: 'message.notSent',
  undecryptable: 'message.undecryptable',
};

function StateIcon({ state }: { state: MessageView['state'] | 'read' }): ReactNode {
  switch (state) {
    case 'sending':
      return <Clock size={13} aria-hidden />;
    case 'sent':
      return <Check size={13} aria-hidden />;
    case 'delivered':
      return <CheckCheck size={13} aria-hidden className="delivered" />;
    case 'read':
      return <CheckCheck size={13} aria-hidden className="read" />;
    default:
      return null;
  }
}

/**
 * What a screen reader says for one message, in the order a sighted reader takes it in: who, when, (for your own)
 * its delivery state, then the text. "You, 21:57, delivered: …" / "bob, 21:58: …". Also the live announcement of a
 * new incoming message.
 */
export function messageName(m: MessageView, sender: string, t: TFunction): string {
  const time = clockTime(m.sentAt);
  const files = m.attachments?.length ? t('attach.filesLabel', { count: m.attachments.length, names: m.attachments.map((a) => a.name).join(', ') }) : '';
  const text = m.body && files ? `${files} ${m.body}` : m.body || files;
  const body = m.deleted ? t('actions.deleted') : m.state === 'undecryptable' || m.body === null ? t('message.undecryptableLabel', { reason: describeReason(m.error ?? 'malformed').text }) : text;
  if (m.direction === 'in') return t('message.nameIn', { name: sender, time, body });
  return t('message.nameOut', { time, state: t(STATE_LABEL[m.state]).toLowerCase(), body });
}

/** `showSender`: a group conversation, where the first of a run of incoming messages carries its author's name and avatar. */
export function Bubble({ m, sender, groupStart, groupEnd, onRetry, showSender, footer, actions }: { m: MessageView; sender: string; groupStart: boolean; groupEnd: boolean; onRetry: (id: string) => void; showSender?: boolean; footer?: ReactNode; actions?: ChatActions['handlers'] }): ReactNode {
  const { t } = useTranslation();
  // Each message is one list item named by messageName(); its parts stay readable for someone who moves inside it.
  // Right click, the Menu key or Shift+F10 open its actions menu (actions/MessageToolbar.tsx).
  const item = {
    role: 'listitem',
    'aria-label': messageName(m, sender, t),
    tabIndex: -1,
    onContextMenu: actions
      ? (e: React.MouseEvent) => {
          e.preventDefault();
          actions.onMenu(m, { x: e.clientX, y: e.clientY });
        }
      : undefined,
    onKeyDown: actions
      ? (e: React.KeyboardEvent) => {
          if (e.key !== 'ContextMenu' && !(e.key === 'F10' && e.shiftKey)) return;
          e.preventDefault();
          const r = (e.currentTarget as HTMLElement).getBoundingClientRect();
          actions.onMenu(m, { x: r.left + 24, y: r.top + 24 });
        }
      : undefined,
  } as const;
  const cls = `bubble-wrap ${m.direction} ${groupEnd ? 'ge' : ''}`;
  const author = showSender && groupStart && m.direction === 'in' ? (
    <div className="sender" aria-hidden>
      <Avatar name={sender} size="sm" /> <span data-testid="message-sender">{sender}</span>
    </div>
  ) : null;
  if (m.deleted) {
    return (
      <div className={`msg-row ${groupStart ? 'gs' : ''}`}>
        <div className={cls} data-testid="message" data-state={m.state} data-id={m.id} data-deleted="true" {...item}>
          {author}
          <DeletedBody />
          {actions && <MessageToolbar m={m} h={actions} />}
        </div>
      </div>
    );
  }
  if (m.state === 'undecryptable' || m.body === null) {
    // The core's reason is for logs; people get the sentence for its code.
    const reason = describeReason(m.error ?? 'malformed').text;
    return (
      <div className={`msg-row ${groupStart ? 'gs' : ''}`}>
        <div className={cls} data-testid="message" data-state="undecryptable" data-id={m.id} {...item}>
          {author}
          <div className="bubble undecryptable" title={reason} aria-label={t('message.undecryptableLabel', { reason })} tabIndex={0}>
            <Lock size={14} aria-hidden /> {t('message.undecryptable')}
          </div>
          {groupEnd && (
            <div className="meta">
              <span>{clockTime(m.sentAt)}</span>
              <span>· {reason}</span>
            </div>
          )}
        </div>
      </div>
    );
  }
  const showMeta = groupEnd || m.state === 'failed' || m.edited === true;
  const tick = m.readAt ? 'read' : m.state;
  const tickLabel = m.readAt ? t('actions.read') : t(STATE_LABEL[m.state]);
  const failure = m.state === 'failed' && m.error ? describeReason(m.error) : null;
  return (
    <div className={`msg-row ${groupStart ? 'gs' : ''}`}>
      <div className={cls} data-testid="message" data-state={m.state} data-id={m.id} {...item}>
        {author}
        <div className={`bubble ${m.state === 'failed' ? 'failed' : ''}`}>
          {m.attachments?.length ? <MessageAttachments m={m} /> : null}
          <Quote m={m} h={actions} />
          <Linkified text={m.body} />
        </div>
        <Reactions m={m} h={actions} />
        {actions && <MessageToolbar m={m} h={actions} />}
        {showMeta && (
          <div className="meta">
            <time dateTime={new Date(m.sentAt).toISOString()}>{clockTime(m.sentAt)}</time>
            {m.edited && <span data-testid="message-edited">· {t('actions.edited')}</span>}
            {m.direction === 'out' && m.state !== 'failed' && (
              <span role="img" title={tickLabel} aria-label={tickLabel} style={{ display: 'inline-flex' }} data-testid="message-state" data-tick={tick}>
                <StateIcon state={tick} />
              </span>
            )}
            {m.state === 'failed' && (
              <span className="state-failed" data-testid="message-failure" data-code={failure?.code}>
                <CircleAlert size={13} aria-hidden /> {t('message.notSent')}
                {failure ? `: ${failure.text}` : ''} ·
                <button type="button" className="link" onClick={() => onRetry(m.id)} style={{ color: 'inherit', textDecoration: 'underline' }}>
                  <RotateCw size={12} aria-hidden style={{ verticalAlign: -1 }} /> {t('message.retry')}
                </button>
                {failure && <small className="error-details">{t('error.details', { code: failure.code })}</small>}
              </span>
            )}
          </div>
        )}
        {footer}
      </div>
    </div>
  );
}

