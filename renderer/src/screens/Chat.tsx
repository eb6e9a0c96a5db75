/**
 * One conversation: header (who, verification, relay state), key-change banner, a virtualized message list that
 * stays smooth at 100 000 messages (only the rows in view are in the DOM; older pages load as you scroll up),
 * and the composer.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Ban, CircleAlert, Info, Lock, LoaderCircle, Shield, ShieldAlert, ShieldCheck, Trash2, WifiOff } from 'lucide-react';
import type { ContactDetail, MessageView } from '../../../electron/contract/api.js';
import { Avatar } from '../components/Avatar.js';
import { dayLabel } from '../lib/format.js';
import { append, fromPage, messageAt, newest, update } from '../lib/history.js';
import type { History } from '../lib/history.js';
import { rowLayout } from '../lib/timeline.js';
import { errorText } from '../runtime/index.js';
import { coalesce } from '../lib/coalesce.js';
import { Bubble, messageName } from './chat/Bubble.js';
import { Composer } from './chat/Composer.js';
import { KeyChangeBanner, KeyChangeLine } from './chat/KeyChange.js';
import { useMessageActions } from './chat/actions/useMessageActions.js';
import { TimelineRows, useVirtualTimeline } from './chat/useVirtualTimeline.js';
import { AttachButton, AttachmentTray, useAttachmentTray } from './chat/attachments/AttachmentTray.js';
import { useApp, useEvent } from '../state.js';
import { fromAround, type JumpTarget } from './search/jump.js';

const PAGE = 200;
/** Messages loaded on each side of a search result the chat opens at. */
const JUMP_CONTEXT = 50;

/**
 * Where a message sits relative to a key change in this timeline. Incoming messages count from when this computer
 * stored them: the messages a new key brought are held until the change is accepted and stored only then, so their
 * sender's clock (which predates the change being noticed) would put the key-change line after them.
 */
function placedAt(m: MessageView): number {
  return m.direction === 'in' ? (m.receivedAt ?? m.sentAt) : m.sentAt;
}

export function Chat(p: { username: string; onShowContact: () => void; onChanged: () => void; jumpTo?: JumpTarget | null }): ReactNode {
  const { bridge, state, fail, toast } = useApp();
  const { t, i18n } = useTranslation();
  const [detail, setDetail] = useState<ContactDetail | null>(null);
  const [tl, setTl] = useState<History | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  // The polite live region holds only the newest incoming message, so a screen reader announces that message and
  // not the whole list again.
  const [announcement, setAnnouncement] = useState('');
  const { username } = p;
  // Opened at a search result: the loaded window may end before the newest message (hasNewer); new messages are not
  // appended to it then, and "Jump to the latest messages" (or sending) reloads the newest page.
  const [hasNewer, setHasNewer] = useState(false);
  const hasNewerRef = useRef(false);
  hasNewerRef.current = hasNewer;
  const [target, setTarget] = useState<string | null>(null);
  const jumpTo = p.jumpTo ?? null;
  // Bumped to load the timeline again (a message or the whole conversation deleted on this device).
  const [reloads, setReloads] = useState(0);

  const loadDetail = useCallback(() => {
    bridge.getContact({ username }).then(setDetail, fail);
  }, [bridge, username, fail]);

  useEffect(() => {
    loadDetail();
    const loaded = jumpTo
      ? bridge.loadMessagesAround({ conversation: `d:${username}`, id: jumpTo.id, context: JUMP_CONTEXT }).then((a) => {
          const { history, anchorIndex } = fromAround(a);
          pendingJump.current = anchorIndex;
          atBottom.current = false;
          setHasNewer(a.hasNewer);
          setTarget(jumpTo.id);
          setTl(history);
        })
      : bridge.loadMessages({ conversation: `d:${username}`, limit: PAGE }).then((page) => setTl(fromPage(page)));
    loaded.then(
      () => void bridge.markRead({ conversation: `d:${username}` }).then(p.onChanged, () => undefined),
      (e: unknown) => setLoadError(errorText(e)),
    );
  }, [bridge, username, jumpTo?.nonce, reloads]);

  useEvent('contacts-changed', (e) => e.username === username && loadDetail());
  useEvent('contact-key-changed', (e) => e.username === username && loadDetail());
  // One "mark read" in flight at a time (and one after it), however many messages arrive meanwhile.
  const onChanged = useRef(p.onChanged);
  onChanged.current = p.onChanged;
  const reader = useMemo(
    () => coalesce(() => bridge.markRead({ conversation: `d:${username}` }).then(() => onChanged.current())),
    [bridge, username],
  );
  useEvent('message-received', (m) => {
    // A group message from this contact carries them as its `contact` too: only this conversation's messages count.
    if (m.contact !== username || m.conversation !== `d:${username}`) return;
    setTl((t) => (t && !hasNewerRef.current ? append(t, m) : t));
    if (m.direction === 'in') setAnnouncement(messageName(m, username, t));
    if (document.visibilityState === 'visible') reader.request();
  });
  useEvent('message-updated', (m) => {
    if (m.conversation === `d:${username}`) setTl((t) => (t ? update(t, m.id, () => m) : t));
  });
  useEvent('message-state', (e) => {
    if (e.contact !== username) return;
    setTl((t) => (t ? update(t, e.id, (m) => ({ ...m, state: e.state, error: e.error })) : t));
  });

  const changes = useMemo(() => (detail?.keyChanges ?? []).slice().sort((a, b) => a.at - b.at), [detail]);
  const last = tl ? newest(tl) : undefined;
  const lastAt = last ? placedAt(last) : 0;
  const tailChanges = changes.filter((c) => c.at > lastAt);
  // The shared virtualized timeline (chat/useVirtualTimeline.tsx): rows are messages, the key-change lines after
  // the newest message are one tail row.
  const timeline = useVirtualTimeline({
    tl,
    setTl,
    extraRows: tailChanges.length ? 1 : 0,
    keyOf: (m) => m.id,
    loadOlder: (cursor) => bridge.loadMessages({ conversation: `d:${username}`, before: cursor, limit: PAGE }),
    onError: fail,
  });
  const { atBottom, pendingJump, count, rows } = timeline;

  const toLatest = (): void => {
    bridge.loadMessages({ conversation: `d:${username}`, limit: PAGE }).then((page) => {
      atBottom.current = true;
      setHasNewer(false);
      setTarget(null);
      setTl(fromPage(page));
    }, fail);
  };
  const acts = useMessageActions({
    conversation: `d:${username}`,
    name: username,
    onUpdated: (m) => setTl((t) => (t ? update(t, m.id, () => m) : t)),
    onReload: () => {
      setReloads((n) => n + 1);
      p.onChanged();
    },
    onJump: (id) => {
      // The original, when loaded: scroll to it and move focus there; otherwise say it is not loaded any more.
      if (!timeline.scrollToMessage((m) => m.id === id)) return toast(t('actions.notLoaded'));
      requestAnimationFrame(() => document.querySelector<HTMLElement>(`[data-testid="message"][data-id="${CSS.escape(id)}"]`)?.focus());
    },
  });
  // Files to send: the attach button, drag and drop onto the chat, paste.
  const tray = useAttachmentTray();
  const [dragging, setDragging] = useState(false);
  const sentFiles = (m: MessageView): void => {
    atBottom.current = true;
    setTl((t) => (t ? append(t, m) : t));
    p.onChanged();
  };

  const send = async (text: string): Promise<boolean> => {
    try {
      const replyTo = acts.replyTo?.id;
      const m = await bridge.sendMessage({ conversation: `d:${username}`, text, ...(replyTo ? { replyTo } : {}) });
      acts.clearReply();
      atBottom.current = true;
      if (hasNewerRef.current) toLatest();
      else setTl((t) => (t ? append(t, m) : t));
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
      ? t('chat.pausedKeyChange', { name: username })
      : detail.blocked
        ? t('chat.pausedBlocked', { name: username })
        : detail.request
          ? t('chat.pausedRequest', { name: username })
          : null;

  return (
    <section
      className={`main ${dragging ? 'drop-target' : ''}`}
      aria-label={t('chat.region', { name: username })}
      data-testid="chat"
      onDragOver={(e) => {
        if (disabledReason || !e.dataTransfer.types.includes('Files')) return;
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={(e) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setDragging(false);
      }}
      onDrop={(e) => {
        setDragging(false);
        if (disabledReason || e.dataTransfer.files.length === 0) return;
        e.preventDefault();
        tray.add(e.dataTransfer.files);
      }}
      onPaste={(e) => {
        if (disabledReason || e.clipboardData.files.length === 0) return;
        e.preventDefault();
        tray.add(e.clipboardData.files);
      }}
    >
      <header className="chat-head">
        <Avatar name={username} />
        <div className="who">
          <h2 className="name">{detail?.displayName ?? username}</h2>
          {detail?.displayName && <span className="handle">{username}</span>}
          {detail && (
            <button type="button" className={`verify ${detail.verified ? 'ok' : ''}`} onClick={p.onShowContact} data-testid="verification">
              {detail.keyChangePending ? (
                <>
                  <ShieldAlert size={14} aria-hidden style={{ color: 'var(--warn)' }} /> {t('chat.changed')}
                </>
              ) : detail.verified ? (
                <>
                  <ShieldCheck size={14} aria-hidden /> {t('chat.verified')}
                </>
              ) : (
                <>
                  <Shield size={14} aria-hidden /> {t('chat.notVerified')}
                </>
              )}
            </button>
          )}
        </div>
        {conn.status !== 'online' && (
          <span className={`conn-chip ${conn.status}`} role="status" data-testid="relay-state">
            {conn.status === 'connecting' ? <LoaderCircle size={14} className="spin" aria-hidden /> : <WifiOff size={14} aria-hidden />}
            {conn.status === 'connecting' ? t('status.connectingLong') : t('chat.disconnected')}
          </span>
        )}
        <button type="button" className="icon-btn" aria-label={t('actions.deleteConversation')} title={t('actions.deleteConversation')} onClick={acts.askDeleteConversation} data-testid="delete-conversation">
          <Trash2 size={18} aria-hidden />
        </button>
        <button type="button" className="icon-btn" aria-label={t('chat.about', { name: username })} title={t('chat.aboutTitle')} onClick={p.onShowContact}>
          <Info size={18} aria-hidden />
        </button>
      </header>

      {detail?.keyChangePending && (
        <KeyChangeBanner
          username={username}
          change={changes.filter((c) => c.resolution === 'pending').at(-1) ?? null}
          held={detail.heldMessages}
          onCompare={p.onShowContact}
          onAccept={() => contactAction(() => bridge.acceptKeyChange({ username, fingerprint: changes.filter((c) => c.resolution === 'pending').at(-1)?.newFingerprint ?? '' }))}
          onReject={() => contactAction(() => bridge.rejectKeyChange({ username }))}
        />
      )}
      {detail?.request && !detail.keyChangePending && (
        <div className="banner info" role="region" aria-label={t('chat.request')}>
          <Info size={18} aria-hidden />
          <div className="text">
            <strong>{t('chat.requestTitle', { name: username })}</strong>
            <span className="muted">{t('chat.requestBody')}</span>
          </div>
          <div className="actions">
            <button type="button" className="btn primary" onClick={() => contactAction(() => bridge.acceptRequest({ username }))}>
              {t('chat.accept')}
            </button>
            <button type="button" className="btn danger" onClick={() => contactAction(() => bridge.setBlocked({ username, blocked: true }))}>
              <Ban size={16} aria-hidden /> {t('chat.block')}
            </button>
          </div>
        </div>
      )}

      {dragging && (
        <div className="drop-overlay" data-testid="drop-overlay">
          {t('attach.dropHint')}
        </div>
      )}
      <div className="sr-only" aria-live="polite" data-testid="message-announcer">
        {announcement}
      </div>
      <div
        className="messages"
        ref={timeline.scrollRef}
        role="region"
        aria-label={t('chat.messages')}
        tabIndex={0}
        data-testid="messages"
        onScroll={timeline.onScroll}
      >
        {loadError && (
          <div className="empty" role="alert">
            <CircleAlert size={28} aria-hidden />
            <p>{t('chat.loadFailed', { reason: loadError })}</p>
          </div>
        )}
        {!tl && !loadError && (
          <div className="center-fill" aria-busy="true">
            <LoaderCircle size={24} className="spin" aria-hidden /> {t('chat.loading')}
          </div>
        )}
        {tl && count === 0 && tailChanges.length === 0 && (
          <div className="empty">
            <div className="art" aria-hidden>
              <Lock size={32} />
            </div>
            <h3>{t('chat.helloTitle', { name: username })}</h3>
            <p>{t('chat.helloBody', { name: username })}</p>
          </div>
        )}
        {tl && rows > 0 && (
          <TimelineRows
            timeline={timeline}
            tl={tl}
            render={(index, m) => {
              if (!m) return { node: tailChanges.map((c) => <KeyChangeLine key={c.at} username={username} change={c} />) };
              const prev = messageAt(tl, index - 1);
              const next = messageAt(tl, index + 1);
              const layout = rowLayout(prev ?? (index === 0 ? undefined : m), m, next);
              const sepDay = prev === undefined ? index === 0 : layout.daySeparator;
              const before = changes.filter((c) => c.at <= placedAt(m) && (!prev || c.at > placedAt(prev)));
              return {
                attrs: m.id === target ? { className: 'jump-target', 'aria-current': true, 'data-testid': 'jump-target' } : {},
                node: (
                  <>
                    {sepDay && (
                      <div className="day" role="listitem">
                        <span>{dayLabel(m.sentAt, Date.now(), i18n.language, { today: t('time.today'), yesterday: t('time.yesterday') })}</span>
                      </div>
                    )}
                    {before.map((c) => (
                      <KeyChangeLine key={c.at} username={username} change={c} />
                    ))}
                    <Bubble m={m} sender={username} groupStart={layout.groupStart || sepDay} groupEnd={layout.groupEnd} onRetry={retry} actions={acts.handlers} />
                  </>
                ),
              };
            }}
          />
        )}
      </div>

      {hasNewer && (
        <button type="button" className="btn jump-latest" onClick={toLatest} data-testid="jump-latest">
          {t('search.latest')}
        </button>
      )}
      {disabledReason ? (
        <div className="composer-disabled" role="status" data-testid="composer-disabled">
          <Lock size={16} aria-hidden /> {disabledReason}
        </div>
      ) : (
        <>
          {acts.replyBar}
          <AttachmentTray tray={tray} conversation={`d:${username}`} onSent={sentFiles} />
          <Composer username={username} onSend={send} onDraftSaved={p.onChanged} attach={<AttachButton tray={tray} />} />
        </>
      )}
      {acts.dialogs}
    </section>
  );
}
