/**
 * The everyday layout: a resizable left column (profile header, filter box, conversation list) and the right pane
 * (open chat, settings, or an empty state that says what to do next).
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { KeyboardEvent as ReactKeyboardEvent, PointerEvent as ReactPointerEvent, ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { TFunction } from 'i18next';
import { ArrowLeft, MessageSquarePlus, Search, Settings as SettingsIcon, ShieldAlert, ShieldCheck, UserPlus } from 'lucide-react';
import type { ConversationSummary } from '../../../electron/contract/api.js';
import { Avatar } from '../components/Avatar.js';
import { ConnectionStatus } from '../components/ConnectionStatus.js';
import { listTime } from '../lib/format.js';
import { useApp, useEvent } from '../state.js';
import { AddContactDialog } from './AddContactDialog.js';
import { Chat } from './Chat.js';
import { ContactDialog } from './ContactDialog.js';
import { SettingsPage } from './Settings.js';

const MIN_W = 240;
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

  const open = (username: string): void => {
    setSelected(username);
    setView('chat');
  };

  const onListKey = (e: ReactKeyboardEvent): void => {
    if (!conversations || conversations.length === 0) return;
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp' && e.key !== 'Home' && e.key !== 'End') return;
    e.preventDefault();
    const i = conversations.findIndex((c) => c.contact.username === selected);
    let n = e.key === 'ArrowDown' ? i + 1 : e.key === 'ArrowUp' ? i - 1 : e.key === 'Home' ? 0 : conversations.length - 1;
    n = Math.max(0, Math.min(conversations.length - 1, n));
    const name = conversations[n]!.contact.username;
    open(name);
    listRef.current?.querySelector<HTMLElement>(`[data-username="${CSS.escape(name)}"]`)?.focus();
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
      <aside className="side" style={{ width }} aria-label={t('shell.conversations')}>
        <div className="profile">
          <Avatar name={profile.username} fingerprint={profile.fingerprint} />
          <div className="who">
            <div className="name" data-testid="me">{profile.username}</div>
            <ConnectionStatus connection={state.connection} short />
          </div>
          <button type="button" className="icon-btn" aria-label={t('addContact.title')} title={t('addContact.title')} onClick={() => setAdding(true)}>
            <UserPlus size={18} aria-hidden />
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
                  open(first.contact.username);
                  listRef.current?.querySelector<HTMLElement>('[role="option"]')?.focus();
                }
              } else if (e.key === 'Escape') setFilter('');
            }}
          />
          <span className="kbd" aria-hidden>
            {navigator.platform.startsWith('Mac') ? '⌘K' : 'Ctrl K'}
          </span>
        </div>
        <div className="list" role="listbox" aria-label={t('shell.conversations')} ref={listRef} onKeyDown={onListKey} data-testid="conversation-list">
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
          {conversations?.map((c) => (
            <ConversationRow key={c.contact.username} c={c} selected={c.contact.username === selected} onOpen={() => open(c.contact.username)} />
          ))}
        </div>
      </aside>
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
        ) : selected ? (
          <Chat key={selected} username={selected} onShowContact={() => setContactDialog(selected)} onChanged={reloadSoon} />
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
      {contactDialog && <ContactDialog username={contactDialog} onClose={() => setContactDialog(null)} onChanged={reloadSoon} />}
    </div>
  );
}

function preview(c: ConversationSummary, t: TFunction): string {
  if (c.draft) return t('shell.draft', { text: c.draft.replace(/\s+/g, ' ') });
  if (c.contact.request && !c.lastMessage) return t('shell.wantsToMessage');
  const m = c.lastMessage;
  if (!m) return t('shell.noMessages');
  if (m.state === 'undecryptable' || m.body === null) return t('message.undecryptable');
  const text = m.body.replace(/\s+/g, ' ');
  return m.direction === 'out' ? t('shell.you', { text }) : text;
}

function ConversationRow({ c, selected, onOpen }: { c: ConversationSummary; selected: boolean; onOpen: () => void }): ReactNode {
  const { contact, unread } = c;
  const { t, i18n } = useTranslation();
  const label = [contact.username, contact.request ? t('shell.requestTag') : null, contact.verified ? t('chat.verified') : null, unread ? t('shell.unread', { count: unread }) : null];
  return (
    <div
      role="option"
      tabIndex={selected ? 0 : -1}
      aria-selected={selected}
      data-username={contact.username}
      data-testid="conversation"
      className={`row ${unread > 0 ? 'unread' : ''}`}
      onClick={onOpen}
      onKeyDown={(e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          onOpen();
        }
      }}
      aria-label={label.filter(Boolean).join(', ')}
    >
      <Avatar name={contact.username} fingerprint={contact.fingerprint} />
      <div className="body">
        <div className="line">
          <span className="title">{contact.username}</span>
          {contact.request && (
            <span className="tag" data-testid="request-tag">
              {t('shell.requestTag')}
            </span>
          )}
          {contact.keyChangePending ? (
            <ShieldAlert size={14} className="warn-icon" aria-label={t('chat.changed')} />
          ) : contact.verified ? (
            <ShieldCheck size={14} className="shield" aria-label={t('chat.verified')} />
          ) : null}
          {c.lastMessage && <span className="time">{listTime(c.lastMessage.sentAt, Date.now(), i18n.language)}</span>}
        </div>
        <div className="line">
          <span className="preview" style={!c.lastMessage ? { fontStyle: 'italic' } : undefined}>
            {preview(c, t)}
          </span>
          {unread > 0 && (
            <span className="badge" data-testid="unread">
              {unread > 99 ? '99+' : unread}
            </span>
          )}
        </div>
      </div>
    </div>
  );
}
