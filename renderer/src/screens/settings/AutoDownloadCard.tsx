/** Settings → Downloads: whether received images download by themselves, and up to which size (default 5 MB). */
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Download } from 'lucide-react';
import type { Settings } from '../../../../electron/contract/api.js';
import { useApp } from '../../state.js';

const MB = 1_000_000;
/** The core accepts up to 32 MiB. */
const MAX_MB = 33;

export function AutoDownloadCard(): ReactNode {
  const { bridge, state, setState, fail } = useApp();
  const { t } = useTranslation();
  const s = state.settings;
  const update = (patch: Partial<Settings>): void => {
    setState({ ...state, settings: { ...s, ...patch } });
    bridge.updateSettings(patch).then((settings) => setState({ ...state, settings }), fail);
  };
  return (
    <section className="card" aria-labelledby="set-downloads">
      <h3 id="set-downloads">
        <Download size={18} aria-hidden /> {t('attach.settingsTitle')}
      </h3>
      <label className="choice">
        <input type="checkbox" checked={s.autoDownloadImages} onChange={(e) => update({ autoDownloadImages: e.target.checked })} data-testid="auto-download" />{' '}
        {t('attach.autoDownload')}
      </label>
      <div className="field">
        <label htmlFor="set-auto-limit">{t('attach.autoDownloadLimit')}</label>
        <input
          id="set-auto-limit"
          className="input"
          type="number"
          min={0}
          max={MAX_MB}
          step={1}
          value={Math.round(s.autoDownloadMaxBytes / MB)}
          disabled={!s.autoDownloadImages}
          aria-describedby="set-auto-hint"
          onChange={(e) => {
            const mb = Math.min(MAX_MB, Math.max(0, Math.round(Number(e.target.value) || 0)));
            update({ autoDownloadMaxBytes: Math.min(32 * 1024 * 1024, mb * MB) });
          }}
          style={{ width: 120 }}
        />
        <span id="set-auto-hint" className="hint">
          {t('attach.autoDownloadHint')}
        </span>
      </div>
    </section>
  );
}
