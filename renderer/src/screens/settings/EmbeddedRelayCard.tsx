/**
 * Settings → the relay this app hosts: start it (for this computer or the LAN, optionally invite only), stop it,
 * and "Share invite": a single-use code that lets one person register on an invite-only relay, shown once with the
 * relay's address and fingerprint so the other person can check they reach the right relay.
 */
import { useState } from 'react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { ClipboardCopy, LoaderCircle, Power, Server, Ticket } from 'lucide-react';
import type { RelayInvite } from '../../../../electron/contract/api.js';
import { copyText } from '../../lib/clipboard.js';
import { fingerprintGroups } from '../../lib/format.js';
import { useApp } from '../../state.js';

export function EmbeddedRelayCard(): ReactNode {
  const { bridge, state, fail, refresh, toast } = useApp();
  const { t, i18n } = useTranslation();
  const r = state.embeddedRelay;
  const [lan, setLan] = useState(true);
  const [inviteOnly, setInviteOnly] = useState(r.inviteOnly);
  const [busy, setBusy] = useState(false);
  const [invite, setInvite] = useState<RelayInvite | null>(null);
  const run = (fn: () => Promise<unknown>): void => {
    setBusy(true);
    fn()
      .then(() => refresh(), fail)
      .finally(() => setBusy(false));
  };
  const share = (): void => {
    setBusy(true);
    bridge
      .createRelayInvite()
      .then(setInvite, fail)
      .finally(() => setBusy(false));
  };
  const inviteText = (i: RelayInvite): string =>
    t('settings.inviteText', { url: i.relayUrl ?? '', fingerprint: i.relayFingerprint ? fingerprintGroups(i.relayFingerprint).join(' ') : '', code: i.code });
  return (
    <section className="card" aria-labelledby="set-embedded">
      <h3 id="set-embedded">
        <Server size={18} aria-hidden /> {t('settings.embedded')}
      </h3>
      {r.running ? (
        <>
          <p>
            {t('settings.runningAt')} <span className="mono">{r.url}</span>
            {r.lan ? t('settings.announced') : t('settings.notAnnounced')}
          </p>
          <p className="muted">{r.inviteOnly ? t('settings.inviteOnlyOn') : t('settings.inviteOnlyOff')}</p>
          {r.fingerprint && <p className="fp muted">{fingerprintGroups(r.fingerprint).slice(0, 8).join(' ')}…</p>}
          {invite && (
            <div className="invite" data-testid="relay-invite" role="group" aria-label={t('settings.inviteCode')}>
              <p>
                {t('settings.inviteCode')}: <strong className="mono">{invite.code}</strong>
              </p>
              <p className="muted">{t('settings.inviteOnce', { date: new Date(invite.expiresAt).toLocaleDateString(i18n.language) })}</p>
              <button
                type="button"
                className="btn"
                onClick={() => copyText(inviteText(invite)).then(() => toast(t('settings.inviteCopied')), fail)}
              >
                <ClipboardCopy size={16} aria-hidden /> {t('settings.copyInvite')}
              </button>
            </div>
          )}
          <div className="row-actions">
            {r.inviteOnly && (
              <button type="button" className="btn primary" disabled={busy} onClick={share} data-testid="share-invite">
                <Ticket size={16} aria-hidden /> {t('settings.shareInvite')}
              </button>
            )}
            <button type="button" className="btn danger" disabled={busy} onClick={() => run(() => bridge.stopEmbeddedRelay())}>
              <Power size={16} aria-hidden /> {t('settings.stopRelay')}
            </button>
          </div>
        </>
      ) : (
        <>
          <p className="muted">{t('settings.embeddedBody')}</p>
          <label className="choice" style={{ alignSelf: 'flex-start' }}>
            <input type="checkbox" checked={lan} onChange={(e) => setLan(e.target.checked)} /> {t('settings.announce')}
          </label>
          <label className="choice" style={{ alignSelf: 'flex-start' }}>
            <input type="checkbox" checked={inviteOnly} onChange={(e) => setInviteOnly(e.target.checked)} data-testid="invite-only" />{' '}
            {t('settings.inviteOnly')}
          </label>
          <div className="row-actions">
            <button type="button" className="btn" disabled={busy} onClick={() => run(() => bridge.startEmbeddedRelay({ lan, inviteOnly }))}>
              {busy ? <LoaderCircle size={16} className="spin" aria-hidden /> : <Power size={16} aria-hidden />} {t('settings.startRelay')}
            </button>
          </div>
        </>
      )}
    </section>
  );
}
