/** A contact's key change: the system line in the history and the banner that asks for a real check. */
import type { ReactNode } from 'react';
import { ShieldAlert } from 'lucide-react';
import type { KeyChangeView } from '../../../../electron/contract/api.js';
import { clockTime } from '../../lib/format.js';

export function KeyChangeLine({ username, change }: { username: string; change: KeyChangeView }): ReactNode {
  const what = change.resolution === 'accepted' ? 'accepted' : change.resolution === 'rejected' ? 'rejected' : 'waiting for review';
  return (
    <div className="sysline" role="note" data-testid="key-change-line">
      <span>
        <ShieldAlert size={13} aria-hidden /> {username}’s safety number changed at {clockTime(change.at)} · {what}
      </span>
    </div>
  );
}

export function KeyChangeBanner(p: { username: string; change: KeyChangeView | null; onCompare: () => void; onAccept: () => void; onReject: () => void }): ReactNode {
  return (
    <div className="banner warn" role="alert" data-testid="key-change-banner">
      <ShieldAlert size={20} aria-hidden />
      <div className="text">
        <strong>{p.username}’s safety number has changed.</strong>
        <span>
          They may have reinstalled Parley or moved to a new computer — or someone may be trying to listen in. Compare the new safety number with{' '}
          {p.username} before you continue.
          {p.change && (p.change.signedByOld ? ' The change was signed with their previous key.' : ' The change was not signed with their previous key.')}
        </span>
        <div className="actions" style={{ marginTop: 8 }}>
          <button type="button" className="btn" onClick={p.onCompare}>
            Compare safety numbers
          </button>
          <button type="button" className="btn primary" onClick={p.onAccept}>
            Accept new key
          </button>
          <button type="button" className="btn danger" onClick={p.onReject}>
            Reject
          </button>
        </div>
      </div>
    </div>
  );
}

