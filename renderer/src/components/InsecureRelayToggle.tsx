/**
 * The explicit choice to use a relay without TLS on another machine (the insecureRelay setting). Off by default; the
 * core refuses plain http:// and ws:// addresses off this computer until it is on, so the warning below is the one
 * place the user learns what they give up.
 */
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { TriangleAlert } from 'lucide-react';
import { useApp } from '../state.js';

export function InsecureRelayToggle({ id }: { id: string }): ReactNode {
  const { bridge, state, setState, fail } = useApp();
  const { t } = useTranslation();
  const on = state.settings.insecureRelay;
  const set = (insecureRelay: boolean): void => {
    setState({ ...state, settings: { ...state.settings, insecureRelay } });
    bridge.updateSettings({ insecureRelay }).then((settings) => setState({ ...state, settings }), fail);
  };
  return (
    <div className="field">
      <label className="choice" htmlFor={id}>
        <input id={id} type="checkbox" checked={on} onChange={(e) => set(e.target.checked)} /> {t('insecure.label')}
      </label>
      <p className={`hint ${on ? 'error' : ''}`} style={{ display: 'flex', gap: 6, alignItems: 'flex-start', fontSize: 13 }}>
        <TriangleAlert size={16} aria-hidden style={{ flex: 'none' }} />
        {t('insecure.warning')}
      </p>
    </div>
  );
}
