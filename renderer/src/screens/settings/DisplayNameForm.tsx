/**
 * Settings → the display name contacts see next to the username. It travels only inside encrypted messages (the
 * payload's `name`), never to the relay; the core validates it (up to 64 characters, no control characters).
 */
import { useState } from 'react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorNote } from '../../components/ErrorNote.js';
import { describeError } from '../../runtime/index.js';
import type { Described } from '../../runtime/index.js';
import { useApp } from '../../state.js';

export function DisplayNameForm(): ReactNode {
  const { bridge, state, refresh, toast } = useApp();
  const { t } = useTranslation();
  const saved = state.settings.displayName ?? '';
  const [name, setName] = useState(saved);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Described | null>(null);

  const save = (): void => {
    setBusy(true);
    setProblem(null);
    bridge
      .updateSettings({ displayName: name })
      .then(() => refresh())
      .then(() => toast(t('settings.displayNameSaved')))
      .catch((e: unknown) => setProblem(describeError(e)))
      .finally(() => setBusy(false));
  };

  return (
    <form
      className="field"
      onSubmit={(e) => {
        e.preventDefault();
        save();
      }}
    >
      <label htmlFor="set-display-name">{t('settings.displayName')}</label>
      <div style={{ display: 'flex', gap: 8 }}>
        <input
          id="set-display-name"
          className="input"
          value={name}
          maxLength={64}
          onChange={(e) => setName(e.target.value)}
          aria-describedby="set-display-name-hint"
          placeholder={state.profile?.username}
        />
        <button type="submit" className="btn" style={{ height: 40 }} disabled={busy || name.trim() === saved}>
          {t('settings.displayNameSave')}
        </button>
      </div>
      <span id="set-display-name-hint" className="hint">
        {t('settings.displayNameHint')}
      </span>
      {problem && (
        <span className="hint error" role="alert">
          <ErrorNote error={problem} />
        </span>
      )}
    </form>
  );
}
