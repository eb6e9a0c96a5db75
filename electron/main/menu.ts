/** The application menu: standard roles plus Parley's own entries (settings, new chat, about). */
import { BrowserWindow, Menu, app, shell } from 'electron';
import type { MenuItemConstructorOptions } from 'electron';
import { isAllowedExternalLink } from './links.js';

const PROJECT_URL = 'https://github.com/parley-messenger/parley';

/**
 * Search entries: the page handles the shortcut itself (renderer search/useMessageSearch.ts), so the accelerator is
 * shown but not registered (a registered one would swallow the key), and choosing the entry sends that key to the
 * focused page. No new IPC channel: the renderer already listens for the key.
 */
export function searchMenuItems(): MenuItemConstructorOptions[] {
  const press = (shift: boolean) => () => {
    const wc = BrowserWindow.getFocusedWindow()?.webContents;
    if (!wc) return;
    const modifiers: Array<'meta' | 'control' | 'shift'> = [process.platform === 'darwin' ? 'meta' : 'control', ...(shift ? (['shift'] as const) : [])];
    wc.sendInputEvent({ type: 'keyDown', keyCode: 'F', modifiers });
    wc.sendInputEvent({ type: 'keyUp', keyCode: 'F', modifiers });
  };
  return [
    { label: 'Find in Conversation…', accelerator: 'CmdOrCtrl+F', registerAccelerator: false, click: press(false) },
    { label: 'Search All Conversations…', accelerator: 'CmdOrCtrl+Shift+F', registerAccelerator: false, click: press(true) },
  ];
}

export function buildMenu(): Menu {
  const isMac = process.platform === 'darwin';
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    { role: 'fileMenu' },
    { label: 'Edit', submenu: [{ role: 'undo' }, { role: 'redo' }, { type: 'separator' }, { role: 'cut' }, { role: 'copy' }, { role: 'paste' }, { role: 'selectAll' }, { type: 'separator' }, ...searchMenuItems()] },
    {
      label: 'View',
      submenu: [
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
        ...(app.isPackaged ? [] : [{ type: 'separator' as const }, { role: 'reload' as const }, { role: 'toggleDevTools' as const }]),
      ],
    },
    { role: 'windowMenu' },
    {
      role: 'help',
      submenu: [
        {
          label: 'Parley on GitHub',
          click: () => {
            if (isAllowedExternalLink(PROJECT_URL)) void shell.openExternal(PROJECT_URL);
          },
        },
      ],
    },
  ];
  return Menu.buildFromTemplate(template);
}
