/**
 * The members panel of a group (a dialog): who is in it and their role; admins add members, remove members and make
 * admins; anyone renames (unless only admins may) and leaves. Buttons appear only for what our role allows; the
 * core checks again and answers NOT_ADMIN / NOT_MEMBER, shown in words. Removing someone and leaving ask first. A
 * change made while the relay is unreachable is saved and queued by the core (sent when it is back): the panel says
 * so (QUEUED_OFFLINE) instead of looking as if it had reached everyone; one that cannot be made offline (a key to
 * look up) fails with OFFLINE and changes nothing.
 */
import { useState } from 'react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { LogOut, Pencil, Shield, UserMinus, UserPlus } from 'lucide-react';
import type { GroupView } from '../../../../electron/contract/api.js';
import { Avatar } from '../../components/Avatar.js';
import { Dialog } from '../../components/Dialog.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { describeCode, describeError } from '../../runtime/index.js';
import type { Described } from '../../runtime/index.js';
import { useApp } from '../../state.js';
import { ConfirmInline } from './ConfirmInline.js';
import { ContactPicker, MAX_GROUP_NAME, useContacts } from './NewGroupDialog.js';

export function MembersPanel(p: { info: GroupView; me: string; onClose: () => void; onChanged: (g: GroupView) => void }): ReactNode {
  const { bridge, state } = useApp();
  const { t } = useTranslation();
  const [error, setError] = useState<Described | null>(null);
  // Set after a change made while offline: it is queued, not lost.
  const [queued, setQueued] = useState(false);
  const [confirm, setConfirm] = useState<{ kind: 'remove'; username: string } | { kind: 'leave' } | null>(null);
  const [busy, setBusy] = useState(false);
  const [adding, setAdding] = useState(false);
  const [renaming, setRenaming] = useState(false);
  const [name, setName] = useState(p.info.name);
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const contacts = useContacts();
  const { info } = p;
  const admin = info.myRole === 'admin';
  const canRename = info.active && (admin || !info.adminOnlyRename);

  const run = (fn: () => Promise<GroupView>, after?: () => void): void => {
    setBusy(true);
    setError(null);
    setQueued(false);
    const offline = state.connection.status !== 'online';
    fn()
      .then((g) => {
        p.onChanged(g);
        setConfirm(null);
        if (offline) setQueued(true);
        after?.();
      })
      .catch((e: unknown) => setError(describeError(e)))
      .finally(() => setBusy(false));
  };

  return (
    <Dialog title={t('group.membersTitle', { name: info.name })} onClose={p.onClose} testId="members-panel" wide>
      <p className="muted" data-testid="members-count">
        {t('group.members', { count: info.members.length })}
        {info.myRole ? ` · ${t(info.myRole === 'admin' ? 'group.youAreAdmin' : 'group.youAreMember')}` : ` · ${t('group.notMember')}`}
      </p>
      {error && (
        <p className="hint error" role="alert" data-testid="members-error">
          <ErrorNote error={error} />
        </p>
      )}
      {queued && (
        // Body text colour, not .hint's muted one: the details line is dimmed further and must keep its contrast.
        <div role="status" data-testid="members-queued">
          <ErrorNote error={describeCode('QUEUED_OFFLINE')} />
        </div>
      )}
      <ul className="member-list" aria-label={t('group.membersList')}>
        {info.members.map((m) => {
          const self = m.username === p.me;
          return (
            <li key={m.username} className="member" data-testid="member" data-username={m.username} data-role={m.role}>
              <Avatar name={m.username} size="sm" />
              <span className="member-name">
                {m.username}
                {self && <span className="muted"> {t('group.you')}</span>}
              </span>
              {m.role === 'admin' && <span className="pill ok">{t('group.admin')}</span>}
              {info.held.includes(m.username) && (
                <span className="pill warn" data-testid="member-held" title={t('group.heldHint', { name: m.username })}>
                  {t('group.held')}
                </span>
              )}
              {admin && !self && (
                <span className="row-actions">
                  {m.role !== 'admin' && (
                    <button type="button" className="btn ghost" disabled={busy} onClick={() => run(() => bridge.setGroupAdmin({ group: info.id, username: m.username }))} aria-label={t('group.makeAdminOf', { name: m.username })}>
                      <Shield size={14} aria-hidden /> {t('group.makeAdmin')}
                    </button>
                  )}
                  <button type="button" className="btn ghost danger" disabled={busy} onClick={() => setConfirm({ kind: 'remove', username: m.username })} aria-label={t('group.removeName', { name: m.username })} data-testid={`remove-${m.username}`}>
                    <UserMinus size={14} aria-hidden /> {t('group.remove')}
                  </button>
                </span>
              )}
            </li>
          );
        })}
      </ul>
      {confirm?.kind === 'remove' && (
        <ConfirmInline
          text={t('group.confirmRemove', { name: confirm.username, group: info.name })}
          confirmLabel={t('group.confirmRemoveButton', { name: confirm.username })}
          busy={busy}
          onConfirm={() => run(() => bridge.removeGroupMembers({ group: info.id, members: [confirm.username] }))}
          onCancel={() => setConfirm(null)}
          testId="confirm-remove"
        />
      )}

      {admin && !adding && (
        <button type="button" className="btn" onClick={() => setAdding(true)} data-testid="add-members">
          <UserPlus size={16} aria-hidden /> {t('group.addMembers')}
        </button>
      )}
      {admin && adding && (
        <form
          className="card"
          onSubmit={(e) => {
            e.preventDefault();
            if (chosen.size > 0) run(() => bridge.addGroupMembers({ group: info.id, members: [...chosen] }), () => { setAdding(false); setChosen(new Set()); });
          }}
        >
          <ContactPicker
            contacts={contacts}
            exclude={info.members.map((m) => m.username)}
            chosen={chosen}
            idPrefix="add-member"
            onToggle={(u) => setChosen((s) => { const n = new Set(s); if (n.has(u)) n.delete(u); else n.add(u); return n; })}
          />
          <div className="row-actions">
            <button type="submit" className="btn primary" disabled={busy || chosen.size === 0} data-testid="add-members-confirm">
              <UserPlus size={16} aria-hidden /> {t('group.add')}
            </button>
            <button type="button" className="btn" onClick={() => setAdding(false)}>
              {t('common.cancel')}
            </button>
          </div>
        </form>
      )}

      {canRename && !renaming && (
        <button type="button" className="btn" onClick={() => setRenaming(true)}>
          <Pencil size={16} aria-hidden /> {t('group.rename')}
        </button>
      )}
      {canRename && renaming && (
        <form
          className="field"
          onSubmit={(e) => {
            e.preventDefault();
            const n = name.trim();
            if (n && n.length <= MAX_GROUP_NAME) run(() => bridge.renameGroup({ group: info.id, name: n }), () => setRenaming(false));
          }}
        >
          <label htmlFor="group-rename">{t('group.name')}</label>
          <div className="row-actions">
            <input id="group-rename" className="input" value={name} maxLength={MAX_GROUP_NAME + 16} onChange={(e) => setName(e.target.value)} autoComplete="off" />
            <button type="submit" className="btn primary" disabled={busy || !name.trim() || name.trim().length > MAX_GROUP_NAME}>
              {t('group.save')}
            </button>
          </div>
        </form>
      )}

      {info.active && confirm?.kind !== 'leave' && (
        <div className="row-actions">
          <button type="button" className="btn danger" disabled={busy} onClick={() => setConfirm({ kind: 'leave' })} data-testid="leave-group">
            <LogOut size={16} aria-hidden /> {t('group.leave')}
          </button>
        </div>
      )}
      {info.active && confirm?.kind === 'leave' && (
        <ConfirmInline
          text={t('group.confirmLeave', { group: info.name })}
          confirmLabel={t('group.confirmLeaveButton', { group: info.name })}
          busy={busy}
          // Offline, the panel stays open to say the leave is queued.
          onConfirm={() => run(() => bridge.leaveGroup({ group: info.id }), state.connection.status === 'online' ? p.onClose : undefined)}
          onCancel={() => setConfirm(null)}
          testId="confirm-leave"
        />
      )}
    </Dialog>
  );
}
