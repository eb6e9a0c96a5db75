import { useState } from 'react';
import type { ReactNode } from 'react';
import { LoaderCircle, UserPlus } from 'lucide-react';
import { Dialog } from '../components/Dialog.js';
import { usernameProblem } from '../lib/format.js';
import { ApiError } from '../runtime/index.js';
import { useApp } from '../state.js';

export function AddContactDialog(p: { onClose: () => void; onAdded: (username: string) => void }): ReactNode {
  const { bridge, state } = useApp();
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
        setError(err.code === 'NOT_FOUND' ? `Nobody called “${name}” is registered on your relay.` : err.message);
      })
      .finally(() => setBusy(false));
  };

  const shown = error ?? (self ? 'That is you.' : problem);
  return (
    <Dialog
      title="Add a contact"
      onClose={p.onClose}
      testId="add-contact-dialog"
      footer={
        <>
          <button type="button" className="btn" onClick={p.onClose}>
            Cancel
          </button>
          <button type="submit" form="add-contact-form" className="btn primary" disabled={!name || !!problem || self || busy}>
            {busy ? <LoaderCircle size={16} className="spin" aria-hidden /> : <UserPlus size={16} aria-hidden />} Add
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
        <label htmlFor="add-username">Username</label>
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
          {shown ?? 'Their Parley username, exactly as they gave it to you.'}
        </span>
      </form>
      <p className="muted small">Parley fetches their public key from the relay. Compare safety numbers afterwards to be sure it is really them.</p>
    </Dialog>
  );
}
