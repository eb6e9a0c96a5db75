/** Electron runtime: the preload's window.parley, with rejections turned into ApiError instances. */
import type { ParleyBridge } from '../../../electron/contract/api.js';
import { ApiError } from './errors.js';

declare global {
  interface Window {
    parley?: ParleyBridge;
  }
}

export function electronBridge(raw: ParleyBridge): ParleyBridge {
  const api: Record<string, unknown> = {};
  // The preload exposes exactly the contract's methods plus `on`; the renderer may not import the (runtime) METHODS list.
  for (const [name, fn] of Object.entries(raw)) {
    if (name === 'on' || typeof fn !== 'function') continue;
    api[name] = (...args: unknown[]) =>
      (fn as (...a: unknown[]) => Promise<unknown>)(...args).catch((e: unknown) => Promise.reject(ApiError.from(e)));
  }
  api['on'] = raw.on;
  return api as unknown as ParleyBridge;
}
