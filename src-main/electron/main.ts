// The Electron main process: app lifecycle and the hardened window. Bundled to dist/main/main.js by
// scripts/build-electron.mjs. Everything it serves lives in plain Node modules (createServices).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, protocol, session, type Session, type WebContents } from 'electron';
import { contentSecurityPolicy } from '../shell/content-security-policy';
import { loadMachinePolicy } from '../policy/machine-policy';
import { createServices, type Services } from '../services';
import { APP_ENTRY_URL, APP_SCHEME, isAppUrl, serveAppRequest } from './app-protocol';
import { wireIpc } from './ipc-wiring';
import { createWorkstationWindow } from './window-options';

const here = path.dirname(fileURLToPath(import.meta.url));

// Must precede 'ready': app:// behaves like a secure, standard origin (fetch, CSP, same-origin checks).
protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } },
]);
// Every renderer sandboxed, whatever a window asks for.
app.enableSandbox();
// Chromium's own profile (cache, local storage) in a sub-folder of its own, apart from the workstation data.
app.setPath('sessionData', path.join(app.getPath('userData'), 'Chromium'));

let mainWindow: BrowserWindow | null = null;
let services: Services | null = null;

/** Refuse everything a page could ask of the session: permissions, devices, remote requests, downloads. */
function lockDownSession(ses: Session): void {
  ses.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  ses.setDevicePermissionHandler(() => false);
  ses.setDisplayMediaRequestHandler((_request, callback) => callback({}));
  ses.setSpellCheckerEnabled(false);
  // app:// responses carry the CSP already (app-protocol.ts); any other response a page could get gets it too.
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [contentSecurityPolicy()] } });
  });
  // No remote content: any http(s)/ws(s)/ftp request from any page or worker is cancelled.
  ses.webRequest.onBeforeRequest({ urls: ['http://*/*', 'https://*/*', 'ws://*/*', 'wss://*/*', 'ftp://*/*'] }, (_details, callback) =>
    callback({ cancel: true }),
  );
  ses.on('will-download', (event) => event.preventDefault());
  ses.protocol.handle(APP_SCHEME, (request) => serveAppRequest(request.url, path.join(app.getAppPath(), 'dist', 'renderer')));
}

/** Every web contents (the window, and anything it might try to create): no navigation away, no popups. */
function guardContents(contents: WebContents): void {
  contents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}

function createWindow(): BrowserWindow {
  const window = createWorkstationWindow(BrowserWindow, { preloadPath: path.join(here, 'preload.cjs'), devTools: !app.isPackaged });
  window.once('ready-to-show', () => {
    window.show();
    // Start the DICOM workers now, so the first import does not pay their start-up (~0.5 s).
    void services?.dicom.warm();
  });
  window.on('closed', () => {
    if (mainWindow === window) mainWindow = null;
  });
  void window.loadURL(APP_ENTRY_URL);
  return window;
}

async function start(): Promise<void> {
  // The packaged app reads only the machine policy; HEALTHGPT_POLICY_FILE works in development runs.
  const policy = loadMachinePolicy({ allowEnvOverride: !app.isPackaged });
  app.on('web-contents-created', (_event, contents) => guardContents(contents));
  await app.whenReady();
  lockDownSession(session.defaultSession);
  services = await createServices({
    mode: 'electron',
    policy,
    resourcesDir: app.isPackaged ? process.resourcesPath : undefined,
    exportDir: path.join(app.getPath('documents'), 'HealthGPT exports'),
    // The person confirms or moves every export the window asks for; the window itself never names a path.
    saveDialog: async ({ suggested, title }) => {
      // A folder export (a DICOM series) is a new folder: the save dialog picks its name and place as for a file.
      const parent = mainWindow ?? BrowserWindow.getFocusedWindow();
      const options = { title, defaultPath: suggested, properties: ['createDirectory' as const] };
      const r = parent ? await dialog.showSaveDialog(parent, options) : await dialog.showSaveDialog(options);
      return r.canceled || !r.filePath ? null : r.filePath;
    },
  });
  wireIpc(ipcMain, services);
  mainWindow = createWindow();
  if (policy.locked) {
    void dialog.showMessageBox(mainWindow, {
      type: 'error',
      title: 'HealthGPT Workstation is locked down',
      message: 'The machine policy file is invalid, so model packs, tasks and export are disabled until IT fixes it.',
      detail: policy.messages.join('\n'),
    });
  }
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (!mainWindow) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });
  app.on('window-all-closed', () => app.quit());
  let closing = false;
  app.on('will-quit', (event) => {
    if (closing || !services) return;
    closing = true;
    event.preventDefault();
    void services.close().finally(() => app.quit());
  });
  start().catch((e: unknown) => {
    dialog.showErrorBox('HealthGPT Workstation could not start', e instanceof Error ? (e.stack ?? e.message) : String(e));
    app.exit(1);
  });
}
