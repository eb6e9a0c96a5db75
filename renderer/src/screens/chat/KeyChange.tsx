/** A contact's key change: the system line in the history and the banner that asks for a real check. */
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { ShieldAlert } from 'lucide-react';
import type { KeyChangeView } from '../../../../electron/contract/api.js';
import { clockTime } from '../../lib/format.js';

export function KeyChangeLine({ username, change }: { username: string; change: KeyChangeView }): ReactNode {
  const { t } = useTranslation();
  const what = t(`keyChange.${change.resolution}`);
  return (
    // An item of the message list, in time order with the messages it precedes.
    <div className="sysline" role="listitem" data-testid="key-change-line">
      <span>
        <ShieldAlert size={13} aria-hidden /> {t('keyChange.line', { name: username, time: clockTime(change.at) })} · {what}
      </span>
    </div>
  );
}

export function KeyChangeBanner(p: { username: string; change: KeyChangeView | null; held: number; onCompare: () => void; onAccept: () => void; onReject: () => void }): ReactNode {
  const { t } = useTranslation();
  return (
    <div className="banner warn" role="alert" data-testid="key-change-banner">
      <ShieldAlert size={20} aria-hidden />
      <div className="text">
        <strong>{t('keyChange.title', { name: p.username })}</strong>
        <span>
          {t('keyChange.body', { name: p.username })}
          {p.change && ` ${p.change.signedByOld ? t('keyChange.signed') : t('keyChange.unsigned')}`}
        </span>
        {p.held > 0 && (
          <strong className="held" data-testid="held-count">
            {t('keyChange.waiting', { count: p.held })}
          </strong>
        )}
        <div className="actions" style={{ marginTop: 8 }}>
          {/* The real check is the primary action; accepting without comparing is possible but not the easy path. */}
          <button type="button" className="btn primary" onClick={p.onCompare}>
            {t('keyChange.compare')}
          </button>
          <button type="button" className="btn" onClick={p.onAccept}>
            {t('keyChange.accept')}
          </button>
          <button type="button" className="btn danger" onClick={p.onReject}>
            {t('keyChange.reject')}
          </button>
        </div>
      </div>
    </div>
  );
}

