/**
 * "New group": a name and members chosen from contacts (checkboxes, filterable). We become the group's first admin.
 * Errors are shown in the dialog in words (errors.*), the dialog stays open so nothing typed is lost.
 */
import { useEffect, useMemo, useState } from 'react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { LoaderCircle, Users } from 'lucide-react';
import type { ContactView } from '../../../../electron/contract/api.js';
import { Avatar } from '../../components/Avatar.js';
import { Dialog } from '../../components/Dialog.js';
import { describeError } from '../../runtime/index.js';
import { useApp } from '../../state.js';

export const MAX_GROUP_NAME = 64;

/** Contacts that can be added to a group: everyone in the direct list (blocked contacts are not listed there). */
export function useContacts(): ContactView[] | null {
  const { bridge, fail } = useApp();
  const [contacts, setContacts] = useState<ContactView[] | null>(null);
  useEffect(() => {
    bridge.listConversations({}).then((list) => setContacts(list.flatMap((c) => (c.kind === 'direct' ? [c.contact] : [])).sort((a, b) => (a.username < b.username ? -1 : 1))), fail);
  }, [bridge, fail]);
  return contacts;
}

/** A filterable list of contacts with checkboxes (shared by the new-group dialog and "Add members"). */
export function ContactPicker(p: { contacts: ContactView[] | null; exclude?: string[]; chosen: Set<string>; onToggle: (u: string) => void; idPrefix: string }): ReactNode {
  const { t } = useTranslation();
  const [filter, setFilter] = useState('');
  const shown = useMemo(
    () => (p.contacts ?? []).filter((c) => !p.exclude?.includes(c.username) && (!filter || c.username.includes(filter.toLowerCase()) || (c.displayName ?? '').toLowerCase().includes(filter.toLowerCase()))),
    [p.contacts, p.exclude, filter],
  );
  if (p.contacts === null) return <p className="muted" aria-busy="true">{t('shell.loading')}</p>;
  if ((p.contacts ?? []).filter((c) => !p.exclude?.includes(c.username)).length === 0) return <p className="muted">{t('group.noContacts')}</p>;
  return (
    <fieldset className="group-picker">
      <legend>{t('group.chooseMembers')}</legend>
      <input className="input" type="search" placeholder={t('group.filterContacts')} aria-label={t('group.filterContacts')} value={filter} onChange={(e) => setFilter(e.target.value)} />
      <ul className="group-picker-list" aria-label={t('group.contacts')}>
        {shown.map((c) => (
          <li key={c.username}>
            <label className="group-pick" htmlFor={`${p.idPrefix}-${c.username}`}>
              <input id={`${p.idPrefix}-${c.username}`} type="checkbox" checked={p.chosen.has(c.username)} onChange={() => p.onToggle(c.username)} data-testid={`pick-${c.username}`} />
              <Avatar name={c.username} size="sm" />
              <span>{c.displayName ?? c.username}</span>
              {c.displayName && <span className="handle">{c.username}</span>}
            </label>
          </li>
        ))}
      </ul>
      <span className="hint" aria-live="polite">
        {t('group.chosen', { count: p.chosen.size })}
      </span>
    </fieldset>
  );
}

export function NewGroupDialog(p: { onClose: () => void; onCreated: (conversation: `g:${string}`) => void }): ReactNode {
  const { bridge } = useApp();
  const { t } = useTranslation();
  const contacts = useContacts();
  const [name, setName] = useState('');
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const trimmed = name.trim();
  const nameProblem = name.length > 0 && trimmed.length === 0 ? t('group.nameBlank') : trimmed.length > MAX_GROUP_NAME ? t('group.nameLong', { max: MAX_GROUP_NAME }) : null;
  const ready = trimmed.length > 0 && !nameProblem && chosen.size > 0 && !busy;

  const toggle = (u: string): void => {
    setChosen((s) => {
      const n = new Set(s);
      if (n.has(u)) n.delete(u);
      else n.add(u);
      return n;
    });
  };

  const submit = (): void => {
    if (!ready) return;
    setBusy(true);
    setError(null);
    bridge
      .createGroup({ name: trimmed, members: [...chosen] })
      .then((g) => p.onCreated(g.conversation))
      .catch((e: unknown) => setError(describeError(e).text))
      .finally(() => setBusy(false));
  };

  return (
    <Dialog
      title={t('group.new')}
      onClose={p.onClose}
      testId="new-group-dialog"
      footer={
        <>
          <button type="button" className="btn" onClick={p.onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" form="new-group-form" className="btn primary" disabled={!ready}>
            {busy ? <LoaderCircle size={16} className="spin" aria-hidden /> : <Users size={16} aria-hidden />} {t('group.create')}
          </button>
        </>
      }
    >
      <form
        id="new-group-form"
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <div className="field">
          <label htmlFor="group-name">{t('group.name')}</label>
          <input
            id="group-name"
            className="input"
            data-autofocus
            value={name}
            maxLength={MAX_GROUP_NAME + 16}
            autoComplete="off"
            aria-invalid={nameProblem ? 'true' : 'false'}
            aria-describedby="group-name-hint"
            onChange={(e) => {
              setName(e.target.value);
              setError(null);
            }}
          />
          <span id="group-name-hint" className={`hint ${nameProblem ? 'error' : ''}`}>
            {nameProblem ?? t('group.nameHint')}
          </span>
        </div>
        <ContactPicker contacts={contacts} chosen={chosen} onToggle={toggle} idPrefix="new-group" />
      </form>
      {error && (
        <p className="hint error" role="alert" data-testid="new-group-error">
          {error}
        </p>
      )}
      <p className="muted small">{t('group.note')}</p>
    </Dialog>
  );
}
