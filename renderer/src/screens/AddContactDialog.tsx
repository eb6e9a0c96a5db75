import { useState } from 'react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { LoaderCircle, UserPlus } from 'lucide-react';
import { Dialog } from '../components/Dialog.js';
import { usernameProblem } from '../lib/format.js';
import { ApiError, describeError } from '../runtime/index.js';
import { useApp } from '../state.js';

export function AddContactDialog(p: { onClose: () => void; onAdded: (username: string) => void }): ReactNode {
  const { bridge, state } = useApp();
  const { t } = useTranslation();
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const problem = name ? usernameProblem(name) : null;
  const self = name === state.profile?.username;

  const submit = (): void => {
    if (!name || problem || self) return;
    setBusy(true);
    setError(null);
    bridge
      .addContact({ username: name })
      .then((c) => p.onAdded(c.username))
      .catch((e: unknown) => {
        const err = ApiError.from(e);
        setError(err.code === 'NOT_FOUND' ? t('addContact.notFound', { name }) : describeError(err).text);
      })
      .finally(() => setBusy(false));
  };

  const shown = error ?? (self ? t('addContact.self') : problem ? t(`username.${problem.key}`, problem.values) : null);
  return (
    <Dialog
      title={t('addContact.title')}
      onClose={p.onClose}
      testId="add-contact-dialog"
      footer={
        <>
          <button type="button" className="btn" onClick={p.onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" form="add-contact-form" className="btn primary" disabled={!name || !!problem || self || busy}>
            {busy ? <LoaderCircle size={16} className="spin" aria-hidden /> : <UserPlus size={16} aria-hidden />} {t('addContact.add')}
          </button>
        </>
      }
    >
      <form
        id="add-contact-form"
        className="field"
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <label htmlFor="add-username">{t('common.username')}</label>
        <input
          id="add-username"
          className="input"
          data-autofocus
          value={name}
          spellCheck={false}
          autoComplete="off"
          aria-invalid={shown ? 'true' : 'false'}
          aria-describedby="add-username-hint"
          onChange={(e) => {
            setName(e.target.value);
            setError(null);
          }}
        />
        <span id="add-username-hint" className={`hint ${shown ? 'error' : ''}`} aria-live="polite">
          {shown ?? t('addContact.hint')}
        </span>
      </form>
      <p className="muted small">{t('addContact.note')}</p>
    </Dialog>
  );
}
