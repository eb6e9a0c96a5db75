import { useEffect, useState } from 'react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { LoaderCircle, TriangleAlert } from 'lucide-react';
import type { AppState } from '../../electron/contract/api.js';
import { errorText, onBridgeLink } from './runtime/index.js';
import type { BridgeLinkStatus, Runtime } from './runtime/index.js';
import { AppProvider, useApp } from './state.js';
import { Onboarding } from './screens/Onboarding.js';
import { Unlock } from './screens/Unlock.js';
import { Shell } from './screens/Shell.js';

export function App({ runtime }: { runtime: Runtime }): ReactNode {
  const { t } = useTranslation();
  const [initial, setInitial] = useState<AppState | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [link, setLink] = useState<BridgeLinkStatus>('open');
  // Bumped when the link to the core comes back after a loss: screens remount and reload, so nothing that
  // happened while we were disconnected (messages fetched from the relay at start-up) is missed.
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    let lost = false;
    return onBridgeLink((s) => {
      // Each reconnect attempt reports 'connecting': while the core is lost that is still lost, so the bar (and
      // "Disconnected") stay up instead of flickering away between attempts.
      if (s === 'connecting' && lost) return;
      setLink(s);
      if (s === 'lost') lost = true;
      if (s === 'open' && lost) {
        lost = false;
        setGeneration((g) => g + 1);
      }
    });
  }, []);
  useEffect(() => {
    if (runtime.kind === 'none') return;
    let cancelled = false;
    const load = (): void => {
      runtime.bridge.getState().then(
        (s) => !cancelled && setInitial(s),
        (e: unknown) => {
          if (cancelled) return;
          setError(errorText(e));
          setTimeout(load, 1000);
        },
      );
    };
    load();
    return () => {
      cancelled = true;
    };
  }, [runtime]);

  if (runtime.kind === 'none') {
    return (
      <div className="center-fill" role="alert">
        <TriangleAlert size={32} aria-hidden />
        <h2>{t('app.noCore')}</h2>
        <p>{t('app.openFromApp')}</p>
      </div>
    );
  }
  if (!initial) {
    return (
      <div className="center-fill" aria-busy="true">
        <LoaderCircle className="spin" size={28} aria-hidden />
        <p>{error ? t('app.stillStarting', { reason: error }) : t('app.opening')}</p>
      </div>
    );
  }
  return (
    <AppProvider bridge={runtime.bridge} initial={initial} linkLost={link === 'lost'}>
      {link === 'lost' && (
        <div className="bridge-lost" role="alert" data-testid="core-link-lost">
          {t('app.coreLost')}
        </div>
      )}
      <Phase key={generation} />
    </AppProvider>
  );
}

function Phase(): ReactNode {
  const { state } = useApp();
  // Onboarding stays on screen until the person leaves its last step, even though the core is ready before that.
  const [onboarding, setOnboarding] = useState(state.phase === 'onboarding');
  if (onboarding || state.phase === 'onboarding') return <Onboarding onFinish={() => setOnboarding(false)} />;
  if (state.phase === 'locked') return <Unlock />;
  return <Shell />;
}
