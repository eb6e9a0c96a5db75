/**
 * One group conversation: header (group glyph, name, member count that opens the members panel), a request or
 * "you left" banner, the timeline (messages with their sender's name and avatar, and the group's system lines in
 * time order), "delivered to 3 of 5" under our recent messages, and the composer while we are a member.
 * The timeline is the same virtualized list as a direct chat's (chat/useVirtualTimeline.tsx): only the rows in view
 * are in the DOM and older pages load as the reader scrolls up; system lines sit above the message after them.
 * Opened at a search result, it loads the window around that message (by seq: ids are per sender in a group), as a
 * direct chat does; "Jump to the latest messages" (or sending) goes back to the newest page.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Ban, CircleAlert, Info, LoaderCircle, LogOut, Users } from 'lucide-react';
import type { GroupView, MessageView } from '../../../../electron/contract/api.js';
import { dayLabel } from '../../lib/format.js';
import { append, fromPage, messageAt, newest, newestMatching, update } from '../../lib/history.js';
import type { History } from '../../lib/history.js';
import { rowLayout } from '../../lib/timeline.js';
import { errorText } from '../../runtime/index.js';
import { useApp, useEvent } from '../../state.js';
import { Bubble, messageName } from '../chat/Bubble.js';
import { Composer } from '../chat/Composer.js';
import { useMessageActions } from '../chat/actions/useMessageActions.js';
import { TimelineRows, useVirtualTimeline } from '../chat/useVirtualTimeline.js';
import { DeliveryLine } from './DeliveryDetails.js';
import { GroupAvatar } from './GroupAvatar.js';
import { MembersPanel } from './MembersPanel.js';
import { SystemLineItem } from './SystemLineItem.js';
import { linesBefore, tailLines } from './timeline-lines.js';
import { fromAround, type JumpTarget } from '../search/jump.js';
import './group.css';

const PAGE = 200;
/** Messages loaded on each side of a search result the group opens at (as in a direct chat). */
const JUMP_CONTEXT = 50;
/** Our newest messages that show "delivered to n of m" (each asks the core once, and again when it changes). */
const DELIVERY_LINES = 10;

/** Ids are per sender in a group: the id and the sender name one message (and its row). */
const keyOf = (m: MessageView): string => `${m.id}-${m.sender ?? ''}`;
const sameMessage = (a: MessageView, b: MessageView): boolean => a.id === b.id && a.sender === b.sender;

export function GroupChat(p: { conversation: `g:${string}`; onChanged: () => void; jumpTo?: JumpTarget | null }): ReactNode {
  const { bridge, state, fail, toast } = useApp();
  const { t, i18n } = useTranslation();
  const id = p.conversation.slice(2);
  const me = state.profile?.username ?? '';
  const [info, setInfo] = useState<GroupView | null>(null);
  const [tl, setTl] = useState<History | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [panel, setPanel] = useState(false);
  const [announcement, setAnnouncement] = useState('');
  // Opened at a search result: the loaded window may end before the newest message (hasNewer); new messages are not
  // appended to it then. `target` is the seq of the result, highlighted.
  const [hasNewer, setHasNewer] = useState(false);
  const hasNewerRef = useRef(false);
  hasNewerRef.current = hasNewer;
  const [target, setTarget] = useState<number | null>(null);
  const jumpTo = p.jumpTo ?? null;

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
  const loadLatest = useCallback(
    () =>
      bridge.loadMessages({ conversation: p.conversation, limit: PAGE }).then((page) => {
        setHasNewer(false);
        setTarget(null);
        setTl(fromPage(page));
      }),
    [bridge, p.conversation],
  );
  useEffect(() => {
    loadInfo();
    const loaded = jumpTo
      ? bridge
          .loadMessagesAround({ conversation: p.conversation, context: JUMP_CONTEXT, ...(jumpTo.seq !== undefined ? { seq: jumpTo.seq } : { id: jumpTo.id }) })
          .then((a) => {
            const { history, anchorIndex } = fromAround(a);
            timeline.pendingJump.current = anchorIndex;
            timeline.atBottom.current = false;
            setHasNewer(a.hasNewer);
            setTarget(a.anchorSeq);
            setTl(history);
          })
      : loadLatest();
    loaded.then(markRead, (e: unknown) => setLoadError(errorText(e)));
  }, [bridge, p.conversation, jumpTo?.nonce, loadInfo, loadLatest, markRead, reloads]);

  const events = useMemo(() => info?.events ?? [], [info]);
  const tail = useMemo(() => tailLines(events, tl ? newest(tl) : undefined), [events, tl]);
  const timeline = useVirtualTimeline({
    tl,
    setTl,
    extraRows: tail.length ? 1 : 0,
    keyOf,
    loadOlder: (cursor) => bridge.loadMessages({ conversation: p.conversation, before: cursor, limit: PAGE }),
    onError: fail,
  });
  const toLatest = (): void => {
    timeline.atBottom.current = true;
    loadLatest().catch(fail);
  };
  const replace = (u: MessageView): void => setTl((h) => (h ? update(h, u.id, () => u, (x) => sameMessage(x, u)) : h));

  // Reply, react, edit, delete and info, as in a direct chat (chat/actions).
  const acts = useMessageActions({
    conversation: p.conversation,
    name: info?.name ?? '',
    onUpdated: replace,
    onReload: () => {
      setReloads((n) => n + 1);
      p.onChanged();
    },
    onJump: (mid) => {
      // The original, when loaded: scroll to it and move focus there; otherwise say it is not loaded any more.
      if (!timeline.scrollToMessage((m) => m.id === mid)) return toast(t('actions.notLoaded'));
      requestAnimationFrame(() => document.querySelector<HTMLElement>(`[data-testid="message"][data-id="${CSS.escape(mid)}"]`)?.focus());
    },
  });
  useEvent('message-updated', (u) => {
    if (u.conversation === p.conversation) replace(u);
  });

  useEvent('group-changed', (e) => e.group === id && loadInfo());
  useEvent('message-received', (m) => {
    if (m.conversation !== p.conversation) return;
    setTl((h) => (h && !hasNewerRef.current ? append(h, m) : h));
    if (m.direction === 'in') setAnnouncement(messageName(m, m.sender ?? '', t));
    if (document.visibilityState === 'visible') markRead();
  });
  useEvent('message-state', (e) => {
    if (e.conversation !== p.conversation) return;
    setTl((h) => (h ? update(h, e.id, (m) => ({ ...m, state: e.state, error: e.error }), (m) => m.direction === 'out') : h));
  });

  const send = async (text: string): Promise<boolean> => {
    try {
      const replyTo = acts.replyTo?.id;
      const m = await bridge.sendMessage({ conversation: p.conversation, text, ...(replyTo ? { replyTo } : {}) });
      acts.clearReply();
      // In a window opened at a search result, sending goes back to the newest messages, as in a direct chat.
      if (hasNewerRef.current || target !== null) toLatest();
      else {
        timeline.atBottom.current = true;
        setTl((h) => (h ? append(h, m) : h));
      }
      p.onChanged();
      return true;
    } catch (e) {
      fail(e);
      return false;
    }
  };

  const recentOwn = useMemo(() => new Set(tl ? newestMatching(tl, DELIVERY_LINES, (m) => m.direction === 'out').map((m) => m.id) : []), [tl]);
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
            <button type="button" className="btn danger" onClick={() => bridge.blockGroupRequest({ group: id }).then((g) => { setInfo(g); p.onChanged(); }, fail)} data-testid="block-group-request">
              <Ban size={16} aria-hidden /> {t('chat.block')}
            </button>
          </div>
        </div>
      )}

      <div className="sr-only" aria-live="polite" data-testid="message-announcer">
        {announcement}
      </div>
      <div className="messages" ref={timeline.scrollRef} role="region" aria-label={t('chat.messages')} tabIndex={0} data-testid="messages" onScroll={timeline.onScroll}>
        {loadError && (
          <div className="empty" role="alert">
            <CircleAlert size={28} aria-hidden />
            <p>{t('chat.loadFailed', { reason: loadError })}</p>
          </div>
        )}
        {(!tl || !info) && !loadError && (
          <div className="center-fill" aria-busy="true">
            <LoaderCircle size={24} className="spin" aria-hidden /> {t('chat.loading')}
          </div>
        )}
        {tl && info && timeline.rows > 0 && (
          <TimelineRows
            timeline={timeline}
            tl={tl}
            render={(index, m) => {
              if (!m) return { node: tail.map((e, i) => <SystemLineItem key={`t${e.at}-${i}`} text={e.text} refused={e.kind === 'refused'} />) };
              const prev = messageAt(tl, index - 1);
              const next = messageAt(tl, index + 1);
              const before = linesBefore(events, m, prev, index);
              const nextLines = next ? linesBefore(events, next, m, index + 1).length > 0 : false;
              const layout = rowLayout(prev ?? (index === 0 ? undefined : m), m, next);
              // A run of bubbles is one sender's, unbroken by a system line.
              const start = layout.groupStart || prev?.sender !== m.sender || before.length > 0;
              const end = layout.groupEnd || next?.sender !== m.sender || nextLines;
              const day = prev === undefined ? index === 0 : layout.daySeparator;
              return {
                node: (
                  <>
                    {day && (
                      <div className="day" role="listitem">
                        <span>{dayLabel(m.sentAt, Date.now(), i18n.language, { today: t('time.today'), yesterday: t('time.yesterday') })}</span>
                      </div>
                    )}
                    {before.map((e, i) => (
                      <SystemLineItem key={`e${e.at}-${i}`} text={e.text} refused={e.kind === 'refused'} />
                    ))}
                    <Bubble
                      m={m}
                      sender={m.sender ?? me}
                      showSender
                      groupStart={start}
                      groupEnd={end}
                      onRetry={(mid) => bridge.retryMessage({ id: mid }).catch(fail)}
                      footer={recentOwn.has(m.id) && m.direction === 'out' && m.state !== 'failed' ? <DeliveryLine id={m.id} group={id} /> : null}
                      actions={info.active ? acts.handlers : undefined}
                    />
                  </>
                ),
                attrs: m.seq === target ? { className: 'jump-target', 'aria-current': true, 'data-testid': 'jump-target' } : {},
              };
            }}
          />
        )}
        {tl && info && timeline.rows === 0 && (
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
