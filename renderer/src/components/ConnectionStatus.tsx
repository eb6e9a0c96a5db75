import type { ReactNode } from 'react';
import type { ConnectionState } from '../../../electron/contract/api.js';

export function connectionText(c: ConnectionState): string {
  if (c.status === 'online') return 'Online';
  if (c.status === 'connecting') return 'Connecting to relay…';
  return c.relayUrl ? `Offline: ${c.reason}` : 'No relay chosen';
}

export function ConnectionStatus({ connection }: { connection: ConnectionState }): ReactNode {
  return (
    <span className="status" data-testid="connection" data-status={connection.status} title={connection.relayUrl ?? undefined}>
      <span className={`dot ${connection.status}`} aria-hidden />
      {connectionText(connection)}
    </span>
  );
}
