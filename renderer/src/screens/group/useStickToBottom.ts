/**
 * A group's timeline opens at its newest message and follows new ones while the reader is at the bottom, as a
 * direct chat does; it stays where the reader scrolled otherwise (reading older messages, or opened at a search
 * result, which GroupChat scrolls to itself). Rows that grow after they are drawn (a "Delivered to" line loading, an
 * image) keep the bottom in view too: a ResizeObserver on the list, not a timer.
 */
import { useCallback, useEffect, useRef } from 'react';
import type { UIEvent } from 'react';

/** Closer to the bottom than this (px) counts as at the bottom. */
const NEAR_BOTTOM = 64;

export function useStickToBottom(
  /** The timeline shows a window opened at a search result: leave the scroll position to it. */
  atTarget: boolean,
): { scrollRef: (el: HTMLDivElement | null) => void; listRef: (el: HTMLDivElement | null) => void; onScroll: (e: UIEvent<HTMLDivElement>) => void; follow: () => void } {
  const atBottom = useRef(true);
  const scroller = useRef<HTMLDivElement | null>(null);
  const atTargetRef = useRef(atTarget);
  atTargetRef.current = atTarget;
  const observer = useRef<ResizeObserver | null>(null);
  const stick = useCallback(() => {
    const el = scroller.current;
    if (el && atBottom.current && !atTargetRef.current) el.scrollTop = el.scrollHeight;
  }, []);
  useEffect(() => () => observer.current?.disconnect(), []);
  return {
    scrollRef: useCallback((el: HTMLDivElement | null) => {
      scroller.current = el;
    }, []),
    // The list is drawn once the messages and the group's info are in; each time it is (re)attached or resized.
    listRef: useCallback(
      (el: HTMLDivElement | null) => {
        observer.current?.disconnect();
        observer.current = null;
        if (!el) return;
        observer.current = new ResizeObserver(stick);
        observer.current.observe(el);
        stick();
      },
      [stick],
    ),
    onScroll: (e) => {
      const el = e.currentTarget;
      atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_BOTTOM;
    },
    // Sending, or "Jump to the latest messages": back to the bottom and following again.
    follow: () => {
      atBottom.current = true;
      stick();
    },
  };
}
