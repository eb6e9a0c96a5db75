/** Onboarding: choosing the relay (host one here, join one nearby, or type an address) and testing it. */
import { useEffect, useState } from 'react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { ArrowLeft, ArrowRight, Check, Globe, LoaderCircle, Network, RefreshCw, Server } from 'lucide-react';
import type { DiscoveredRelay } from '../../../../electron/contract/api.js';
import { InsecureRelayToggle } from '../../components/InsecureRelayToggle.js';
import { ApiError, describeCode, describeError, describeReason } from '../../runtime/index.js';
import type { Described } from '../../runtime/index.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { normalizeRelayUrl } from '../../lib/relay-address.js';
import { useApp } from '../../state.js';

type RelayMode = 'host' | 'lan' | 'address';

export function RelayStep(p: {
  chosen: { url: string; fingerprint: string } | null;
  onChoose: (r: { url: string; fingerprint: string } | null) => void;
  onBack: () => void;
  onNext: () => void;
}): ReactNode {
  const { bridge, state } = useApp();
  const { t } = useTranslation();
  const [mode, setMode] = useState<RelayMode>(state.embeddedRelay.running ? 'host' : 'address');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Described | null>(null);
  const [address, setAddress] = useState('');
  const [found, setFound] = useState<DiscoveredRelay[] | null>(null);

  const test = async (url: string): Promise<void> => {
    setBusy(true);
    setError(null);
    p.onChoose(null);
    try {
      const r = await bridge.testRelay({ url });
      if (r.ok) p.onChoose({ url, fingerprint: r.fingerprint });
      else setError(describeReason(r.error));
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  useEffect(() => {
    if (mode !== 'lan') return;
    let stop = false;
    const scan = (): void => {
      bridge.discoverRelays().then(
        (r) => !stop && setFound(r),
        () => !stop && setFound([]),
      );
    };
    scan();
    const t = setInterval(scan, 3000);
    return () => {
      stop = true;
      clearInterval(t);
    };
  }, [bridge, mode]);

  const host = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      const s = state.embeddedRelay.running ? state.embeddedRelay : await bridge.startEmbeddedRelay({ lan: true });
      if (!s.url) throw new ApiError('RELAY', 'The relay started without an address.');
      setBusy(false);
      await test(s.url);
    } catch (e) {
      setError(describeError(e));
      setBusy(false);
    }
  };

  const select = (m: RelayMode): void => {
    setMode(m);
    setError(null);
    p.onChoose(null);
  };

  return (
    <>
      <div style={{ display: 'flex', flexDirection: 'column', gap: 8 }}>
        <h1 id="onb-title">{t('relayStep.title')}</h1>
        <p className="lead">{t('relayStep.lead')}</p>
      </div>
      <div className="options" role="radiogroup" aria-label={t('relayStep.group')}>
        <RelayOption mode="host" current={mode} onSelect={select} icon={<Server size={20} />} title={t('relayStep.hostTitle')} desc={t('relayStep.hostDesc')} />
        <RelayOption mode="lan" current={mode} onSelect={select} icon={<Network size={20} />} title={t('relayStep.lanTitle')} desc={t('relayStep.lanDesc')} />
        <RelayOption mode="address" current={mode} onSelect={select} icon={<Globe size={20} />} title={t('relayStep.addressTitle')} desc={t('relayStep.addressDesc')} />
      </div>

      {mode === 'host' && (
        <div className="row-actions">
          <button type="button" className="btn" onClick={() => void host()} disabled={busy}>
            {busy ? <LoaderCircle size={16} className="spin" aria-hidden /> : <Server size={16} aria-hidden />}
            {state.embeddedRelay.running ? t('relayStep.useHosted') : t('relayStep.startHosted')}
          </button>
        </div>
      )}
      {mode === 'lan' && (
        <div className="options" aria-live="polite" aria-busy={found === null}>
          {found === null && (
            <p className="muted" style={{ display: 'flex', gap: 8, alignItems: 'center' }}>
              <LoaderCircle size={16} className="spin" aria-hidden /> {t('relayStep.looking')}
            </p>
          )}
          {found?.length === 0 && (
            <p className="muted" style={{ display: 'flex', gap: 8, alignItems: 'center' }}>
              <RefreshCw size={16} aria-hidden /> {t('relayStep.noneFound')}
            </p>
          )}
          {found?.map((r) => (
            <button
              key={r.url}
              type="button"
              className="option"
              role="radio"
              aria-checked={p.chosen?.url === r.url}
              onClick={() => void test(r.url)}
            >
              <Server size={18} aria-hidden />
              <span className="opt-body">
                <span className="t">{r.name}</span>
                <span className="d mono">{r.url}</span>
              </span>
            </button>
          ))}
        </div>
      )}
      {mode === 'address' && (
        <form
          className="field"
          onSubmit={(e) => {
            e.preventDefault();
            const n = normalizeRelayUrl(address, { allowInsecure: state.settings.insecureRelay });
            if ('error' in n) setError(describeCode(n.error));
            else void test(n.url);
          }}
        >
          <label htmlFor="onb-relay">{t('relayStep.addressLabel')}</label>
          <div style={{ display: 'flex', gap: 8 }}>
            <input
              id="onb-relay"
              className="input"
              placeholder="https://192.168.1.20:7447"
              value={address}
              spellCheck={false}
              autoComplete="off"
              onChange={(e) => {
                setAddress(e.target.value);
                p.onChoose(null);
                setError(null);
              }}
            />
            <button type="submit" className="btn" style={{ height: 40 }} disabled={busy || !address.trim()}>
              {busy ? <LoaderCircle size={16} className="spin" aria-hidden /> : null}
              {t('relayStep.test')}
            </button>
          </div>
          {/* Offered only once the core refused a plain address off this computer (or the user already chose it). */}
          {(state.settings.insecureRelay || error?.code === 'INSECURE_RELAY') && <InsecureRelayToggle id="onb-insecure-relay" />}
        </form>
      )}

      <div aria-live="polite">
        {error && (
          <p className="hint error" role="alert" style={{ fontSize: 13 }}>
            <ErrorNote error={error} />
          </p>
        )}
        {p.chosen && (
          <p className="hint ok" style={{ display: 'flex', gap: 6, alignItems: 'center', fontSize: 13 }} data-testid="relay-ok">
            <Check size={16} aria-hidden /> {t('relayStep.connected', { url: p.chosen.url, key: p.chosen.fingerprint.slice(0, 16) })}
          </p>
        )}
      </div>

      <div className="nav">
        <button type="button" className="btn ghost" onClick={p.onBack}>
          <ArrowLeft size={16} aria-hidden /> {t('common.back')}
        </button>
        <button type="button" className="btn primary lg" disabled={!p.chosen || busy} onClick={p.onNext}>
          {t('common.continue')} <ArrowRight size={16} aria-hidden />
        </button>
      </div>
    </>
  );
}

function RelayOption(p: { mode: RelayMode; current: RelayMode; onSelect: (m: RelayMode) => void; icon: ReactNode; title: string; desc: string }): ReactNode {
  return (
    <button type="button" className="option" role="radio" aria-checked={p.current === p.mode} onClick={() => p.onSelect(p.mode)}>
      {p.icon}
      <span className="opt-body">
        <span className="t">{p.title}</span>
        <span className="d">{p.desc}</span>
      </span>
    </button>
  );
}

