import type { BrowserWindowConstructorOptions } from 'electron';

export const WINDOW_BACKGROUND = '#0b0d10';

export interface WindowOptionsInput {
  /** Absolute path of the bundled preload (dist/main/preload.cjs). */
  preloadPath: string;
  /** DevTools only in an unpackaged (development) run. */
  devTools: boolean;
}

/** Electron's BrowserWindow, passed in so this module (and its test) never loads Electron. */
export type WindowConstructor<W> = new (options: BrowserWindowConstructorOptions) => W;

/**
 * Opens the workstation window with its hardened web preferences: no Node in the renderer, sandboxed, an
 * isolated world for the preload, web security on, no webview, no insecure content, no spellchecker
 * downloads, middle-click (auxclick) disabled. The preferences are written out here, at the one place a
 * window is created, so a reviewer and a static scanner (electronegativity) see exactly what is used;
 * test/main/security/hardened-shell.test.ts captures the object the constructor receives.
 */
export function createWorkstationWindow<W>(BrowserWindow: WindowConstructor<W>, input: WindowOptionsInput): W {
  return new BrowserWindow({
    width: 1600,
    height: 1000,
    minWidth: 1280,
    minHeight: 720,
    show: false,
    title: 'HealthGPT Workstation',
    backgroundColor: WINDOW_BACKGROUND,
    autoHideMenuBar: true,
    webPreferences: {
      // Reviewed: the preload exposes only named contract operations and allowlisted events, so the scanner's
      // "review the use of preload scripts" prompt is acknowledged on the next line.
      preload: input.preloadPath, // eng-disable PRELOAD_JS_CHECK
      devTools: input.devTools,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      plugins: false,
      enableWebSQL: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      safeDialogs: true,
      disableBlinkFeatures: 'Auxclick',
      autoplayPolicy: 'user-gesture-required',
    },
  });
}
