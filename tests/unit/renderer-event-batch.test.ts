/**
 * Core events reach the renderer's listeners in batches (renderer/src/runtime/event-batch.ts): a burst within one
 * window is delivered in one task, in order; a call's result is handed over only after the events that arrived before
 * it. The Electron runtime is checked with a stand-in for the preload's window.parley (the Electron binary cannot
 * run here); the browser runtime is exercised end to end by the Playwright suite and bench/catchup-ui.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EventName, ParleyBridge } from '../../electron/contract/api.js';
import { EVENT_WINDOW_MS, eventBatch, eventHub } from '../../renderer/src/runtime/event-batch.js';
import { electronBridge } from '../../renderer/src/runtime/electron.js';
import { ApiError } from '../../renderer/src/runtime/errors.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('eventBatch', () => {
  it('holds a burst for one window, then delivers all of it in one task, in order', () => {
    const got: string[] = [];
    const b = eventBatch((e, p) => got.push(`${e}:${String(p)}`));
    b.push('message-received', 1);
    b.push('message-state', 2);
    vi.advanceTimersByTime(EVENT_WINDOW_MS - 1);
    b.push('message-received', 3);
    expect(got).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(got).toEqual(['message-received:1', 'message-state:2', 'message-received:3']);
    // one timer per window: nothing left over, and a later event starts a new window
    expect(vi.getTimerCount()).toBe(0);
    b.push('message-received', 4);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(EVENT_WINDOW_MS);
    expect(got).toHaveLength(4);
  });

  it('flush() delivers at once and cancels the window; nothing is delivered twice', () => {
    const got: unknown[] = [];
    const b = eventBatch((_e, p) => got.push(p));
    b.push('message-received', 'a');
    b.push('message-received', 'b');
    b.flush();
    expect(got).toEqual(['a', 'b']);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(EVENT_WINDOW_MS * 2);
    b.flush();
    expect(got).toEqual(['a', 'b']);
  });

  it('a listener that throws does not lose the rest of the batch; its error surfaces in its own task', () => {
    const got: unknown[] = [];
    const b = eventBatch((_e, p) => {
      if (p === 'bad') throw new Error('listener failed');
      got.push(p);
    });
    b.push('message-received', 'before');
    b.push('message-received', 'bad');
    b.push('message-received', 'after');
    vi.advanceTimersByTime(EVENT_WINDOW_MS);
    expect(got).toEqual(['before', 'after']);
    expect(() => vi.runOnlyPendingTimers()).toThrow('listener failed');
  });
});

describe('eventHub', () => {
  it("a listener that throws does not keep the event from the event's other listeners", () => {
    const hub = eventHub();
    const got: unknown[] = [];
    hub.on('message-received', () => {
      throw new Error('first listener failed');
    });
    hub.on('message-received', (m) => got.push(m));
    hub.push('message-received', 'x');
    hub.flush();
    expect(got).toEqual(['x']);
    expect(() => vi.runOnlyPendingTimers()).toThrow('first listener failed');
  });
});

/** A stand-in for the preload's window.parley: `on` records the listener, `listMessages` answers when told. */
function fakePreload(): { raw: ParleyBridge; fire: (e: EventName, p: unknown) => void; answer: (v: unknown) => void; fail: (e: unknown) => void; subscriptions: () => number } {
  const subs = new Map<EventName, (p: unknown) => void>();
  let count = 0;
  let answer: (v: unknown) => void = () => undefined;
  let fail: (e: unknown) => void = () => undefined;
  const raw = {
    on: (e: EventName, l: (p: unknown) => void) => {
      count++;
      subs.set(e, l);
      return () => subs.delete(e);
    },
    loadMessages: () =>
      new Promise((res, rej) => {
        answer = res;
        fail = rej;
      }),
  } as unknown as ParleyBridge;
  return { raw, fire: (e, p) => subs.get(e)?.(p), answer: (v) => answer(v), fail: (e) => fail(e), subscriptions: () => count };
}

describe('electronBridge', () => {
  it("a call's result is handed over after the events that arrived before it", async () => {
    const pre = fakePreload();
    const bridge = electronBridge(pre.raw);
    const seen: string[] = [];
    bridge.on('message-received', (m) => seen.push(`event ${(m as { id: string }).id}`));
    const call = bridge.loadMessages({ conversation: 'd:alice', limit: 50 }).then(() => seen.push('result'));
    pre.fire('message-received', { id: 'm1' });
    pre.fire('message-received', { id: 'm2' });
    pre.answer({ messages: [] });
    await call;
    expect(seen).toEqual(['event m1', 'event m2', 'result']);
    expect(vi.getTimerCount()).toBe(0); // the window was flushed, not left to fire
  });

  it('a failed call also comes after the events before it, as an ApiError', async () => {
    const pre = fakePreload();
    const bridge = electronBridge(pre.raw);
    const seen: string[] = [];
    bridge.on('message-state', () => seen.push('event'));
    const call = bridge.loadMessages({ conversation: 'd:alice', limit: 50 }).catch((e: unknown) => {
      seen.push('error');
      return e;
    });
    pre.fire('message-state', {});
    pre.fail(Object.assign(new Error('Error invoking remote method: NOT_FOUND: no such conversation'), { code: 'NOT_FOUND' }));
    const err = await call;
    expect(seen).toEqual(['event', 'error']);
    expect(err).toBeInstanceOf(ApiError);
  });

  it('listeners of one event share one preload subscription; an unsubscribed listener gets nothing more', () => {
    const pre = fakePreload();
    const bridge = electronBridge(pre.raw);
    const a: unknown[] = [];
    const b: unknown[] = [];
    const offA = bridge.on('message-received', (m) => a.push(m));
    bridge.on('message-received', (m) => b.push(m));
    expect(pre.subscriptions()).toBe(1);
    pre.fire('message-received', 1);
    offA();
    pre.fire('message-received', 2);
    vi.advanceTimersByTime(EVENT_WINDOW_MS);
    // both events were queued while a listened; it was removed before the batch ran
    expect(a).toEqual([]);
    expect(b).toEqual([1, 2]);
  });
});
