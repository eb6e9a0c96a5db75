/** Settings: profile and fingerprint, relay, embedded relay, identity backup, notifications, theme, about. */
import { useState } from 'react';
import type { ReactNode } from 'react';
import { Bell, ClipboardCopy, Download, Info, KeyRound, LoaderCircle, Palette, Power, Server, Upload, User, Wifi, X } from 'lucide-react';
import type { Settings } from '../../../electron/contract/api.js';
import { Avatar } from '../components/Avatar.js';
import { ConnectionStatus } from '../components/ConnectionStatus.js';
import { InsecureRelayToggle } from '../components/InsecureRelayToggle.js';
import { fingerprintGroups } from '../lib/format.js';
import { normalizeRelayUrl } from '../lib/relay-address.js';
import { ErrorNote } from '../components/ErrorNote.js';
import { describeCode, describeError, describeReason } from '../runtime/index.js';
import type { Described } from '../runtime/index.js';
import { useApp } from '../state.js';

export function SettingsPage({ onClose }: { onClose: () => void }): ReactNode {
  const { state } = useApp();
  const profile = state.profile!;
  return (
    <div className="page" data-testid="settings">
      <div className="page-inner">
        <div style={{ display: 'flex', alignItems: 'center', gap: 12 }}>
          <h1 style={{ flex: 1 }}>Settings</h1>
          <button type="button" className="icon-btn" aria-label="Close settings" onClick={onClose}>
            <X size={20} aria-hidden />
          </button>
        </div>

        <section className="card" aria-labelledby="set-profile">
          <h2 id="set-profile">
            <User size={18} aria-hidden /> Profile
          </h2>
          <div style={{ display: 'flex', gap: 16, alignItems: 'center' }}>
            <Avatar name={profile.username} fingerprint={profile.fingerprint} size="lg" />
            <dl className="kv" style={{ flex: 1, margin: 0 }}>
              <dt>Username</dt>
              <dd>
                <strong>{profile.username}</strong>
              </dd>
              <dt>Fingerprint</dt>
              <dd className="fp" data-testid="settings-fingerprint">
                {fingerprintGroups(profile.fingerprint).join(' ')}
              </dd>
              <dt>Keys kept in</dt>
              <dd>{profile.vault === 'keychain' ? 'Your system keychain' : 'A passphrase-protected key file'}</dd>
            </dl>
          </div>
        </section>

        <RelayCard />
        <EmbeddedRelayCard />
        <BackupCard />
        <PreferencesCard />

        <section className="card" aria-labelledby="set-about">
          <h2 id="set-about">
            <Info size={18} aria-hidden /> About
          </h2>
          <p>
            <strong>Parley 0.1.0</strong> — a desktop messenger whose relay never sees a word. Messages are encrypted on this computer (RSA-OAEP-4096
            and AES-256-GCM, signed with Ed25519) before they leave it.
          </p>
          <p className="muted">MIT licence. Made by the Parley developers.</p>
          <DebugLogButton />
        </section>
      </div>
    </div>
  );
}

/** Copies the recent diagnostics log (the core keeps secrets and message bodies out of it) for a bug report. */
function DebugLogButton(): ReactNode {
  const { bridge, fail, toast } = useApp();
  const [busy, setBusy] = useState(false);
  const copy = async (): Promise<void> => {
    setBusy(true);
    try {
      const { text } = await bridge.getDebugLog();
      await copyText(text || '(the debug log is empty)');
      toast('Debug log copied. It holds no message text, keys or passphrases.');
    } catch (e) {
      fail(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="row-actions">
      <button type="button" className="btn" disabled={busy} onClick={() => void copy()}>
        {busy ? <LoaderCircle size={16} className="spin" aria-hidden /> : <ClipboardCopy size={16} aria-hidden />} Copy debug log
      </button>
    </div>
  );
}

async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No clipboard permission (e.g. a plain browser page): the selection-based copy still works on a click.
    const area = document.createElement('textarea');
    area.value = text;
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    if (!ok) throw new Error('Could not copy to the clipboard.');
  }
}

function RelayCard(): ReactNode {
  const { bridge, state, toast } = useApp();
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
      toast(`Now using ${n.url}`);
      setAddr('');
    } catch (e) {
      setProblem(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card" aria-labelledby="set-relay">
      <h2 id="set-relay">
        <Wifi size={18} aria-hidden /> Relay
      </h2>
      <dl className="kv" style={{ margin: 0 }}>
        <dt>Status</dt>
        <dd>
          <ConnectionStatus connection={c} />
        </dd>
        <dt>Address</dt>
        <dd className="mono">{c.relayUrl ?? 'none'}</dd>
        {c.status === 'online' && (
          <>
            <dt>Relay key</dt>
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
        <label htmlFor="set-relay-addr">Use another relay</label>
        <div style={{ display: 'flex', gap: 8 }}>
          <input id="set-relay-addr" className="input" placeholder="https://192.168.1.20:7447" value={addr} onChange={(e) => setAddr(e.target.value)} spellCheck={false} />
          <button type="submit" className="btn" style={{ height: 40 }} disabled={busy || !addr.trim()}>
            {busy && <LoaderCircle size={16} className="spin" aria-hidden />} Test and switch
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

function EmbeddedRelayCard(): ReactNode {
  const { bridge, state, fail, refresh } = useApp();
  const r = state.embeddedRelay;
  const [lan, setLan] = useState(true);
  const [busy, setBusy] = useState(false);
  const run = (fn: () => Promise<unknown>): void => {
    setBusy(true);
    fn()
      .then(() => refresh(), fail)
      .finally(() => setBusy(false));
  };
  return (
    <section className="card" aria-labelledby="set-embedded">
      <h2 id="set-embedded">
        <Server size={18} aria-hidden /> Relay on this computer
      </h2>
      {r.running ? (
        <>
          <p>
            Running at <span className="mono">{r.url}</span>
            {r.lan ? ', announced on your network.' : ', not announced.'}
          </p>
          {r.fingerprint && <p className="fp muted">{fingerprintGroups(r.fingerprint).slice(0, 8).join(' ')}…</p>}
          <div className="row-actions">
            <button type="button" className="btn danger" disabled={busy} onClick={() => run(() => bridge.stopEmbeddedRelay())}>
              <Power size={16} aria-hidden /> Stop relay
            </button>
          </div>
        </>
      ) : (
        <>
          <p className="muted">Host a relay so people on your network can reach you without any server elsewhere. It stops when Parley quits.</p>
          <label className="choice" style={{ alignSelf: 'flex-start' }}>
            <input type="checkbox" checked={lan} onChange={(e) => setLan(e.target.checked)} /> Announce it on the local network
          </label>
          <div className="row-actions">
            <button type="button" className="btn" disabled={busy} onClick={() => run(() => bridge.startEmbeddedRelay({ lan }))}>
              {busy ? <LoaderCircle size={16} className="spin" aria-hidden /> : <Power size={16} aria-hidden />} Start relay
            </button>
          </div>
        </>
      )}
    </section>
  );
}

function BackupCard(): ReactNode {
  const { bridge, state, toast } = useApp();
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
    if (pass.length < 8) return setErr('At least 8 characters.');
    if (pass !== pass2) return setErr('The two passphrases differ.');
    setBusy(true);
    bridge
      .exportIdentity({ passphrase: pass })
      .then((r) => {
        if (r.saved) {
          toast(`Backup saved${r.location ? ` to ${r.location}` : ''}`);
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
        toast(`Identity ${p.username} imported`);
        reset('none');
      })
      .catch((e: unknown) => setErr(describeError(e)))
      .finally(() => setBusy(false));
  };

  return (
    <section className="card" aria-labelledby="set-backup">
      <h2 id="set-backup">
        <KeyRound size={18} aria-hidden /> Identity backup
      </h2>
      <p className="muted">A backup holds your private keys, encrypted with a passphrase. Keep it somewhere safe; anyone with it and the passphrase can be you.</p>
      <div className="row-actions">
        <button type="button" className="btn" aria-expanded={mode === 'export'} onClick={() => reset(mode === 'export' ? 'none' : 'export')}>
          <Download size={16} aria-hidden /> Export backup…
        </button>
        <button type="button" className="btn" aria-expanded={mode === 'import'} onClick={() => reset(mode === 'import' ? 'none' : 'import')}>
          <Upload size={16} aria-hidden /> Import backup…
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
            <label htmlFor="exp-pass">Backup passphrase</label>
            <input id="exp-pass" className="input" type="password" autoComplete="new-password" value={pass} onChange={(e) => setPass(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="exp-pass2">Repeat passphrase</label>
            <input id="exp-pass2" className="input" type="password" autoComplete="new-password" value={pass2} onChange={(e) => setPass2(e.target.value)} />
            <span className={`hint ${err ? 'error' : ''}`}>{err === null ? 'At least 8 characters. You will choose where to save the file.' : typeof err === 'string' ? err : <ErrorNote error={err} />}</span>
          </div>
          <div className="row-actions">
            <button type="submit" className="btn primary" disabled={busy}>
              {busy && <LoaderCircle size={16} className="spin" aria-hidden />} Save backup…
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
            <span>Importing replaces the identity on this computer with the one in the backup.</span>
          </div>
          <div className="field">
            <label htmlFor="imp-pass">Backup passphrase</label>
            <input id="imp-pass" className="input" type="password" value={pass} onChange={(e) => setPass(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="imp-relay">Relay</label>
            <input id="imp-relay" className="input" value={relay} onChange={(e) => setRelay(e.target.value)} spellCheck={false} />
            <span className={`hint ${err ? 'error' : ''}`}>{err === null ? 'You will choose the backup file next.' : typeof err === 'string' ? err : <ErrorNote error={err} />}</span>
          </div>
          <div className="row-actions">
            <button type="submit" className="btn primary" disabled={busy || !pass}>
              {busy && <LoaderCircle size={16} className="spin" aria-hidden />} Choose file and import…
            </button>
          </div>
        </form>
      )}
    </section>
  );
}

function PreferencesCard(): ReactNode {
  const { bridge, state, setState, fail } = useApp();
  const s = state.settings;
  const update = (patch: Partial<Settings>): void => {
    setState({ ...state, settings: { ...s, ...patch } });
    bridge.updateSettings(patch).then((settings) => setState({ ...state, settings }), fail);
  };
  return (
    <>
      <section className="card" aria-labelledby="set-notif">
        <h2 id="set-notif">
          <Bell size={18} aria-hidden /> Notifications
        </h2>
        <div className="choices" role="radiogroup" aria-labelledby="set-notif">
          {(
            [
              ['full', 'Sender and message'],
              ['sender', 'Sender only'],
              ['off', 'Off'],
            ] as const
          ).map(([v, label]) => (
            <label key={v} className="choice">
              <input type="radio" name="notifications" value={v} checked={s.notifications === v} onChange={() => update({ notifications: v })} /> {label}
            </label>
          ))}
        </div>
        <p className="muted small">“Sender only” never puts message text on your screen’s notification area.</p>
      </section>
      <section className="card" aria-labelledby="set-theme">
        <h2 id="set-theme">
          <Palette size={18} aria-hidden /> Appearance
        </h2>
        <div className="choices" role="radiogroup" aria-labelledby="set-theme">
          {(
            [
              ['system', 'Follow the system'],
              ['light', 'Light'],
              ['dark', 'Dark'],
            ] as const
          ).map(([v, label]) => (
            <label key={v} className="choice">
              <input type="radio" name="theme" value={v} checked={s.theme === v} onChange={() => update({ theme: v })} /> {label}
            </label>
          ))}
        </div>
      </section>
    </>
  );
}
