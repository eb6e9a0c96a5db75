/**
 * The one virtualized timeline of the app, shared by direct chats (Chat.tsx) and groups (group/GroupChat.tsx): only
 * the rows in view (plus a little overscan) are in the DOM, so a conversation of 100 000 messages opens and scrolls
 * like one of ten. The caller owns the loaded History (lib/history.ts) and renders each row; this owns the
 * virtualizer, opening at the newest message (or at a search result), following new messages while the reader is
 * at the bottom, loading older pages as the reader nears the top, and keeping what is on screen still while rows
 * above it load or get measured.
 *
 * Rows are conversation positions (0 = oldest message); positions before `tl.base` are not loaded yet (shown as
 * placeholders); `extraRows` rows after the newest message are the caller's (a key-change or system line tail).
 */
import { useCallback, useEffect, useLayoutEffect, useRef } from 'react';
import type { HTMLAttributes, MutableRefObject, ReactNode, RefObject, UIEvent } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import type { VirtualItem, Virtualizer } from '@tanstack/react-virtual';
import type { MessagePage, MessageView } from '../../../../electron/contract/api.js';
import { messageAt, prependPage } from '../../lib/history.js';
import type { History } from '../../lib/history.js';

/**
 * Height of a row that is not measured yet. It equals the placeholder row's CSS height (.placeholder-row), so
 * rendering placeholders never changes an offset, and it is the same for every unmeasured row, so loading a page
 * changes no offset either: only real measurements (cached by row key) do.
 */
export const ROW_ESTIMATE = 48;
/** Older pages load when the first row in view is this close to the first loaded one. */
const PREFETCH_ROWS = 20;

export interface TimelineOptions {
  tl: History | null;
  setTl: (fn: (t: History | null) => History | null) => void;
  /** Rows after the newest message (0 or 1: the caller's tail row). */
  extraRows: number;
  /** A loaded message's row key: stable across page loads (measured heights are cached by it). */
  keyOf: (m: MessageView) => string;
  /** The page of messages older than `cursor`. */
  loadOlder: (cursor: number) => Promise<MessagePage>;
  onError: (e: unknown) => void;
}

export interface Timeline {
  rows: number;
  count: number;
  scrollRef: RefObject<HTMLDivElement | null>;
  /** Whether the reader is at the bottom: new messages are followed only then. */
  atBottom: MutableRefObject<boolean>;
  /** Set before the History of a search jump lands: the row to open centred on. */
  pendingJump: MutableRefObject<number | null>;
  virtualizer: Virtualizer<HTMLDivElement, Element>;
  items: VirtualItem[];
  getItemKey: (i: number) => string | number;
  onScroll: (e: UIEvent<HTMLDivElement>) => void;
  /** Scrolls to the loaded message matching `pred` (newest first); false when it is not loaded. */
  scrollToMessage: (pred: (m: MessageView) => boolean) => boolean;
}

export function useVirtualTimeline(o: TimelineOptions): Timeline {
  const { tl, extraRows } = o;
  const count = tl ? tl.base + tl.size : 0;
  const rows = count + extraRows;
  const scrollRef = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const pendingJump = useRef<number | null>(null);
  const loadingOlder = useRef(false);
  const opts = useRef(o);
  opts.current = o;

  // Stable callbacks matter at 100 000 rows: the virtualizer recomputes every row's offset (calling getItemKey and
  // estimateSize for each) whenever one of them changes identity, so both are created once and read the latest
  // timeline through a ref. A page load then costs no recomputation at all: rows that get loaded change key
  // (index → message key) but not size (every unmeasured row is ROW_ESTIMATE high), and the virtualizer reads
  // keys afresh when it measures a row. Measured heights are cached by key, so a row measured for the first time
  // above the viewport shifts the scroll position by its delta: older pages prepend without a jump. Rows not
  // loaded yet are keyed by their index (a number: never equal to a message key); the tail row is 'tail'.
  const getItemKey = useCallback((i: number): string | number => {
    const t = opts.current.tl;
    if (!t || i < t.base) return i;
    const m = messageAt(t, i);
    return m ? opts.current.keyOf(m) : 'tail';
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

  // Open at the newest message (or the jump target); follow new messages while the reader is at the bottom.
  const opened = useRef(false);
  useLayoutEffect(() => {
    if (!tl || rows === 0) return;
    const jump = pendingJump.current;
    if (jump !== null) {
      pendingJump.current = null;
      opened.current = true;
      virtualizer.scrollToIndex(jump, { align: 'center' });
      requestAnimationFrame(() => virtualizer.scrollToIndex(jump, { align: 'center' }));
      return;
    }
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
    if (firstVisible > tl.base + PREFETCH_ROWS) return;
    loadingOlder.current = true;
    opts.current
      .loadOlder(tl.cursor)
      .then((page) => opts.current.setTl((t) => (t ? prependPage(t, page) : t)), opts.current.onError)
      .finally(() => {
        loadingOlder.current = false;
      });
  }, [firstVisible, tl]);

  const onScroll = useCallback((e: UIEvent<HTMLDivElement>) => {
    const el = e.currentTarget;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 64;
  }, []);

  const scrollToMessage = (pred: (m: MessageView) => boolean): boolean => {
    const t = opts.current.tl;
    if (!t) return false;
    for (let i = t.base + t.size - 1; i >= t.base; i--) {
      const m = messageAt(t, i);
      if (m && pred(m)) {
        virtualizer.scrollToIndex(i, { align: 'center' });
        return true;
      }
    }
    return false;
  };

  return { rows, count, scrollRef, atBottom, pendingJump, virtualizer, items, getItemKey, onScroll, scrollToMessage };
}

/** What the caller renders for one loaded row (or the tail row, with `m` undefined). */
export type RowRender = (index: number, m: MessageView | undefined) => { node: ReactNode; attrs?: HTMLAttributes<HTMLDivElement> & Record<string, unknown> };

/**
 * The rows in view, absolutely placed in one list of the timeline's full height (each message, day separator and
 * system line inside is its own listitem; the row divs between are generic and do not count as items).
 */
export function TimelineRows(p: { timeline: Timeline; tl: History; render: RowRender }): ReactNode {
  const { timeline: v, tl } = p;
  return (
    <div role="list" style={{ height: v.virtualizer.getTotalSize(), position: 'relative', width: '100%' }}>
      {v.items.map((vi) => {
        const key = v.getItemKey(vi.index);
        const style = { position: 'absolute' as const, top: 0, left: 0, width: '100%', transform: `translateY(${vi.start}px)` };
        const m = messageAt(tl, vi.index);
        if (!m && vi.index < v.count) {
          return (
            <div key={key} data-index={vi.index} ref={v.virtualizer.measureElement} style={style} className="placeholder-row" aria-hidden>
              <i />
            </div>
          );
        }
        const row = p.render(vi.index, m);
        return (
          <div key={key} data-index={vi.index} ref={v.virtualizer.measureElement} style={style} {...row.attrs}>
            {row.node}
          </div>
        );
      })}
    </div>
  );
}
