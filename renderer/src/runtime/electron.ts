/**
 * Electron runtime: the preload's window.parley, with rejections turned into ApiError instances, and core events
 * handed to the listeners in batches (event-batch.ts: a burst renders once; a call's result comes after the events
 * sent before it).
 */
import type { EventName, ParleyBridge } from '../../../electron/contract/api.js';
import { ApiError } from './errors.js';
import { eventHub } from './event-batch.js';

declare global {
  interface Window {
    parley?: ParleyBridge;
  }
}

export function electronBridge(raw: ParleyBridge): ParleyBridge {
  // One preload subscription per event name, made when its first listener is added; the page's listeners hang off it.
  const events = eventHub({
    onFirstListener: (event) => (raw.on as (e: EventName, l: (p: unknown) => void) => () => void)(event, (payload) => events.push(event, payload)),
  });
  const api: Record<string, unknown> = {};
  // The preload exposes exactly the contract's methods plus `on`; the renderer may not import the (runtime) METHODS list.
  for (const [name, fn] of Object.entries(raw)) {
    if (name === 'on' || typeof fn !== 'function') continue;
    api[name] = (...args: unknown[]) =>
      (fn as (...a: unknown[]) => Promise<unknown>)(...args).then(
        (value) => {
          events.flush();
          return value;
        },
        (e: unknown) => {
          events.flush();
          return Promise.reject(ApiError.from(e));
        },
      );
  }
  api['on'] = events.on;
  return api as unknown as ParleyBridge;
}
