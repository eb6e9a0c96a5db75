/**
 * The preload (sandboxed, contextIsolation): exposes exactly the contract's METHODS as named functions plus a typed
 * `on(event, listener)` on `window.parley`. Never ipcRenderer, never a generic "send any channel" helper, never the
 * raw IpcRendererEvent (listeners receive the payload only). Channel names come from the contract helpers.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { EVENTS, METHODS, eventChannel, methodChannel } from '../contract/api.js';
import type { ApiErrorShape, EventName, ParleyBridge, ParleyEvents } from '../contract/api.js';

type IpcResult = { ok: true; value: unknown } | { ok: false; error: ApiErrorShape };

const api: Record<string, unknown> = {};
for (const m of METHODS) {
  api[m] = async (...args: unknown[]): Promise<unknown> => {
    const r = (await ipcRenderer.invoke(methodChannel(m), ...args)) as IpcResult;
    if (r.ok) return r.value;
    // A plain {code, message} object survives the context bridge intact (an Error would lose `code`).
    throw { code: r.error.code, message: r.error.message } satisfies ApiErrorShape;
  };
}

const eventNames: readonly string[] = EVENTS;
api['on'] = <E extends EventName>(event: E, listener: (payload: ParleyEvents[E]) => void): (() => void) => {
  if (!eventNames.includes(event)) throw new Error(`Unknown event: ${String(event)}`);
  if (typeof listener !== 'function') throw new Error('listener must be a function');
  const channel = eventChannel(event);
  const wrapped = (_e: Electron.IpcRendererEvent, payload: ParleyEvents[E]): void => listener(payload);
  ipcRenderer.on(channel, wrapped);
  return () => {
    ipcRenderer.removeListener(channel, wrapped);
  };
};

contextBridge.exposeInMainWorld('parley', Object.freeze(api) as unknown as ParleyBridge);
