/**
 * Core events reach the page one message at a time: during a catch-up the core announces each stored message
 * (64 per commit), and each arrived as its own task, so the open chat, the conversation list and the live region
 * re-rendered once per message while the reader was typing. Here events that arrive within one short window are
 * handed to the listeners together, in one task, so React renders them once.
 *
 * Order is kept: events in arrival order, and a call's result is handed over only after the events that arrived
 * before it (`flush()` first), so a screen that loads a page and then applies events never sees an older event
 * after a newer page.
 */
import type { EventName, ParleyEvents } from '../../../electron/contract/api.js';

/** The longest an event waits for others (one frame at 60 Hz). */
export const EVENT_WINDOW_MS = 16;

export interface EventBatch {
  /** Queue an event; the listeners get it within EVENT_WINDOW_MS, after every event queued before it. */
  push(event: EventName, payload: unknown): void;
  /** Hand over everything queued now, in order (before a call's result; on close). */
  flush(): void;
}

/**
 * `deliver` runs once per event, in order. A listener that throws does not take the rest of the batch with it: the
 * error is re-thrown in its own task (the console still shows it) and the next event is delivered.
 */
export function eventBatch(deliver: (event: EventName, payload: unknown) => void, windowMs: number = EVENT_WINDOW_MS): EventBatch {
  let queued: Array<[EventName, unknown]> = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  const flush = (): void => {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
    const batch = queued;
    queued = [];
    for (const [event, payload] of batch) {
      try {
        deliver(event, payload);
      } catch (e) {
        setTimeout(() => {
          throw e;
        }, 0);
      }
    }
  };
  return {
    push(event, payload) {
      queued.push([event, payload]);
      timer ??= setTimeout(flush, windowMs);
    },
    flush,
  };
}

/** The page's listeners per event, fed through one EventBatch: what both runtimes (browser.ts, electron.ts) share. */
export interface EventHub extends EventBatch {
  /** ParleyBridge.on: add a listener; the returned function removes it. */
  on<E extends EventName>(event: E, listener: (payload: ParleyEvents[E]) => void): () => void;
  /** Hand one event to its listeners now, outside the batch. */
  emit(event: EventName, payload: unknown): void;
}

/**
 * `onFirstListener` runs once per event name, when its first listener is added (the Electron runtime subscribes to
 * the preload there). Each listener runs in its own try: one that throws does not keep the event from the others.
 */
export function eventHub(o: { onFirstListener?: (event: EventName) => void } = {}): EventHub {
  const listeners = new Map<EventName, Set<(p: unknown) => void>>();
  const emit = (event: EventName, payload: unknown): void => {
    for (const l of listeners.get(event) ?? []) {
      try {
        l(payload);
      } catch (e) {
        setTimeout(() => {
          throw e;
        }, 0);
      }
    }
  };
  const batch = eventBatch(emit);
  return {
    push: batch.push,
    flush: batch.flush,
    emit,
    on(event, listener) {
      let set = listeners.get(event);
      if (!set) {
        listeners.set(event, (set = new Set()));
        o.onFirstListener?.(event);
      }
      const l = listener as (p: unknown) => void;
      set.add(l);
      return () => {
        set.delete(l);
      };
    },
  };
}
