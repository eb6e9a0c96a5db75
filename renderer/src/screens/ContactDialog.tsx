/** Contact details: safety number (12 groups of 5, monospace), its QR code, verification, key history, blocking. */
import { useEffect, useState } from 'react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Ban, LoaderCircle, ShieldAlert, ShieldCheck, ShieldOff } from 'lucide-react';
import type { ContactDetail } from '../../../electron/contract/api.js';
import { Avatar } from '../components/Avatar.js';
import { Dialog } from '../components/Dialog.js';
import { QrCode } from '../components/QrCode.js';
import { listTime, safetyGroups } from '../lib/format.js';
import { useApp, useEvent } from '../state.js';

export function ContactDialog(p: { username: string; onClose: () => void; onChanged: () => void }): ReactNode {
  const { bridge, fail, toast } = useApp();
  const [d, setD] = useState<ContactDetail | null>(null);
  const [busy, setBusy] = useState(false);
  const { username } = p;
  const { t, i18n } = useTranslation();

  const load = (): void => {
    bridge.getContact({ username }).then(setD, fail);
  };
  useEffect(load, [bridge, username]);
  useEvent('contacts-changed', (e) => e.username === username && load());
  useEvent('contact-key-changed', (e) => e.username === username && load());

  const act = (fn: () => Promise<unknown>, done?: string): void => {
    setBusy(true);
    fn()
      .then(() => {
        if (done) toast(done);
        load();
        p.onChanged();
      }, fail)
      .finally(() => setBusy(false));
  };

  // The actions sit in the dialog's footer, outside the scrolling content, so they stay visible at any window
  // height (800×600, 640×400) however long the numbers and the key history are.
  const actions = d && (
    <div className="row-actions" style={{ justifyContent: 'space-between' }}>
      <button
        type="button"
        className="btn danger"
        disabled={busy}
        onClick={() => act(() => bridge.setBlocked({ username, blocked: !d.blocked }), d.blocked ? t('safety.unblocked', { name: username }) : t('safety.blocked', { name: username }))}
      >
        <Ban size={16} aria-hidden /> {d.blocked ? t('safety.unblock') : t('chat.block')}
      </button>
      <div className="row-actions">
        {d.keyChangePending ? (
          <>
            <button type="button" className="btn" disabled={busy} onClick={() => act(() => bridge.rejectKeyChange({ username }), t('safety.rejectedToast'))}>
              {t('safety.rejectNew')}
            </button>
            <button type="button" className="btn primary" disabled={busy} onClick={() => act(() => bridge.acceptKeyChange({ username, fingerprint: d.keyChanges.filter((k) => k.resolution === 'pending').at(-1)?.newFingerprint ?? '' }), t('safety.acceptedToast'))}>
              {t('keyChange.accept')}
            </button>
          </>
        ) : d.verified ? (
          <button type="button" className="btn" disabled={busy} onClick={() => act(() => bridge.setVerified({ username, verified: false }))}>
            {t('safety.clear')}
          </button>
        ) : (
          <button
            type="button"
            className="btn primary"
            data-autofocus
            disabled={busy}
            onClick={() => act(() => bridge.setVerified({ username, verified: true }), t('safety.verifiedToast', { name: username }))}
          >
            <ShieldCheck size={16} aria-hidden /> {t('safety.markVerified')}
          </button>
        )}
      </div>
    </div>
  );
  const groups = d ? (d.safetyNumberGroups.length === 12 ? d.safetyNumberGroups : safetyGroups(d.safetyNumber)) : [];
  return (
    <Dialog title={t('safety.title', { name: username })} onClose={p.onClose} wide testId="safety-dialog" loading={!d} footer={actions}>
      {!d ? (
        <p className="muted" style={{ display: 'flex', gap: 8, alignItems: 'center' }} aria-busy="true">
          <LoaderCircle size={16} className="spin" aria-hidden /> {t('safety.loading')}
        </p>
      ) : (
        <>
          <div style={{ display: 'flex', alignItems: 'center', gap: 12 }}>
            <Avatar name={username} size="lg" />
            <div style={{ display: 'flex', flexDirection: 'column', gap: 4 }}>
              <strong style={{ fontSize: 16 }}>{username}</strong>
              {d.keyChangePending ? (
                <span className="pill warn">
                  <ShieldAlert size={14} aria-hidden /> {t('safety.changed')}
                </span>
              ) : d.verified ? (
                <span className="pill ok" data-testid="verified-pill">
                  <ShieldCheck size={14} aria-hidden /> {t('chat.verified')}
                </span>
              ) : (
                <span className="pill no">
                  <ShieldOff size={14} aria-hidden /> {t('safety.notVerified')}
                </span>
              )}
            </div>
          </div>
          <p className="muted">{t(d.keyChangePending && d.pendingSafetyNumber ? 'safety.compareNew' : 'safety.compare', { name: username })}</p>
          {/* During a key change the NEW number is the one to check, so it comes first; the old one is for reference. */}
          {d.keyChangePending && d.pendingSafetyNumber && (
            <>
              <h3>{t('safety.newNumber')}</h3>
              <div className="safety pending" data-testid="pending-safety-number" role="group" tabIndex={-1} data-autofocus aria-label={t('safety.numberLabel', { digits: safetyGroups(d.pendingSafetyNumber).join(' ') })}>
                {safetyGroups(d.pendingSafetyNumber).map((g, i) => (
                  <span key={i}>{g}</span>
                ))}
              </div>
              <h3>{t('safety.oldNumber')}</h3>
            </>
          )}
          <div className="safety" data-testid="safety-number" role="group" aria-label={t('safety.numberLabel', { digits: groups.join(' ') })}>
            {groups.map((g, i) => (
              <span key={i}>{g}</span>
            ))}
          </div>
          <div className="qr">
            <QrCode text={d.qrPayload} label={t('safety.qr', { name: username })} px={160} />
          </div>
          {d.keyChanges.length > 0 && (
            <div>
              <h3>{t('safety.history')}</h3>
              <ul style={{ margin: 0, paddingLeft: 20 }} className="muted">
                {d.keyChanges.map((c) => (
                  <li key={c.at}>
                    {t(c.signedByOld ? 'safety.historySigned' : 'safety.historyUnsigned', { time: listTime(c.at, Date.now(), i18n.language) })} — {t(`keyChange.${c.resolution}`)}
                  </li>
                ))}
              </ul>
            </div>
          )}
        </>
      )}
    </Dialog>
  );
}
