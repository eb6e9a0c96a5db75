/** One message bubble with its time and delivery state; failures and unreadable messages in words (errors.*). */
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Check, CheckCheck, CircleAlert, Clock, Lock, RotateCw } from 'lucide-react';
import type { MessageView } from '../../../../electron/contract/api.js';
import { clockTime } from '../../lib/format.js';
import { describeReason } from '../../runtime/index.js';

/** Catalog keys of the delivery states (the tick's accessible name). */
const STATE_LABEL: Record<MessageView['state'], string> = {
  sending: 'message.sending',
  sent: 'message.sent',
  delivered: 'message.delivered',
  failed: 'message.notSent',
  undecryptable: 'message.undecryptable',
};

function StateIcon({ state }: { state: MessageView['state'] }): ReactNode {
  switch (state) {
    case 'sending':
      return <Clock size={13} aria-hidden />;
    case 'sent':
      return <Check size={13} aria-hidden />;
    case 'delivered':
      return <CheckCheck size={13} aria-hidden className="delivered" />;
    default:
      return null;
  }
}

export function Bubble({ m, groupStart, groupEnd, onRetry }: { m: MessageView; groupStart: boolean; groupEnd: boolean; onRetry: (id: string) => void }): ReactNode {
  const { t } = useTranslation();
  const cls = `bubble-wrap ${m.direction} ${groupEnd ? 'ge' : ''}`;
  if (m.state === 'undecryptable' || m.body === null) {
    // The core's reason is for logs; people get the sentence for its code.
    const reason = describeReason(m.error ?? 'malformed').text;
    return (
      <div className={`msg-row ${groupStart ? 'gs' : ''}`}>
        <div className={cls} data-testid="message" data-state="undecryptable" data-id={m.id}>
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
  const showMeta = groupEnd || m.state === 'failed';
  const failure = m.state === 'failed' && m.error ? describeReason(m.error) : null;
  return (
    <div className={`msg-row ${groupStart ? 'gs' : ''}`}>
      <div className={cls} data-testid="message" data-state={m.state} data-id={m.id}>
        <div className={`bubble ${m.state === 'failed' ? 'failed' : ''}`}>{m.body}</div>
        {showMeta && (
          <div className="meta">
            <time dateTime={new Date(m.sentAt).toISOString()}>{clockTime(m.sentAt)}</time>
            {m.direction === 'out' && m.state !== 'failed' && (
              <span role="img" title={t(STATE_LABEL[m.state])} aria-label={t(STATE_LABEL[m.state])} style={{ display: 'inline-flex' }} data-testid="message-state">
                <StateIcon state={m.state} />
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
      </div>
    </div>
  );
}

