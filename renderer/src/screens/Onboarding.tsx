/**
 * First run: welcome → username → relay → key creation → done. Every step says what happens and why; the relay
 * is tested before we continue, key generation shows progress, and a missing keychain is explained with the
 * passphrase-file alternative.
 */
import { useState } from 'react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { ArrowLeft, ArrowRight, Check, Lock, MessagesSquare } from 'lucide-react';
import type { ProfileInfo } from '../../../electron/contract/api.js';
import { fingerprintGroups, usernameProblem } from '../lib/format.js';
import { useApp } from '../state.js';
import { KeyStep } from './onboarding/KeyStep.js';
import { RelayStep } from './onboarding/RelayStep.js';

type Step = 'welcome' | 'username' | 'relay' | 'key' | 'done';
const ORDER: Step[] = ['welcome', 'username', 'relay', 'key', 'done'];

export function Onboarding({ onFinish }: { onFinish: () => void }): ReactNode {
  const { state } = useApp();
  const [step, setStep] = useState<Step>('welcome');
  const [username, setUsername] = useState('');
  const [usernameError, setUsernameError] = useState<string | null>(null);
  const [relay, setRelay] = useState<{ url: string; fingerprint: string } | null>(null);
  const [profile, setProfile] = useState<ProfileInfo | null>(state.phase === 'ready' ? state.profile : null);
  const idx = ORDER.indexOf(step);
  const { t } = useTranslation();

  return (
    <main className="onb" data-testid="onboarding">
      <section className="onb-card" aria-labelledby="onb-title">
        <div className="steps" aria-label={t('onboarding.stepOf', { step: idx + 1, total: ORDER.length })} role="img">
          {ORDER.map((s, i) => (
            <i key={s} className={i <= idx ? 'done' : ''} />
          ))}
        </div>
        {step === 'welcome' && <Welcome onNext={() => setStep('username')} />}
        {step === 'username' && (
          <UsernameStep
            value={username}
            onChange={(v) => {
              setUsername(v);
              setUsernameError(null);
            }}
            serverError={usernameError}
            onBack={() => setStep('welcome')}
            onNext={() => setStep('relay')}
          />
        )}
        {step === 'relay' && <RelayStep chosen={relay} onChoose={setRelay} onBack={() => setStep('username')} onNext={() => setStep('key')} />}
        {step === 'key' && relay && (
          <KeyStep
            username={username}
            relayUrl={relay.url}
            onBack={() => setStep('relay')}
            onTaken={(msg) => {
              setUsernameError(msg);
              setStep('username');
            }}
            onDone={(p) => {
              setProfile(p);
              setStep('done');
            }}
          />
        )}
        {step === 'done' && profile && <DoneStep profile={profile} onFinish={onFinish} />}
      </section>
    </main>
  );
}

function Welcome({ onNext }: { onNext: () => void }): ReactNode {
  const { t } = useTranslation();
  return (
    <>
      <div className="logo" aria-hidden>
        <MessagesSquare size={30} />
      </div>
      <div style={{ display: 'flex', flexDirection: 'column', gap: 8 }}>
        <h1 id="onb-title">{t('onboarding.welcomeTitle')}</h1>
        <p className="lead">{t('onboarding.welcomeLead')}</p>
      </div>
      <div className="note">
        <Lock size={18} aria-hidden />
        <span>{t('onboarding.welcomeNote')}</span>
      </div>
      <div className="nav">
        <span />
        <button type="button" className="btn primary lg" onClick={onNext} autoFocus>
          {t('onboarding.getStarted')} <ArrowRight size={16} aria-hidden />
        </button>
      </div>
    </>
  );
}

function UsernameStep(p: { value: string; onChange: (v: string) => void; serverError: string | null; onBack: () => void; onNext: () => void }): ReactNode {
  const { t } = useTranslation();
  const [touched, setTouched] = useState(p.value.length > 0);
  const problem = usernameProblem(p.value);
  const shown = p.serverError ?? (touched ? problem : null);
  return (
    <form
      style={{ display: 'contents' }}
      onSubmit={(e) => {
        e.preventDefault();
        setTouched(true);
        if (!problem && !p.serverError) p.onNext();
      }}
    >
      <div style={{ display: 'flex', flexDirection: 'column', gap: 8 }}>
        <h1 id="onb-title">{t('onboarding.usernameTitle')}</h1>
        <p className="lead">{t('onboarding.usernameLead')}</p>
      </div>
      <div className="field">
        <label htmlFor="onb-username">{t('common.username')}</label>
        <input
          id="onb-username"
          className="input"
          value={p.value}
          autoFocus
          autoComplete="off"
          spellCheck={false}
          maxLength={40}
          aria-invalid={shown ? 'true' : 'false'}
          aria-describedby="onb-username-hint"
          onChange={(e) => {
            setTouched(true);
            p.onChange(e.target.value);
          }}
        />
        <span id="onb-username-hint" className={`hint ${shown ? 'error' : problem === null ? 'ok' : ''}`} aria-live="polite">
          {p.serverError ?? (touched && problem ? t(`username.${problem.key}`, problem.values) : problem === null ? t('username.ok') : t('username.rule'))}
        </span>
      </div>
      <div className="nav">
        <button type="button" className="btn ghost" onClick={p.onBack}>
          <ArrowLeft size={16} aria-hidden /> {t('common.back')}
        </button>
        <button type="submit" className="btn primary lg" disabled={problem !== null || p.serverError !== null}>
          {t('common.continue')} <ArrowRight size={16} aria-hidden />
        </button>
      </div>
    </form>
  );
}

function DoneStep({ profile, onFinish }: { profile: ProfileInfo; onFinish: () => void }): ReactNode {
  const { refresh } = useApp();
  const { t } = useTranslation();
  return (
    <>
      <div className="logo" aria-hidden style={{ background: 'var(--ok)' }}>
        <Check size={30} />
      </div>
      <div style={{ display: 'flex', flexDirection: 'column', gap: 8 }}>
        <h1 id="onb-title">{t('onboarding.doneTitle', { name: profile.username })}</h1>
        <p className="lead">{t('onboarding.doneLead')}</p>
      </div>
      <p className="fp safety" style={{ gridTemplateColumns: 'repeat(4, auto)', fontSize: 15 }} data-testid="own-fingerprint">
        {fingerprintGroups(profile.fingerprint).map((g, i) => (
          <span key={i}>{g}</span>
        ))}
      </p>
      <div className="note">
        <Lock size={18} aria-hidden />
        <span>{t('onboarding.doneNote')}</span>
      </div>
      <div className="nav">
        <span />
        <button
          type="button"
          className="btn primary lg"
          autoFocus
          onClick={() => {
            void refresh().finally(onFinish);
          }}
        >
          {t('onboarding.startMessaging')} <ArrowRight size={16} aria-hidden />
        </button>
      </div>
    </>
  );
}
