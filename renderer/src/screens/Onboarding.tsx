/**
 * First run: welcome → username → relay → key creation → done. Every step says what happens and why; the relay
 * is tested before we continue, key generation shows progress, and a missing keychain is explained with the
 * passphrase-file alternative.
 */
import { useEffect, useState } from 'react';
import type { ReactNode } from 'react';
import {
  ArrowLeft, ArrowRight, Check, Globe, KeyRound, LoaderCircle, Lock, MessagesSquare, Network, RefreshCw, Server, TriangleAlert,
} from 'lucide-react';
import type { DiscoveredRelay, OnboardingProgress, ProfileInfo } from '../../../electron/contract/api.js';
import { InsecureRelayToggle } from '../components/InsecureRelayToggle.js';
import { fingerprintGroups, usernameProblem } from '../lib/format.js';
import { ApiError, describeCode, describeError, describeReason } from '../runtime/index.js';
import type { Described } from '../runtime/index.js';
import { ErrorNote } from '../components/ErrorNote.js';
import { normalizeRelayUrl } from '../lib/relay-address.js';
import { useApp, useEvent } from '../state.js';

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

  return (
    <main className="onb" data-testid="onboarding">
      <section className="onb-card" aria-labelledby="onb-title">
        <div className="steps" aria-label={`Step ${idx + 1} of ${ORDER.length}`} role="img">
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
  return (
    <>
      <div className="logo" aria-hidden>
        <MessagesSquare size={30} />
      </div>
      <div style={{ display: 'flex', flexDirection: 'column', gap: 8 }}>
        <h1 id="onb-title">Welcome to Parley</h1>
        <p className="lead">
          Private conversations, encrypted on your computer before they leave it. The relay that carries your messages never sees a word of them.
        </p>
      </div>
      <div className="note">
        <Lock size={18} aria-hidden />
        <span>Setting up takes a minute: choose a name, pick a relay, and Parley creates your keys.</span>
      </div>
      <div className="nav">
        <span />
        <button type="button" className="btn primary lg" onClick={onNext} autoFocus>
          Get started <ArrowRight size={16} aria-hidden />
        </button>
      </div>
    </>
  );
}

function UsernameStep(p: { value: string; onChange: (v: string) => void; serverError: string | null; onBack: () => void; onNext: () => void }): ReactNode {
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
        <h1 id="onb-title">Choose your username</h1>
        <p className="lead">This is how people find you. It is public on the relay; your messages are not.</p>
      </div>
      <div className="field">
        <label htmlFor="onb-username">Username</label>
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
          {shown ?? (problem === null ? 'Looks good.' : '3–32 characters: a–z, 0–9, _ . -')}
        </span>
      </div>
      <div className="nav">
        <button type="button" className="btn ghost" onClick={p.onBack}>
          <ArrowLeft size={16} aria-hidden /> Back
        </button>
        <button type="submit" className="btn primary lg" disabled={problem !== null || p.serverError !== null}>
          Continue <ArrowRight size={16} aria-hidden />
        </button>
      </div>
    </form>
  );
}

type RelayMode = 'host' | 'lan' | 'address';

function RelayStep(p: {
  chosen: { url: string; fingerprint: string } | null;
  onChoose: (r: { url: string; fingerprint: string } | null) => void;
  onBack: () => void;
  onNext: () => void;
}): ReactNode {
  const { bridge, state } = useApp();
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
        <h1 id="onb-title">Pick a relay</h1>
        <p className="lead">The relay passes sealed messages between people. It can read who talks to whom, never what is said.</p>
      </div>
      <div className="options" role="radiogroup" aria-label="Relay">
        <RelayOption mode="host" current={mode} onSelect={select} icon={<Server size={20} />} title="Host on this computer" desc="Others on your network can join it." />
        <RelayOption mode="lan" current={mode} onSelect={select} icon={<Network size={20} />} title="Join one found on your network" desc="Relays announced nearby, found automatically." />
        <RelayOption mode="address" current={mode} onSelect={select} icon={<Globe size={20} />} title="Enter an address" desc="A relay someone gave you, such as 192.168.1.20:7447." />
      </div>

      {mode === 'host' && (
        <div className="row-actions">
          <button type="button" className="btn" onClick={() => void host()} disabled={busy}>
            {busy ? <LoaderCircle size={16} className="spin" aria-hidden /> : <Server size={16} aria-hidden />}
            {state.embeddedRelay.running ? 'Use the relay on this computer' : 'Start the relay'}
          </button>
        </div>
      )}
      {mode === 'lan' && (
        <div className="options" aria-live="polite" aria-busy={found === null}>
          {found === null && (
            <p className="muted" style={{ display: 'flex', gap: 8, alignItems: 'center' }}>
              <LoaderCircle size={16} className="spin" aria-hidden /> Looking for relays on your network…
            </p>
          )}
          {found?.length === 0 && (
            <p className="muted" style={{ display: 'flex', gap: 8, alignItems: 'center' }}>
              <RefreshCw size={16} aria-hidden /> None found yet. Still looking — or enter an address instead.
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
          <label htmlFor="onb-relay">Relay address</label>
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
              Test connection
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
            <Check size={16} aria-hidden /> Connected to {p.chosen.url} · relay key {p.chosen.fingerprint.slice(0, 16)}…
          </p>
        )}
      </div>

      <div className="nav">
        <button type="button" className="btn ghost" onClick={p.onBack}>
          <ArrowLeft size={16} aria-hidden /> Back
        </button>
        <button type="button" className="btn primary lg" disabled={!p.chosen || busy} onClick={p.onNext}>
          Continue <ArrowRight size={16} aria-hidden />
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

const PROGRESS_STEPS: Array<{ step: OnboardingProgress['step']; label: (vault: 'keychain' | 'file', user: string) => string }> = [
  { step: 'generating-keys', label: () => 'Creating your keys (RSA-4096 for encryption, Ed25519 for signatures)' },
  { step: 'storing-keys', label: (v) => (v === 'keychain' ? 'Storing them in your system keychain' : 'Writing your passphrase-protected key file') },
  { step: 'registering', label: (_v, u) => `Registering “${u}” on the relay` },
];

function KeyStep(p: { username: string; relayUrl: string; onBack: () => void; onTaken: (msg: string) => void; onDone: (p: ProfileInfo) => void }): ReactNode {
  const { bridge, state } = useApp();
  const keychain = state.keychain;
  const [vault, setVault] = useState<'keychain' | 'file'>(keychain.available ? 'keychain' : 'file');
  const [pass, setPass] = useState('');
  const [pass2, setPass2] = useState('');
  const [busy, setBusy] = useState(false);
  const [progress, setProgress] = useState<OnboardingProgress['step'] | null>(null);
  const [error, setError] = useState<Described | null>(null);

  useEvent('onboarding-progress', (e) => setProgress(e.step));

  const passProblem = vault === 'file' ? (pass.length < 8 ? 'At least 8 characters.' : pass !== pass2 ? 'The two passphrases differ.' : null) : null;

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
      });
      setProgress('done');
      p.onDone(profile);
    } catch (e) {
      const err = ApiError.from(e);
      setBusy(false);
      setProgress(null);
      if (err.code === 'USERNAME_TAKEN') p.onTaken(`“${p.username}” is taken on this relay. Choose another name.`);
      else setError(describeError(err));
    }
  };

  const order = PROGRESS_STEPS.map((s) => s.step);
  const at = progress === 'done' ? order.length : progress ? order.indexOf(progress) : -1;

  return (
    <>
      <div style={{ display: 'flex', flexDirection: 'column', gap: 8 }}>
        <h1 id="onb-title">Create your identity</h1>
        <p className="lead">
          Parley makes a key pair for <strong>{p.username}</strong>. The private half never leaves this computer.
        </p>
      </div>
      {!busy && (
        <>
          {keychain.available ? (
            <div className="note">
              <KeyRound size={18} aria-hidden />
              <span>
                {vault === 'keychain' ? (
                  <>Your private keys will be kept in your system keychain ({keychain.backend}), unlocked when you log in. </>
                ) : (
                  <>Your private keys will be kept in a file encrypted with a passphrase you choose. </>
                )}
                <button type="button" className="link" onClick={() => setVault(vault === 'keychain' ? 'file' : 'keychain')}>
                  {vault === 'keychain' ? 'Use a passphrase file instead' : 'Use the system keychain'}
                </button>
              </span>
            </div>
          ) : (
            <div className="note warn" role="note" data-testid="keychain-unavailable">
              <TriangleAlert size={18} aria-hidden />
              <span style={{ display: 'flex', flexDirection: 'column', gap: 4 }}>
                <span>
                  <strong>No system keychain is available on this computer.</strong> Parley can keep your keys in a file protected by a
                  passphrase instead. You will type it each time Parley starts; if you forget it, the keys cannot be recovered.
                </span>
                <details className="small muted">
                  <summary>Technical details</summary>
                  {keychain.reason}
                </details>
              </span>
            </div>
          )}
          {vault === 'file' && (
            <div style={{ display: 'flex', flexDirection: 'column', gap: 12 }}>
              <div className="field">
                <label htmlFor="onb-pass">Passphrase</label>
                <input id="onb-pass" className="input" type="password" autoComplete="new-password" value={pass} onChange={(e) => setPass(e.target.value)} />
              </div>
              <div className="field">
                <label htmlFor="onb-pass2">Repeat passphrase</label>
                <input id="onb-pass2" className="input" type="password" autoComplete="new-password" value={pass2} onChange={(e) => setPass2(e.target.value)} />
                <span className={`hint ${pass2 && passProblem ? 'error' : ''}`}>{pass2 || pass ? (passProblem ?? 'Passphrases match.') : 'At least 8 characters.'}</span>
              </div>
            </div>
          )}
        </>
      )}
      {busy && (
        <div style={{ display: 'flex', flexDirection: 'column', gap: 16 }} aria-live="polite" aria-busy="true">
          <div className={`progress ${at < 1 ? 'indeterminate' : ''}`} role="progressbar" aria-label="Creating your identity" aria-valuemin={0} aria-valuemax={3} aria-valuenow={Math.max(0, at)}>
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
          <ArrowLeft size={16} aria-hidden /> Back
        </button>
        <button type="button" className="btn primary lg" onClick={() => void create()} disabled={busy || passProblem !== null}>
          {busy ? <LoaderCircle size={16} className="spin" aria-hidden /> : <KeyRound size={16} aria-hidden />}
          {busy ? 'Creating…' : 'Create my keys'}
        </button>
      </div>
    </>
  );
}

function DoneStep({ profile, onFinish }: { profile: ProfileInfo; onFinish: () => void }): ReactNode {
  const { refresh } = useApp();
  return (
    <>
      <div className="logo" aria-hidden style={{ background: 'var(--ok)' }}>
        <Check size={30} />
      </div>
      <div style={{ display: 'flex', flexDirection: 'column', gap: 8 }}>
        <h1 id="onb-title">You are {profile.username}</h1>
        <p className="lead">This is your key’s fingerprint. Contacts see a safety number made from it and theirs; compare it with them to be sure nobody sits in between.</p>
      </div>
      <p className="fp safety" style={{ gridTemplateColumns: 'repeat(4, auto)', fontSize: 15 }} data-testid="own-fingerprint">
        {fingerprintGroups(profile.fingerprint).map((g, i) => (
          <span key={i}>{g}</span>
        ))}
      </p>
      <div className="note">
        <Lock size={18} aria-hidden />
        <span>You can back up your identity in Settings, to move it to another computer or recover it.</span>
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
          Start messaging <ArrowRight size={16} aria-hidden />
        </button>
      </div>
    </>
  );
}
