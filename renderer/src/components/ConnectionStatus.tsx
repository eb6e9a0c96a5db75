import type { ReactNode } from 'react';
import type { ConnectionState } from '../../../electron/contract/api.js';
import { describeReason } from '../runtime/index.js';

/** The relay state in words; the core's own reason ("websocket error") is replaced by the sentence for its code. */
export function connectionText(c: ConnectionState): string {
  if (c.status === 'online') return 'Online';
  if (c.status === 'connecting') return 'Connecting to relay…';
  return c.relayUrl ? `Disconnected: ${describeReason(c.reason).text}` : 'No relay chosen';
}

/** `short`: one word for the profile header (the reason is in the tooltip and in Settings). */
export function ConnectionStatus({ connection, short }: { connection: ConnectionState; short?: boolean }): ReactNode {
  const full = connectionText(connection);
  const label = short ? (connection.status === 'online' ? 'Online' : connection.status === 'connecting' ? 'Connecting…' : 'Disconnected') : full;
  return (
    <span className="status" data-testid="connection" data-status={connection.status} title={[full, connection.relayUrl].filter(Boolean).join(' · ')}>
      <span className={`dot ${connection.status}`} aria-hidden />
      {label}
    </span>
  );
}
