/**
 * The readReceipts setting (on by default, like Signal): off sends no read receipts and shows none from others, so
 * neither side learns more than the other.
 */
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Eye } from 'lucide-react';
import { useApp } from '../../state.js';

export function ReadReceiptsToggle(): ReactNode {
  const { bridge, state, setState, fail } = useApp();
  const { t } = useTranslation();
  const on = state.settings.readReceipts !== false;
  const set = (readReceipts: boolean): void => {
    setState({ ...state, settings: { ...state.settings, readReceipts } });
    bridge.updateSettings({ readReceipts }).then((settings) => setState({ ...state, settings }), fail);
  };
  return (
    <section className="card" aria-labelledby="set-receipts">
      <h3 id="set-receipts">
        <Eye size={18} aria-hidden /> {t('actions.receiptsTitle')}
      </h3>
      <label className="choice" htmlFor="set-read-receipts">
        <input id="set-read-receipts" type="checkbox" checked={on} onChange={(e) => set(e.target.checked)} data-testid="read-receipts-toggle" />{' '}
        {t('actions.readReceipts')}
      </label>
      <p className="muted small">{t('actions.readReceiptsHint')}</p>
    </section>
  );
}
