import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { ConnectionState } from '../../../electron/contract/api.js';
import { describeReason } from '../runtime/index.js';
import { t } from '../i18n/index.js';

/** The relay state in words; the core's own reason ("websocket error") is replaced by the sentence for its code. */
export function connectionText(c: ConnectionState): string {
  if (c.status === 'online') return t('status.online');
  if (c.status === 'connecting') return t('status.connectingLong');
  return c.relayUrl ? t('status.disconnectedReason', { reason: describeReason(c.reason).text }) : t('status.noRelay');
}

/** `short`: one word for the profile header (the reason is in the tooltip and in Settings). */
export function ConnectionStatus({ connection, short }: { connection: ConnectionState; short?: boolean }): ReactNode {
  useTranslation(); // re-render on language change
  const full = connectionText(connection);
  const label = short ? (connection.status === 'online' ? t('status.online') : connection.status === 'connecting' ? t('status.connecting') : t('status.disconnected')) : full;
  return (
    <span className="status" data-testid="connection" data-status={connection.status} title={[full, connection.relayUrl].filter(Boolean).join(' · ')}>
      <span className={`dot ${connection.status}`} aria-hidden />
      {label}
    </span>
  );
}
