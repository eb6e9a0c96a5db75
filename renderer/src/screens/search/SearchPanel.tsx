/**
 * Message search (Ctrl+F: the open conversation, Ctrl+Shift+F: every conversation). A modal dialog with a combobox
 * (the query) that owns a listbox (the results, newest first): arrows move the active result, Enter or a click opens
 * the conversation at it, Escape closes. A polite live region says how many results there are.
 */
import { useEffect, useId, useRef, useState } from 'react';
import type { KeyboardEvent as ReactKeyboardEvent, ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Search } from 'lucide-react';
import type { ConversationId, SearchHit } from '../../../../electron/contract/api.js';
import { Dialog } from '../../components/Dialog.js';
import { listTime } from '../../lib/format.js';
import { errorText } from '../../runtime/index.js';
import { useApp } from '../../state.js';
import { Snippet } from './Snippet.js';

/** Typing pauses this long before a query runs: one search per word, not per keystroke. */
const DEBOUNCE_MS = 150;
const LIMIT = 50;

export interface SearchScope {
  /** Only this conversation; every conversation when absent. */
  conversation?: ConversationId;
  /** Its display name (the dialog's title). */
  name?: string;
}

/** How a conversation is named in a result: the username, or the group id for a group. */
export function conversationName(id: ConversationId): string {
  return id.startsWith('d:') ? id.slice(2) : `#${id.slice(2, 10)}`;
}

type Status = { kind: 'idle' } | { kind: 'searching' } | { kind: 'done'; hits: SearchHit[] } | { kind: 'error'; reason: string };

export function SearchPanel(p: {
  scope: SearchScope;
  onPick: (hit: SearchHit) => void;
  onClose: () => void;
  onSearchAll: () => void;
  /** A conversation's title when known (a group's name); otherwise conversationName(). */
  nameOf?: (id: ConversationId) => string | undefined;
}): ReactNode {
  const { bridge } = useApp();
  const { t, i18n } = useTranslation();
  const [query, setQuery] = useState('');
  const [status, setStatus] = useState<Status>({ kind: 'idle' });
  const [active, setActive] = useState(0);
  const listId = useId();
  const optionId = (i: number) => `${listId}-o${i}`;
  const latest = useRef(0);
  const listRef = useRef<HTMLUListElement>(null);
  const { conversation } = p.scope;

  useEffect(() => {
    const q = query.trim();
    if (!q) {
      setStatus({ kind: 'idle' });
      return;
    }
    // Only the newest query's answer is shown, whatever order the answers come back in.
    const n = ++latest.current;
    const timer = setTimeout(() => {
      setStatus({ kind: 'searching' });
      bridge.searchMessages({ query: q, limit: LIMIT, ...(conversation ? { conversation } : {}) }).then(
        (r) => {
          if (n !== latest.current) return;
          setStatus({ kind: 'done', hits: r.hits });
          setActive(0);
        },
        (e: unknown) => n === latest.current && setStatus({ kind: 'error', reason: errorText(e) }),
      );
    }, DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [bridge, query, conversation]);

  const hits = status.kind === 'done' ? status.hits : [];
  useEffect(() => {
    listRef.current?.querySelector(`#${CSS.escape(optionId(active))}`)?.scrollIntoView({ block: 'nearest' });
  }, [active, hits]);

  const onKey = (e: ReactKeyboardEvent): void => {
    if (hits.length === 0) return;
    const moves: Record<string, number> = { ArrowDown: active + 1, ArrowUp: active - 1, Home: 0, End: hits.length - 1, PageDown: active + 8, PageUp: active - 8 };
    if (e.key in moves) {
      e.preventDefault();
      setActive(Math.max(0, Math.min(hits.length - 1, moves[e.key]!)));
    } else if (e.key === 'Enter') {
      e.preventDefault();
      p.onPick(hits[active]!);
    }
  };

  const announce =
    status.kind === 'searching'
      ? t('search.searching')
      : status.kind === 'error'
        ? t('search.failed', { reason: status.reason })
        : status.kind === 'done'
          ? hits.length === 0
            ? t('search.none', { query: query.trim() })
            : hits.length >= LIMIT
              ? t('search.many', { count: hits.length })
              : t('search.count', { count: hits.length })
          : '';
  const title = !p.scope.name ? t('search.allTitle') : conversation?.startsWith('g:') ? t('search.inGroupTitle', { name: p.scope.name }) : t('search.inTitle', { name: p.scope.name });
  return (
    <Dialog title={title} onClose={p.onClose} wide testId="search-panel">
      <div className="search-box">
        <Search size={16} aria-hidden />
        <input
          className="input"
          type="text"
          role="combobox"
          aria-label={title}
          aria-expanded={hits.length > 0}
          aria-controls={listId}
          aria-autocomplete="list"
          aria-activedescendant={hits.length ? optionId(active) : undefined}
          placeholder={t('search.placeholder')}
          value={query}
          maxLength={256}
          spellCheck={false}
          onChange={(e) => setQuery(e.target.value)}
          onKeyDown={onKey}
          data-autofocus
          data-testid="search-input"
        />
      </div>
      <div className="search-status muted" role="status" aria-live="polite" data-testid="search-status">
        {announce}
      </div>
      <ul className="search-results" role="listbox" id={listId} ref={listRef} aria-label={t('search.results')} data-testid="search-results">
        {hits.map((h, i) => (
          <li
            key={`${h.conversation}/${h.id}`}
            id={optionId(i)}
            role="option"
            aria-selected={i === active}
            className={i === active ? 'active' : undefined}
            onMouseMove={() => i !== active && setActive(i)}
            onClick={() => p.onPick(h)}
            data-testid="search-hit"
          >
            <span className="hit-head">
              <span className="hit-who">
                {conversation ? (h.direction === 'out' ? t('search.you') : (h.sender ?? '')) : (p.nameOf?.(h.conversation) ?? conversationName(h.conversation))}
                {!conversation && h.direction === 'out' && <span className="muted"> · {t('search.you')}</span>}
                {!conversation && h.direction === 'in' && h.conversation.startsWith('g:') && <span className="muted"> · {h.sender}</span>}
              </span>
              <time className="muted" dateTime={new Date(h.sentAt).toISOString()}>
                {listTime(h.sentAt, Date.now(), i18n.language)}
              </time>
            </span>
            <Snippet snippet={h.snippet} />
          </li>
        ))}
      </ul>
      {conversation && (
        <button type="button" className="btn link" onClick={p.onSearchAll} data-testid="search-all">
          {t('search.everywhere')}
        </button>
      )}
    </Dialog>
  );
}
