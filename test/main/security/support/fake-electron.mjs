// A stand-in for the `electron` module, for running the bundled main process (dist/main/main.js) under plain
// Node: it records every call the app makes and then probes the handlers the app installed (protocol,
// navigation, popups, permissions, remote requests, IPC) the way Electron would call them. Each probe's
// outcome is written as JSON to $HEALTHGPT_FAKE_ELECTRON_REPORT. It is not Electron: it checks our wiring.
import { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { setTimeout } from 'node:timers';

/* global Request */

const report = { calls: [], ready: false, probes: {} };
const note = (name, detail) => report.calls.push(detail === undefined ? name : [name, detail]);

const appEvents = new EventEmitter();
let resolveReady;
const ready = new Promise((r) => (resolveReady = r));
const paths = { userData: path.join(process.env.HEALTHGPT_DATA_DIR ?? '/tmp', 'electron-user-data') };

export const app = {
  isPackaged: false,
  enableSandbox: () => note('app.enableSandbox'),
  setPath: (name, value) => {
    note('app.setPath', [name, value]);
    paths[name] = value;
  },
  getPath: (name) => paths[name] ?? path.join(paths.userData, name),
  getAppPath: () => process.cwd(),
  requestSingleInstanceLock: () => {
    note('app.requestSingleInstanceLock');
    return true;
  },
  on: (event, listener) => {
    note('app.on', event);
    appEvents.on(event, listener);
    return app;
  },
  whenReady: () => {
    note('app.whenReady');
    return ready;
  },
  quit: () => {
    note('app.quit');
    const event = { defaultPrevented: false, preventDefault() { this.defaultPrevented = true; } };
    appEvents.emit('will-quit', event);
    if (!event.defaultPrevented) finish(0);
  },
  exit: (code) => finish(code),
};

function finish(code) {
  writeFileSync(process.env.HEALTHGPT_FAKE_ELECTRON_REPORT, JSON.stringify(report, null, 1));
  process.exit(code);
}

export const protocol = {
  registerSchemesAsPrivileged: (schemes) => note('protocol.registerSchemesAsPrivileged', { schemes, beforeReady: !report.ready }),
};

const handlers = {};
export const session = {
  defaultSession: {
    protocol: { handle: (scheme, fn) => ((handlers[`protocol:${scheme}`] = fn), note('session.protocol.handle', scheme)) },
    setPermissionRequestHandler: (fn) => (handlers.permissionRequest = fn),
    setPermissionCheckHandler: (fn) => (handlers.permissionCheck = fn),
    setDevicePermissionHandler: (fn) => (handlers.devicePermission = fn),
    setDisplayMediaRequestHandler: (fn) => (handlers.displayMedia = fn),
    setSpellCheckerEnabled: (on) => note('session.setSpellCheckerEnabled', on),
    webRequest: {
      onBeforeRequest: (filter, fn) => ((handlers.beforeRequest = { filter, fn }), note('webRequest.onBeforeRequest', filter)),
      onHeadersReceived: (fn) => (handlers.headersReceived = fn),
    },
    on: (event, fn) => (handlers[`session:${event}`] = fn),
  },
};

const ipcHandlers = new Map();
export const ipcMain = {
  handle: (channel, fn) => ipcHandlers.set(channel, fn),
  removeHandler: (channel) => ipcHandlers.delete(channel),
};

export const dialog = {
  showMessageBox: async (_window, options) => (note('dialog.showMessageBox', options.title), { response: 0 }),
  showErrorBox: (title, content) => note('dialog.showErrorBox', [title, content]),
};

class FakeWebContents extends EventEmitter {
  constructor(id) {
    super();
    this.id = id;
    this.mainFrame = { url: 'app://healthgpt/index.html' };
    this.sent = [];
  }
  send(channel, _payload) {
    this.sent.push(channel);
  }
  isDestroyed() {
    return false;
  }
  setWindowOpenHandler(fn) {
    this.windowOpenHandler = fn;
  }
}

export class BrowserWindow extends EventEmitter {
  constructor(options) {
    super();
    note('new BrowserWindow', options);
    this.webContents = new FakeWebContents(1);
    appEvents.emit('web-contents-created', {}, this.webContents);
  }
  async loadURL(url) {
    note('window.loadURL', url);
    setTimeout(() => void probe(this).catch((e) => (report.probeError = String(e.stack ?? e))).finally(() => app.quit()), 10);
  }
  show() {}
  isMinimized() {
    return false;
  }
  restore() {}
  focus() {}
}

export const contextBridge = {};
export const ipcRenderer = {};

async function probe(window) {
  const p = report.probes;
  const contents = window.webContents;
  // the app:// protocol serves the renderer with the CSP, and nothing outside it
  const serve = handlers['protocol:app'];
  const index = await serve(new Request('app://healthgpt/index.html'));
  p.index = { status: index.status, csp: index.headers.get('content-security-policy'), type: index.headers.get('content-type'), startsWithDoctype: /^<!doctype html>/i.test((await index.text()).trim()) };
  p.escape = (await serve(new Request('app://healthgpt/..%2f..%2fpackage.json'))).status;
  p.otherHost = (await serve(new Request('app://elsewhere/index.html'))).status;
  // navigation away, redirects, webviews and popups are refused
  const navigate = (event, url) => {
    const e = { prevented: false, preventDefault() { this.prevented = true; } };
    contents.emit(event, e, url);
    return e.prevented;
  };
  p.navigateRemote = navigate('will-navigate', 'https://example.com/');
  p.navigateFile = navigate('will-navigate', 'file:///etc/passwd');
  p.navigateApp = navigate('will-navigate', 'app://healthgpt/index.html#/x');
  p.redirectRemote = navigate('will-redirect', 'http://192.0.2.1/');
  p.webview = navigate('will-attach-webview', 'about:blank');
  p.windowOpen = contents.windowOpenHandler?.({ url: 'https://example.com/' });
  // permissions, devices, display capture, downloads
  p.permission = await new Promise((r) => handlers.permissionRequest(contents, 'media', r));
  p.permissionCheck = handlers.permissionCheck(contents, 'notifications');
  p.device = handlers.devicePermission({});
  p.displayMedia = await new Promise((r) => handlers.displayMedia({}, r));
  const download = { prevented: false, preventDefault() { this.prevented = true; } };
  handlers['session:will-download'](download);
  p.download = download.prevented;
  // remote requests are cancelled; responses get the CSP
  p.remoteFilter = handlers.beforeRequest.filter.urls;
  p.remoteCancel = await new Promise((r) => handlers.beforeRequest.fn({ url: 'https://example.com/x' }, r));
  p.headers = await new Promise((r) => handlers.headersReceived({ responseHeaders: { 'x-a': ['1'] } }, r));
  // IPC: every channel registered; our main frame served, a subframe and another origin refused
  p.ipcChannels = [...ipcHandlers.keys()].sort();
  const call = (channel, frame, payload) => ipcHandlers.get(channel)({ sender: contents, senderFrame: frame }, payload);
  p.ipcMainFrame = await call('app:get-info', contents.mainFrame, {});
  p.ipcSubframe = await call('app:get-info', { url: 'app://healthgpt/index.html' }, {});
  p.ipcOtherOrigin = await call('app:ping', { url: 'https://evil.example/' }, { sentAt: 1 });
  p.ipcBadPayload = await call('app:ping', contents.mainFrame, { sentAt: 'x' });
  const started = await call('jobs:start-self-test', contents.mainFrame, { steps: 3, stepMs: 20 });
  await new Promise((r) => setTimeout(r, 250));
  p.job = { started: started.ok, eventsToWindow: [...new Set(contents.sent)] };
  report.ready = true;
}

setTimeout(() => {
  report.ready = true;
  resolveReady();
}, 20);

export default { app, protocol, session, ipcMain, dialog, BrowserWindow, contextBridge, ipcRenderer };
