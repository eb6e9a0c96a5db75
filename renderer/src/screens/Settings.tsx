/** Settings: profile and fingerprint, relay, embedded relay, identity backup, notifications, theme, about. */
import { useState } from 'react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Bell, ClipboardCopy, Download, Info, KeyRound, LoaderCircle, Palette, Upload, User, Wifi, X, Languages } from 'lucide-react';
import type { Settings } from '../../../electron/contract/api.js';
import { Avatar } from '../components/Avatar.js';
import { ConnectionStatus } from '../components/ConnectionStatus.js';
import { InsecureRelayToggle } from '../components/InsecureRelayToggle.js';
import { fingerprintGroups } from '../lib/format.js';
import { normalizeRelayUrl } from '../lib/relay-address.js';
import { ErrorNote } from '../components/ErrorNote.js';
import { describeCode, describeError, describeReason } from '../runtime/index.js';
import type { Described } from '../runtime/index.js';
import { InviteCard } from '../components/InviteCard.js';
import { useApp } from '../state.js';
import { copyText } from '../lib/clipboard.js';
import { DisplayNameForm } from './settings/DisplayNameForm.js';
import { AutoDownloadCard } from './settings/AutoDownloadCard.js';
import { EmbeddedRelayCard } from './settings/EmbeddedRelayCard.js';
import { ReadReceiptsToggle } from './settings/ReadReceiptsToggle.js';
import { BlockedCard } from './settings/BlockedCard.js';
import { chooseLanguage, LANGUAGES, resolveChoice, savedChoice } from '../i18n/index.js';
import type { LanguageChoice } from '../i18n/index.js';

export function SettingsPage({ onClose }: { onClose: () => void }): ReactNode {
  const { state } = useApp();
  const { t } = useTranslation();
  const profile = state.profile!;
  return (
    <div className="page" data-testid="settings">
      <div className="page-inner">
        <div style={{ display: 'flex', alignItems: 'center', gap: 12 }}>
          <h2 className="page-title" style={{ flex: 1 }}>{t('settings.title')}</h2>
          <button type="button" className="icon-btn" aria-label={t('settings.close')} onClick={onClose}>
            <X size={20} aria-hidden />
          </button>
        </div>

        <section className="card" aria-labelledby="set-profile">
          <h3 id="set-profile">
            <User size={18} aria-hidden /> {t('settings.profile')}
          </h3>
          <div style={{ display: 'flex', gap: 16, alignItems: 'center' }}>
            <Avatar name={profile.username} size="lg" />
            <dl className="kv" style={{ flex: 1, margin: 0 }}>
              <dt>{t('common.username')}</dt>
              <dd>
                <strong>{profile.username}</strong>
              </dd>
              <dt>{t('settings.fingerprint')}</dt>
              <dd className="fp" data-testid="settings-fingerprint">
                {fingerprintGroups(profile.fingerprint).join(' ')}
              </dd>
              <dt>{t('settings.keysIn')}</dt>
              <dd>{profile.vault === 'keychain' ? t('settings.inKeychain') : t('settings.inFile')}</dd>
            </dl>
          </div>
          <DisplayNameForm />
        </section>

        <InviteCard headingLevel={3} />
        <RelayCard />
        <EmbeddedRelayCard />
        <BackupCard />
        <PreferencesCard />
        <BlockedCard />

        <section className="card" aria-labelledby="set-about">
          <h3 id="set-about">
            <Info size={18} aria-hidden /> {t('settings.about')}
          </h3>
          <p>
            <strong>Parley 0.1.0</strong> — {t('settings.aboutBody')}
          </p>
          <p className="muted">{t('settings.licence')}</p>
          <DebugLogButton />
        </section>
      </div>
    </div>
  );
}

/** Copies the recent diagnostics log (the core keeps secrets and message bodies out of it) for a bug report. */
function DebugLogButton(): ReactNode {
  const { bridge, fail, toast } = useApp();
  const { t } = useTranslation();
  const [busy, setBusy] = useState(false);
  const copy = async (): Promise<void> => {
    setBusy(true);
    try {
      const { text } = await bridge.getDebugLog();
      await copyText(text || '(the debug log is empty)');
      toast(t('settings.logCopied'));
    } catch (e) {
      fail(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="row-actions">
      <button type="button" className="btn" disabled={busy} onClick={() => void copy()}>
        {busy ? <LoaderCircle size={16} className="spin" aria-hidden /> : <ClipboardCopy size={16} aria-hidden />} {t('settings.copyLog')}
      </button>
    </div>
  );
}

function RelayCard(): ReactNode {
  const { bridge, state, toast } = useApp();
  const { t } = useTranslation();
  const [addr, setAddr] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Described | null>(null);
  const c = state.connection;

  const change = async (): Promise<void> => {
    // Checked here first, so a mistyped address gets words next to the field instead of the core's refusal.
    const n = normalizeRelayUrl(addr, { allowInsecure: state.settings.insecureRelay });
    if ('error' in n) return setProblem(describeCode(n.error));
    setBusy(true);
    setProblem(null);
    try {
      const r = await bridge.testRelay({ url: n.url });
      if (!r.ok) {
        setProblem(describeReason(r.error));
        return;
      }
      await bridge.setRelay({ url: n.url });
      toast(t('settings.nowUsing', { url: n.url }));
      setAddr('');
    } catch (e) {
      setProblem(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card" aria-labelledby="set-relay">
      <h3 id="set-relay">
        <Wifi size={18} aria-hidden /> {t('relayStep.group')}
      </h3>
      <dl className="kv" style={{ margin: 0 }}>
        <dt>{t('settings.status')}</dt>
        <dd>
          <ConnectionStatus connection={c} />
        </dd>
        <dt>{t('settings.address')}</dt>
        <dd className="mono">{c.relayUrl ?? t('settings.none')}</dd>
        {c.status === 'online' && (
          <>
            <dt>{t('settings.relayKey')}</dt>
            <dd className="fp">{fingerprintGroups(c.relayFingerprint).slice(0, 8).join(' ')}…</dd>
          </>
        )}
      </dl>
      <form
        className="field"
        onSubmit={(e) => {
          e.preventDefault();
          void change();
        }}
      >
        <label htmlFor="set-relay-addr">{t('settings.otherRelay')}</label>
        <div style={{ display: 'flex', gap: 8 }}>
          <input id="set-relay-addr" className="input" placeholder="https://192.168.1.20:7447" value={addr} onChange={(e) => setAddr(e.target.value)} spellCheck={false} />
          <button type="submit" className="btn" style={{ height: 40 }} disabled={busy || !addr.trim()}>
            {busy && <LoaderCircle size={16} className="spin" aria-hidden />} {t('settings.testAndSwitch')}
          </button>
        </div>
        {problem && (
          <span className="hint error" role="alert" data-testid="relay-problem">
            <ErrorNote error={problem} />
          </span>
        )}
      </form>
      <InsecureRelayToggle id="set-insecure-relay" />
    </section>
  );
}

function BackupCard(): ReactNode {
  const { bridge, state, toast } = useApp();
  const { t } = useTranslation();
  const [mode, setMode] = useState<'none' | 'export' | 'import'>('none');
  const [pass, setPass] = useState('');
  const [pass2, setPass2] = useState('');
  const [relay, setRelay] = useState(state.connection.relayUrl ?? '');
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<string | Described | null>(null);

  const reset = (m: typeof mode): void => {
    setMode(m);
    setPass('');
    setPass2('');
    setErr(null);
  };

  const doExport = (): void => {
    if (pass.length < 8) return setErr(t('passphrase.tooShort'));
    if (pass !== pass2) return setErr(t('passphrase.differ'));
    setBusy(true);
    bridge
      .exportIdentity({ passphrase: pass })
      .then((r) => {
        if (r.saved) {
          toast(r.location ? t('settings.backupSavedTo', { location: r.location }) : t('settings.backupSaved'));
          reset('none');
        }
      })
      .catch((e: unknown) => setErr(describeError(e)))
      .finally(() => setBusy(false));
  };
  const doImport = (): void => {
    const n = normalizeRelayUrl(relay, { allowInsecure: state.settings.insecureRelay });
    if ('error' in n) return setErr(describeCode(n.error));
    setBusy(true);
    bridge
      .importIdentity({ passphrase: pass, relayUrl: n.url })
      .then((p) => {
        toast(t('settings.imported', { name: p.username }));
        reset('none');
      })
      .catch((e: unknown) => setErr(describeError(e)))
      .finally(() => setBusy(false));
  };

  return (
    <section className="card" aria-labelledby="set-backup">
      <h3 id="set-backup">
        <KeyRound size={18} aria-hidden /> {t('settings.backup')}
      </h3>
      <p className="muted">{t('settings.backupBody')}</p>
      <div className="row-actions">
        <button type="button" className="btn" aria-expanded={mode === 'export'} onClick={() => reset(mode === 'export' ? 'none' : 'export')}>
          <Download size={16} aria-hidden /> {t('settings.export')}
        </button>
        <button type="button" className="btn" aria-expanded={mode === 'import'} onClick={() => reset(mode === 'import' ? 'none' : 'import')}>
          <Upload size={16} aria-hidden /> {t('settings.import')}
        </button>
      </div>
      {mode === 'export' && (
        <form
          style={{ display: 'flex', flexDirection: 'column', gap: 12 }}
          onSubmit={(e) => {
            e.preventDefault();
            doExport();
          }}
        >
          <div className="field">
            <label htmlFor="exp-pass">{t('settings.backupPass')}</label>
            <input id="exp-pass" className="input" type="password" autoComplete="new-password" value={pass} onChange={(e) => setPass(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="exp-pass2">{t('passphrase.repeat')}</label>
            <input id="exp-pass2" className="input" type="password" autoComplete="new-password" value={pass2} onChange={(e) => setPass2(e.target.value)} />
            <span className={`hint ${err ? 'error' : ''}`}>{err === null ? t('settings.exportHint') : typeof err === 'string' ? err : <ErrorNote error={err} />}</span>
          </div>
          <div className="row-actions">
            <button type="submit" className="btn primary" disabled={busy}>
              {busy && <LoaderCircle size={16} className="spin" aria-hidden />} {t('settings.save')}
            </button>
          </div>
        </form>
      )}
      {mode === 'import' && (
        <form
          style={{ display: 'flex', flexDirection: 'column', gap: 12 }}
          onSubmit={(e) => {
            e.preventDefault();
            doImport();
          }}
        >
          <div className="note warn">
            <Info size={18} aria-hidden />
            <span>{t('settings.importNote')}</span>
          </div>
          <div className="field">
            <label htmlFor="imp-pass">{t('settings.backupPass')}</label>
            <input id="imp-pass" className="input" type="password" value={pass} onChange={(e) => setPass(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="imp-relay">{t('relayStep.group')}</label>
            <input id="imp-relay" className="input" value={relay} onChange={(e) => setRelay(e.target.value)} spellCheck={false} />
            <span className={`hint ${err ? 'error' : ''}`}>{err === null ? t('settings.importHint') : typeof err === 'string' ? err : <ErrorNote error={err} />}</span>
          </div>
          <div className="row-actions">
            <button type="submit" className="btn primary" disabled={busy || !pass}>
              {busy && <LoaderCircle size={16} className="spin" aria-hidden />} {t('settings.chooseAndImport')}
            </button>
          </div>
        </form>
      )}
    </section>
  );
}

function PreferencesCard(): ReactNode {
  const { bridge, state, setState, fail } = useApp();
  const { t } = useTranslation();
  const s = state.settings;
  const update = (patch: Partial<Settings>): void => {
    setState({ ...state, settings: { ...s, ...patch } });
    bridge.updateSettings(patch).then((settings) => setState({ ...state, settings }), fail);
  };
  return (
    <>
      <section className="card" aria-labelledby="set-notif">
        <h3 id="set-notif">
          <Bell size={18} aria-hidden /> {t('settings.notifications')}
        </h3>
        <div className="choices" role="radiogroup" aria-labelledby="set-notif">
          {(
            [
              ['full', t('settings.notifFull')],
              ['sender', t('settings.notifSender')],
              ['off', t('settings.notifOff')],
            ] as const
          ).map(([v, label]) => (
            <label key={v} className="choice">
              <input type="radio" name="notifications" value={v} checked={s.notifications === v} onChange={() => update({ notifications: v })} /> {label}
            </label>
          ))}
        </div>
        <p className="muted small">{t('settings.notifNote')}</p>
      </section>
      <ReadReceiptsToggle />
      <section className="card" aria-labelledby="set-theme">
        <h3 id="set-theme">
          <Palette size={18} aria-hidden /> {t('settings.appearance')}
        </h3>
        <div className="choices" role="radiogroup" aria-labelledby="set-theme">
          {(
            [
              ['system', t('settings.followSystem')],
              ['light', t('settings.light')],
              ['dark', t('settings.dark')],
            ] as const
          ).map(([v, label]) => (
            <label key={v} className="choice">
              <input type="radio" name="theme" value={v} checked={s.theme === v} onChange={() => update({ theme: v })} /> {label}
            </label>
          ))}
        </div>
      </section>
      <AutoDownloadCard />
      <LanguageCard />
    </>
  );
}

/** The UI language: the OS language by default, or a fixed one (kept in this window's storage, see i18n/index.ts). */
function LanguageCard(): ReactNode {
  const { t } = useTranslation();
  const [choice, setChoice] = useState<LanguageChoice>(savedChoice);
  const pick = (c: LanguageChoice): void => {
    setChoice(c);
    void chooseLanguage(c);
  };
  const options: Array<[LanguageChoice, string]> = [
    ['system', t('settings.languageSystem', { name: t(`languages.${resolveChoice('system')}`) })],
    ...LANGUAGES.map((l): [LanguageChoice, string] => [l, t(`languages.${l}`)]),
  ];
  return (
    <section className="card" aria-labelledby="set-lang">
      <h3 id="set-lang">
        <Languages size={18} aria-hidden /> {t('settings.language')}
      </h3>
      <div className="choices" role="radiogroup" aria-labelledby="set-lang">
        {options.map(([v, label]) => (
          <label key={v} className="choice">
            <input type="radio" name="language" value={v} checked={choice === v} onChange={() => pick(v)} /> {label}
          </label>
        ))}
      </div>
      <p className="muted small">{t('settings.languageNote')}</p>
    </section>
  );
}
