/**
 * One group conversation: header (group glyph, name, member count that opens the members panel), a request or
 * "you left" banner, the timeline (messages with their sender's name and avatar, and the group's system lines in
 * time order), "delivered to 3 of 5" under our recent messages, and the composer while we are a member.
 * The timeline is a plain list of the newest page of messages (or the window around a search result) with "Show
 * earlier messages" (groups are new; the virtualized list of Chat.tsx is for the 100 000-message direct
 * conversations).
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { CircleAlert, Info, LoaderCircle, LogOut, Users } from 'lucide-react';
import type { GroupView, MessageView } from '../../../../electron/contract/api.js';
import { dayLabel } from '../../lib/format.js';
import { rowLayout } from '../../lib/timeline.js';
import { errorText } from '../../runtime/index.js';
import { useApp, useEvent } from '../../state.js';
import { Bubble, messageName } from '../chat/Bubble.js';
import { Composer } from '../chat/Composer.js';
import { useMessageActions } from '../chat/actions/useMessageActions.js';
import { DeliveryLine } from './DeliveryDetails.js';
import { GroupAvatar } from './GroupAvatar.js';
import { MembersPanel } from './MembersPanel.js';
import { SystemLineItem } from './SystemLineItem.js';
import { useGroupTimeline } from './useGroupTimeline.js';
import { useStickToBottom } from './useStickToBottom.js';
import type { JumpTarget } from '../search/jump.js';
import './group.css';

/** Our newest messages that show "delivered to n of m" (each asks the core once, and again when it changes). */
const DELIVERY_LINES = 10;

type Item = { kind: 'message'; at: number; m: MessageView } | { kind: 'event'; at: number; text: string; refused: boolean; key: string };

const placedAt = (m: MessageView): number => (m.direction === 'in' ? (m.receivedAt ?? m.sentAt) : m.sentAt);

export function GroupChat(p: { conversation: `g:${string}`; onChanged: () => void; jumpTo?: JumpTarget | null }): ReactNode {
  const { bridge, state, fail, toast } = useApp();
  const { t, i18n } = useTranslation();
  const id = p.conversation.slice(2);
  const me = state.profile?.username ?? '';
  const [info, setInfo] = useState<GroupView | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [panel, setPanel] = useState(false);
  const [announcement, setAnnouncement] = useState('');

  const loadInfo = useCallback(() => {
    bridge.groupInfo({ group: id }).then(setInfo, (e: unknown) => setLoadError(errorText(e)));
  }, [bridge, id]);
  // The list reloads after a read; through a ref so a new onChanged from the parent does not reload the timeline.
  const onChanged = useRef(p.onChanged);
  onChanged.current = p.onChanged;
  const markRead = useCallback(() => {
    void bridge.markRead({ conversation: p.conversation }).then(() => onChanged.current(), () => undefined);
  }, [bridge, p.conversation]);

  // Bumped to load the timeline again (a message or the whole conversation deleted on this device).
  const [reloads, setReloads] = useState(0);
  useEffect(loadInfo, [loadInfo, reloads]);
  // The newest page, or the window around a chosen search result (useGroupTimeline).
  const timeline = useGroupTimeline({ conversation: p.conversation, jumpTo: p.jumpTo ?? null, reloads, onLoaded: markRead, onError: setLoadError });
  const { messages, setMessages, cursor, hasNewer, target } = timeline;
  const hasNewerRef = useRef(hasNewer);
  hasNewerRef.current = hasNewer;
  // Opens at the newest message and follows new ones while the reader is at the bottom.
  const stick = useStickToBottom(target !== null);
  const toLatest = (): void => {
    stick.follow();
    timeline.toLatest();
  };

  // Reply, react, edit, delete and info, as in a direct chat (chat/actions).
  const sameMessage = (a: MessageView, b: MessageView): boolean => a.id === b.id && a.sender === b.sender;
  const acts = useMessageActions({
    conversation: p.conversation,
    name: info?.name ?? '',
    onUpdated: (u) => setMessages((list) => list && list.map((x) => (sameMessage(x, u) ? u : x))),
    onReload: () => {
      setReloads((n) => n + 1);
      p.onChanged();
    },
    onJump: (mid) => {
      const el = document.querySelector<HTMLElement>(`[data-testid="message"][data-id="${CSS.escape(mid)}"]`);
      if (!el) return toast(t('actions.notLoaded'));
      el.scrollIntoView({ block: 'center' });
      el.focus();
    },
  });
  useEvent('message-updated', (u) => {
    if (u.conversation === p.conversation) setMessages((list) => list && list.map((x) => (sameMessage(x, u) ? u : x)));
  });

  useEvent('group-changed', (e) => e.group === id && loadInfo());
  useEvent('message-received', (m) => {
    if (m.conversation !== p.conversation) return;
    // A window opened at a search result that ends before the newest message gets no new ones appended.
    setMessages((list) => (list && !hasNewerRef.current && !list.some((x) => x.id === m.id && x.sender === m.sender) ? [...list, m] : list));
    if (m.direction === 'in') setAnnouncement(messageName(m, m.sender ?? '', t));
    if (document.visibilityState === 'visible') markRead();
  });
  useEvent('message-state', (e) => {
    if (e.conversation !== p.conversation) return;
    setMessages((list) => list && list.map((m) => (m.id === e.id && m.direction === 'out' ? { ...m, state: e.state, error: e.error } : m)));
  });

  const send = async (text: string): Promise<boolean> => {
    try {
      const replyTo = acts.replyTo?.id;
      const m = await bridge.sendMessage({ conversation: p.conversation, text, ...(replyTo ? { replyTo } : {}) });
      acts.clearReply();
      stick.follow();
      // In a window opened at a search result, sending goes back to the newest messages, as in a direct chat.
      if (hasNewerRef.current || target !== null) timeline.toLatest();
      else setMessages((list) => (list ? [...list, m] : [m]));
      p.onChanged();
      return true;
    } catch (e) {
      fail(e);
      return false;
    }
  };

  const items = useMemo<Item[]>(() => {
    if (!messages || !info) return [];
    const first = messages[0] ? placedAt(messages[0]) : -Infinity;
    const last = messages.at(-1) ? placedAt(messages.at(-1)!) : Infinity;
    // Lines older than the first loaded message belong with the earlier page (unless this is the whole history),
    // and lines newer than the last one with the newer messages not loaded (a window around a search result).
    const events = info.events.filter((e) => (cursor === null || e.at >= first) && (!hasNewer || e.at <= last));
    const out: Item[] = [
      ...messages.map((m) => ({ kind: 'message' as const, at: placedAt(m), m })),
      ...events.map((e, i) => ({ kind: 'event' as const, at: e.at, text: e.text, refused: e.kind === 'refused', key: `e${e.at}-${i}` })),
    ];
    // Stable: messages keep their stored order; a line goes before the messages stored after it.
    return out.sort((a, b) => a.at - b.at || (a.kind === b.kind ? 0 : a.kind === 'event' ? -1 : 1));
  }, [messages, info, cursor, hasNewer]);

  // The search result the group opened at: centred once it is rendered (the list renders once the group's info is in).
  const scrollToTarget = useCallback((el: HTMLDivElement | null) => {
    if (!el || !timeline.pendingScroll.current) return;
    timeline.pendingScroll.current = false;
    el.scrollIntoView({ block: 'center' });
  }, [timeline.pendingScroll]);
  const recentOwn = useMemo(() => new Set((messages ?? []).filter((m) => m.direction === 'out').slice(-DELIVERY_LINES).map((m) => m.id)), [messages]);
  const name = info?.name ?? '';
  const memberCount = info?.members.length ?? 0;

  return (
    <section className="main" aria-label={t('group.region', { name })} data-testid="group-chat">
      <header className="chat-head">
        <GroupAvatar name={name} id={id} />
        <div className="who">
          <h2 className="name" data-testid="group-name">{name}</h2>
          <button type="button" className="verify" onClick={() => setPanel(true)} data-testid="group-members-button" aria-haspopup="dialog">
            <Users size={14} aria-hidden /> {t('group.members', { count: memberCount })}
          </button>
        </div>
        <button type="button" className="icon-btn" aria-label={t('group.about', { name })} title={t('group.aboutTitle')} onClick={() => setPanel(true)}>
          <Info size={18} aria-hidden />
        </button>
      </header>

      {info?.request && info.active && (
        <div className="banner info" role="region" aria-label={t('group.requestTitle', { name })}>
          <Info size={18} aria-hidden />
          <div className="text">
            <strong>{t('group.requestTitle', { name })}</strong>
            <span className="muted">{t('group.requestBody')}</span>
          </div>
          <div className="actions">
            <button type="button" className="btn primary" onClick={() => bridge.acceptGroupRequest({ group: id }).then(setInfo, fail)}>
              {t('chat.accept')}
            </button>
            <button type="button" className="btn danger" onClick={() => bridge.leaveGroup({ group: id }).then(setInfo, fail)}>
              <LogOut size={16} aria-hidden /> {t('group.leave')}
            </button>
          </div>
        </div>
      )}

      <div className="sr-only" aria-live="polite" data-testid="message-announcer">
        {announcement}
      </div>
      <div className="messages" role="region" aria-label={t('chat.messages')} tabIndex={0} data-testid="messages" ref={stick.scrollRef} onScroll={stick.onScroll}>
        {loadError && (
          <div className="empty" role="alert">
            <CircleAlert size={28} aria-hidden />
            <p>{t('chat.loadFailed', { reason: loadError })}</p>
          </div>
        )}
        {(!messages || !info) && !loadError && (
          <div className="center-fill" aria-busy="true">
            <LoaderCircle size={24} className="spin" aria-hidden /> {t('chat.loading')}
          </div>
        )}
        {cursor !== null && (
          <div className="sysline">
            <button type="button" className="btn ghost" onClick={timeline.older}>
              {t('group.earlier')}
            </button>
          </div>
        )}
        {items.length > 0 && (
          <div role="list" ref={stick.listRef}>
            {items.map((it, i) => {
              if (it.kind === 'event') return <SystemLineItem key={it.key} text={it.text} refused={it.refused} />;
              const m = it.m;
              const prevItem = items[i - 1];
              const nextItem = items[i + 1];
              const prev = prevItem?.kind === 'message' ? prevItem.m : undefined;
              const next = nextItem?.kind === 'message' ? nextItem.m : undefined;
              const layout = rowLayout(prev, m, next);
              const start = layout.groupStart || prev?.sender !== m.sender;
              const end = layout.groupEnd || next?.sender !== m.sender;
              const day = i === 0 || (prev ? layout.daySeparator : !items.slice(0, i).some((x) => x.kind === 'message'));
              return (
                <div
                  key={`${m.id}-${m.sender ?? ''}`}
                  {...(m.seq === target
                    ? { className: 'jump-target', 'aria-current': true, 'data-testid': 'jump-target', ref: scrollToTarget }
                    : {})}
                >
                  {day && (
                    <div className="day" role="listitem">
                      <span>{dayLabel(m.sentAt, Date.now(), i18n.language, { today: t('time.today'), yesterday: t('time.yesterday') })}</span>
                    </div>
                  )}
                  <Bubble
                    m={m}
                    sender={m.sender ?? me}
                    showSender
                    groupStart={start}
                    groupEnd={end}
                    onRetry={(mid) => bridge.retryMessage({ id: mid }).catch(fail)}
                    footer={recentOwn.has(m.id) && m.state !== 'failed' ? <DeliveryLine id={m.id} group={id} /> : null}
                    actions={info?.active ? acts.handlers : undefined}
                  />
                </div>
              );
            })}
          </div>
        )}
        {messages && info && items.length === 0 && (
          <div className="empty">
            <div className="art" aria-hidden>
              <Users size={32} />
            </div>
            <h3>{t('group.helloTitle', { name })}</h3>
            <p>{t('group.helloBody')}</p>
          </div>
        )}
      </div>

      {hasNewer && (
        <button type="button" className="btn jump-latest" onClick={toLatest} data-testid="jump-latest">
          {t('search.latest')}
        </button>
      )}
      {info && !info.active ? (
        <div className="composer-disabled" role="status" data-testid="composer-disabled">
          <LogOut size={16} aria-hidden /> {t('group.notMember')}
        </div>
      ) : info ? (
        <>
          {acts.replyBar}
          <Composer username={name} group={p.conversation} onSend={send} onDraftSaved={p.onChanged} />
        </>
      ) : null}
      {acts.dialogs}
      {panel && info && <MembersPanel info={info} me={me} onClose={() => setPanel(false)} onChanged={(g) => { setInfo(g); p.onChanged(); }} />}
    </section>
  );
}
