/**
 * Registers one ipcMain handler per METHODS entry and forwards every EVENTS entry to the window. Channel names come
 * from the contract helpers; the checks live in ipc-validate.ts (Electron-free, unit-tested).
 */
import { ipcMain } from 'electron';
import type { BrowserWindow, IpcMainInvokeEvent } from 'electron';
import { EVENTS, METHODS, eventChannel, methodChannel } from '../contract/api.js';
import type { ParleyApi } from '../contract/api.js';
import type { ParleyCore } from './host.js';
import type { CoreLog } from './desktop-log.js';
import { dispatch } from './ipc-validate.js';
import type { SenderInfo, TrustedOrigins } from './ipc-validate.js';

function senderInfo(e: IpcMainInvokeEvent, win: BrowserWindow | null): SenderInfo {
  const frame = e.senderFrame;
  return {
    url: frame ? frame.url : null,
    isTopFrame: frame !== null && frame !== undefined && frame.parent === null,
    isMainWindow: win !== null && !win.isDestroyed() && e.sender.id === win.webContents.id,
  };
}

export function registerIpc(api: ParleyApi, getWindow: () => BrowserWindow | null, trusted: TrustedOrigins, log?: CoreLog): () => void {
  for (const m of METHODS) {
    ipcMain.handle(methodChannel(m), async (e, ...args: unknown[]) => {
      const r = await dispatch(api, m, args, senderInfo(e, getWindow()), trusted);
      // The method and the error code only: arguments and messages can carry what the user typed.
      if (!r.ok) log?.(`${m} failed: ${r.error.code}`, { scope: 'ipc', level: 'warn' });
      return r;
    });
  }
  return () => {
    for (const m of METHODS) ipcMain.removeHandler(methodChannel(m));
  };
}

export function forwardEvents(core: ParleyCore, getWindow: () => BrowserWindow | null): void {
  for (const ev of EVENTS) {
    core.on(ev, (payload) => {
      const win = getWindow();
      if (win && !win.isDestroyed()) win.webContents.send(eventChannel(ev), payload);
    });
  }
}
