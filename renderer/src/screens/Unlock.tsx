import { useState } from 'react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { KeyRound, LoaderCircle } from 'lucide-react';
import { errorText } from '../runtime/index.js';
import { useApp } from '../state.js';

/** The file vault needs its passphrase before the core can open the identity and the history. */
export function Unlock(): ReactNode {
  const { bridge, refresh } = useApp();
  const { t } = useTranslation();
  const [pass, setPass] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <main className="onb">
      <form
        className="onb-card"
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          bridge
            .unlock({ passphrase: pass })
            .then(() => refresh())
            .catch((err: unknown) => setError(errorText(err)))
            .finally(() => setBusy(false));
        }}
      >
        <div className="logo" aria-hidden>
          <KeyRound size={28} />
        </div>
        <div style={{ display: 'flex', flexDirection: 'column', gap: 8 }}>
          <h1>{t('unlock.title')}</h1>
          <p className="lead">{t('unlock.lead')}</p>
        </div>
        <div className="field">
          <label htmlFor="unlock-pass">{t('passphrase.label')}</label>
          <input id="unlock-pass" className="input" type="password" autoFocus value={pass} onChange={(e) => setPass(e.target.value)} aria-invalid={error ? 'true' : 'false'} />
          <span className={`hint ${error ? 'error' : ''}`} role={error ? 'alert' : undefined}>
            {error ?? ''}
          </span>
        </div>
        <div className="nav">
          <span />
          <button type="submit" className="btn primary lg" disabled={busy || pass.length === 0}>
            {busy && <LoaderCircle size={16} className="spin" aria-hidden />} {t('unlock.action')}
          </button>
        </div>
      </form>
    </main>
  );
}
