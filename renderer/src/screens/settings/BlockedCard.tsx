/**
 * Settings → Blocked: the users and groups this profile blocked (a message request refused, or a contact blocked),
 * each with Unblock. Unblocking brings them back as a message request; what they sent while blocked was dropped and
 * does not arrive later. The list follows contacts-changed / group-changed, so a block made elsewhere shows up here.
 */
import { useCallback, useEffect, useState } from 'react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Ban, LoaderCircle } from 'lucide-react';
import type { BlockedList } from '../../../../electron/contract/api.js';
import { Avatar } from '../../components/Avatar.js';
import { useApp, useEvent } from '../../state.js';
import { GroupAvatar } from '../group/GroupAvatar.js';
import '../group/group.css';

export function BlockedCard(): ReactNode {
  const { bridge, fail, toast } = useApp();
  const { t } = useTranslation();
  const [list, setList] = useState<BlockedList | null>(null);
  const [busy, setBusy] = useState(false);
  const load = useCallback(() => {
    bridge.listBlocked().then(setList, fail);
  }, [bridge, fail]);
  useEffect(load, [load]);
  useEvent('contacts-changed', load);
  useEvent('group-changed', load);

  const unblock = (req: { username: string } | { group: string }, name: string): void => {
    setBusy(true);
    bridge
      .unblock(req)
      .then((next) => {
        setList(next);
        toast(t('blocked.unblocked', { name }));
      }, fail)
      .finally(() => setBusy(false));
  };

  const empty = list !== null && list.users.length === 0 && list.groups.length === 0;
  return (
    <section className="card" aria-labelledby="set-blocked" data-testid="blocked-card">
      <h3 id="set-blocked">
        <Ban size={18} aria-hidden /> {t('blocked.title')}
      </h3>
      {list === null && (
        <p className="muted" aria-busy="true">
          <LoaderCircle size={16} className="spin" aria-hidden /> {t('blocked.loading')}
        </p>
      )}
      {empty && <p className="muted" data-testid="blocked-empty">{t('blocked.empty')}</p>}
      {list !== null && !empty && (
        <ul className="member-list" aria-labelledby="set-blocked">
          {list.users.map((u) => (
            <li key={`u:${u.username}`} className="member" data-testid="blocked-user">
              <Avatar name={u.username} size="sm" />
              <span className="member-name">
                {u.displayName ?? u.username}
                {u.displayName && <span className="muted"> {u.username}</span>}
              </span>
              <button type="button" className="btn" disabled={busy} onClick={() => unblock({ username: u.username }, u.username)} aria-label={t('blocked.unblockName', { name: u.username })}>
                {t('blocked.unblock')}
              </button>
            </li>
          ))}
          {list.groups.map((g) => (
            <li key={`g:${g.id}`} className="member" data-testid="blocked-group">
              <GroupAvatar name={g.name} id={g.id} size="sm" />
              <span className="member-name">
                {g.name}
                {g.addedBy && <span className="muted"> {t('blocked.addedBy', { name: g.addedBy })}</span>}
              </span>
              <button type="button" className="btn" disabled={busy} onClick={() => unblock({ group: g.id }, g.name)} aria-label={t('blocked.unblockName', { name: g.name })}>
                {t('blocked.unblock')}
              </button>
            </li>
          ))}
        </ul>
      )}
      <p className="muted small">{t('blocked.hint')}</p>
    </section>
  );
}
