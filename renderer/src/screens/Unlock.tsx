import { useState } from 'react';
import type { ReactNode } from 'react';
import { KeyRound, LoaderCircle } from 'lucide-react';
import { errorText } from '../runtime/index.js';
import { useApp } from '../state.js';

/** The file vault needs its passphrase before the core can open the identity and the history. */
export function Unlock(): ReactNode {
  const { bridge, refresh } = useApp();
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
          <h1>Unlock Parley</h1>
          <p className="lead">Your keys are in a passphrase-protected file. Enter the passphrase to open them.</p>
        </div>
        <div className="field">
          <label htmlFor="unlock-pass">Passphrase</label>
          <input id="unlock-pass" className="input" type="password" autoFocus value={pass} onChange={(e) => setPass(e.target.value)} aria-invalid={error ? 'true' : 'false'} />
          <span className={`hint ${error ? 'error' : ''}`} role={error ? 'alert' : undefined}>
            {error ?? ''}
          </span>
        </div>
        <div className="nav">
          <span />
          <button type="submit" className="btn primary lg" disabled={busy || pass.length === 0}>
            {busy && <LoaderCircle size={16} className="spin" aria-hidden />} Unlock
          </button>
        </div>
      </form>
    </main>
  );
}
