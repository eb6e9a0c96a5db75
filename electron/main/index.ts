/**
 * Electron main process: one hardened window, the core (ParleyService) running in this process with its crypto in
 * worker threads, and the IPC bridge between them. Logic that does not need Electron lives in Electron-free modules
 * next to this file (ipc-validate, ipc-schemas, csp, links, window-state, notify) and is unit-tested under Node.
 */
import { BrowserWindow, Menu, Notification, app, dialog, screen, session, shell } from 'electron';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AppState, MessageView, Settings } from '../contract/api.js';
import { ParleyService } from '../core/service.js';
import { DEFAULT_SETTINGS } from '../core/settings.js';
import { contentSecurityPolicy } from './csp.js';
import { createDesktopLog, type DesktopLog } from './desktop-log.js';
import type { ParleyCore } from './host.js';
import { forwardEvents, registerIpc } from './ipc.js';
import type { TrustedOrigins } from './ipc-validate.js';
import { isAllowedExternalLink, isMessageLink } from './links.js';
import { installUnreadBadge } from './badge.js';
import type { UnreadBadge } from './badge.js';
import { buildMenu } from './menu.js';
import { notificationFor } from './notify.js';
import { MIN_HEIGHT, MIN_WIDTH, loadBounds, saveBounds } from './window-state.js';

app.enableSandbox();
// Files the app creates (the profile, SQLite's -wal/-shm, logs) are private from birth; the core checks them too.
if (process.platform !== 'win32') process.umask(0o077);
// Tests run several instances side by side (Alice and Bob): each gets its own userData, hence its own
// single-instance lock, window state and profile.
if (process.env['PARLEY_USER_DATA']) app.setPath('userData', process.env['PARLEY_USER_DATA']);

const devServerUrl = !app.isPackaged && process.env['ELECTRON_RENDERER_URL'] ? process.env['ELECTRON_RENDERER_URL'] : null;
const rendererFile = join(__dirname, '../renderer/index.html');
const trusted: TrustedOrigins = { rendererFileUrl: pathToFileURL(rendererFile).href, devServerOrigin: devServerUrl };

let mainWindow: BrowserWindow | null = null;
let core: ParleyCore | null = null;
let desktopLog: DesktopLog | null = null;
let badge: UnreadBadge | null = null;
let settings: Settings = { ...DEFAULT_SETTINGS };

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (mainWindow) {
      if (mainWindow.isMinimized()) mainWindow.restore();
      mainWindow.focus();
    }
  });
  app.whenReady().then(start).catch((err: unknown) => {
    dialog.showErrorBox('Parley could not start', err instanceof Error ? err.message : String(err));
    app.exit(1);
  });
}

// Every web contents (the window, and anything that might try to appear) gets the same restrictions.
app.on('web-contents-created', (_e, contents) => {
  contents.on('will-navigate', (e) => e.preventDefault());
  contents.on('will-redirect', (e) => e.preventDefault());
  contents.on('will-attach-webview', (e) => e.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    // Links in messages (the renderer asked the user first) and the app's own links; nothing else leaves the app.
    if (isAllowedExternalLink(url) || isMessageLink(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
});

app.on('window-all-closed', () => {
  app.quit();
});

let quitting = false;
app.on('before-quit', (e) => {
  if (quitting || !core) return;
  e.preventDefault();
  quitting = true;
  const c = core;
  core = null;
  c.close().finally(() => {
    desktopLog?.scope('main').info('quit');
    desktopLog?.close();
    app.quit();
  });
});

async function start(): Promise<void> {
  const ses = session.defaultSession;
  // Nothing but writing to the clipboard ("Copy debug log", copying a safety number): never reading it, no camera,
  // notifications go through the main process.
  ses.setPermissionRequestHandler((_wc, permission, callback) => callback(permission === 'clipboard-sanitized-write'));
  ses.setPermissionCheckHandler((_wc, permission) => permission === 'clipboard-sanitized-write');
  const csp = contentSecurityPolicy({ devServer: devServerUrl });
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [csp] } });
  });

  const profileDir = process.env['PARLEY_PROFILE_DIR'] ?? join(app.getPath('userData'), 'profile');
  const dl = createDesktopLog({ dir: join(profileDir, 'logs'), base: { app: app.getVersion() } });
  desktopLog = dl;
  const mainLog = dl.scope('main');
  mainLog.info({ electron: process.versions.electron, platform: process.platform }, 'start');
  process.on('uncaughtException', (err) => {
    mainLog.error({ err: { name: err.name, message: err.message, stack: err.stack } }, 'uncaught exception');
    dialog.showErrorBox('Parley hit an unexpected error', err.message);
  });
  process.on('unhandledRejection', (err) => mainLog.error({ err: err instanceof Error ? { name: err.name, message: err.message } : String(err) }, 'unhandled rejection'));
  // Export/import: the main process asks where with a native dialog; the renderer never passes a path.
  const service = new ParleyService({
    profileDir,
    log: dl.core,
    debugLog: () => dl.recent(),
    pickBackupFile: async (mode) => {
      const filters = [{ name: 'Parley identity backup', extensions: ['parley-backup'] }];
      if (mode === 'export') {
        const opts = { title: 'Save identity backup', defaultPath: 'parley-identity.parley-backup', filters };
        const r = mainWindow ? await dialog.showSaveDialog(mainWindow, opts) : await dialog.showSaveDialog(opts);
        return r.canceled || !r.filePath ? null : r.filePath;
      }
      const opts = { title: 'Import identity backup', properties: ['openFile' as const], filters };
      const r = mainWindow ? await dialog.showOpenDialog(mainWindow, opts) : await dialog.showOpenDialog(opts);
      return r.canceled ? null : (r.filePaths[0] ?? null);
    },
    // Attachments: the renderer never names a path; the main process shows its own dialogs.
    attachments: {
      pickAttachments: async () => {
        const opts = { title: 'Attach files', properties: ['openFile' as const, 'multiSelections' as const] };
        const r = mainWindow ? await dialog.showOpenDialog(mainWindow, opts) : await dialog.showOpenDialog(opts);
        return r.canceled ? [] : r.filePaths;
      },
      pickSavePath: async (name) => {
        const opts = { title: 'Save attachment', defaultPath: join(app.getPath('downloads'), name) };
        const r = mainWindow ? await dialog.showSaveDialog(mainWindow, opts) : await dialog.showSaveDialog(opts);
        return r.canceled || !r.filePath ? null : r.filePath;
      },
      // Only on the user's request (AttachmentApi.openAttachment; executable types need their confirmation first).
      openPath: async (file) => {
        const err = await shell.openPath(file);
        if (err) throw new Error(`The system could not open the file: ${err}`);
      },
    },
  });
  core = service;
  const api = service;
  registerIpc(api, () => mainWindow, trusted, dl.core);
  forwardEvents(core, () => mainWindow);
  core.on('state-changed', (s: AppState) => {
    settings = s.settings;
  });
  core.on('message-received', (m: MessageView) => notify(m));
  badge = installUnreadBadge(core, () => mainWindow);
  void core.getState().then((s) => (settings = s.settings)).catch(() => undefined);

  Menu.setApplicationMenu(buildMenu());
  createWindow();
}

function notify(m: MessageView): void {
  if (!Notification.isSupported()) return;
  // Only when the user is not already looking at Parley.
  if (mainWindow && mainWindow.isFocused()) return;
  const content = notificationFor(m, settings);
  if (!content) return;
  const n = new Notification({ title: content.title, body: content.body, silent: false });
  n.on('click', () => {
    if (mainWindow) {
      if (mainWindow.isMinimized()) mainWindow.restore();
      mainWindow.focus();
    }
  });
  n.show();
}

function createWindow(): void {
  const boundsFile = join(app.getPath('userData'), 'window-state.json');
  const bounds = loadBounds(boundsFile, screen.getAllDisplays().map((d) => d.workArea));
  const win = new BrowserWindow({
    ...bounds,
    minWidth: MIN_WIDTH,
    minHeight: MIN_HEIGHT,
    show: false,
    title: 'Parley',
    backgroundColor: '#1b1d22',
    icon: join(__dirname, '../../resources/icon.png'),
    webPreferences: {
      preload: join(__dirname, '../preload/index.js'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      spellcheck: true,
      navigateOnDragDrop: false,
    },
  });
  mainWindow = win;
  if (bounds.maximized) win.maximize();
  win.once('ready-to-show', () => win.show());

  const persist = (): void => {
    if (win.isDestroyed()) return;
    const b = win.getNormalBounds();
    try {
      saveBounds(boundsFile, { ...b, maximized: win.isMaximized() });
    } catch {
      /* bounds are a convenience; never fail the app over them */
    }
  };
  let timer: NodeJS.Timeout | null = null;
  const schedule = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(persist, 400);
  };
  win.on('resize', schedule);
  win.on('move', schedule);
  win.on('close', persist);
  // The renderer retitles the window when its unread count changes (also after marking a conversation read).
  win.on('page-title-updated', () => void badge?.refresh());
  win.on('closed', () => {
    mainWindow = null;
  });

  if (devServerUrl) void win.loadURL(devServerUrl);
  else void win.loadFile(rendererFile);
}
