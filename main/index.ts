// The Electron app: one hardened window showing the bundled renderer, the IPC contract wired to handlers,
// and the engine running in its own utilityProcess so a crash there never takes the window down.
// Hardening follows Electron's security checklist item by item; `npm run security` (electronegativity) checks it.
// shell.openExternal is deliberately never used: nothing the user or a file supplies can open a URL or program.

import { app, BrowserWindow, dialog, Menu, session, type MenuItemConstructorOptions } from 'electron';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { EventChannel, EventChannels } from '../preload/api';
import { EngineHostClient } from './engine/host/client';
import { createHandlers, forwardEngineState } from './ipc/handlers';
import { registerIpc } from './ipc/register';
import { isAllowedRequest } from './ipc/web-policy';
import { electronDialogs } from './services/dialogs-electron';
import { appDataDir, utilityHost } from './services/engine-utility';
import { FileRegistry } from './services/files';
import { RecentFiles } from './services/recent';

/** Same policy as the meta tag in renderer/index.html; sent as a header too so it holds for every response. */
export const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'";
/** Header-only directives (a meta tag cannot carry them). */
const CSP_HEADER = `${CSP}; frame-ancestors 'none'`;

const RENDERER_DIR = join(__dirname, '..', 'renderer');
const RENDERER_FILE = join(RENDERER_DIR, 'index.html');
const PRELOAD_FILE = join(__dirname, '..', 'preload', 'index.cjs');
const isDev = !app.isPackaged && process.env.DELINEATE_DEV === '1';

// The app never needs the network; spellcheck off also stops dictionary downloads.
app.commandLine.appendSwitch('disable-background-networking');

let win: BrowserWindow | null = null;

function emit<E extends EventChannel>(event: E, payload: EventChannels[E]): void {
  if (win && !win.isDestroyed()) win.webContents.send(event, payload);
}

function createWindow(): BrowserWindow {
  const w = new BrowserWindow({
    width: 1280,
    height: 860,
    backgroundColor: '#15171a',
    title: 'Delineate',
    show: false,
    webPreferences: {
      // Reviewed: sandboxed preload, exposes one contextBridge method per contract channel and never ipcRenderer itself.
      preload: PRELOAD_FILE, /* eng-disable PRELOAD_JS_CHECK */
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webviewTag: false,
      spellcheck: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      // Middle-click would otherwise try to open links in a new window (denied anyway by the open handler).
      disableBlinkFeatures: 'Auxclick',
      // Lets the user stop a page that loops on alert() (ours never does).
      safeDialogs: true,
      navigateOnDragDrop: false,
      devTools: isDev,
    },
  });
  w.once('ready-to-show', () => w.show());
  // The page is ours and static: any navigation or popup is an attack or a bug.
  w.webContents.on('will-navigate', (e) => e.preventDefault());
  w.webContents.on('will-redirect', (e) => e.preventDefault());
  w.webContents.on('will-attach-webview', (e) => e.preventDefault());
  w.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  void w.loadURL(pathToFileURL(RENDERER_FILE).toString());
  return w;
}

function buildMenu(): void {
  const template: MenuItemConstructorOptions[] = [
    {
      label: 'File',
      submenu: [
        { label: 'Open...', accelerator: 'CmdOrCtrl+O', click: () => emit('app:command', { command: 'open-file' }) },
        { label: 'Open Folder...', accelerator: 'CmdOrCtrl+Alt+O', click: () => emit('app:command', { command: 'open-folder' }) },
        { label: 'Open Recent...', accelerator: 'Alt+R', click: () => emit('app:command', { command: 'open-recent' }) },
        { label: 'Open Session...', accelerator: 'CmdOrCtrl+Shift+O', click: () => emit('app:command', { command: 'open-session' }) },
        { label: 'Save Session...', accelerator: 'CmdOrCtrl+S', click: () => emit('app:command', { command: 'save-session' }) },
        { label: 'Export...', accelerator: 'CmdOrCtrl+E', click: () => emit('app:command', { command: 'export' }) },
        { type: 'separator' },
        { label: 'Add Model...', accelerator: 'Alt+M', click: () => emit('app:command', { command: 'add-model' }) },
        { type: 'separator' },
        { role: 'quit' },
      ],
    },
    { label: 'View', submenu: isDev ? [{ role: 'reload' }, { role: 'toggleDevTools' }] : [{ role: 'togglefullscreen' }] },
  ];
  if (process.platform === 'darwin') template.unshift({ role: 'appMenu' });
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

function hardenSession(): void {
  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  ses.setDevicePermissionHandler(() => false);
  ses.setDisplayMediaRequestHandler((_request, callback) => callback({}));
  // Nothing is ever downloaded through the window (results are written by the engine, to folders the user picks).
  ses.on('will-download', (e) => e.preventDefault());
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP_HEADER] } });
  });
  // Only our own files load; anything reaching for the network (or elsewhere on the disk) is cancelled.
  ses.webRequest.onBeforeRequest((details, callback) => {
    callback({ cancel: !isAllowedRequest(details.url, RENDERER_DIR, isDev) });
  });
}

app.enableSandbox();
if (!app.requestSingleInstanceLock()) app.quit();

app.whenReady().then(async () => {
  hardenSession();
  buildMenu();
  const dataDir = appDataDir();
  const engine = new EngineHostClient({ spawn: utilityHost(dataDir) });
  // The OS's own recent list (Dock / jump list) gets what ours gets.
  const recent = new RecentFiles(join(dataDir, 'recent.json'), { onAdded: (path) => app.addRecentDocument(path), onProblem: (m) => console.warn(m) });
  forwardEngineState(engine, emit);
  const handlers = createHandlers({
    files: new FileRegistry(),
    dialogs: electronDialogs(() => win),
    engine,
    emit,
    app: { name: app.getName(), version: app.getVersion(), host: 'electron' },
    recent,
    log: (m) => console.warn(m),
    // dist/, where the build writes LICENSE.txt and THIRD-PARTY-NOTICES.txt (inside app.asar when packaged).
    licenseDir: join(__dirname, '..'),
    // The page held the close to ask about unsaved work and now lets it go (its beforeunload passes this time).
    closeWindow: () => win?.close(),
  });
  registerIpc(handlers, RENDERER_FILE);
  engine.start().catch((err: unknown) => console.error(err instanceof Error ? err.message : err));
  win = createWindow();
  win.on('closed', () => (win = null));
  app.on('second-instance', () => win?.focus());
  // Not on before-quit: a quit the page holds to ask about unsaved work is cancelled, and Save then needs the engine.
  app.on('will-quit', () => void engine.stop());
  app.on('window-all-closed', () => app.quit());
}).catch((err: unknown) => {
  // A start-up failure (no window, no IPC) would otherwise leave a windowless process running: say why and quit.
  dialog.showErrorBox('Delineate could not start', err instanceof Error ? err.message : String(err));
  app.exit(1);
});

// Nothing else may create web contents with looser settings.
app.on('web-contents-created', (_e, contents) => {
  contents.on('will-navigate', (e) => e.preventDefault());
  contents.on('will-redirect', (e) => e.preventDefault());
  contents.on('will-attach-webview', (e) => e.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
});
