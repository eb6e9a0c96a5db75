/**
 * One conversation: header (who, verification, relay state), key-change banner, a virtualized message list that
 * stays smooth at 100 000 messages (only the rows in view are in the DOM; older pages load as you scroll up),
 * and the composer.
 */
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { ReactNode } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import { Ban, Check, CheckCheck, CircleAlert, Clock, Info, Lock, LoaderCircle, RotateCw, SendHorizontal, Shield, ShieldAlert, ShieldCheck, WifiOff } from 'lucide-react';
import type { ContactDetail, KeyChangeView, MessageView } from '../../../electron/contract/api.js';
import { Avatar } from '../components/Avatar.js';
import { clockTime, dayLabel } from '../lib/format.js';
import { append, fromPage, messageAt, newest, prependPage, update } from '../lib/history.js';
import type { History } from '../lib/history.js';
import { rowLayout } from '../lib/timeline.js';
import { errorText } from '../runtime/index.js';
import { useApp, useEvent } from '../state.js';

const PAGE = 200;
/**
 * Height of a row that is not measured yet. It equals the placeholder row's CSS height (.placeholder-row), so
 * rendering placeholders never changes an offset, and it is the same for every unmeasured row, so loading a page
 * changes no offset either: only real measurements (cached by message id) do.
 */
const ROW_ESTIMATE = 48;

export function Chat(p: { username: string; onShowContact: () => void; onChanged: () => void }): ReactNode {
  const { bridge, state, fail } = useApp();
  const [detail, setDetail] = useState<ContactDetail | null>(null);
  const [tl, setTl] = useState<History | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const loadingOlder = useRef(false);
  const scrollRef = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const { username } = p;

  const loadDetail = useCallback(() => {
    bridge.getContact({ username }).then(setDetail, fail);
  }, [bridge, username, fail]);

  useEffect(() => {
    loadDetail();
    bridge.loadMessages({ conversation: `d:${username}`, limit: PAGE }).then(
      (page) => {
        setTl(fromPage(page));
        void bridge.markRead({ conversation: `d:${username}` }).then(p.onChanged, () => undefined);
      },
      (e: unknown) => setLoadError(errorText(e)),
    );
  }, [bridge, username]);

  useEvent('contacts-changed', (e) => e.username === username && loadDetail());
  useEvent('contact-key-changed', (e) => e.username === username && loadDetail());
  useEvent('message-received', (m) => {
    if (m.contact !== username) return;
    setTl((t) => (t ? append(t, m) : t));
    if (document.visibilityState === 'visible') void bridge.markRead({ conversation: `d:${username}` }).then(p.onChanged, () => undefined);
  });
  useEvent('message-state', (e) => {
    if (e.contact !== username) return;
    setTl((t) => (t ? update(t, e.id, (m) => ({ ...m, state: e.state, error: e.error })) : t));
  });

  const count = tl ? tl.base + tl.size : 0;
  const changes = useMemo(() => (detail?.keyChanges ?? []).slice().sort((a, b) => a.at - b.at), [detail]);
  const lastAt = (tl && newest(tl)?.sentAt) ?? 0;
  const tailChanges = changes.filter((c) => c.at > lastAt);
  const rows = count + (tailChanges.length ? 1 : 0);

  // Stable callbacks matter at 100 000 rows: the virtualizer recomputes every row's offset (calling getItemKey and
  // estimateSize for each) whenever one of them changes identity, so both are created once and read the latest
  // timeline through a ref. A page load then costs no recomputation at all: rows that get loaded change key
  // (index → message id) but not size (every unmeasured row is ROW_ESTIMATE high), and the virtualizer reads
  // keys afresh when it measures a row. Measured heights are cached by message id, so a row measured for the
  // first time above the viewport shifts the scroll position by its delta: older pages prepend without a jump.
  // Rows not loaded yet are keyed by their index (a number: never equal to a message id); the key-change
  // row after the newest message is 'tail'. React keys use the same function (fresh, not the virtualizer's copy).
  const tlRef = useRef(tl);
  tlRef.current = tl;
  const getItemKey = useCallback((i: number): string | number => {
    const t = tlRef.current;
    if (!t || i < t.base) return i;
    return messageAt(t, i)?.id ?? 'tail';
  }, []);
  const getScrollElement = useCallback(() => scrollRef.current, []);
  const estimateSize = useCallback(() => ROW_ESTIMATE, []);
  const virtualizer = useVirtualizer({ count: rows, getScrollElement, estimateSize, overscan: 8, getItemKey });
  // Scroll anchoring: when a row above the viewport changes height, move the scroll position with it so what the
  // reader sees stays put. The library's default skips re-measured rows while scrolling up; here that is exactly
  // when an older page lands and the first row of the previous page gains a day separator or a group gap.
  // A row measured for the first time is compensated when it starts above the viewport; a re-measured one only
  // when it lies entirely above it (a row spanning the top edge grows below the reader's anchor).
  useLayoutEffect(() => {
    virtualizer.shouldAdjustScrollPositionOnItemSizeChange = (item, _delta, v) => {
      const offset = v.scrollOffset ?? 0;
      return v.itemSizeCache.has(getItemKey(item.index)) ? item.start + item.size <= offset : item.start < offset;
    };
  }, [virtualizer, getItemKey]);

  // Open at the newest message; follow new messages while the reader is at the bottom.
  const opened = useRef(false);
  useLayoutEffect(() => {
    if (!tl || rows === 0) return;
    if (!opened.current || atBottom.current) {
      opened.current = true;
      virtualizer.scrollToIndex(rows - 1, { align: 'end' });
      requestAnimationFrame(() => virtualizer.scrollToIndex(rows - 1, { align: 'end' }));
    }
  }, [rows, tl, virtualizer]);

  const items = virtualizer.getVirtualItems();
  const firstVisible = items[0]?.index ?? 0;
  useEffect(() => {
    if (!tl || tl.cursor === null || loadingOlder.current) return;
    if (firstVisible > tl.base + 20) return;
    loadingOlder.current = true;
    bridge
      .loadMessages({ conversation: `d:${username}`, before: tl.cursor, limit: PAGE })
      .then((page) => {
        setTl((t) => (t ? prependPage(t, page) : t));
      }, fail)
      .finally(() => {
        loadingOlder.current = false;
      });
  }, [firstVisible, tl, bridge, username, fail]);

  const send = async (text: string): Promise<boolean> => {
    try {
      const m = await bridge.sendMessage({ conversation: `d:${username}`, text });
      atBottom.current = true;
      setTl((t) => (t ? append(t, m) : t));
      p.onChanged();
      return true;
    } catch (e) {
      fail(e);
      return false;
    }
  };
  const retry = (id: string): void => {
    bridge.retryMessage({ id }).then((m) => {
      setTl((t) => (t ? update(t, m.id, () => m) : t));
    }, fail);
  };

  const contactAction = (fn: () => Promise<unknown>): void => {
    fn().then(() => {
      loadDetail();
      p.onChanged();
    }, fail);
  };

  const conn = state.connection;
  const disabledReason = !detail
    ? null
    : detail.keyChangePending
      ? `Sending is paused until you review ${username}’s new safety number.`
      : detail.blocked
        ? `You blocked ${username}. Unblock them in their contact details to send messages.`
        : detail.request
          ? `Accept ${username}’s request to reply.`
          : null;

  return (
    <section className="main" aria-label={`Conversation with ${username}`} data-testid="chat">
      <header className="chat-head">
        {detail ? <Avatar name={username} fingerprint={detail.fingerprint} /> : <span className="avatar" style={{ background: 'var(--surface-2)' }} />}
        <div className="who">
          <h2 className="name">{username}</h2>
          {detail && (
            <button type="button" className={`verify ${detail.verified ? 'ok' : ''}`} onClick={p.onShowContact} data-testid="verification">
              {detail.keyChangePending ? (
                <>
                  <ShieldAlert size={14} aria-hidden style={{ color: 'var(--warn)' }} /> Safety number changed — review it
                </>
              ) : detail.verified ? (
                <>
                  <ShieldCheck size={14} aria-hidden /> Verified
                </>
              ) : (
                <>
                  <Shield size={14} aria-hidden /> Not verified — compare safety numbers
                </>
              )}
            </button>
          )}
        </div>
        {conn.status !== 'online' && (
          <span className={`conn-chip ${conn.status}`} role="status" data-testid="relay-state">
            {conn.status === 'connecting' ? <LoaderCircle size={14} className="spin" aria-hidden /> : <WifiOff size={14} aria-hidden />}
            {conn.status === 'connecting' ? 'Connecting to relay…' : 'Offline — messages will go out when the relay is back'}
          </span>
        )}
        <button type="button" className="icon-btn" aria-label={`About ${username}`} title="Contact details and safety number" onClick={p.onShowContact}>
          <Info size={18} aria-hidden />
        </button>
      </header>

      {detail?.keyChangePending && (
        <KeyChangeBanner
          username={username}
          change={changes.filter((c) => c.resolution === 'pending').at(-1) ?? null}
          onCompare={p.onShowContact}
          onAccept={() => contactAction(() => bridge.acceptKeyChange({ username, fingerprint: changes.filter((c) => c.resolution === 'pending').at(-1)?.newFingerprint ?? '' }))}
          onReject={() => contactAction(() => bridge.rejectKeyChange({ username }))}
        />
      )}
      {detail?.request && !detail.keyChangePending && (
        <div className="banner info" role="region" aria-label="Message request">
          <Info size={18} aria-hidden />
          <div className="text">
            <strong>{username} is not in your contacts.</strong>
            <span className="muted">Accept to reply and let them see that you read their messages, or block them.</span>
          </div>
          <div className="actions">
            <button type="button" className="btn primary" onClick={() => contactAction(() => bridge.acceptRequest({ username }))}>
              Accept
            </button>
            <button type="button" className="btn danger" onClick={() => contactAction(() => bridge.setBlocked({ username, blocked: true }))}>
              <Ban size={16} aria-hidden /> Block
            </button>
          </div>
        </div>
      )}

      <div
        className="messages"
        ref={scrollRef}
        role="log"
        aria-live="polite"
        aria-label="Messages"
        tabIndex={0}
        data-testid="messages"
        onScroll={(e) => {
          const el = e.currentTarget;
          atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 64;
        }}
      >
        {loadError && (
          <div className="empty" role="alert">
            <CircleAlert size={28} aria-hidden />
            <p>Could not load messages: {loadError}</p>
          </div>
        )}
        {!tl && !loadError && (
          <div className="center-fill" aria-busy="true">
            <LoaderCircle size={24} className="spin" aria-hidden /> Loading messages…
          </div>
        )}
        {tl && count === 0 && tailChanges.length === 0 && (
          <div className="empty">
            <div className="art" aria-hidden>
              <Lock size={32} />
            </div>
            <h2>Say hello to {username}</h2>
            <p>Messages are encrypted for {username} on this computer. Compare safety numbers once to be sure it is really them.</p>
          </div>
        )}
        {tl && rows > 0 && (
          <div style={{ height: virtualizer.getTotalSize(), position: 'relative', width: '100%' }}>
            {items.map((vi) => {
              const m = messageAt(tl, vi.index);
              const key = getItemKey(vi.index);
              const style = { position: 'absolute' as const, top: 0, left: 0, width: '100%', transform: `translateY(${vi.start}px)` };
              if (vi.index >= count) {
                return (
                  <div key={key} data-index={vi.index} ref={virtualizer.measureElement} style={style}>
                    {tailChanges.map((c) => (
                      <KeyChangeLine key={c.at} username={username} change={c} />
                    ))}
                  </div>
                );
              }
              if (!m) {
                return (
                  <div key={key} data-index={vi.index} ref={virtualizer.measureElement} style={style} className="placeholder-row" aria-hidden>
                    <i />
                  </div>
                );
              }
              const prev = messageAt(tl, vi.index - 1);
              const next = messageAt(tl, vi.index + 1);
              const layout = rowLayout(prev ?? (vi.index === 0 ? undefined : m), m, next);
              const sepDay = prev === undefined ? vi.index === 0 : layout.daySeparator;
              const before = changes.filter((c) => c.at <= m.sentAt && (!prev || c.at > prev.sentAt));
              return (
                <div key={key} data-index={vi.index} ref={virtualizer.measureElement} style={style}>
                  {sepDay && (
                    <div className="day" role="separator">
                      <span>{dayLabel(m.sentAt)}</span>
                    </div>
                  )}
                  {before.map((c) => (
                    <KeyChangeLine key={c.at} username={username} change={c} />
                  ))}
                  <Bubble m={m} groupStart={layout.groupStart || sepDay} groupEnd={layout.groupEnd} onRetry={retry} />
                </div>
              );
            })}
          </div>
        )}
      </div>

      {disabledReason ? (
        <div className="composer-disabled" role="status" data-testid="composer-disabled">
          <Lock size={16} aria-hidden /> {disabledReason}
        </div>
      ) : (
        <Composer username={username} onSend={send} />
      )}
    </section>
  );
}

const STATE_LABEL: Record<MessageView['state'], string> = {
  sending: 'Sending',
  sent: 'Sent',
  delivered: 'Delivered',
  failed: 'Not sent',
  undecryptable: 'Could not be decrypted',
};

function StateIcon({ state }: { state: MessageView['state'] }): ReactNode {
  switch (state) {
    case 'sending':
      return <Clock size={13} aria-hidden />;
    case 'sent':
      return <Check size={13} aria-hidden />;
    case 'delivered':
      return <CheckCheck size={13} aria-hidden className="delivered" />;
    default:
      return null;
  }
}

function Bubble({ m, groupStart, groupEnd, onRetry }: { m: MessageView; groupStart: boolean; groupEnd: boolean; onRetry: (id: string) => void }): ReactNode {
  const cls = `bubble-wrap ${m.direction} ${groupEnd ? 'ge' : ''}`;
  if (m.state === 'undecryptable' || m.body === null) {
    const reason = m.error ?? 'The message was damaged or not meant for this key.';
    return (
      <div className={`msg-row ${groupStart ? 'gs' : ''}`}>
        <div className={cls} data-testid="message" data-state="undecryptable" data-id={m.id}>
          <div className="bubble undecryptable" title={reason} aria-label={`Message could not be decrypted: ${reason}`} tabIndex={0}>
            <Lock size={14} aria-hidden /> This message could not be decrypted
          </div>
          {groupEnd && (
            <div className="meta">
              <span>{clockTime(m.sentAt)}</span>
              <span>· {reason}</span>
            </div>
          )}
        </div>
      </div>
    );
  }
  const showMeta = groupEnd || m.state === 'failed';
  return (
    <div className={`msg-row ${groupStart ? 'gs' : ''}`}>
      <div className={cls} data-testid="message" data-state={m.state} data-id={m.id}>
        <div className={`bubble ${m.state === 'failed' ? 'failed' : ''}`}>{m.body}</div>
        {showMeta && (
          <div className="meta">
            <time dateTime={new Date(m.sentAt).toISOString()}>{clockTime(m.sentAt)}</time>
            {m.direction === 'out' && m.state !== 'failed' && (
              <span title={STATE_LABEL[m.state]} aria-label={STATE_LABEL[m.state]} style={{ display: 'inline-flex' }} data-testid="message-state">
                <StateIcon state={m.state} />
              </span>
            )}
            {m.state === 'failed' && (
              <span className="state-failed" title={m.error ?? undefined}>
                <CircleAlert size={13} aria-hidden /> Not sent{m.error ? `: ${m.error}` : ''} ·
                <button type="button" className="link" onClick={() => onRetry(m.id)} style={{ color: 'inherit', textDecoration: 'underline' }}>
                  <RotateCw size={12} aria-hidden style={{ verticalAlign: -1 }} /> Retry
                </button>
              </span>
            )}
          </div>
        )}
      </div>
    </div>
  );
}

function KeyChangeLine({ username, change }: { username: string; change: KeyChangeView }): ReactNode {
  const what = change.resolution === 'accepted' ? 'accepted' : change.resolution === 'rejected' ? 'rejected' : 'waiting for review';
  return (
    <div className="sysline" role="note" data-testid="key-change-line">
      <span>
        <ShieldAlert size={13} aria-hidden /> {username}’s safety number changed at {clockTime(change.at)} · {what}
      </span>
    </div>
  );
}

function KeyChangeBanner(p: { username: string; change: KeyChangeView | null; onCompare: () => void; onAccept: () => void; onReject: () => void }): ReactNode {
  return (
    <div className="banner warn" role="alert" data-testid="key-change-banner">
      <ShieldAlert size={20} aria-hidden />
      <div className="text">
        <strong>{p.username}’s safety number has changed.</strong>
        <span>
          They may have reinstalled Parley or moved to a new computer — or someone may be trying to listen in. Compare the new safety number with{' '}
          {p.username} before you continue.
          {p.change && (p.change.signedByOld ? ' The change was signed with their previous key.' : ' The change was not signed with their previous key.')}
        </span>
        <div className="actions" style={{ marginTop: 8 }}>
          <button type="button" className="btn" onClick={p.onCompare}>
            Compare safety numbers
          </button>
          <button type="button" className="btn primary" onClick={p.onAccept}>
            Accept new key
          </button>
          <button type="button" className="btn danger" onClick={p.onReject}>
            Reject
          </button>
        </div>
      </div>
    </div>
  );
}

function Composer({ username, onSend }: { username: string; onSend: (text: string) => Promise<boolean> }): ReactNode {
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const ref = useRef<HTMLTextAreaElement>(null);

  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${el.scrollHeight + 2}px`;
  }, [text]);
  useEffect(() => ref.current?.focus(), [username]);

  const submit = async (): Promise<void> => {
    const t = text.trim();
    if (!t || busy) return;
    setBusy(true);
    const ok = await onSend(t);
    setBusy(false);
    if (ok) setText('');
    ref.current?.focus();
  };

  return (
    <form
      className="composer"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <label htmlFor="composer" className="sr-only">
        Message to {username}
      </label>
      <textarea
        id="composer"
        ref={ref}
        rows={1}
        value={text}
        placeholder={`Message ${username}`}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
            e.preventDefault();
            void submit();
          }
        }}
        aria-describedby="composer-hint"
      />
      <span id="composer-hint" className="sr-only">
        Enter sends, Shift+Enter adds a new line.
      </span>
      <button type="submit" className="send" aria-label="Send" disabled={!text.trim() || busy}>
        <SendHorizontal size={18} aria-hidden />
      </button>
    </form>
  );
}
