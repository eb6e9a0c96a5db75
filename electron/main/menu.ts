/** The application menu: standard roles plus Parley's own entries (settings, new chat, about). */
import { Menu, app, shell } from 'electron';
import type { MenuItemConstructorOptions } from 'electron';
import { isAllowedExternalLink } from './links.js';

const PROJECT_URL = 'https://github.com/parley-messenger/parley';

export function buildMenu(): Menu {
  const isMac = process.platform === 'darwin';
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    { role: 'fileMenu' },
    { role: 'editMenu' },
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
