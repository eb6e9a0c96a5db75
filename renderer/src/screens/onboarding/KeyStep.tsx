/** Onboarding: creating the key pair and choosing where it is kept (system keychain or a passphrase file). */
import { useState } from 'react';
import type { ReactNode } from 'react';
import { Trans, useTranslation } from 'react-i18next';
import { t } from '../../i18n/index.js';
import { ArrowLeft, Check, KeyRound, LoaderCircle, TriangleAlert } from 'lucide-react';
import type { OnboardingProgress, ProfileInfo } from '../../../../electron/contract/api.js';
import { ApiError, describeError } from '../../runtime/index.js';
import type { Described } from '../../runtime/index.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { useApp, useEvent } from '../../state.js';

const PROGRESS_STEPS: Array<{ step: OnboardingProgress['step']; label: (vault: 'keychain' | 'file', user: string) => string }> = [
  { step: 'generating-keys', label: () => t('keyStep.generating') },
  { step: 'storing-keys', label: (v) => (v === 'keychain' ? t('keyStep.storingKeychain') : t('keyStep.storingFile')) },
  { step: 'registering', label: (_v, u) => t('keyStep.registering', { name: u }) },
];

export function KeyStep(p: { username: string; relayUrl: string; onBack: () => void; onTaken: (msg: string) => void; onDone: (p: ProfileInfo) => void }): ReactNode {
  const { bridge, state } = useApp();
  const keychain = state.keychain;
  const [vault, setVault] = useState<'keychain' | 'file'>(keychain.available ? 'keychain' : 'file');
  const [pass, setPass] = useState('');
  const [pass2, setPass2] = useState('');
  const [busy, setBusy] = useState(false);
  const [progress, setProgress] = useState<OnboardingProgress['step'] | null>(null);
  const [error, setError] = useState<Described | null>(null);
  // An invite-only relay refuses new users without a code (INVITE_REQUIRED): then the field appears.
  const [askInvite, setAskInvite] = useState(false);
  const [invite, setInvite] = useState('');

  useEvent('onboarding-progress', (e) => setProgress(e.step));

  const { t: tr } = useTranslation();
  const passProblem = vault === 'file' ? (pass.length < 8 ? tr('passphrase.tooShort') : pass !== pass2 ? tr('passphrase.differ') : null) : null;

  const create = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    setProgress('generating-keys');
    try {
      const profile = await bridge.createIdentity({
        username: p.username,
        relayUrl: p.relayUrl,
        vault,
        ...(vault === 'file' ? { passphrase: pass } : {}),
        ...(invite.trim() ? { invite: invite.trim() } : {}),
      });
      setProgress('done');
      p.onDone(profile);
    } catch (e) {
      const err = ApiError.from(e);
      setBusy(false);
      setProgress(null);
      if (err.code === 'USERNAME_TAKEN') p.onTaken(tr('keyStep.taken', { name: p.username }));
      else {
        const described = describeError(err);
        if (described.code === 'INVITE_REQUIRED') setAskInvite(true);
        setError(described);
      }
    }
  };

  const order = PROGRESS_STEPS.map((s) => s.step);
  const at = progress === 'done' ? order.length : progress ? order.indexOf(progress) : -1;

  return (
    <>
      <div style={{ display: 'flex', flexDirection: 'column', gap: 8 }}>
        <h1 id="onb-title">{tr('keyStep.title')}</h1>
        <p className="lead">
          <Trans i18nKey="keyStep.lead" values={{ name: p.username }} components={{ b: <strong /> }} />
        </p>
      </div>
      {!busy && (
        <>
          {keychain.available ? (
            <div className="note">
              <KeyRound size={18} aria-hidden />
              <span>
                {vault === 'keychain' ? (
                  <>{tr('keyStep.inKeychain', { backend: keychain.backend })} </>
                ) : (
                  <>{tr('keyStep.inFile')} </>
                )}
                <button type="button" className="link" onClick={() => setVault(vault === 'keychain' ? 'file' : 'keychain')}>
                  {vault === 'keychain' ? tr('keyStep.useFile') : tr('keyStep.useKeychain')}
                </button>
              </span>
            </div>
          ) : (
            <div className="note warn" role="note" data-testid="keychain-unavailable">
              <TriangleAlert size={18} aria-hidden />
              <span style={{ display: 'flex', flexDirection: 'column', gap: 4 }}>
                <span>
                  <strong>{tr('keyStep.noKeychain')}</strong> {tr('keyStep.noKeychainMore')}
                </span>
                <details className="small muted">
                  <summary>{tr('keyStep.technical')}</summary>
                  {keychain.reason}
                </details>
              </span>
            </div>
          )}
          {askInvite ? (
            <div className="field">
              <label htmlFor="onb-invite">{tr('keyStep.inviteLabel')}</label>
              <input id="onb-invite" className="input mono" autoComplete="off" spellCheck={false} value={invite} onChange={(e) => setInvite(e.target.value)} />
              <span className="hint">{tr('keyStep.inviteHint')}</span>
            </div>
          ) : (
            <button type="button" className="link" style={{ alignSelf: 'flex-start' }} onClick={() => setAskInvite(true)}>
              {tr('keyStep.haveInvite')}
            </button>
          )}
          {vault === 'file' && (
            <div style={{ display: 'flex', flexDirection: 'column', gap: 12 }}>
              <div className="field">
                <label htmlFor="onb-pass">{tr('passphrase.label')}</label>
                <input id="onb-pass" className="input" type="password" autoComplete="new-password" value={pass} onChange={(e) => setPass(e.target.value)} />
              </div>
              <div className="field">
                <label htmlFor="onb-pass2">{tr('passphrase.repeat')}</label>
                <input id="onb-pass2" className="input" type="password" autoComplete="new-password" value={pass2} onChange={(e) => setPass2(e.target.value)} />
                <span className={`hint ${pass2 && passProblem ? 'error' : ''}`}>{pass2 || pass ? (passProblem ?? tr('passphrase.match')) : tr('passphrase.tooShort')}</span>
              </div>
            </div>
          )}
        </>
      )}
      {busy && (
        <div style={{ display: 'flex', flexDirection: 'column', gap: 16 }} aria-live="polite" aria-busy="true">
          <div className={`progress ${at < 1 ? 'indeterminate' : ''}`} role="progressbar" aria-label={tr('keyStep.title')} aria-valuemin={0} aria-valuemax={3} aria-valuenow={Math.max(0, at)}>
            <i style={at >= 1 ? { width: `${Math.min(100, (at / order.length) * 100)}%` } : undefined} />
          </div>
          <ul className="checklist">
            {PROGRESS_STEPS.map((s, i) => (
              <li key={s.step} className={i < at ? 'done' : i === at ? 'active' : ''}>
                {i < at ? <Check size={16} aria-hidden /> : i === at ? <LoaderCircle size={16} className="spin" aria-hidden /> : <span style={{ width: 16 }} />}
                {s.label(vault, p.username)}
              </li>
            ))}
          </ul>
        </div>
      )}
      {error && (
        <p className="hint error" role="alert" style={{ fontSize: 13 }}>
          <ErrorNote error={error} />
        </p>
      )}
      <div className="nav">
        <button type="button" className="btn ghost" onClick={p.onBack} disabled={busy}>
          <ArrowLeft size={16} aria-hidden /> {tr('common.back')}
        </button>
        <button type="button" className="btn primary lg" onClick={() => void create()} disabled={busy || passProblem !== null}>
          {busy ? <LoaderCircle size={16} className="spin" aria-hidden /> : <KeyRound size={16} aria-hidden />}
          {busy ? tr('keyStep.creating') : tr('keyStep.create')}
        </button>
      </div>
    </>
  );
}

