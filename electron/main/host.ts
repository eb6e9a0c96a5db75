/**
 * The core as the shells (Electron main, browser bridge) see it: the ParleyApi plus events and shutdown.
 * ParleyService (electron/core/service.ts) is the implementation; this type is what the shells depend on.
 * Electron-free.
 */
import type { EventName, ParleyApi, ParleyEvents } from '../contract/api.js';

export interface ParleyCore extends ParleyApi {
  on<E extends EventName>(event: E, fn: (payload: ParleyEvents[E]) => void): unknown;
  close(): Promise<void>;
}
