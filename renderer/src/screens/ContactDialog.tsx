/** Contact details: safety number (12 groups of 5, monospace), its QR code, verification, key history, blocking. */
import { useEffect, useState } from 'react';
import type { ReactNode } from 'react';
import QRCode from 'qrcode';
import { Ban, LoaderCircle, ShieldAlert, ShieldCheck, ShieldOff } from 'lucide-react';
import type { ContactDetail } from '../../../electron/contract/api.js';
import { Avatar } from '../components/Avatar.js';
import { Dialog } from '../components/Dialog.js';
import { listTime, safetyGroups } from '../lib/format.js';
import { useApp, useEvent } from '../state.js';

export function ContactDialog(p: { username: string; onClose: () => void; onChanged: () => void }): ReactNode {
  const { bridge, fail, toast } = useApp();
  const [d, setD] = useState<ContactDetail | null>(null);
  const [qr, setQr] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const { username } = p;

  const load = (): void => {
    bridge.getContact({ username }).then(setD, fail);
  };
  useEffect(load, [bridge, username]);
  useEvent('contacts-changed', (e) => e.username === username && load());
  useEvent('contact-key-changed', (e) => e.username === username && load());

  useEffect(() => {
    if (!d) return;
    QRCode.toDataURL(d.qrPayload, { errorCorrectionLevel: 'M', margin: 0, width: 320, color: { dark: '#000000', light: '#ffffff' } }).then(setQr, () => setQr(null));
  }, [d]);

  const act = (fn: () => Promise<unknown>, done?: string): void => {
    setBusy(true);
    fn()
      .then(() => {
        if (done) toast(done);
        load();
        p.onChanged();
      }, fail)
      .finally(() => setBusy(false));
  };

  const groups = d ? (d.safetyNumberGroups.length === 12 ? d.safetyNumberGroups : safetyGroups(d.safetyNumber)) : [];
  return (
    <Dialog title={`Safety number with ${username}`} onClose={p.onClose} wide testId="safety-dialog">
      {!d ? (
        <p className="muted" style={{ display: 'flex', gap: 8, alignItems: 'center' }} aria-busy="true">
          <LoaderCircle size={16} className="spin" aria-hidden /> Loading…
        </p>
      ) : (
        <>
          <div style={{ display: 'flex', alignItems: 'center', gap: 12 }}>
            <Avatar name={username} fingerprint={d.fingerprint} size="lg" />
            <div style={{ display: 'flex', flexDirection: 'column', gap: 4 }}>
              <strong style={{ fontSize: 16 }}>{username}</strong>
              {d.keyChangePending ? (
                <span className="pill warn">
                  <ShieldAlert size={14} aria-hidden /> Safety number changed
                </span>
              ) : d.verified ? (
                <span className="pill ok" data-testid="verified-pill">
                  <ShieldCheck size={14} aria-hidden /> Verified
                </span>
              ) : (
                <span className="pill no">
                  <ShieldOff size={14} aria-hidden /> Not verified
                </span>
              )}
            </div>
          </div>
          <p className="muted">
            Compare these numbers with {username} in person or on a call, or scan the code on their screen. If every group matches, nobody is
            between you. The number is the same on both sides.
          </p>
          <div className="safety" data-testid="safety-number" aria-label={`Safety number: ${groups.join(' ')}`}>
            {groups.map((g, i) => (
              <span key={i}>{g}</span>
            ))}
          </div>
          {d.keyChangePending && d.pendingSafetyNumber && (
            <>
              <h3>New safety number (after the key change)</h3>
              <div className="safety pending" data-testid="pending-safety-number">
                {safetyGroups(d.pendingSafetyNumber).map((g, i) => (
                  <span key={i}>{g}</span>
                ))}
              </div>
            </>
          )}
          <div className="qr">{qr ? <img src={qr} alt={`QR code of the safety number with ${username}`} /> : <span className="muted">Preparing QR code…</span>}</div>
          {d.keyChanges.length > 0 && (
            <div>
              <h3>Key history</h3>
              <ul style={{ margin: 0, paddingLeft: 20 }} className="muted">
                {d.keyChanges.map((c) => (
                  <li key={c.at}>
                    {listTime(c.at)}: key changed ({c.signedByOld ? 'signed by the previous key' : 'not signed by the previous key'}) — {c.resolution}
                  </li>
                ))}
              </ul>
            </div>
          )}
          <div className="row-actions" style={{ justifyContent: 'space-between' }}>
            <button
              type="button"
              className="btn danger"
              disabled={busy}
              onClick={() => act(() => bridge.setBlocked({ username, blocked: !d.blocked }), d.blocked ? `Unblocked ${username}` : `Blocked ${username}`)}
            >
              <Ban size={16} aria-hidden /> {d.blocked ? 'Unblock' : 'Block'}
            </button>
            <div className="row-actions">
              {d.keyChangePending ? (
                <>
                  <button type="button" className="btn" disabled={busy} onClick={() => act(() => bridge.rejectKeyChange({ username }), 'New key rejected')}>
                    Reject new key
                  </button>
                  <button type="button" className="btn primary" disabled={busy} onClick={() => act(() => bridge.acceptKeyChange({ username, fingerprint: d.keyChanges.filter((k) => k.resolution === 'pending').at(-1)?.newFingerprint ?? '' }), 'New key accepted')}>
                    Accept new key
                  </button>
                </>
              ) : d.verified ? (
                <button type="button" className="btn" disabled={busy} onClick={() => act(() => bridge.setVerified({ username, verified: false }))}>
                  Clear verification
                </button>
              ) : (
                <button
                  type="button"
                  className="btn primary"
                  data-autofocus
                  disabled={busy}
                  onClick={() => act(() => bridge.setVerified({ username, verified: true }), `${username} is verified`)}
                >
                  <ShieldCheck size={16} aria-hidden /> Mark as verified
                </button>
              )}
            </div>
          </div>
        </>
      )}
    </Dialog>
  );
}
