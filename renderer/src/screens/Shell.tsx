/**
 * The everyday layout: a resizable left column (profile header, filter box, conversation list) and the right pane
 * (open chat, settings, or an empty state that says what to do next).
 */
import { memo, useCallback, useEffect, useRef, useState } from 'react';
import type { CSSProperties, KeyboardEvent as ReactKeyboardEvent, PointerEvent as ReactPointerEvent, ReactNode } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useTranslation } from 'react-i18next';
import type { TFunction } from 'i18next';
import { ArrowLeft, MessageSquarePlus, Search, Settings as SettingsIcon, ShieldAlert, ShieldCheck, UserPlus, Users } from 'lucide-react';
import type { ConversationSummary, DirectConversationSummary } from '../../../electron/contract/api.js';
import { Avatar } from '../components/Avatar.js';
import { ConnectionStatus } from '../components/ConnectionStatus.js';
import { InviteCard } from '../components/InviteCard.js';
import { listTime } from '../lib/format.js';
import { useApp, useEvent } from '../state.js';
import { AddContactDialog } from './AddContactDialog.js';
import { Chat } from './Chat.js';
import { ContactDialog } from './ContactDialog.js';
import { SettingsPage } from './Settings.js';
import type { JumpTarget } from './search/jump.js';
import { useMessageSearch } from './search/useMessageSearch.js';
import { conversationTitle } from './search/names.js';
import { GroupChat } from './group/GroupChat.js';
import { GroupRow } from './group/GroupRow.js';
import { NewGroupDialog } from './group/NewGroupDialog.js';
import { isGroupKey, rowKeyOf } from './group/rows.js';

const MIN_W = 240;
/** A conversation row's height (styles.css `.row`): fixed, so the virtualized list never measures rows. */
const ROW_HEIGHT = 64;
const MAX_W = 480;

function storedWidth(): number {
  const n = Number(localStorage.getItem('parley-side-width'));
  return Number.isFinite(n) && n >= MIN_W && n <= MAX_W ? n : 320;
}

export function Shell(): ReactNode {
  const { bridge, state, fail } = useApp();
  const { t } = useTranslation();
  const [width, setWidth] = useState(storedWidth);
  const [filter, setFilter] = useState('');
  const [conversations, setConversations] = useState<ConversationSummary[] | null>(null);
  // Unread count in the window title ("(3) Parley"); a filtered list would undercount, so only the full list sets it.
  useEffect(() => {
    if (!conversations || filter) return;
    const unread = conversations.reduce((n, c) => n + c.unread, 0);
    document.title = unread > 0 ? t('shell.windowTitleUnread', { count: unread }) : t('shell.windowTitle');
  }, [conversations, filter, t]);
  useEffect(() => () => void (document.title = 'Parley'), []);
  const [selected, setSelected] = useState<string | null>(() => sessionStorage.getItem('parley-selected'));
  const [view, setView] = useState<'chat' | 'settings'>('chat');
  const [adding, setAdding] = useState(false);
  const [creatingGroup, setCreatingGroup] = useState(false);
  const [contactDialog, setContactDialog] = useState<string | null>(null);
  const searchRef = useRef<HTMLInputElement>(null);
  const listRef = useRef<HTMLDivElement>(null);

  const reload = useCallback(() => {
    bridge.listConversations(filter ? { filter } : {}).then(setConversations, fail);
  }, [bridge, filter, fail]);

  useEffect(() => {
    const t = setTimeout(() => reload(), filter ? 120 : 0);
    return () => clearTimeout(t);
  }, [reload, filter]);

  // Any change that can move a row, change a preview or a badge reloads the (small) list.
  const soon = useRef<ReturnType<typeof setTimeout> | null>(null);
  const reloadSoon = useCallback(() => {
    if (soon.current) clearTimeout(soon.current);
    soon.current = setTimeout(() => reload(), 60);
  }, [reload]);
  useEvent('message-received', reloadSoon);
  useEvent('message-state', reloadSoon);
  useEvent('contacts-changed', reloadSoon);
  useEvent('contact-key-changed', reloadSoon);
  useEvent('state-changed', reloadSoon);
  useEvent('group-changed', reloadSoon);

  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'k') {
        e.preventDefault();
        searchRef.current?.focus();
        searchRef.current?.select();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  useEffect(() => localStorage.setItem('parley-side-width', String(width)), [width]);
  // Survives a remount after the core comes back, so the open conversation stays open.
  useEffect(() => {
    if (selected) sessionStorage.setItem('parley-selected', selected);
    else sessionStorage.removeItem('parley-selected');
  }, [selected]);

  const open = useCallback((username: string): void => {
    setSelected(username);
    setView('chat');
    setJump(null);
  }, []);
  // A chosen search result: its conversation (direct: the username, group: its `g:` key) opens at that message.
  const [jump, setJump] = useState<(JumpTarget & { key: string }) | null>(null);
  const searchPanel = useMessageSearch({
    openConversation: view === 'chat' ? selected : null,
    nameOf: (id) => conversationTitle(conversations, id),
    onPick: (hit) => {
      const key = hit.conversation.startsWith('d:') ? hit.conversation.slice(2) : hit.conversation;
      setSelected(key);
      setView('chat');
      setJump((j) => ({ key, id: hit.id, seq: hit.seq, nonce: (j?.nonce ?? 0) + 1 }));
    },
  });

  // Only the rows in view (and a few around them) are in the DOM: a profile with thousands of conversations paints
  // its list as fast as one with ten, and a reload during a catch-up re-renders a screenful, not every row.
  const getListElement = useCallback(() => listRef.current, []);
  const rowHeight = useCallback(() => ROW_HEIGHT, []);
  const conversationsRef = useRef(conversations);
  conversationsRef.current = conversations;
  const rowKey = useCallback((i: number) => (conversationsRef.current?.[i] ? rowKeyOf(conversationsRef.current[i]) : i), []);
  const listVirtualizer = useVirtualizer({
    count: conversations?.length ?? 0,
    getScrollElement: getListElement,
    estimateSize: rowHeight,
    getItemKey: rowKey,
    overscan: 8,
  });
  /** Brings row `index` into view, then focuses it (it may only be rendered after the scroll). */
  const focusRow = (index: number, username: string): void => {
    listVirtualizer.scrollToIndex(index);
    requestAnimationFrame(() => listRef.current?.querySelector<HTMLElement>(`[data-username="${CSS.escape(username)}"]`)?.focus());
  };

  const onListKey = (e: ReactKeyboardEvent): void => {
    if (!conversations || conversations.length === 0) return;
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp' && e.key !== 'Home' && e.key !== 'End') return;
    e.preventDefault();
    const i = conversations.findIndex((c) => rowKeyOf(c) === selected);
    let n = e.key === 'ArrowDown' ? i + 1 : e.key === 'ArrowUp' ? i - 1 : e.key === 'Home' ? 0 : conversations.length - 1;
    n = Math.max(0, Math.min(conversations.length - 1, n));
    const name = rowKeyOf(conversations[n]!);
    open(name);
    focusRow(n, name);
  };

  const startDrag = (e: ReactPointerEvent): void => {
    const startX = e.clientX;
    const startW = width;
    const move = (ev: PointerEvent): void => setWidth(Math.max(MIN_W, Math.min(MAX_W, startW + ev.clientX - startX)));
    const up = (): void => {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
    };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
  };

  const profile = state.profile!;
  return (
    // Below 900 px (CSS) one pane shows at a time: the list, or the open conversation/settings with a back button.
    <div className={`app ${view === 'settings' || selected ? 'open' : ''}`}>
      {/* Heading structure: h1 the app, h2 the column and the open conversation or page, h3 inside them. */}
      <h1 className="sr-only">{t('shell.windowTitle')}</h1>
      <aside className="side" style={{ width }} aria-label={t('shell.conversations')}>
        <h2 className="sr-only">{t('shell.conversations')}</h2>
        <div className="profile">
          <Avatar name={profile.username} />
          <div className="who">
            <div className="name" data-testid="me">{profile.username}</div>
            <ConnectionStatus connection={state.connection} short />
          </div>
          <button type="button" className="icon-btn" aria-label={t('addContact.title')} title={t('addContact.title')} onClick={() => setAdding(true)}>
            <UserPlus size={18} aria-hidden />
          </button>
          <button type="button" className="icon-btn" aria-label={t('group.new')} title={t('group.new')} onClick={() => setCreatingGroup(true)} data-testid="new-group">
            <Users size={18} aria-hidden />
          </button>
          <button
            type="button"
            className="icon-btn"
            aria-label={t('settings.title')}
            title={t('settings.title')}
            aria-pressed={view === 'settings'}
            onClick={() => setView(view === 'settings' ? 'chat' : 'settings')}
          >
            <SettingsIcon size={18} aria-hidden />
          </button>
        </div>
        <div className="search" role="search">
          <Search size={16} aria-hidden />
          <input
            ref={searchRef}
            className="input"
            type="search"
            placeholder={t('shell.filter')}
            aria-label={t('shell.filterLabel')}
            value={filter}
            onChange={(e) => setFilter(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'ArrowDown') {
                e.preventDefault();
                const first = conversations?.[0];
                if (first) {
                  open(rowKeyOf(first));
                  focusRow(0, rowKeyOf(first));
                }
              } else if (e.key === 'Escape') setFilter('');
            }}
          />
          <span className="kbd" aria-hidden>
            {navigator.platform.startsWith('Mac') ? '⌘K' : 'Ctrl K'}
          </span>
        </div>
        {/* The listbox holds only options (a screen reader announces "list box, 3 items"); the loading and empty
            states, with their button, sit beside it. */}
        <div className="list" ref={listRef} aria-busy={conversations === null} data-testid="conversation-list">
          {conversations === null && <div className="list-empty">{t('shell.loading')}</div>}
          {conversations?.length === 0 && (
            <div className="list-empty">
              {filter ? (
                <p>{t('shell.noMatch', { filter })}</p>
              ) : (
                <>
                  <p>{t('shell.none')}</p>
                  <button type="button" className="btn" onClick={() => setAdding(true)}>
                    <UserPlus size={16} aria-hidden /> {t('addContact.title')}
                  </button>
                </>
              )}
            </div>
          )}
          {conversations && conversations.length > 0 && (
            <div style={{ height: listVirtualizer.getTotalSize(), position: 'relative', width: '100%' }} role="listbox" aria-label={t('shell.conversations')} onKeyDown={onListKey}>
              {listVirtualizer.getVirtualItems().map((vi) => {
                const c = conversations[vi.index]!;
                if (c.kind === 'group') {
                  const common = { onOpen: open, position: vi.index + 1, setSize: conversations.length, top: vi.start };
                  return <GroupRow key={c.id} c={c} selected={c.id === selected} {...common} />;
                }
                return (
                  <ConversationRow
                    key={c.contact.username}
                    c={c}
                    selected={c.contact.username === selected}
                    onOpen={open}
                    position={vi.index + 1}
                    setSize={conversations.length}
                    top={vi.start}
                  />
                );
              })}
            </div>
          )}
        </div>
        {/* Inside the sidebar landmark: the handle belongs to the column it resizes. */}
        <button
          type="button"
          className="resizer"
          role="separator"
          aria-orientation="vertical"
          aria-label={t('shell.resize')}
          aria-valuemin={MIN_W}
          aria-valuemax={MAX_W}
          aria-valuenow={width}
          onPointerDown={startDrag}
          onKeyDown={(e) => {
            if (e.key === 'ArrowLeft') setWidth((w) => Math.max(MIN_W, w - 16));
            if (e.key === 'ArrowRight') setWidth((w) => Math.min(MAX_W, w + 16));
          }}
        />
      </aside>
      <main className="main">
        <div className="narrow-bar">
          <button
            type="button"
            className="btn ghost"
            data-testid="back-to-list"
            onClick={() => {
              setSelected(null);
              setView('chat');
            }}
          >
            <ArrowLeft size={16} aria-hidden /> {t('shell.back')}
          </button>
        </div>
        {view === 'settings' ? (
          <SettingsPage onClose={() => setView('chat')} />
        ) : selected && isGroupKey(selected) ? (
          <GroupChat key={selected} conversation={selected} onChanged={reloadSoon} jumpTo={jump?.key === selected ? jump : null} />
        ) : selected ? (
          <Chat
            key={selected}
            username={selected}
            onShowContact={() => setContactDialog(selected)}
            onChanged={reloadSoon}
            jumpTo={jump?.key === selected ? jump : null}
          />
        ) : (
          <div className="empty" data-testid="empty-state">
            <div className="art" aria-hidden>
              <MessageSquarePlus size={36} />
            </div>
            <h2>{conversations && conversations.length > 0 ? t('shell.pickTitle') : t('shell.emptyTitle')}</h2>
            <p>
              {conversations && conversations.length > 0
                ? t('shell.pickBody')
                : t('shell.emptyBody')}
            </p>
            <button type="button" className="btn primary lg" onClick={() => setAdding(true)}>
              <UserPlus size={16} aria-hidden /> {t('addContact.title')}
            </button>
            {conversations && conversations.length === 0 && <InviteCard headingLevel={3} />}
          </div>
        )}
      </main>
      {adding && (
        <AddContactDialog
          onClose={() => setAdding(false)}
          onAdded={(u) => {
            setAdding(false);
            reload();
            open(u);
          }}
        />
      )}
      {searchPanel}
      {creatingGroup && (
        <NewGroupDialog
          onClose={() => setCreatingGroup(false)}
          onCreated={(conversation) => {
            setCreatingGroup(false);
            reload();
            open(conversation);
          }}
        />
      )}
      {contactDialog && <ContactDialog username={contactDialog} onClose={() => setContactDialog(null)} onChanged={reloadSoon} />}
    </div>
  );
}

function preview(c: DirectConversationSummary, t: TFunction): string {
  if (c.draft) return t('shell.draft', { text: c.draft.replace(/\s+/g, ' ') });
  if (c.contact.request && !c.lastMessage) return t('shell.wantsToMessage');
  const m = c.lastMessage;
  if (!m) return t('shell.noMessages');
  if (m.state === 'undecryptable' || m.body === null) return t('message.undecryptable');
  const text = m.body.replace(/\s+/g, ' ');
  return m.direction === 'out' ? t('shell.you', { text }) : text;
}

interface RowProps {
  c: DirectConversationSummary;
  selected: boolean;
  onOpen: (username: string) => void;
  /** 1-based position and list length (only the rows in view are in the DOM, so assistive tech is told). */
  position: number;
  setSize: number;
  /** Offset in the virtualized list, px. */
  top: number;
}

/** A reload returns fresh objects: a row re-renders only when what it shows changed. */
function sameRow(a: RowProps, b: RowProps): boolean {
  const x = a.c;
  const y = b.c;
  return (
    a.selected === b.selected && a.onOpen === b.onOpen && a.position === b.position && a.setSize === b.setSize && a.top === b.top &&
    x.unread === y.unread && x.contact.username === y.contact.username && x.contact.fingerprint === y.contact.fingerprint &&
    x.contact.verified === y.contact.verified && x.contact.displayName === y.contact.displayName && x.contact.request === y.contact.request &&
    x.contact.keyChangePending === y.contact.keyChangePending && x.contact.blocked === y.contact.blocked &&
    x.lastMessage?.id === y.lastMessage?.id && x.lastMessage?.body === y.lastMessage?.body &&
    x.lastMessage?.state === y.lastMessage?.state && x.lastMessage?.sentAt === y.lastMessage?.sentAt &&
    x.lastMessage?.direction === y.lastMessage?.direction
  );
}

const ConversationRow = memo(function ConversationRow({ c, selected, onOpen, position, setSize, top }: RowProps): ReactNode {
  const { contact, unread } = c;
  const style: CSSProperties = { position: 'absolute', top: 0, left: 0, transform: `translateY(${top}px)` };
  const { t, i18n } = useTranslation();
  return (
    <div
      role="option"
      tabIndex={selected ? 0 : -1}
      aria-selected={selected}
      data-username={contact.username}
      data-testid="conversation"
      aria-posinset={position}
      aria-setsize={setSize}
      className={`row ${unread > 0 ? 'unread' : ''}`}
      style={style}
      onClick={() => onOpen(contact.username)}
      onKeyDown={(e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          onOpen(contact.username);
        }
      }}
    >
      {/* The option's accessible name is its visible text (name, tag, shield, time, preview) plus the unread count
          in words: what a sighted person reads, in the same order. */}
      <Avatar name={contact.username} />
      <div className="body">
        <div className="line">
          <span className="title">{contact.displayName ?? contact.username}</span>
          {contact.displayName && <span className="handle">{contact.username}</span>}
          {contact.request && (
            <span className="tag" data-testid="request-tag">
              {t('shell.requestTag')}
            </span>
          )}
          {contact.keyChangePending ? (
            <ShieldAlert size={14} className="warn-icon" role="img" aria-label={t('chat.changed')} />
          ) : contact.verified ? (
            <ShieldCheck size={14} className="shield" role="img" aria-label={t('chat.verified')} />
          ) : null}
          {c.lastMessage && <span className="time">{listTime(c.lastMessage.sentAt, Date.now(), i18n.language)}</span>}
        </div>
        <div className="line">
          <span className="preview" style={!c.lastMessage ? { fontStyle: 'italic' } : undefined}>
            {preview(c, t)}
          </span>
          {unread > 0 && (
            <>
              <span className="badge" data-testid="unread" aria-hidden>
                {unread > 99 ? '99+' : unread}
              </span>
              <span className="sr-only">{t('shell.unread', { count: unread })}</span>
            </>
          )}
        </div>
      </div>
    </div>
  );
}, sameRow);
