/**
 * "Invite someone": what a new user tells a friend so the friend can reach them. The line "username @ relay
 * address" to copy, the relay's fingerprint (so the friend can check they reach the same relay) and a QR code of
 * the same invite text. Shown on the empty screen and in Settings.
 */
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { ClipboardCopy, Send } from 'lucide-react';
import { copyText } from '../lib/clipboard.js';
import { fingerprintGroups } from '../lib/format.js';
import { useApp } from '../state.js';
import { QrCode } from './QrCode.js';

/** "alice @ https://relay.example:7447": the address a friend types into "Add a contact" and their relay settings. */
export function inviteAddress(username: string, relayUrl: string): string {
  return `${username} @ ${relayUrl}`;
}

export function InviteCard({ headingLevel = 2 }: { headingLevel?: 2 | 3 }): ReactNode {
  const { state, toast, fail } = useApp();
  const { t } = useTranslation();
  const username = state.profile?.username ?? '';
  const c = state.connection;
  const relayUrl = c.relayUrl ?? state.profile?.relayUrl ?? null;
  // The fingerprint is known only from a live connection (it is what the relay proved it holds).
  const fingerprint = c.status === 'online' ? fingerprintGroups(c.relayFingerprint).join(' ') : null;
  if (!relayUrl) return null;
  const address = inviteAddress(username, relayUrl);
  const text = fingerprint ? t('invite.text', { address, fingerprint }) : t('invite.textNoKey', { address });
  const Heading = headingLevel === 2 ? 'h2' : 'h3';
  return (
    <section className="card invite-card" aria-labelledby="invite-title" data-testid="invite-card">
      <Heading id="invite-title">
        <Send size={18} aria-hidden /> {t('invite.title')}
      </Heading>
      <p className="muted">{t('invite.lead')}</p>
      <div className="invite-body">
        <dl className="kv">
          <dt>{t('invite.address')}</dt>
          <dd className="mono" data-testid="invite-address">
            {address}
          </dd>
          <dt>{t('invite.relayKey')}</dt>
          <dd className={fingerprint ? 'fp' : 'muted'} data-testid="invite-fingerprint">
            {fingerprint ?? t('invite.relayKeyUnknown')}
          </dd>
        </dl>
        <QrCode text={text} label={t('invite.qr')} px={136} testId="invite-qr" />
      </div>
      <div className="row-actions">
        <button type="button" className="btn" onClick={() => copyText(text).then(() => toast(t('invite.copied')), fail)}>
          <ClipboardCopy size={16} aria-hidden /> {t('invite.copy')}
        </button>
      </div>
    </section>
  );
}
